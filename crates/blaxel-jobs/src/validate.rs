//! Client-side checks of request values, against the limits the API
//! document states (`blaxel_jobs_client::limits`, generated from it).
//!
//! A failure names the field as a path in the request body, such as
//! `spec.triggers[0].configuration.schedule`.

use crate::error::InvalidInput;
use blaxel_jobs_client::limits::{self, Limit};
use blaxel_jobs_client::open_enum::TriggerType;
use blaxel_jobs_client::types;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

fn pattern(p: &'static str) -> Option<&'static regex_lite::Regex> {
    static CACHE: OnceLock<Mutex<HashMap<&'static str, &'static regex_lite::Regex>>> =
        OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(re) = cache.get(p) {
        return Some(re);
    }
    // A handful of patterns, each compiled once for the life of the process.
    let re: &'static regex_lite::Regex = Box::leak(Box::new(regex_lite::Regex::new(p).ok()?));
    cache.insert(p, re);
    Some(re)
}

/// regex-lite's `\s`: `[\t\n\v\f\r ]`.
fn is_regex_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0B' | '\x0C' | '\r' | ' ')
}

/// Whether `value` matches the pattern `p`. The patterns the document
/// puts on job definitions today have a fast check here, because
/// regex-lite's PikeVM spends about 10,000 instructions on a short match,
/// more than the rest of a CreateJob call's client-side work. Any other
/// pattern (one the document adds or changes) goes to regex-lite, and
/// `fast_checks_agree_with_regex_lite` keeps the two in step.
fn is_match(p: &'static str, value: &str) -> bool {
    match p {
        // A DNS label: lowercase letters, digits and inner hyphens.
        "^[a-z0-9]([a-z0-9-]*[a-z0-9])?$" => {
            let b = value.as_bytes();
            !b.is_empty()
                && b.iter()
                    .all(|c| matches!(c, b'a'..=b'z' | b'0'..=b'9' | b'-'))
                && b[0] != b'-'
                && b[b.len() - 1] != b'-'
        }
        "^[A-Za-z0-9-]+$" => {
            !value.is_empty()
                && value
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-')
        }
        // Five fields separated by white space: a cron expression.
        "^\\s*\\S+(\\s+\\S+){4}\\s*$" => {
            value
                .split(is_regex_space)
                .filter(|f| !f.is_empty())
                .count()
                == 5
        }
        _ => pattern(p).is_none_or(|re| re.is_match(value)),
    }
}

/// Checks a string against a limit.
pub(crate) fn check_str(limit: &Limit, value: &str, field: &str) -> Result<(), InvalidInput> {
    let len = value.chars().count() as u64;
    let problem = if let Some(min) = limit.min_length.filter(|min| len < *min) {
        format!("must be at least {min} characters (got {len})")
    } else if let Some(max) = limit.max_length.filter(|max| len > *max) {
        format!("must be at most {max} characters (got {len})")
    } else if let Some(p) = limit.pattern.filter(|p| !is_match(p, value)) {
        format!("`{value}` does not match `{p}`")
    } else {
        return Ok(());
    };
    Err(InvalidInput::field(field, problem))
}

/// Checks a number against a limit.
pub(crate) fn check_int(limit: &Limit, value: i64, field: &str) -> Result<(), InvalidInput> {
    let problem = if let Some(min) = limit.minimum.filter(|min| value < *min) {
        format!("must be at least {min} (got {value})")
    } else if let Some(max) = limit.maximum.filter(|max| value > *max) {
        format!("must be at most {max} (got {value})")
    } else {
        return Ok(());
    };
    Err(InvalidInput::field(field, problem))
}

fn opt_str(limit: &Limit, value: &Option<String>, field: &str) -> Result<(), InvalidInput> {
    value
        .as_deref()
        .map_or(Ok(()), |v| check_str(limit, v, field))
}

fn opt_int(limit: &Limit, value: Option<i64>, field: &str) -> Result<(), InvalidInput> {
    value.map_or(Ok(()), |v| check_int(limit, v, field))
}

/// Checks a job name (also used for the `jobId` of paths).
pub(crate) fn job_name(name: &str, field: &str) -> Result<(), InvalidInput> {
    if name.is_empty() {
        return Err(InvalidInput::field(field, "must not be empty"));
    }
    check_str(&limits::METADATA_NAME, name, field)
}

