//! Client-side checks of request values, against the limits the API
//! document states (`blaxel_jobs_client::limits`, generated from it).
//!
//! The server is the authority: a check here refuses a value only where
//! the document states the limit as Blaxel's own (lengths and characters
//! of names and ids, `diskPercent`, the trigger timeout), so it can never
//! block a request the server would take. Page sizes are clamped to the
//! document's range, as the server clamps them. Everything else that looks
//! wrong but may be accepted (an empty env name, a cron trigger without a
//! schedule, a schedule that is not five fields, a relative mount path, a
//! memory of 0, a port outside 1-65535) is a `tracing` warning with target
//! `blaxel_jobs::validate`, and the request is sent.
//!
//! A failure names the field as a path in the request body, such as
//! `spec.triggers[0].configuration.timeout`.

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

/// Whether `value` matches the pattern `p`. The patterns the document
/// puts on job definitions today have a fast check here, because
/// regex-lite's PikeVM spends about 10,000 instructions on a short match,
/// more than the rest of a CreateJob call's client-side work. Any other
/// pattern (one the document adds or changes) goes to regex-lite, and
/// `fast_checks_agree_with_regex_lite` keeps the two in step.
fn is_match(p: &'static str, value: &str) -> bool {
    match p {
        // Lowercase letters, digits and hyphens, anywhere.
        "^[a-z0-9-]+$" => {
            !value.is_empty()
                && value
                    .bytes()
                    .all(|c| matches!(c, b'a'..=b'z' | b'0'..=b'9' | b'-'))
        }
        "^[A-Za-z0-9-]+$" => {
            !value.is_empty()
                && value
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-')
        }
        _ => pattern(p).is_none_or(|re| re.is_match(value)),
    }
}

/// Checks a string against a limit.
///
/// Lengths count characters, as the document's limits do. A string has no
/// more characters than bytes, and at least one if it has a byte, so the
/// characters are counted only when the byte length cannot decide.
pub(crate) fn check_str(limit: &Limit, value: &str, field: &str) -> Result<(), InvalidInput> {
    let bytes = value.len() as u64;
    let chars = || value.chars().count() as u64;
    let too_short = |min: &u64| bytes < *min || (*min > 1 && chars() < *min);
    let too_long = |max: &u64| bytes > *max && chars() > *max;
    let problem = if let Some(min) = limit.min_length.filter(too_short) {
        format!("must be at least {min} characters (got {})", chars())
    } else if let Some(max) = limit.max_length.filter(too_long) {
        format!("must be at most {max} characters (got {})", chars())
    } else if let Some(p) = limit.pattern.filter(|p| !is_match(p, value)) {
        format!("`{value}` does not match `{p}`")
    } else {
        return Ok(());
    };
    Err(InvalidInput::at_field(field, problem))
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
    Err(InvalidInput::at_field(field, problem))
}

/// `value` moved into the limit's range: how page sizes are treated, since
/// the server clamps them rather than refusing them. A value that moves is
/// reported as a `tracing` debug event.
pub(crate) fn clamp(limit: &Limit, asked: i64, field: &str) -> i64 {
    let mut sent = asked;
    if let Some(max) = limit.maximum {
        sent = sent.min(max);
    }
    if let Some(min) = limit.minimum {
        sent = sent.max(min);
    }
    if sent != asked {
        tracing::debug!(
            target: "blaxel_jobs::validate",
            field,
            asked,
            sent,
            "page size moved into the range the API document gives"
        );
    }
    sent
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
        return Err(InvalidInput::at_field(field, "must not be empty"));
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
        return Err(InvalidInput::at_field(field, "must not be empty"));
    }
    if value == "." || value == ".." || value.contains('\\') {
        return Err(InvalidInput::at_field(
            field,
            format!("`{value}` cannot be used in a request path"),
        ));
    }
    Ok(())
}

/// A value the server may well refuse, but that the document does not rule
/// out: said, not refused.
fn warn(field: &dyn std::fmt::Display, what: &str) {
    tracing::warn!(
        target: "blaxel_jobs::validate",
        field = %field,
        "{what}; sending it anyway, the server decides"
    );
}

