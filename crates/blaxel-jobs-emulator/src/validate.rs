//! Request validation against the embedded OpenAPI document.
//!
//! Every request body, path parameter and query parameter is
//! checked against the schemas of its operation before the emulator acts on
//! it, so the emulator rejects exactly what the document says the server
//! rejects, and a change to the document changes the emulator with it.
//!
//! # Why a hand-written validator
//!
//! General JSON Schema crates implement JSON Schema drafts, not the OpenAPI
//! 3.0 dialect, and they are heavy to compile. OpenAPI 3.0 differs where it
//! matters here:
//!
//! - `readOnly` properties belong to responses. In a request they are
//!   accepted and ignored: not validated, not required, and removed from the
//!   value handed on (so `status` or `metadata.createdAt` sent back by a
//!   client that read a job and is updating it do no harm).
//! - `nullable: true` is how 3.0 allows `null`; without it `null` is a type
//!   error.
//! - `$ref` siblings are ignored, and references point into `components`.
//! - `exclusiveMinimum` / `exclusiveMaximum` are booleans.
//!
//! The document only uses a small part of JSON Schema, so about three hundred
//! lines cover it: `type`, `required`, `properties`, `additionalProperties`
//! (boolean or schema), `items`, `enum`, `minimum`, `maximum`,
//! `exclusiveMinimum`, `exclusiveMaximum`, `minLength`, `maxLength` (in
//! characters), `pattern` (with `regex-lite`), `minItems`, `maxItems`,
//! `allOf`, `anyOf`, `oneOf`, `nullable` and `readOnly`. Unknown properties
//! are ignored, as the document does not forbid them. Formats are not checked.
//!
//! One extension is honoured: `x-blaxel-clamp: true` on a number with a
//! `maximum` clamps a larger value to the maximum instead of refusing it, as
//! the server does with page sizes.
//!
//! Violations name the field, in the form `metadata.name: must match ...`,
//! `spec.triggers[0].configuration.timeout: must be at most 900` or
//! `query limit: must be at most 100`.

use crate::document::Spec;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;

/// One way a request breaks the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Violation {
    /// Where: `metadata.name`, `query limit`, `body`.
    pub(crate) field: String,
    /// What is wrong, such as `must be at most 100`.
    pub(crate) message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Joins violations into one message, at most `MAX_REPORTED` of them.
pub(crate) fn describe(violations: &[Violation]) -> String {
    const MAX_REPORTED: usize = 10;
    let mut parts: Vec<String> = violations
        .iter()
        .take(MAX_REPORTED)
        .map(|v| v.to_string())
        .collect();
    if violations.len() > MAX_REPORTED {
        parts.push(format!(
            "and {} more problem(s)",
            violations.len() - MAX_REPORTED
        ));
    }
    parts.join("; ")
}

/// A location inside a value being validated.
#[derive(Debug, Clone)]
struct FieldPath {
    /// `body`, or `query limit` / `path jobId` for parameters.
    root: String,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone)]
enum Segment {
    Key(String),
    Index(usize),
}

impl FieldPath {
    fn root(root: impl Into<String>) -> Self {
        FieldPath {
            root: root.into(),
            segments: Vec::new(),
        }
    }

    fn key(&self, k: &str) -> Self {
        let mut p = self.clone();
        p.segments.push(Segment::Key(k.to_owned()));
        p
    }