/// Checks an identifier that goes into a request path, such as a job name
/// or an execution id. Besides being non-empty, it must not be `.` or `..`
/// nor contain `\`: the generated client leaves those unencoded and URL
/// parsing would turn them into another path (`..` on a cancel would
/// address the job itself).
pub(crate) fn path_id(value: &str, field: &str) -> Result<(), InvalidInput> {
    if value.trim().is_empty() {
        return Err(InvalidInput::field(field, "must not be empty"));
    }
    if value == "." || value == ".." || value.contains('\\') {
        return Err(InvalidInput::field(
            field,
            format!("`{value}` cannot be used in a request path"),
        ));
    }
    Ok(())
}

/// Checks a job definition before it is created or updated.
pub(crate) fn job(job: &types::Job) -> Result<(), InvalidInput> {
    let m = &job.metadata;
    job_name(&m.name, "metadata.name")?;
    opt_str(
        &limits::METADATA_DISPLAY_NAME,
        &m.display_name,
        "metadata.displayName",
    )?;
    opt_str(
        &limits::METADATA_EXTERNAL_ID,
        &m.external_id,
        "metadata.externalId",
    )?;

    let spec = &job.spec;
    if let Some(rt) = &spec.runtime {
        opt_int(
            &limits::JOB_RUNTIME_MEMORY,
            rt.memory,
            "spec.runtime.memory",
        )?;
        opt_int(
            &limits::JOB_RUNTIME_MAX_RETRIES,
            rt.max_retries,
            "spec.runtime.maxRetries",
        )?;
        opt_int(
            &limits::JOB_RUNTIME_MAX_CONCURRENT_TASKS,
            rt.max_concurrent_tasks,
            "spec.runtime.maxConcurrentTasks",
        )?;
        opt_int(
            &limits::JOB_RUNTIME_DISK_PERCENT,
            rt.disk_percent,
            "spec.runtime.diskPercent",
        )?;
        for (i, env) in rt.envs.iter().enumerate() {
            if env.name.as_deref().is_none_or(str::is_empty) {
                return Err(InvalidInput::field(
                    format!("spec.runtime.envs[{i}].name"),
                    "must not be empty",
                ));
            }
        }
        for (i, port) in rt.ports.iter().flat_map(|p| p.iter()).enumerate() {
            // Field paths are only formatted when a check fails.
            check_int(&limits::PORT_TARGET, port.target, "")
                .map_err(|e| e.at(format!("spec.runtime.ports[{i}].target")))?;
        }
    }
    for (i, trigger) in spec.triggers.iter().flat_map(|t| t.iter()).enumerate() {
        let at = |what: &str| format!("spec.triggers[{i}].configuration.{what}");
        let config = trigger.configuration.as_ref();
        if trigger.type_ == Some(TriggerType::Cron)
            && config.and_then(|c| c.schedule.as_deref()).is_none()
        {
            return Err(InvalidInput::field(
                at("schedule"),
                "a cron trigger needs a schedule",
            ));
        }
        if let Some(c) = config {
            opt_str(&limits::TRIGGER_CONFIGURATION_SCHEDULE, &c.schedule, "").map_err(|e| {
                InvalidInput::field(
                    at("schedule"),
                    format!("must be a cron expression with 5 fields ({})", e.message),
                )
            })?;
            opt_int(&limits::TRIGGER_CONFIGURATION_TIMEOUT, c.timeout, "")
                .map_err(|e| e.at(at("timeout")))?;
        }
    }
    for (i, v) in spec.volumes.iter().flat_map(|v| v.iter()).enumerate() {
        let at = |what: &str| format!("spec.volumes[{i}].{what}");
        check_int(&limits::JOB_VOLUME_SIZE_MB, v.size_mb, "").map_err(|e| e.at(at("sizeMb")))?;
        if v.name.is_empty() {
            return Err(InvalidInput::field(at("name"), "must not be empty"));
        }
        if !v.mount_path.starts_with('/') {
            return Err(InvalidInput::field(
                at("mountPath"),
                "must be an absolute path",
            ));
        }
    }
    Ok(())
}

