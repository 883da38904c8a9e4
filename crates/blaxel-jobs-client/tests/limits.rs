//! `blaxel_jobs_client::limits` agrees with the limit keywords of the
//! document (`maxLength`, `minLength`, `pattern`, `minimum`, `maximum`).

mod common;

use blaxel_jobs_client::limits::{self, Limit};
use serde_json::Value;
use std::collections::BTreeMap;

/// A limit as read from the document.
#[derive(Debug, PartialEq, Eq)]
struct DocLimit {
    min_length: Option<u64>,
    max_length: Option<u64>,
    pattern: Option<String>,
    minimum: Option<i64>,
    maximum: Option<i64>,
}

impl DocLimit {
    fn of(schema: &Value) -> Option<Self> {
        let l = DocLimit {
            min_length: schema.get("minLength").and_then(Value::as_u64),
            max_length: schema.get("maxLength").and_then(Value::as_u64),
            pattern: schema
                .get("pattern")
                .and_then(Value::as_str)
                .map(str::to_owned),
            minimum: schema.get("minimum").and_then(Value::as_i64),
            maximum: schema.get("maximum").and_then(Value::as_i64),
        };
        let any = l.min_length.is_some()
            || l.max_length.is_some()
            || l.pattern.is_some()
            || l.minimum.is_some()
            || l.maximum.is_some();
        any.then_some(l)
    }

    fn from_limit(l: &Limit) -> Self {
        DocLimit {
            min_length: l.min_length,
            max_length: l.max_length,
            pattern: l.pattern.map(str::to_owned),
            minimum: l.minimum,
            maximum: l.maximum,
        }
    }
}

/// Every limit the document states, keyed `Schema.property` for schema
/// properties and `OperationId.parameter` for operation parameters.
fn document_limits() -> BTreeMap<String, DocLimit> {
    let doc = common::document();
    let mut out = BTreeMap::new();
    for (name, schema) in common::schemas(&doc) {
        for (prop, s) in schema
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            if let Some(l) = DocLimit::of(common::resolve(&doc, s)) {
                out.insert(format!("{name}.{prop}"), l);
            }
        }
        assert!(
            DocLimit::of(schema).is_none(),
            "limit on the whole schema {name} is not covered by this test"
        );
    }
    let paths = doc["paths"].as_object().expect("paths");
    for item in paths.values() {
        let item = item.as_object().expect("path item");
        let shared = item.get("parameters").and_then(Value::as_array);
        for (method, op) in item {
            if !["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                continue;
            }
            let op_id = op["operationId"].as_str().expect("operationId");
            let params = op.get("parameters").and_then(Value::as_array);
            for p in shared
                .into_iter()
                .flatten()
                .chain(params.into_iter().flatten())
            {
                let p = common::resolve(&doc, p);
                let schema = common::resolve(&doc, &p["schema"]);
                if let Some(l) = DocLimit::of(schema) {
                    let pname = p["name"].as_str().expect("parameter name");
                    out.insert(format!("{op_id}.{pname}"), l);
                }
            }
        }
    }
    out
}

fn generated_limits() -> BTreeMap<String, DocLimit> {
    let mut out = BTreeMap::new();
    for l in limits::ALL {
        let prev = out.insert(l.field.to_owned(), DocLimit::from_limit(l));
        assert!(prev.is_none(), "{} appears twice in limits::ALL", l.field);
    }
    out
}

#[test]
fn limits_all_equals_every_limit_keyword_in_the_document() {
    let doc = document_limits();
    let generated = generated_limits();
    let doc_keys: Vec<&String> = doc.keys().collect();
    let gen_keys: Vec<&String> = generated.keys().collect();
    assert_eq!(gen_keys, doc_keys, "fields of limits::ALL vs the document");
    for (field, l) in &doc {
        assert_eq!(&generated[field], l, "{field}");
    }
}

fn doc_limit(field: &str) -> DocLimit {
    document_limits()
        .remove(field)
        .unwrap_or_else(|| panic!("the document states no limit for {field}"))
}

