//! The open enums (generated into `open_enum/known.rs` from the document)
//! agree with the document and keep values they do not know.

mod common;

use blaxel_jobs_client::open_enum::{
    Generation, JobExecutionStatus, JobExecutionTaskStatus, PortProtocol, Status, TriggerType,
    VolumeType,
};
use blaxel_jobs_client::types;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Every open enum type of the crate, by the name of its document schema
/// (generated from the document).
const OPEN_ENUMS: &[(&str, &[&str])] = blaxel_jobs_client::open_enum::ALL;

fn enum_values(schema: &Value) -> Vec<String> {
    schema
        .get("enum")
        .and_then(Value::as_array)
        .expect("enum list")
        .iter()
        .map(|v| v.as_str().expect("string enum value").to_owned())
        .collect()
}

#[test]
fn known_lists_equal_the_document_enums() {
    let doc = common::document();
    let schemas = common::schemas(&doc);
    for (name, known) in OPEN_ENUMS {
        let schema = schemas
            .get(*name)
            .unwrap_or_else(|| panic!("the document has no schema {name}"));
        assert_eq!(
            schema.get("x-blaxel-open-enum"),
            Some(&Value::Bool(true)),
            "{name} is not marked x-blaxel-open-enum"
        );
        assert_eq!(
            enum_values(schema),
            known.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            "{name}::KNOWN differs from the document's enum"
        );
    }
}

#[test]
fn every_open_enum_schema_has_a_rust_type() {
    let doc = common::document();
    let marked: BTreeSet<&str> = common::schemas(&doc)
        .iter()
        .filter(|(_, s)| s.get("x-blaxel-open-enum") == Some(&Value::Bool(true)))
        .map(|(n, _)| n.as_str())
        .collect();
    let covered: BTreeSet<&str> = OPEN_ENUMS.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        marked, covered,
        "schemas marked x-blaxel-open-enum vs open enum types in open_enum.rs"
    );
    // Open enums must not be marked anywhere but on top-level string schemas
    // (an inline marked enum would get no Rust type).
    let text = serde_json::to_string(&doc).unwrap();
    assert_eq!(text.matches("\"x-blaxel-open-enum\"").count(), marked.len());
}

#[test]
fn generated_types_use_the_open_enums() {
    // Compile-time: these fields are the open enum types, not generated
    // closed enums or strings.
    let job: types::Job = common::fixture("job_full.json");
    let _: Option<Status> = job.status;
    let runtime = job.spec.runtime.expect("runtime");
    let _: Option<Generation> = runtime.generation;
    let port: &types::Port = &runtime.ports.as_ref().expect("ports")[0];
    let _: &Option<PortProtocol> = &port.protocol;
    let trigger: &types::Trigger = &job.spec.triggers.as_ref().expect("triggers")[0];
    let _: &Option<TriggerType> = &trigger.type_;
    let volume: &types::JobVolume = &job.spec.volumes.as_ref().expect("volumes")[0];
    let _: &VolumeType = &volume.type_;
    let exec: types::JobExecution = common::fixture("execution_running.json");
    let _: Option<JobExecutionStatus> = exec.status;
    let _: &Option<JobExecutionTaskStatus> = &exec.tasks[0].status;
}

const STRANGE: &[&str] = &[
    "PAUSED",
    "paused",
    "",
    " succeeded",
    "succeeded ",
    "mk3.1",
    "http_async",
    "ÉTAT",
    "a\"quote\\and\u{1F600}",
];

/// Runs the same checks on one open enum type.
macro_rules! check_open_enum {
    ($t:ident) => {{
        let name = stringify!($t);
        for v in STRANGE {
            if $t::KNOWN.iter().any(|k| k.eq_ignore_ascii_case(v)) {
                continue;
            }
            let wire = serde_json::to_string(v).unwrap();
            // Every way in gives the same Unknown value.
            let from_json: $t = serde_json::from_str(&wire).unwrap();
            let from_value: $t = serde_json::from_value(json!(v)).unwrap();
            let from_str: $t = v.parse().unwrap();
            let from_string: $t = $t::from(v.to_string());
            for parsed in [&from_json, &from_value, &from_str, &from_string] {
                assert!(!parsed.is_known(), "{name}: {v:?} parsed as known");
                assert!(matches!(parsed, $t::Unknown(u) if u.as_str() == *v));
                assert_eq!(parsed.as_str(), *v);
                assert_eq!(parsed.to_string(), *v);
                assert_eq!(serde_json::to_string(parsed).unwrap(), wire, "{name}: {v:?}");
            }
            assert_eq!(from_json, from_value);
        }
        for k in $t::KNOWN {
            let lower = k.to_ascii_lowercase();
            let upper = k.to_ascii_uppercase();
            let mixed: String = k
                .chars()
                .enumerate()
                .map(|(i, c)| if i % 2 == 0 { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() })
                .collect();
            let canonical: $t = serde_json::from_value(json!(k)).unwrap();
            assert!(canonical.is_known(), "{name}: {k} not known");
            assert_eq!(canonical.as_str(), *k);
            for variant in [lower, upper, mixed] {
                let a: $t = serde_json::from_str(&serde_json::to_string(&variant).unwrap()).unwrap();
                let b: $t = serde_json::from_value(json!(variant)).unwrap();
                let c: $t = variant.parse().unwrap();
                for parsed in [a, b, c] {
                    assert_eq!(parsed, canonical, "{name}: {variant:?}");
                    // Known values serialize in the document's spelling.
                    assert_eq!(serde_json::to_value(&parsed).unwrap(), json!(k));
                }
            }
        }
        // A non-string is an error, not an Unknown.
        assert!(serde_json::from_value::<$t>(json!(3)).is_err(), "{name}");
        assert!(serde_json::from_value::<$t>(Value::Null).is_err(), "{name}");
    }};
}