/// Checks an execution request on its own (memory against the job is
/// checked by the caller, which knows the job).
pub(crate) fn execution_request(
    req: &types::CreateJobExecutionRequest,
) -> Result<(), InvalidInput> {
    opt_int(
        &limits::CREATE_JOB_EXECUTION_REQUEST_MEMORY,
        req.memory,
        "memory",
    )?;
    for (k, _) in req.env.iter() {
        if k.is_empty() {
            return Err(InvalidInput::field(
                "env",
                "variable names must not be empty",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_checks_agree_with_regex_lite() {
        let samples = [
            "",
            "a",
            "-",
            "a-",
            "-a",
            "a-b",
            "nightly-report",
            "Nightly",
            "under_score",
            "sp ace",
            "0 3 * * *",
            " 0 3 * * * ",
            "0 3 * *",
            "0 3 * * * *",
            "0\t3\n*\x0B*\x0C*",
            "0\u{a0}3 * * * *",
            "ticket-4821",
            "é",
            "a\n",
        ];
        for limit in [
            &limits::METADATA_NAME,
            &limits::METADATA_EXTERNAL_ID,
            &limits::TRIGGER_CONFIGURATION_SCHEDULE,
        ] {
            let p = limit.pattern.expect("the limit has a pattern");
            let re = regex_lite::Regex::new(p).unwrap();
            for s in samples {
                assert_eq!(is_match(p, s), re.is_match(s), "{p} on {s:?}");
            }
        }
    }

    fn base_job() -> types::Job {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "nightly-report"},
            "spec": {
                "runtime": {"memory": 2048, "diskPercent": 50, "envs": [{"name": "A", "value": "1"}]},
                "triggers": [{"type": "cron", "configuration": {"schedule": "0 3 * * *", "timeout": 300}}]
            }
        }))
        .unwrap()
    }

    #[test]
    fn a_valid_job_passes() {
        job(&base_job()).unwrap();
    }

    #[test]
    fn names_are_checked_for_length_and_characters() {
        let mut j = base_job();
        j.metadata.name = "a".repeat(50);
        let e = job(&j).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("metadata.name"));
        assert!(e.message.contains("at most 49"), "{e}");
        for bad in ["Nightly", "under_score", "-lead", "trail-", "sp ace", ""] {
            j.metadata.name = bad.into();
            let e = job(&j).unwrap_err();
            assert_eq!(e.field.as_deref(), Some("metadata.name"), "{bad}");
        }
        j.metadata.name = "a".repeat(49);
        job(&j).unwrap();
    }

    #[test]
    fn disk_percent_must_be_between_10_and_95() {
        for (v, ok) in [(9, false), (10, true), (95, true), (96, false)] {
            let mut j = base_job();
            j.spec.runtime.as_mut().unwrap().disk_percent = Some(v);
            let r = job(&j);
            assert_eq!(r.is_ok(), ok, "{v}: {r:?}");
            if let Err(e) = r {
                assert_eq!(e.field.as_deref(), Some("spec.runtime.diskPercent"));
            }
        }
    }

    #[test]
    fn cron_schedules_need_five_fields() {
        for (s, ok) in [
            ("0 3 * * *", true),
            ("*/5 * * * 1-5", true),
            ("0 3 * *", false),
            ("0 3 * * * *", false),
            ("", false),
        ] {
            let mut j = base_job();
            let t = &mut j.spec.triggers.as_mut().unwrap().0[0];
            t.configuration.as_mut().unwrap().schedule = Some(s.into());
            let r = job(&j);
            assert_eq!(r.is_ok(), ok, "{s:?}: {r:?}");
            if let Err(e) = r {
                assert_eq!(
                    e.field.as_deref(),
                    Some("spec.triggers[0].configuration.schedule")
                );
                assert!(e.message.contains("5 fields"), "{e}");
            }
        }
    }

    #[test]
    fn path_ids_that_would_change_the_path_are_refused() {
        for bad in ["", " ", ".", "..", "a\\b"] {
            let e = path_id(bad, "executionId").unwrap_err();
            assert_eq!(e.field.as_deref(), Some("executionId"), "{bad:?}");
        }
        for ok in ["exec-1", "a.b", "with space", "a/b", "..."] {
            path_id(ok, "executionId").unwrap();
        }
    }

    #[test]
    fn trigger_timeouts_are_at_most_900_seconds() {
        let mut j = base_job();
        j.spec.triggers.as_mut().unwrap().0[0]
            .configuration
            .as_mut()
            .unwrap()
            .timeout = Some(901);
        let e = job(&j).unwrap_err();
        assert_eq!(
            e.field.as_deref(),
            Some("spec.triggers[0].configuration.timeout")
        );
        assert!(e.message.contains("at most 900"));
    }
}
