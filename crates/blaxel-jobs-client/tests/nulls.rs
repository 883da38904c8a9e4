//! `null` in an optional position of an answer reads as absent, in every
//! answer of every operation of the document.
//!
//! The cases come from the document: for each operation, a body with every
//! property of its success schema filled in (lists with one element, maps
//! with one entry), then, for each optional property anywhere in it, the
//! same body with that property `null`. Each must decode into the
//! operation's output type exactly as the body without the property does,
//! and encode to something that decodes to itself again.

mod common;

use blaxel_jobs_client::operations::Operation;
use common::{document, escape_token, remove_pointer, resolve};
use serde_json::{Map, Value, json};

/// The schema of an operation's success (2xx) JSON answer.
fn success_schema(doc: &Value, op: Operation) -> &Value {
    let pointer = format!(
        "/paths/{}/{}/responses",
        escape_token(op.path()),
        op.method().to_ascii_lowercase()
    );
    let responses = doc
        .pointer(&pointer)
        .and_then(Value::as_object)
        .unwrap_or_else(|| panic!("{op}: no responses at {pointer}"));
    responses
        .iter()
        .filter(|(status, _)| status.starts_with('2'))
        .find_map(|(_, r)| resolve(doc, r).pointer("/content/application~1json/schema"))
        .unwrap_or_else(|| panic!("{op}: no JSON success answer"))
}

/// A value of `schema` with every property present.
fn full(doc: &Value, schema: &Value) -> Value {
    let schema = resolve(doc, schema);
    if let Some(first) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return first.clone();
    }
    for alternatives in ["oneOf", "anyOf"] {
        if let Some(first) = schema.get(alternatives).and_then(|a| a.get(0)) {
            return full(doc, first);
        }
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => {
            let mut m = Map::new();
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (name, prop) in props {
                    m.insert(name.clone(), full(doc, prop));
                }
            } else if let Some(ap) = schema.get("additionalProperties").filter(|a| a.is_object()) {
                m.insert("key".into(), full(doc, ap));
            } else {
                m.insert("key".into(), json!("value"));
            }
            Value::Object(m)
        }
        Some("array") => json!([full(doc, &schema["items"])]),
        Some("string") => json!("text"),
        Some("integer") => json!(7),
        Some("number") => json!(1.5),
        Some("boolean") => json!(false),
        _ => json!({"any": 1}),
    }
}

/// The JSON pointers of the optional properties of `schema` (in a value
/// made by [`full`]), depth first.
fn optional_positions(doc: &Value, schema: &Value, at: &str, out: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    for alternatives in ["oneOf", "anyOf"] {
        if let Some(first) = schema.get(alternatives).and_then(|a| a.get(0)) {
            return optional_positions(doc, first, at, out);
        }
    }
    if let Some(items) = schema.get("items") {
        optional_positions(doc, items, &format!("{at}/0"), out);
    }
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        let required = schema.get("required").and_then(Value::as_array);
        for (name, prop) in props {
            let here = format!("{at}/{}", escape_token(name));
            if !required.is_some_and(|r| r.contains(&json!(name))) {
                out.push(here.clone());
            }
            optional_positions(doc, prop, &here, out);
        }
    } else if let Some(ap) = schema.get("additionalProperties").filter(|a| a.is_object()) {
        optional_positions(doc, ap, &format!("{at}/key"), out);
    }
}

#[test]
fn null_reads_as_absent_in_every_optional_position_of_every_answer() {
    let doc = document();
    let mut failures = Vec::new();
    let mut cases = Vec::new();
    for op in Operation::ALL {
        let schema = success_schema(&doc, op);
        let body = full(&doc, schema);
        let decode = |v: &Value| op.round_trip_output(&serde_json::to_vec(v).unwrap());
        if let Err(e) = decode(&body) {
            failures.push(format!("{op}: the full body does not decode: {e}"));
            continue;
        }
        let mut positions = Vec::new();
        optional_positions(&doc, schema, "", &mut positions);
        for at in positions {
            let mut with_null = body.clone();
            *with_null
                .pointer_mut(&at)
                .expect("the position is in the body") = Value::Null;
            let mut without = body.clone();
            remove_pointer(&mut without, &at);
            match (decode(&with_null), decode(&without)) {
                (Ok(got), Ok(want)) if got == want => match decode(&got) {
                    Ok(again) if again == got => {}
                    other => failures.push(format!("{op} {at}: does not round-trip: {other:?}")),
                },
                (Ok(got), Ok(want)) => {
                    failures.push(format!("{op} {at}: null reads as {got}, absent as {want}"))
                }
                (Err(e), _) => failures.push(format!("{op} {at}: null fails: {e}")),
                (_, Err(e)) => failures.push(format!("{op} {at}: absent fails: {e}")),
            }
            cases.push(format!("{op} {at}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases fail:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    // The walk reaches deep and odd positions: lists, a default, a
    // hand-written type's list, a map, items of a list of a list's item.
    for expected in [
        "GetJob /spec/enabled",
        "GetJob /spec/runtime/envs",
        "GetJob /spec/runtime/envs/0/valueFrom",
        "GetJob /spec/triggers/0/configuration/tasks",
        "GetJob /metadata/labels",
        "ListJobs /data/0/spec/githubRunner/repositories",
        "GetJobExecution /spec/envOverride",
        "ListJobExecutionTasks /data/0/conditions",
        "ListJobRevisions /0/active",
        "CreateJobExecution /tasks",
    ] {
        assert!(
            cases.iter().any(|c| c == expected),
            "no case {expected} among {cases:#?}"
        );
    }
}

#[test]
fn the_generator_of_cases_can_fail() {
    // A body the types cannot read (a list where an object goes) is caught,
    // so the test above is not vacuous.
    let doc = document();
    let schema = success_schema(&doc, Operation::GetJob);
    let mut body = full(&doc, schema);
    body["spec"]["runtime"] = json!([1]);
    assert!(
        Operation::GetJob
            .round_trip_output(&serde_json::to_vec(&body).unwrap())
            .is_err()
    );
}