/// Checks a job definition that is about to be sent (created or updated):
/// refuses only what the document's limits refuse, and warns about the
/// rest (see the module's documentation).
pub(crate) fn job(job: &types::Job) -> Result<(), InvalidInput> {
    limits_of_job(job)?;
    warn_unusual(job);
    Ok(())
}

/// The document's limits on a job definition, without the warnings (for
/// definitions being built or loaded, which warn when they are sent).
pub(crate) fn limits_of_job(job: &types::Job) -> Result<(), InvalidInput> {
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
            &limits::JOB_RUNTIME_DISK_PERCENT,
            rt.disk_percent,
            "spec.runtime.diskPercent",
        )?;
    }
    for (i, trigger) in spec.triggers.iter().flat_map(|t| t.iter()).enumerate() {
        if let Some(c) = &trigger.configuration {
            // Field paths are only formatted when a check fails.
            opt_int(&limits::TRIGGER_CONFIGURATION_TIMEOUT, c.timeout, "")
                .map_err(|e| e.at(format!("spec.triggers[{i}].configuration.timeout")))?;
            for (k, task) in c.tasks.iter().enumerate() {
                crate::json::check(&task.0, crate::json::TRIGGER_TASK_DEPTH).map_err(|why| {
                    InvalidInput::at_field(
                        format!("spec.triggers[{i}].configuration.tasks[{k}]"),
                        why,
                    )
                })?;
            }
        }
    }
    Ok(())
}

/// Warns about values of a job definition that the document does not rule
/// out but that the server may refuse or misread.
fn warn_unusual(job: &types::Job) {
    let spec = &job.spec;
    if let Some(rt) = &spec.runtime {
        if rt.memory.is_some_and(|m| m < 1) {
            warn(&"spec.runtime.memory", "memory below 1 MB");
        }
        if rt.max_retries.is_some_and(|r| r < 0) {
            warn(&"spec.runtime.maxRetries", "a negative retry count");
        }
        if rt.max_concurrent_tasks.is_some_and(|t| t < 1) {
            warn(
                &"spec.runtime.maxConcurrentTasks",
                "fewer than 1 task at once",
            );
        }
        for (i, env) in rt.envs.iter().enumerate() {
            if env.name.as_deref().is_none_or(str::is_empty) {
                warn(
                    &format_args!("spec.runtime.envs[{i}].name"),
                    "an environment variable without a name",
                );
            }
        }
        for (i, port) in rt.ports.iter().flat_map(|p| p.iter()).enumerate() {
            if !(1..=65535).contains(&port.target) {
                warn(
                    &format_args!("spec.runtime.ports[{i}].target"),
                    "a port number outside 1-65535",
                );
            }
        }
    }
    for (i, trigger) in spec.triggers.iter().flat_map(|t| t.iter()).enumerate() {
        if trigger.type_ != Some(TriggerType::Cron) {
            continue;
        }
        let at = format_args!("spec.triggers[{i}].configuration.schedule");
        match trigger
            .configuration
            .as_ref()
            .and_then(|c| c.schedule.as_deref())
        {
            None => warn(&at, "a cron trigger without a schedule"),
            Some(s) if s.split_whitespace().count() != 5 => warn(
                &at,
                "a schedule that is not the five-field cron form Blaxel documents",
            ),
            Some(_) => {}
        }
    }
    for (i, v) in spec.volumes.iter().flat_map(|v| v.iter()).enumerate() {
        if v.name.is_empty() {
            warn(
                &format_args!("spec.volumes[{i}].name"),
                "a volume without a name",
            );
        }
        if !v.mount_path.starts_with('/') {
            warn(
                &format_args!("spec.volumes[{i}].mountPath"),
                "a mount path that is not absolute",
            );
        }
        if v.size_mb < 1 {
            warn(
                &format_args!("spec.volumes[{i}].sizeMb"),
                "a volume below 1 MB",
            );
        }
    }
}