    fn index(&self, i: usize) -> Self {
        let mut p = self.clone();
        p.segments.push(Segment::Index(i));
        p
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Body fields read `metadata.name`; parameters keep their root:
        // `query tags[1]`.
        let mut first = true;
        if self.segments.is_empty() || self.root != "body" {
            f.write_str(&self.root)?;
            first = self.root == "body";
        }
        for s in &self.segments {
            match s {
                Segment::Key(k) => {
                    if !first {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
                Segment::Index(i) => write!(f, "[{i}]")?,
            }
            first = false;
        }
        Ok(())
    }
}

/// The parameters of a request after validation, by name, with the
/// document's defaults filled in.
#[derive(Debug, Default, Clone)]
pub(crate) struct Params {
    values: HashMap<String, Value>,
}

impl Params {
    /// A string parameter.
    pub(crate) fn str(&self, name: &str) -> Option<&str> {
        self.values.get(name).and_then(Value::as_str)
    }

    /// An integer parameter.
    pub(crate) fn i64(&self, name: &str) -> Option<i64> {
        self.values.get(name).and_then(Value::as_i64)
    }

    /// A boolean parameter.
    pub(crate) fn bool(&self, name: &str) -> Option<bool> {
        self.values.get(name).and_then(Value::as_bool)
    }
}

impl Spec {
    /// Validates a request body of `operation_id`. `body` is `None` when the
    /// request had none. Returns the body with `readOnly` properties removed.
    pub(crate) fn validate_body(
        &self,
        operation_id: &str,
        body: Option<&Value>,
    ) -> Result<Value, Vec<Violation>> {
        let (_, op) = self
            .operation(operation_id)
            .map_err(|e| vec![internal(e)])?;
        let Some(rb) = op.get("requestBody") else {
            return Ok(body.cloned().unwrap_or(Value::Null));
        };
        let rb = self.resolve(rb).map_err(|e| vec![internal(e)])?;
        let Some(body) = body else {
            if rb.get("required").and_then(Value::as_bool) == Some(true) {
                return Err(vec![Violation {
                    field: "body".to_owned(),
                    message: "is required (a JSON document)".to_owned(),
                }]);
            }
            return Ok(Value::Null);
        };
        let Some(schema) = rb.pointer("/content/application~1json/schema") else {
            return Ok(body.clone());
        };
        let mut errs = Vec::new();
        let cleaned = self.check(schema, body, &FieldPath::root("body"), &mut errs);
        if errs.is_empty() {
            Ok(cleaned)
        } else {
            Err(errs)
        }
    }

    /// Validates the path and query parameters of `operation_id`, converting
    /// each to its schema's type and filling in defaults. Query parameters the
    /// operation does not declare are ignored.
    pub(crate) fn validate_params(
        &self,
        operation_id: &str,
        path: &[(String, String)],
        query: &[(String, String)],
    ) -> Result<Params, Vec<Violation>> {
        let (item, op) = self
            .operation(operation_id)
            .map_err(|e| vec![internal(e)])?;
        // Operation-level parameters override path-level ones of the same name and place.
        let mut declared: Vec<&Value> = Vec::new();
        for list in [item.get("parameters"), op.get("parameters")]
            .into_iter()
            .flatten()
        {
            for p in list.as_array().into_iter().flatten() {
                let p = self.resolve(p).map_err(|e| vec![internal(e)])?;
                let key = (p.get("name"), p.get("in"));
                declared.retain(|q| (q.get("name"), q.get("in")) != key);
                declared.push(p);
            }
        }
        let mut params = Params::default();
        let mut errs = Vec::new();
        for p in declared {
            let (Some(name), Some(place)) = (
                p.get("name").and_then(Value::as_str),
                p.get("in").and_then(Value::as_str),
            ) else {
                continue;
            };
            let source = match place {
                "path" => path,
                "query" => query,
                // Header and cookie parameters are not used by this document.
                _ => continue,
            };
            let schema = match p.get("schema") {
                Some(s) => match self.resolve(s) {
                    Ok(s) => s,
                    Err(e) => {
                        errs.push(internal(e));
                        continue;
                    }
                },
                None => &Value::Null,
            };
            let field = FieldPath::root(format!("{place} {name}"));
            let raw: Vec<&str> = source
                .iter()
                .filter(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
                .collect();
            let is_array = schema.get("type").and_then(Value::as_str) == Some("array");
            if raw.is_empty() {
                if p.get("required").and_then(Value::as_bool) == Some(true) {
                    errs.push(violation(&field, "is required"));
                } else if let Some(d) = schema.get("default") {
                    params.values.insert(name.to_owned(), d.clone());
                }
                continue;
            }
            let value = if is_array {
                let items = schema.get("items").unwrap_or(&Value::Null);
                let items = self.resolve(items).unwrap_or(&Value::Null);
                let mut out = Vec::new();
                for (i, r) in raw.iter().enumerate() {
                    match coerce(items, r) {
                        Ok(v) => out.push(v),
                        Err(m) => errs.push(violation(&field.index(i), &m)),
                    }
                }
                Value::Array(out)
            } else {
                if raw.len() > 1 {
                    errs.push(violation(&field, "must be given at most once"));
                    continue;
                }
                match coerce(schema, raw[0]) {
                    Ok(v) => v,
                    Err(m) => {
                        errs.push(violation(&field, &m));
                        continue;
                    }
                }
            };
            let before = errs.len();
            let cleaned = self.check(schema, &value, &field, &mut errs);
            if errs.len() == before {
                params.values.insert(name.to_owned(), cleaned);
            }
        }
        if errs.is_empty() {
            Ok(params)
        } else {
            Err(errs)
        }
    }

    /// Checks `value` against `schema`, collecting violations, and returns the
    /// value with `readOnly` properties removed.
    fn check(
        &self,
        schema: &Value,
        value: &Value,
        at: &FieldPath,
        errs: &mut Vec<Violation>,
    ) -> Value {
        let schema = match self.resolve(schema) {
            Ok(s) => s,
            Err(e) => {
                errs.push(internal(e));
                return value.clone();
            }
        };
        let Some(s) = schema.as_object() else {
            // `true`, `{}` or an empty schema: anything goes.
            return value.clone();
        };
        let ty = s.get("type").and_then(Value::as_str);

        if value.is_null() {
            if s.get("nullable").and_then(Value::as_bool) == Some(true) {
                return Value::Null;
            }
            if let Some(t) = ty {
                errs.push(violation(at, &format!("must be {}, not null", article(t))));
                return Value::Null;
            }
        }

        let mut cleaned = value.clone();

        for sub in s
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            cleaned = self.check(sub, &cleaned, at, errs);
        }
        if let Some(subs) = s.get("anyOf").and_then(Value::as_array) {
            match self.matching(subs, &cleaned, at) {
                (0, _) => errs.push(violation(
                    at,
                    "must match at least one of the allowed shapes",
                )),
                (_, Some(v)) => cleaned = v,
                _ => {}
            }
        }
        if let Some(subs) = s.get("oneOf").and_then(Value::as_array) {
            match self.matching(subs, &cleaned, at) {
                (1, Some(v)) => cleaned = v,
                (n, _) => errs.push(violation(
                    at,
                    &format!("must match exactly one of the allowed shapes ({n} match)"),
                )),
            }
        }

        if let Some(t) = ty
            && !has_type(&cleaned, t)
        {
            let message = match (&cleaned, t) {
                // Integers are 64-bit signed, as in the generated types.
                (Value::Number(n), "integer") if n.is_u64() => {
                    format!("must be an integer of at most {}, not {n}", i64::MAX)
                }
                (Value::Number(n), "integer") => format!("must be an integer, not {n}"),
                _ => format!("must be {}, not {}", article(t), kind_of(&cleaned)),
            };
            errs.push(violation(at, &message));
            return cleaned;
        }

        if let Some(allowed) = s.get("enum").and_then(Value::as_array)
            && !allowed.contains(&cleaned)
        {
            let list: Vec<String> = allowed.iter().map(show).collect();
            errs.push(violation(
                at,
                &format!("must be one of {}", list.join(", ")),
            ));
        }

        match &mut cleaned {
            Value::Object(map) => self.check_object(s, map, at, errs),
            Value::Array(items) => {
                let n = items.len() as u64;
                if let Some(min) = s.get("minItems").and_then(Value::as_u64)
                    && n < min
                {
                    errs.push(violation(at, &format!("must have at least {min} item(s)")));
                }
                if let Some(max) = s.get("maxItems").and_then(Value::as_u64)
                    && n > max
                {
                    errs.push(violation(at, &format!("must have at most {max} item(s)")));
                }
                if let Some(item_schema) = s.get("items") {
                    for (i, item) in items.iter_mut().enumerate() {
                        *item = self.check(item_schema, item, &at.index(i), errs);
                    }
                }
            }
            Value::String(text) => {
                let len = text.chars().count() as u64;
                if let Some(min) = s.get("minLength").and_then(Value::as_u64)
                    && len < min
                {
                    errs.push(violation(
                        at,
                        &format!("must be at least {min} character(s) long"),
                    ));
                }
                if let Some(max) = s.get("maxLength").and_then(Value::as_u64)
                    && len > max
                {
                    errs.push(violation(
                        at,
                        &format!("must be at most {max} character(s) long"),
                    ));
                }
                if let Some(p) = s.get("pattern").and_then(Value::as_str) {
                    match self.pattern(p) {
                        Some(re) if !re.is_match(text) => {
                            errs.push(violation(at, &format!("must match {p}")));
                        }
                        Some(_) => {}
                        None => errs.push(internal(format!("pattern {p} was not compiled"))),
                    }
                }
            }
            Value::Number(n) => {
                if let Some(max) = clamp_to(s, n) {
                    *n = max;
                } else {
                    check_number(s, n, at, errs);
                }
            }
            _ => {}
        }
        cleaned
    }

    fn check_object(
        &self,
        s: &Map<String, Value>,
        map: &mut Map<String, Value>,
        at: &FieldPath,
        errs: &mut Vec<Violation>,
    ) {
        let props = s.get("properties").and_then(Value::as_object);
        for req in s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(name) = req.as_str() else { continue };
            let read_only = props
                .and_then(|p| p.get(name))
                .is_some_and(|p| self.is_read_only(p));
            if !read_only && !map.contains_key(name) {
                errs.push(violation(&at.key(name), "is required"));
            }
        }
        let additional = s.get("additionalProperties");
        let keys: Vec<String> = map.keys().cloned().collect();
        for key in keys {
            let Some(value) = map.get(&key) else { continue };
            if let Some(prop) = props.and_then(|p| p.get(&key)) {
                if self.is_read_only(prop) {
                    map.remove(&key);
                    continue;
                }
                let v = self.check(prop, value, &at.key(&key), errs);
                map.insert(key, v);
            } else {
                match additional {
                    Some(Value::Bool(false)) => {
                        errs.push(violation(&at.key(&key), "is not an allowed property"));
                    }
                    Some(extra @ Value::Object(_)) => {
                        let v = self.check(extra, value, &at.key(&key), errs);
                        map.insert(key, v);
                    }
                    _ => {}
                }
            }
        }
    }

    /// How many of `subs` the value matches, and the cleaned value of the first match.
    fn matching(&self, subs: &[Value], value: &Value, at: &FieldPath) -> (usize, Option<Value>) {
        let mut count = 0;
        let mut first = None;
        for sub in subs {
            let mut e = Vec::new();
            let v = self.check(sub, value, at, &mut e);
            if e.is_empty() {
                count += 1;
                first.get_or_insert(v);
            }
        }
        (count, first)
    }
}

/// The `maximum` that a number above it is clamped to, when the schema
/// says the server clamps (`x-blaxel-clamp: true`) instead of refusing.
fn clamp_to(s: &Map<String, Value>, n: &serde_json::Number) -> Option<serde_json::Number> {
    if s.get("x-blaxel-clamp").and_then(Value::as_bool) != Some(true) {
        return None;
    }
    let max = s.get("maximum").and_then(Value::as_number)?;
    (compare(n, max) == Some(std::cmp::Ordering::Greater)).then(|| max.clone())
}

fn check_number(
    s: &Map<String, Value>,
    n: &serde_json::Number,
    at: &FieldPath,
    errs: &mut Vec<Violation>,
) {
    let exclusive_min = s.get("exclusiveMinimum").and_then(Value::as_bool) == Some(true);
    let exclusive_max = s.get("exclusiveMaximum").and_then(Value::as_bool) == Some(true);
    if let Some(min) = s.get("minimum").and_then(Value::as_number) {
        match compare(n, min) {
            Some(std::cmp::Ordering::Less) => {
                errs.push(violation(at, &format!("must be at least {min}")));
            }
            Some(std::cmp::Ordering::Equal) if exclusive_min => {
                errs.push(violation(at, &format!("must be greater than {min}")));
            }
            _ => {}
        }
    }
    if let Some(max) = s.get("maximum").and_then(Value::as_number) {
        match compare(n, max) {
            Some(std::cmp::Ordering::Greater) => {
                errs.push(violation(at, &format!("must be at most {max}")));
            }
            Some(std::cmp::Ordering::Equal) if exclusive_max => {
                errs.push(violation(at, &format!("must be less than {max}")));
            }
            _ => {}
        }
    }
}

/// Compares two JSON numbers exactly when both are integers.
fn compare(a: &serde_json::Number, b: &serde_json::Number) -> Option<std::cmp::Ordering> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x.cmp(&y));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

