//! Loading the OpenAPI document and deriving the view that progenitor sees.

use serde_json::Value;
use std::path::Path;

/// Path of our document, relative to the workspace root.
pub const SPEC_PATH: &str = "openapi/jobs.yaml";

/// Keywords that state what the server accepts in requests. They stay in the
/// document (the emulator and the SDK enforce them on requests) but are
/// removed from the copy that progenitor sees, so that generated types never
/// reject a server response.
pub const REQUEST_ONLY_KEYWORDS: &[&str] = &[
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minItems",
    "maxItems",
];

/// The marker of schemas whose enum lists only the values known today.
pub const OPEN_ENUM_MARKER: &str = "x-blaxel-open-enum";

/// Reads a YAML (or JSON, which is YAML) OpenAPI document into a JSON value.
pub fn load(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Parses YAML (or JSON) text into a JSON value.
pub fn parse(text: &str) -> Result<Value, String> {
    serde_saphyr::from_str::<Value>(text).map_err(|e| format!("not a valid YAML document: {e}"))
}

/// Names of the component schemas marked as open enums, in document order.
pub fn open_enums(doc: &Value) -> Vec<String> {
    schemas(doc)
        .filter(|(_, s)| s.get(OPEN_ENUM_MARKER).and_then(Value::as_bool) == Some(true))
        .map(|(name, _)| name.to_owned())
        .collect()
}

/// The component schemas of a document, in document order.
pub fn schemas(doc: &Value) -> impl Iterator<Item = (&str, &Value)> {
    doc.pointer("/components/schemas")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|m| m.iter().map(|(k, v)| (k.as_str(), v)))
}

/// The copy of the document that progenitor generates from: request-only
/// validation keywords are removed from every schema.
pub fn generation_view(doc: &Value) -> Value {
    let mut view = doc.clone();
    strip_keywords(&mut view, false);
    view
}

/// Removes [`REQUEST_ONLY_KEYWORDS`] from every schema object below `value`.
/// `in_schema` is true when `value` itself is a schema (so that a property
/// *named* `pattern` or `maximum` is never mistaken for a keyword).
fn strip_keywords(value: &mut Value, in_schema: bool) {
    match value {
        Value::Object(map) => {
            if in_schema {
                for kw in REQUEST_ONLY_KEYWORDS {
                    map.remove(*kw);
                }
            }
            for (key, child) in map.iter_mut() {
                let child_is_schema = match key.as_str() {
                    "schema" | "items" | "additionalProperties" | "not" => true,
                    // Members of these are maps or lists of schemas.
                    "properties" | "schemas" | "allOf" | "oneOf" | "anyOf" => {
                        strip_members(child);
                        continue;
                    }
                    _ => false,
                };
                strip_keywords(child, child_is_schema);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| strip_keywords(v, false)),
        _ => {}
    }
}

fn strip_members(value: &mut Value) {
    match value {
        Value::Object(map) => map.values_mut().for_each(|v| strip_keywords(v, true)),
        Value::Array(items) => items.iter_mut().for_each(|v| strip_keywords(v, true)),
        _ => {}
    }
}

/// The HTTP methods an OpenAPI path item may hold, in a fixed order.
pub const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// One operation of a document.
#[derive(Debug, Clone, Copy)]
pub struct Operation<'a> {
    /// The path template, such as `/jobs/{jobId}`.
    pub path: &'a str,
    /// The lower-case HTTP method.
    pub method: &'a str,
    /// The path item (for path-level parameters).
    pub path_item: &'a Value,
    /// The operation object.
    pub op: &'a Value,
}

impl Operation<'_> {
    /// The operationId, if any.
    pub fn id(&self) -> Option<&str> {
        self.op.get("operationId").and_then(Value::as_str)
    }

    /// A label naming the operation in messages: `CreateJob (POST /jobs)`.
    pub fn label(&self) -> String {
        format!(
            "{} ({} {})",
            self.id().unwrap_or("<no operationId>"),
            self.method.to_uppercase(),
            self.path
        )
    }

    /// Whether the operation carries the given tag.
    pub fn has_tag(&self, tag: &str) -> bool {
        self.op
            .get("tags")
            .and_then(Value::as_array)
            .is_some_and(|t| t.iter().any(|v| v.as_str() == Some(tag)))
    }
}

/// Every operation of a document, in document order.
pub fn operations(doc: &Value) -> Vec<Operation<'_>> {
    let mut out = Vec::new();
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return out;
    };
    for (path, item) in paths {
        for method in METHODS {
            if let Some(op) = item.get(*method) {
                out.push(Operation {
                    path,
                    method,
                    path_item: item,
                    op,
                });
            }
        }
    }
    out
}

/// Follows a local `$ref` (`#/components/...`) once; other values come back
/// unchanged. Unknown references resolve to `None`.
pub fn deref<'a>(doc: &'a Value, value: &'a Value) -> Option<&'a Value> {
    match value.get("$ref").and_then(Value::as_str) {
        Some(r) => doc.pointer(r.strip_prefix('#')?),
        None => Some(value),
    }
}

/// The name a `$ref` points at (`#/components/schemas/Job` gives `Job`).
pub fn ref_name(value: &Value) -> Option<&str> {
    value
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.rsplit('/').next())
}

/// The parameters of an operation, path-level ones included, resolved.
pub fn parameters<'a>(doc: &'a Value, op: &Operation<'a>) -> Vec<&'a Value> {
    let mut out: Vec<&Value> = Vec::new();
    for source in [op.op, op.path_item] {
        for p in source
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(p) = deref(doc, p) else { continue };
            let key = (p.get("in"), p.get("name"));
            // Operation-level parameters override path-level ones.
            if !out.iter().any(|q| (q.get("in"), q.get("name")) == key) {
                out.push(p);
            }
        }
    }
    out
}

/// Reads the workspace document.
pub fn load_workspace_spec(root: &Path) -> Result<Value, String> {
    load(&root.join(SPEC_PATH))
}