/// Checks a request body before it is sent, for the body types whose
/// checks are written here ([`job`], [`execution_request`]); any other
/// body (one of an operation added to the document since) has none, and
/// the server decides. Which check applies is known at compile time.
/// `path` holds the request's path parameters: a job sent to
/// `/jobs/{jobId}` must carry that name in `metadata.name`, as the `jobId`
/// parameter's description in the document says (a job cannot be renamed).
pub(crate) fn body<T: std::any::Any>(body: &T, path: &[(&str, &str)]) -> Result<(), InvalidInput> {
    let body: &dyn std::any::Any = body;
    if let Some(j) = body.downcast_ref::<types::Job>() {
        if let Some((_, id)) = path.iter().find(|(name, _)| *name == "jobId") {
            same_name(j, id)?;
        }
        job(j)
    } else if let Some(r) = body.downcast_ref::<types::CreateJobExecutionRequest>() {
        execution_request(r)
    } else {
        Ok(())
    }
}

/// Refuses a job whose name is not `name`, the job being written.
pub(crate) fn same_name(job: &types::Job, name: &str) -> Result<(), InvalidInput> {
    if job.metadata.name == name {
        return Ok(());
    }
    Err(InvalidInput::at_field(
        "metadata.name",
        format!(
            "`{}` differs from the job being updated, `{name}` (names cannot change)",
            job.metadata.name
        ),
    ))
}

/// The values of a comma-separated list parameter, joined; `None` for an
/// empty list, which means no filter (not `?status=`).
pub(crate) fn comma_list<T: std::fmt::Display>(values: impl Iterator<Item = T>) -> Option<String> {
    use std::fmt::Write as _;
    let mut joined = String::new();
    for v in values {
        if !joined.is_empty() {
            joined.push(',');
        }
        let _ = write!(joined, "{v}");
    }
    (!joined.is_empty()).then_some(joined)
}

/// Where an entry of a list sits, for messages: `tasks[3]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Index(pub(crate) &'static str, pub(crate) usize);

impl std::fmt::Display for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}[{}]", self.0, self.1)
    }
}

/// A caller's value as the JSON object a free-form entry must be (a task's
/// parameters), where `levels_above` levels of arrays and objects of the
/// request body hold it: anything else, a value that cannot be serialized,
/// or one nested deeper than the rest of the body may be (see
/// [`crate::json`]; it is never serialized past that depth), is an
/// [`InvalidInput`] naming `field`.
pub(crate) fn json_object(
    value: &impl serde::Serialize,
    field: &Index,
    levels_above: usize,
) -> Result<serde_json::Map<String, serde_json::Value>, InvalidInput> {
    let depth = crate::json::BODY_DEPTH.saturating_sub(levels_above);
    crate::json::to_object(value, depth)
        .map_err(|why| InvalidInput::at_field(field.to_string(), why))
}