/// Converts a query or path string to the type its schema asks for.
fn coerce(schema: &Value, raw: &str) -> Result<Value, String> {
    match schema.get("type").and_then(Value::as_str) {
        Some("integer") => raw
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| format!("must be an integer, not {raw:?}")),
        Some("number") => match raw.trim().parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Value::from(f)),
            _ => Err(format!("must be a number, not {raw:?}")),
        },
        Some("boolean") => match raw.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(format!("must be true or false, not {raw:?}")),
        },
        _ => Ok(Value::String(raw.to_owned())),
    }
}

fn has_type(v: &Value, t: &str) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "number" => v.is_number(),
        "integer" => v.is_i64(),
        _ => true,
    }
}

fn article(t: &str) -> String {
    match t {
        "object" | "array" | "integer" => format!("an {t}"),
        _ => format!("a {t}"),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn violation(at: &FieldPath, message: &str) -> Violation {
    Violation {
        field: at.to_string(),
        message: message.to_owned(),
    }
}

fn internal(message: impl Into<String>) -> Violation {
    Violation {
        field: "document".to_owned(),
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec() -> &'static Spec {
        Spec::embedded().expect("the embedded document parses")
    }

    fn body_err(op: &str, body: Value) -> String {
        describe(
            &spec()
                .validate_body(op, Some(&body))
                .expect_err("should fail"),
        )
    }

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_minimal_job_is_valid() {
        let body = json!({"metadata": {"name": "a"}, "spec": {}});
        assert_eq!(
            spec().validate_body("CreateJob", Some(&body)).unwrap(),
            body
        );
    }

    #[test]
    fn names_are_checked_with_the_documents_pattern_and_length() {
        let e = body_err(
            "CreateJob",
            json!({"metadata": {"name": "Bad_Name"}, "spec": {}}),
        );
        assert_eq!(e, "metadata.name: must match ^[a-z0-9-]+$");
        // Blaxel's text allows hyphens without saying where: at the ends too.
        for name in ["-lead", "trail-", "-", "a--b"] {
            let body = json!({"metadata": {"name": name}, "spec": {}});
            assert!(
                spec().validate_body("CreateJob", Some(&body)).is_ok(),
                "{name}"
            );
        }
        let long = "a".repeat(50);
        let e = body_err("CreateJob", json!({"metadata": {"name": long}, "spec": {}}));
        assert_eq!(e, "metadata.name: must be at most 49 character(s) long");
    }

    #[test]
    fn required_properties_are_named() {
        let e = body_err("CreateJob", json!({"metadata": {}}));
        assert_eq!(e, "spec: is required; metadata.name: is required");
    }

    #[test]
    fn numbers_respect_minimum_and_maximum() {
        let e = body_err(
            "CreateJob",
            json!({"metadata": {"name": "a"}, "spec": {"runtime": {"diskPercent": 5}}}),
        );
        assert_eq!(e, "spec.runtime.diskPercent: must be at least 10");
        let e = body_err(
            "CreateJob",
            json!({"metadata": {"name": "a"}, "spec": {"triggers": [
                {"type": "http-async", "configuration": {"timeout": 901}}
            ]}}),
        );
        assert_eq!(
            e,
            "spec.triggers[0].configuration.timeout: must be at most 900"
        );
    }

    #[test]
    fn cron_schedules_are_not_restricted_to_five_fields() {
        // Blaxel's document gives a five-field example but no rule, so
        // other forms are the server's to judge.
        let job = |s: &str| {
            json!({"metadata": {"name": "a"}, "spec": {"triggers": [
                {"type": "cron", "configuration": {"schedule": s}}
            ]}})
        };
        for s in ["0 3 * * *", "@hourly", "0 0 3 * * *", ""] {
            assert!(
                spec().validate_body("CreateJob", Some(&job(s))).is_ok(),
                "{s:?}"
            );
        }
    }

    #[test]
    fn bounds_blaxel_does_not_state_are_not_enforced() {
        let body = json!({"metadata": {"name": "a"}, "spec": {
            "runtime": {"memory": 0, "maxRetries": -1, "maxConcurrentTasks": 0,
                        "ports": [{"target": 70000}],
                        "envs": [{"name": ""}]},
            "volumes": [{"name": "v", "mountPath": "relative", "type": "ephemeral", "sizeMb": 0}],
            "triggers": [{"type": "cron"}]
        }});
        spec().validate_body("CreateJob", Some(&body)).unwrap();
        let run = json!({"memory": 0});
        spec()
            .validate_body("CreateJobExecution", Some(&run))
            .unwrap();
    }

    #[test]
    fn env_entries_keep_value_from() {
        let body = json!({"metadata": {"name": "a"}, "spec": {"runtime": {"envs": [
            {"name": "DB", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}}
        ]}}});
        assert_eq!(
            spec().validate_body("CreateJob", Some(&body)).unwrap(),
            body
        );
        let e = body_err(
            "CreateJob",
            json!({"metadata": {"name": "a"}, "spec": {"runtime": {"envs": [
                {"name": "DB", "valueFrom": "db"}
            ]}}}),
        );
        assert_eq!(
            e,
            "spec.runtime.envs[0].valueFrom: must be an object, not a string"
        );
    }

    #[test]
    fn types_and_enums_are_checked() {
        let e = body_err(
            "CreateJob",
            json!({"metadata": {"name": "a"}, "spec": {"enabled": "yes", "triggers": [{"type": "ftp"}]}}),
        );
        assert_eq!(
            e,
            "spec.enabled: must be a boolean, not a string; spec.triggers[0].type: must be one of http, http-async, cron"
        );
        let e = body_err(
            "CreateJob",
            json!({"metadata": {"name": "a"}, "spec": {"runtime": {"memory": 1.5}}}),
        );
        assert_eq!(e, "spec.runtime.memory: must be an integer, not 1.5");
        let e = body_err(
            "CreateJob",
            json!({"metadata": {"name": "a"}, "spec": {"runtime": {"memory": u64::MAX}}}),
        );
        assert_eq!(
            e,
            "spec.runtime.memory: must be an integer of at most 9223372036854775807, not 18446744073709551615"
        );
        let e = body_err("CreateJob", json!([1]));
        assert_eq!(e, "body: must be an object, not an array");
    }

    #[test]
    fn additional_properties_schemas_apply_to_map_values() {
        let e = body_err(
            "CreateJob",
            json!({"metadata": {"name": "a", "labels": {"team": 3}}, "spec": {}}),
        );
        assert_eq!(e, "metadata.labels.team: must be a string, not a number");
        let e = body_err("CreateJobExecution", json!({"env": {"A": true}}));
        assert_eq!(e, "env.A: must be a string, not a boolean");
    }

    #[test]
    fn null_is_rejected_without_nullable() {
        let e = body_err(
            "CreateJob",
            json!({"metadata": {"name": "a", "displayName": null}, "spec": {}}),
        );
        assert_eq!(e, "metadata.displayName: must be a string, not null");
    }

    #[test]
    fn read_only_properties_are_ignored_and_removed() {
        let body = json!({
            "metadata": {"name": "a", "createdAt": 12, "workspace": ["x"]},
            "spec": {"triggers": [{"type": "http-async", "configuration": {"callbackSecret": 5}}]},
            "status": "NOT-A-STATUS",
            "events": "nope",
            "unknownField": {"kept": true}
        });
        let cleaned = spec().validate_body("CreateJob", Some(&body)).unwrap();
        assert_eq!(
            cleaned,
            json!({
                "metadata": {"name": "a"},
                "spec": {"triggers": [{"type": "http-async", "configuration": {}}]},
                "unknownField": {"kept": true}
            })
        );
    }

    #[test]
    fn missing_required_body_is_reported() {
        let e = spec().validate_body("CreateJob", None).unwrap_err();
        assert_eq!(describe(&e), "body: is required (a JSON document)");
    }

    /// The `default` the document gives a query parameter of an operation.
    fn default_of(operation: &str, name: &str) -> Value {
        let (item, op) = spec().operation(operation).unwrap();
        let params = [item.get("parameters"), op.get("parameters")];
        params
            .into_iter()
            .flatten()
            .flat_map(|list| list.as_array().unwrap())
            .map(|p| spec().resolve(p).unwrap())
            .find(|p| p["name"] == name && p["in"] == "query")
            .and_then(|p| spec().resolve(&p["schema"]).ok())
            .and_then(|s| s.get("default").cloned())
            .unwrap_or_else(|| panic!("{operation} {name} has no default"))
    }

    #[test]
    fn query_parameters_are_coerced_and_bounded() {
        use blaxel_jobs_client::limits::LIST_JOBS_LIMIT;
        let p = spec().validate_params("ListJobs", &[], &q(&[])).unwrap();
        assert_eq!(p.i64("limit"), default_of("ListJobs", "limit").as_i64());
        assert_eq!(p.str("sort"), default_of("ListJobs", "sort").as_str());
        assert!(p.i64("limit").is_some() && p.str("sort").is_some());
        // The server clamps page sizes to the maximum rather than refusing them.
        let (min, max) = (
            LIST_JOBS_LIMIT.minimum.unwrap(),
            LIST_JOBS_LIMIT.maximum.unwrap(),
        );
        for (asked, got) in [
            (max + 1, max),
            (max * 500, max),
            (max, max),
            (min + 6, min + 6),
        ] {
            let p = spec()
                .validate_params("ListJobs", &[], &q(&[("limit", &asked.to_string())]))
                .unwrap();
            assert_eq!(p.i64("limit"), Some(got), "{asked}");
        }
        let e = spec()
            .validate_params("ListJobs", &[], &q(&[("limit", &(min - 1).to_string())]))
            .unwrap_err();
        assert_eq!(describe(&e), format!("query limit: must be at least {min}"));
        let e = spec()
            .validate_params("ListJobs", &[], &q(&[("limit", "ten")]))
            .unwrap_err();
        assert_eq!(describe(&e), "query limit: must be an integer, not \"ten\"");
        let e = spec()
            .validate_params("ListJobs", &[], &q(&[("sort", "size:asc")]))
            .unwrap_err();
        assert_eq!(
            describe(&e),
            "query sort: must be one of createdAt:desc, createdAt:asc, name:asc, name:desc"
        );
        let e = spec()
            .validate_params("ListJobs", &[], &q(&[("limit", "1"), ("limit", "2")]))
            .unwrap_err();
        assert_eq!(describe(&e), "query limit: must be given at most once");
        let longest = blaxel_jobs_client::limits::LIST_JOBS_Q.max_length.unwrap();
        let too_long = "x".repeat(usize::try_from(longest).unwrap() + 1);
        let e = spec()
            .validate_params("ListJobs", &[], &q(&[("q", &too_long)]))
            .unwrap_err();
        assert_eq!(
            describe(&e),
            format!("query q: must be at most {longest} character(s) long")
        );
    }

    #[test]
    fn execution_listing_has_its_own_limits() {
        use blaxel_jobs_client::limits::{LIST_JOB_EXECUTIONS_LIMIT, LIST_JOB_EXECUTIONS_OFFSET};
        let op = "ListJobExecutions";
        let p = spec()
            .validate_params(op, &q(&[("jobId", "a")]), &q(&[]))
            .unwrap();
        assert_eq!(p.i64("limit"), default_of(op, "limit").as_i64());
        assert_eq!(p.i64("offset"), default_of(op, "offset").as_i64());
        assert_eq!(p.str("jobId"), Some("a"));
        // Not clamped: refused.
        let max = LIST_JOB_EXECUTIONS_LIMIT.maximum.unwrap();
        let min_offset = LIST_JOB_EXECUTIONS_OFFSET.minimum.unwrap();
        let e = spec()
            .validate_params(
                op,
                &q(&[("jobId", "a")]),
                &q(&[
                    ("limit", &(max + 1).to_string()),
                    ("offset", &(min_offset - 1).to_string()),
                ]),
            )
            .unwrap_err();
        assert_eq!(
            describe(&e),
            format!(
                "query limit: must be at most {max}; query offset: must be at least {min_offset}"
            )
        );
    }

    #[test]
    fn path_parameters_are_required_and_booleans_parse() {
        let e = spec().validate_params("GetJob", &[], &q(&[])).unwrap_err();
        assert_eq!(describe(&e), "path jobId: is required");
        let p = spec()
            .validate_params(
                "GetJob",
                &q(&[("jobId", "a")]),
                &q(&[("show_secrets", "true")]),
            )
            .unwrap();
        assert_eq!(p.bool("show_secrets"), Some(true));
        let e = spec()
            .validate_params(
                "GetJob",
                &q(&[("jobId", "a")]),
                &q(&[("show_secrets", "maybe")]),
            )
            .unwrap_err();
        assert_eq!(
            describe(&e),
            "query show_secrets: must be true or false, not \"maybe\""
        );
    }

    #[test]
    fn one_of_needs_exactly_one_match() {
        let spec = Spec::parse(
            r##"{"paths": {"/x": {"post": {"operationId": "X", "requestBody": {"required": true,
                "content": {"application/json": {"schema": {"oneOf": [
                    {"type": "object", "required": ["a"]},
                    {"type": "object", "required": ["b"]}]}}}}}}}}"##,
        )
        .unwrap();
        assert!(spec.validate_body("X", Some(&json!({"a": 1}))).is_ok());
        let e = spec
            .validate_body("X", Some(&json!({"a": 1, "b": 2})))
            .unwrap_err();
        assert_eq!(
            describe(&e),
            "body: must match exactly one of the allowed shapes (2 match)"
        );
        let e = spec.validate_body("X", Some(&json!({}))).unwrap_err();
        assert_eq!(
            describe(&e),
            "body: must match exactly one of the allowed shapes (0 match)"
        );
    }

    #[test]
    fn nullable_and_exclusive_bounds_follow_openapi_3_0() {
        let spec = Spec::parse(
            r##"{"paths": {"/x": {"post": {"operationId": "X", "requestBody": {
                "content": {"application/json": {"schema": {"type": "object", "properties": {
                    "n": {"type": "integer", "nullable": true, "minimum": 0, "exclusiveMinimum": true},
                    "tags": {"type": "array", "maxItems": 1, "items": {"type": "string", "minLength": 2}}
                }, "additionalProperties": false}}}}}}}}"##,
        )
        .unwrap();
        assert!(spec.validate_body("X", Some(&json!({"n": null}))).is_ok());
        assert!(spec.validate_body("X", None).is_ok());
        let e = spec
            .validate_body("X", Some(&json!({"n": 0, "tags": ["a", "bb"], "z": 1})))
            .unwrap_err();
        assert_eq!(
            describe(&e),
            "n: must be greater than 0; tags: must have at most 1 item(s); tags[0]: must be at least 2 character(s) long; z: is not an allowed property"
        );
    }

    #[test]
    fn broken_documents_are_reported_not_panicked() {
        let spec = Spec::parse(
            r##"{"paths": {"/x": {"post": {"operationId": "X", "requestBody": {
                "content": {"application/json": {"schema": {"$ref": "#/nowhere"}}}}}}}}"##,
        )
        .unwrap();
        let e = spec.validate_body("X", Some(&json!({}))).unwrap_err();
        assert_eq!(describe(&e), "document: dangling reference #/nowhere");
        assert!(spec.validate_body("Y", Some(&json!({}))).is_err());
    }
}