#[test]
fn key_limits_agree_with_the_document() {
    for (constant, field) in [
        (limits::METADATA_NAME, "Metadata.name"),
        (limits::JOB_RUNTIME_DISK_PERCENT, "JobRuntime.diskPercent"),
        (
            limits::TRIGGER_CONFIGURATION_TIMEOUT,
            "TriggerConfiguration.timeout",
        ),
        (limits::LIST_JOBS_LIMIT, "ListJobs.limit"),
        (limits::LIST_JOB_EXECUTIONS_LIMIT, "ListJobExecutions.limit"),
        (
            limits::LIST_JOB_EXECUTION_TASKS_LIMIT,
            "ListJobExecutionTasks.limit",
        ),
    ] {
        assert_eq!(constant.field, field);
        assert!(limits::ALL.contains(&constant), "{field} not in ALL");
        assert_eq!(DocLimit::from_limit(&constant), doc_limit(field), "{field}");
    }

    // The values the notes and the SDK's docs rely on.
    let name = doc_limit("Metadata.name");
    assert_eq!(name.max_length, Some(49));
    assert!(name.pattern.is_some());
    let disk = doc_limit("JobRuntime.diskPercent");
    assert_eq!((disk.minimum, disk.maximum), (Some(10), Some(95)));
    assert_eq!(doc_limit("TriggerConfiguration.timeout").maximum, Some(900));
    let jobs = doc_limit("ListJobs.limit");
    assert_eq!((jobs.minimum, jobs.maximum), (Some(1), Some(200)));
    let execs = doc_limit("ListJobExecutions.limit");
    assert_eq!((execs.minimum, execs.maximum), (Some(1), Some(100)));
}

#[test]
fn paging_limits_and_defaults_come_from_the_right_parameters() {
    // ListJobExecutions declares its own, smaller page size inline; the
    // others share the PaginationLimit component.
    let doc = common::document();
    let shared = &doc["components"]["parameters"]["PaginationLimit"]["schema"];
    assert_eq!(limits::LIST_JOBS_LIMIT.maximum, shared["maximum"].as_i64());
    assert_eq!(
        limits::LIST_JOB_EXECUTION_TASKS_LIMIT.maximum,
        shared["maximum"].as_i64()
    );
    assert_ne!(
        limits::LIST_JOB_EXECUTIONS_LIMIT.maximum,
        limits::LIST_JOBS_LIMIT.maximum
    );
    assert_eq!(limits::LIST_JOB_EXECUTIONS_OFFSET.minimum, Some(0));
}

#[test]
fn metadata_name_pattern_accepts_and_rejects_what_it_says() {
    let l = limits::METADATA_NAME;
    let re = regex::Regex::new(l.pattern.expect("pattern")).expect("pattern compiles");
    let max = l.max_length.expect("maxLength") as usize;
    let ok = |s: &str| re.is_match(s) && s.chars().count() <= max;
    for good in ["nightly-report", "a", "job-2", "0", &"a".repeat(max)] {
        assert!(ok(good), "{good:?} should be a valid name");
    }
    // Blaxel's text allows hyphens without saying where.
    for good in ["-report", "report-", "-", "a--b"] {
        assert!(ok(good), "{good:?} should be a valid name");
    }
    for bad in [
        "Nightly-report",
        "nightly_report",
        "nightly report",
        "",
        &"a".repeat(max + 1),
    ] {
        assert!(!ok(bad), "{bad:?} should be rejected");
    }
}

#[test]
fn no_limit_goes_beyond_what_blaxel_states() {
    // Blaxel's document says nothing that would refuse `@hourly`, a memory
    // of 0 or a port number above 65535: no keyword of ours may either.
    for field in [
        "TriggerConfiguration.schedule",
        "JobRuntime.memory",
        "JobRuntime.maxRetries",
        "JobRuntime.maxConcurrentTasks",
        "JobVolume.sizeMb",
        "Port.target",
        "CreateJobExecutionRequest.memory",
    ] {
        assert!(
            limits::ALL.iter().all(|l| l.field != field),
            "{field} has a limit Blaxel does not state"
        );
    }
    // The page size is clamped by the server, and the document says so.
    let doc = common::document();
    let shared = &doc["components"]["parameters"]["PaginationLimit"]["schema"];
    assert_eq!(shared["x-blaxel-clamp"], serde_json::json!(true));
}
