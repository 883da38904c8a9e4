//! Checks for what progenitor cannot handle, run before generation so that
//! each problem is reported clearly, naming its operation, instead of as a
//! progenitor panic or a silent merge.

use crate::spec::{self, Operation};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Runs every check and returns one message per problem found.
pub fn check(doc: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    check_version(doc, &mut problems);
    let ops = spec::operations(doc);
    check_operation_ids(&ops, &mut problems);
    for op in &ops {
        check_request_body(doc, op, &mut problems);
        check_responses(doc, op, &mut problems);
        check_parameters(doc, op, &mut problems);
    }
    check_examples(doc, &mut problems);
    problems
}

fn check_version(doc: &Value, problems: &mut Vec<String>) {
    match doc.get("openapi").and_then(Value::as_str) {
        Some(v) if v.starts_with("3.0.") => {}
        Some(v) => problems.push(format!(
            "document: OpenAPI version {v} is not supported; progenitor needs 3.0.x"
        )),
        None => problems.push("document: the `openapi` version field is missing".into()),
    }
}

fn check_operation_ids(ops: &[Operation<'_>], problems: &mut Vec<String>) {
    let mut seen: BTreeMap<&str, String> = BTreeMap::new();
    for op in ops {
        match op.id() {
            None | Some("") => problems.push(format!(
                "operation {}: operationId is missing; progenitor names methods after it",
                op.label()
            )),
            Some(id) => {
                if let Some(first) = seen.get(id) {
                    problems.push(format!(
                        "operation {}: operationId `{id}` is already used by {first}",
                        op.label()
                    ));
                } else {
                    seen.insert(id, op.label());
                }
            }
        }
    }
}

fn check_request_body(doc: &Value, op: &Operation<'_>, problems: &mut Vec<String>) {
    let Some(body) = op.op.get("requestBody").and_then(|b| spec::deref(doc, b)) else {
        return;
    };
    let types: Vec<&str> = body
        .get("content")
        .and_then(Value::as_object)
        .map(|c| c.keys().map(String::as_str).collect())
        .unwrap_or_default();
    if types.len() > 1 {
        problems.push(format!(
            "operation {}: the request body has {} media types ({}); progenitor supports exactly one",
            op.label(),
            types.len(),
            types.join(", ")
        ));
    }
    if let Some(mt) = types.iter().find(|t| t.starts_with("multipart/")) {
        problems.push(format!(
            "operation {}: the request body is {mt}; progenitor does not support multipart bodies",
            op.label()
        ));
    }
}

/// What a response decodes to, as progenitor sees it.
fn response_kind(response: &Value) -> String {
    let Some(content) = response.get("content").and_then(Value::as_object) else {
        return "no content".into();
    };
    let json = content
        .iter()
        .find(|(k, _)| *k == "application/json" || k.starts_with("application/json;"));
    match json {
        Some((_, mt)) => match mt.get("schema") {
            Some(s) => match spec::ref_name(s) {
                Some(name) => format!("schema {name}"),
                None => format!("inline schema {s}"),
            },
            None => "JSON without a schema".into(),
        },
        None if content.is_empty() => "no content".into(),
        None => "raw body".into(),
    }
}

fn check_responses(doc: &Value, op: &Operation<'_>, problems: &mut Vec<String>) {
    let Some(responses) = op.op.get("responses").and_then(Value::as_object) else {
        problems.push(format!(
            "operation {}: no responses are declared",
            op.label()
        ));
        return;
    };
    let mut success: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let mut error: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (code, response) in responses {
        let Some(response) = spec::deref(doc, response) else {
            problems.push(format!(
                "operation {}: response {code} refers to a missing component",
                op.label()
            ));
            continue;
        };
        let json_without_schema = response
            .get("content")
            .and_then(Value::as_object)
            .and_then(|mt| mt.iter().find(|(k, _)| k.starts_with("application/json")))
            .is_some_and(|(_, m)| m.get("schema").is_none());
        if json_without_schema {
            problems.push(format!(
                "operation {}: response {code} is JSON without a schema; progenitor cannot type it",
                op.label()
            ));
        }
        let kind = response_kind(response);
        let class = code.chars().next().unwrap_or('?');
        if code == "default" {
            success.entry(kind.clone()).or_default().push(code);
            error.entry(kind).or_default().push(code);
        } else if matches!(class, '1' | '2') {
            success.entry(kind).or_default().push(code);
        } else if matches!(class, '4' | '5') {
            error.entry(kind).or_default().push(code);
        }
    }
    // A 2XX range makes a `default` unreachable as a success; progenitor drops it.
    if responses.contains_key("2XX") {
        success.retain(|_, codes| {
            codes.retain(|c| *c != "default");
            !codes.is_empty()
        });
    }
    for (what, kinds) in [("success", &success), ("error", &error)] {
        if kinds.len() > 1 {
            let list: Vec<String> = kinds
                .iter()
                .map(|(k, codes)| format!("{} -> {k}", codes.join("/")))
                .collect();
            problems.push(format!(
                "operation {}: {what} responses decode to {} different types ({}); \
                 progenitor supports one {what} type per operation (note that `default` \
                 counts as both success and error)",
                op.label(),
                kinds.len(),
                list.join("; ")
            ));
        }
    }
}

fn check_parameters(doc: &Value, op: &Operation<'_>, problems: &mut Vec<String>) {
    for p in spec::parameters(doc, op) {
        let name = p.get("name").and_then(Value::as_str).unwrap_or("<unnamed>");
        match p.get("in").and_then(Value::as_str) {
            Some("cookie") => problems.push(format!(
                "operation {}: parameter `{name}` is a cookie parameter; progenitor does not support them",
                op.label()
            )),
            Some("path" | "query" | "header") => {}
            other => problems.push(format!(
                "operation {}: parameter `{name}` has an unknown location {other:?}",
                op.label()
            )),
        }
    }
}

/// Example values must have the type of their schema (a defect of Blaxel's
/// document that we fixed and do not want back).
fn check_examples(doc: &Value, problems: &mut Vec<String>) {
    let mut seen = BTreeSet::new();
    for (name, schema) in spec::schemas(doc) {
        walk_examples(name, schema, problems, &mut seen);
    }
}

fn walk_examples(
    path: &str,
    schema: &Value,
    problems: &mut Vec<String>,
    seen: &mut BTreeSet<String>,
) {
    if let (Some(ty), Some(example)) = (
        schema.get("type").and_then(Value::as_str),
        schema.get("example"),
    ) {
        let ok = match ty {
            "string" => example.is_string(),
            "integer" => example.is_i64() || example.is_u64(),
            "number" => example.is_number(),
            "boolean" => example.is_boolean(),
            "object" => example.is_object(),
            "array" => example.is_array(),
            _ => true,
        };
        if !ok && seen.insert(path.to_owned()) {
            problems.push(format!(
                "schema {path}: the example {example} is not of type {ty}"
            ));
        }
    }
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (k, v) in props {
            walk_examples(&format!("{path}.{k}"), v, problems, seen);
        }
    }
    if let Some(items) = schema.get("items") {
        walk_examples(&format!("{path}[]"), items, problems, seen);
    }
}