#[test]
fn unknown_values_round_trip_and_known_values_match_case_insensitively() {
    check_open_enum!(Status);
    check_open_enum!(JobExecutionStatus);
    check_open_enum!(JobExecutionTaskStatus);
    check_open_enum!(TriggerType);
    check_open_enum!(PortProtocol);
    check_open_enum!(Generation);
    check_open_enum!(VolumeType);
}

#[test]
fn exact_match_wins_over_case_insensitive_match() {
    // PortProtocol values are upper case, TriggerType's lower case; a value
    // in the other case still maps to the known variant.
    assert_eq!(PortProtocol::from("http"), PortProtocol::Http);
    assert_eq!(TriggerType::from("HTTP-ASYNC"), TriggerType::HttpAsync);
    assert_eq!(Status::from("Deployed"), Status::Deployed);
    assert_eq!(Generation::from("MK3").as_str(), "mk3");
    // Near misses stay unknown.
    assert!(!TriggerType::from("http async").is_known());
    assert!(!Generation::from("mk-3").is_known());
}

/// The statuses a description calls final: the back-quoted words of the
/// sentence "… are final." in the schema's description.
fn final_statuses_in_description(schema: &str) -> BTreeSet<String> {
    let doc = common::document();
    let description = common::schemas(&doc)[schema]["description"]
        .as_str()
        .expect("description")
        .replace('\n', " ");
    let sentence = description
        .split(". ")
        .find(|s| s.contains("are final"))
        .unwrap_or_else(|| panic!("{schema}: no 'are final' sentence"));
    sentence
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

#[test]
fn job_execution_status_is_terminal_exactly_for_final_states() {
    let expected: BTreeSet<String> = ["succeeded", "failed", "cancelled", "timeout"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(
        final_statuses_in_description("JobExecutionStatus"),
        expected
    );
    for k in JobExecutionStatus::KNOWN {
        let s = JobExecutionStatus::from(*k);
        assert_eq!(s.is_terminal(), expected.contains(*k), "{k}");
        assert_eq!(
            JobExecutionStatus::from(k.to_ascii_uppercase()).is_terminal(),
            expected.contains(*k),
            "{k} upper case"
        );
    }
    for unknown in ["completed", "paused", "", "expired"] {
        assert!(
            !JobExecutionStatus::from(unknown).is_terminal(),
            "{unknown}"
        );
    }
}

#[test]
fn task_status_is_terminal_exactly_for_final_states() {
    let expected: BTreeSet<String> = ["succeeded", "failed", "cancelled"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(
        final_statuses_in_description("JobExecutionTaskStatus"),
        expected
    );
    for k in JobExecutionTaskStatus::KNOWN {
        assert_eq!(
            JobExecutionTaskStatus::from(*k).is_terminal(),
            expected.contains(*k),
            "{k}"
        );
    }
    assert!(!JobExecutionTaskStatus::from("timeout").is_terminal());
}

#[test]
fn closed_enums_match_the_document_and_reject_other_values() {
    // ListSort and ListAnchor are generated closed enums; their values are
    // only ever sent, so a strict type is right there.
    let doc = common::document();
    let schemas = common::schemas(&doc);
    for name in ["ListSort", "ListAnchor"] {
        assert_eq!(schemas[name].get("x-blaxel-open-enum"), None, "{name}");
    }
    let sorts = enum_values(&schemas["ListSort"]);
    assert_eq!(sorts.len(), 4);
    for v in &sorts {
        let s: types::ListSort = v.parse().expect("ListSort value");
        assert_eq!(&s.to_string(), v);
        assert_eq!(serde_json::to_value(s).unwrap(), json!(v));
    }
    let default = schemas["ListSort"]["default"].as_str().expect("default");
    assert_eq!(types::ListSort::default().to_string(), default);
    for v in enum_values(&schemas["ListAnchor"]) {
        let a: types::ListAnchor = v.parse().expect("ListAnchor value");
        assert_eq!(a.to_string(), v);
    }
    assert!("createdAt:DESC".parse::<types::ListSort>().is_err());
    assert!("start".parse::<types::ListAnchor>().is_err());
    assert!(serde_json::from_value::<types::ListSort>(json!("updatedAt:asc")).is_err());
}