/// Checks an execution request on its own. The document states no limit
/// on it (the server checks memory against the job's), so this only warns.
pub(crate) fn execution_request(
    req: &types::CreateJobExecutionRequest,
) -> Result<(), InvalidInput> {
    if req.memory.is_some_and(|m| m < 1) {
        warn(&"memory", "memory below 1 MB");
    }
    if req.env.keys().any(String::is_empty) {
        warn(&"env", "an environment variable without a name");
    }
    for (i, task) in req.tasks.iter().enumerate() {
        crate::json::check(task, crate::json::EXECUTION_TASK_DEPTH)
            .map_err(|why| InvalidInput::at_field(format!("tasks[{i}]"), why))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Deciding by byte length where it can gives the same answers as
        /// counting every character.
        #[test]
        fn length_checks_agree_with_counting_characters(
            value in "(a|é|€|😀|-){0,12}",
            min in proptest::option::of(0u64..8),
            max in proptest::option::of(0u64..14),
        ) {
            let limit = Limit {
                field: "Test.value",
                min_length: min,
                max_length: max,
                pattern: None,
                minimum: None,
                maximum: None,
            };
            let count = value.chars().count() as u64;
            let expected = min.is_none_or(|min| count >= min) && max.is_none_or(|max| count <= max);
            let got = check_str(&limit, &value, "value");
            proptest::prop_assert_eq!(got.is_ok(), expected, "{:?}", got);
            if let Err(e) = got {
                let text = e.to_string();
                proptest::prop_assert!(text.contains(&format!("(got {count})")), "{}", text);
            }
        }
    }

    #[test]
    fn fast_checks_agree_with_regex_lite() {
        let samples = [
            "",
            "a",
            "-",
            "a-",
            "-a",
            "a-b",
            "a--b",
            "nightly-report",
            "Nightly",
            "under_score",
            "sp ace",
            "0 3 * * *",
            "ticket-4821",
            "é",
            "a\n",
            "\na",
        ];
        for limit in [&limits::METADATA_NAME, &limits::METADATA_EXTERNAL_ID] {
            let p = limit.pattern.expect("the limit has a pattern");
            let re = regex_lite::Regex::new(p).unwrap();
            for s in samples {
                assert_eq!(is_match(p, s), re.is_match(s), "{p} on {s:?}");
            }
        }
        // Every pattern of the document either has a fast check above or
        // goes to regex-lite; both must agree on the samples.
        for limit in limits::ALL {
            if let Some(p) = limit.pattern {
                let re = regex_lite::Regex::new(p).unwrap();
                for s in samples {
                    assert_eq!(is_match(p, s), re.is_match(s), "{p} on {s:?}");
                }
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
        for bad in ["Nightly", "under_score", "sp ace", ""] {
            j.metadata.name = bad.into();
            let e = job(&j).unwrap_err();
            assert_eq!(e.field.as_deref(), Some("metadata.name"), "{bad}");
        }
        // Blaxel's text allows hyphens without saying where.
        for ok in ["-lead", "trail-", "-", "a--b", &"a".repeat(49)] {
            j.metadata.name = ok.into();
            job(&j).unwrap();
        }
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
    fn any_cron_schedule_is_sent() {
        for s in ["0 3 * * *", "@hourly", "0 0 3 * * *", "0 3 * *", ""] {
            let mut j = base_job();
            let t = &mut j.spec.triggers.as_mut().unwrap().0[0];
            t.configuration.as_mut().unwrap().schedule = Some(s.into());
            job(&j).unwrap();
        }
        let mut j = base_job();
        j.spec.triggers.as_mut().unwrap().0[0].configuration = None;
        job(&j).unwrap();
    }

    #[test]
    fn rules_blaxel_does_not_state_do_not_refuse() {
        let j: types::Job = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "a"},
            "spec": {
                "runtime": {"memory": 0, "maxRetries": -1, "maxConcurrentTasks": 0,
                            "envs": [{"value": "x"}, {"name": ""}],
                            "ports": [{"target": 0}, {"target": 70000}]},
                "volumes": [{"name": "", "mountPath": "scratch", "type": "ephemeral", "sizeMb": 0}],
                "triggers": [{"type": "cron"}]
            }
        }))
        .unwrap();
        job(&j).unwrap();
        let req: types::CreateJobExecutionRequest =
            serde_json::from_value(serde_json::json!({"memory": 0, "env": {"": "x"}})).unwrap();
        execution_request(&req).unwrap();
    }

    #[test]
    fn page_sizes_are_clamped_to_the_documents_range() {
        let l = &limits::LIST_JOBS_LIMIT;
        let max = l.maximum.unwrap();
        let min = l.minimum.unwrap();
        assert_eq!(clamp(l, 500, "limit"), max);
        assert_eq!(clamp(l, i64::MAX, "limit"), max);
        assert_eq!(clamp(l, 0, "limit"), min);
        assert_eq!(clamp(l, i64::MIN, "limit"), min);
        assert_eq!(clamp(l, 7, "limit"), 7);
        let e = &limits::LIST_JOB_EXECUTIONS_LIMIT;
        assert_eq!(clamp(e, 101, "limit"), e.maximum.unwrap());
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
