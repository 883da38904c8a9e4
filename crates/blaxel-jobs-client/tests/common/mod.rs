//! Helpers shared by the integration tests of `blaxel-jobs-client`: fixture
//! loading, the OpenAPI document, and a JSON comparison that names the JSON
//! pointers that differ.
#![allow(dead_code)]

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::fmt;
use std::path::PathBuf;

/// `tests/fixtures/` of this crate.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
}

/// Every fixture file name, sorted.
pub fn fixture_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures_dir())
        .expect("read tests/fixtures")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .into_string()
                .expect("utf-8 name")
        })
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    names
}

/// The raw text of a fixture.
pub fn fixture_text(name: &str) -> String {
    let path = fixtures_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// A fixture as a JSON value.
pub fn fixture_value(name: &str) -> Value {
    serde_json::from_str(&fixture_text(name))
        .unwrap_or_else(|e| panic!("{name}: invalid JSON: {e}"))
}

/// A fixture parsed into a generated type.
pub fn fixture<T: DeserializeOwned>(name: &str) -> T {
    serde_json::from_str(&fixture_text(name)).unwrap_or_else(|e| {
        panic!(
            "{name} does not parse as {}: {e}",
            std::any::type_name::<T>()
        )
    })
}

/// Serializes a value to a JSON value.
pub fn to_value<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("serialize to JSON")
}

/// `openapi/jobs.yaml`, parsed into a JSON value.
pub fn document() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../openapi/jobs.yaml");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_yaml_ng::from_str::<Value>(&text).expect("openapi/jobs.yaml is valid YAML")
}

/// `components.schemas` of the document.
pub fn schemas(doc: &Value) -> &serde_json::Map<String, Value> {
    doc.pointer("/components/schemas")
        .and_then(Value::as_object)
        .expect("components.schemas")
}

/// Resolves a local `$ref` (`#/components/...`) if `v` is one.
pub fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let pointer = r.strip_prefix('#').expect("local $ref");
            doc.pointer(pointer)
                .unwrap_or_else(|| panic!("dangling $ref {r}"))
        }
        None => v,
    }
}

/// Escapes one JSON-pointer reference token (RFC 6901).
pub fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// One difference between two JSON values.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Diff {
    /// Present in the expected value only.
    Missing(String),
    /// Present in the actual value only.
    Added(String),
    /// Present in both with different values (or types).
    Changed(String),
}

impl Diff {
    pub fn pointer(&self) -> &str {
        match self {
            Diff::Missing(p) | Diff::Added(p) | Diff::Changed(p) => p,
        }
    }
}

impl fmt::Display for Diff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Diff::Missing(p) => write!(f, "- {p}  (only in expected)"),
            Diff::Added(p) => write!(f, "+ {p}  (only in actual)"),
            Diff::Changed(p) => write!(f, "~ {p}  (values differ)"),
        }
    }
}

/// The JSON pointers at which `actual` differs from `expected`, outermost
/// first: a missing object member is reported once, not per descendant.
pub fn json_diff(expected: &Value, actual: &Value) -> Vec<Diff> {
    let mut out = Vec::new();
    diff_at(String::new(), expected, actual, &mut out);
    out
}

fn diff_at(path: String, expected: &Value, actual: &Value, out: &mut Vec<Diff>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                let p = format!("{path}/{}", escape_token(k));
                match a.get(k) {
                    Some(av) => diff_at(p, ev, av, out),
                    None => out.push(Diff::Missing(p)),
                }
            }
            for k in a.keys().filter(|k| !e.contains_key(*k)) {
                out.push(Diff::Added(format!("{path}/{}", escape_token(k))));
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            for (i, ev) in e.iter().enumerate() {
                let p = format!("{path}/{i}");
                match a.get(i) {
                    Some(av) => diff_at(p, ev, av, out),
                    None => out.push(Diff::Missing(p)),
                }
            }
            for i in e.len()..a.len() {
                out.push(Diff::Added(format!("{path}/{i}")));
            }
        }
        (e, a) if e == a => {}
        _ => out.push(Diff::Changed(path)),
    }
}

/// Asserts that two JSON values are equal; on mismatch, panics with the list
/// of JSON pointers that differ.
#[track_caller]
pub fn assert_json_eq(what: &str, expected: &Value, actual: &Value) {
    let diffs = json_diff(expected, actual);
    if !diffs.is_empty() {
        let list: Vec<String> = diffs
            .iter()
            .map(|d| {
                let e = expected.pointer(d.pointer());
                let a = actual.pointer(d.pointer());
                format!("  {d}\n      expected: {e:?}\n      actual:   {a:?}")
            })
            .collect();
        panic!(
            "{what}: JSON differs at {} pointer(s):\n{}",
            diffs.len(),
            list.join("\n")
        );
    }
}

/// Removes the member or element at `pointer` (RFC 6901) and returns it.
pub fn remove_pointer(v: &mut Value, pointer: &str) -> Option<Value> {
    let (parent, last) = pointer.rsplit_once('/')?;
    let last = last.replace("~1", "/").replace("~0", "~");
    match v.pointer_mut(parent)? {
        Value::Object(m) => m.remove(&last),
        Value::Array(a) => {
            let i: usize = last.parse().ok()?;
            (i < a.len()).then(|| a.remove(i))
        }
        _ => None,
    }
}

/// Parses `name` as `T`, serializes it back, and asserts that nothing was
/// lost or added. Returns the parsed value.
#[track_caller]
pub fn assert_round_trip<T: DeserializeOwned + Serialize>(name: &str) -> T {
    let original = fixture_value(name);
    let parsed: T = fixture(name);
    let back = to_value(&parsed);
    assert_json_eq(
        &format!("{name} as {}", std::any::type_name::<T>()),
        &original,
        &back,
    );
    parsed
}

/// Collects a byte stream (an error or unexpected body) into bytes.
pub async fn collect_body(stream: blaxel_jobs_client::ByteStream) -> Vec<u8> {
    use futures_util::TryStreamExt;
    let chunks: Vec<_> = stream
        .into_inner()
        .try_collect()
        .await
        .expect("read the body stream");
    chunks.concat()
}
