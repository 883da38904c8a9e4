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
    serde_yaml_ng::from_str::<Value>(text).map_err(|e| format!("not a valid YAML document: {e}"))
}

/// The marker of schemas whose Rust type the client crate writes by hand;
/// its value is the type's path inside that crate, such as `env::Env`.
pub const RUST_TYPE_MARKER: &str = "x-blaxel-rust-type";

/// The hand-written Rust types that replace generated ones, as
/// `(schema name, path inside the client crate)`: every `x-blaxel-rust-type`,
/// and `open_enum::<Name>` for every open enum without one.
pub fn replacements(doc: &Value) -> Vec<(String, String)> {
    schemas(doc)
        .filter_map(|(name, s)| {
            let path = s.get(RUST_TYPE_MARKER).and_then(Value::as_str);
            let open = s.get(OPEN_ENUM_MARKER).and_then(Value::as_bool) == Some(true);
            match (path, open) {
                (Some(p), _) => Some((name.to_owned(), p.to_owned())),
                (None, true) => Some((name.to_owned(), format!("open_enum::{name}"))),
                (None, false) => None,
            }
        })
        .collect()
}

/// The Rust type of a component schema, as the client crate's `types`
/// module exports it: under the schema's name, or for a schema with an
/// `x-blaxel-rust-type`, under that type's name (`Status` is
/// `types::DeploymentStatus`). `None` when the document has no such schema.
pub fn replacement_type(doc: &Value, name: &str) -> Option<syn::Type> {
    let schema = doc.pointer(&format!("/components/schemas/{name}"))?;
    let rust = schema
        .get(RUST_TYPE_MARKER)
        .and_then(Value::as_str)
        .and_then(|p| p.rsplit("::").next())
        .unwrap_or(name);
    let ident = quote::format_ident!("{rust}");
    Some(syn::parse_quote!(types::#ident))
}

/// The marker of a property whose value must never show in `Debug` output.
pub const SENSITIVE_MARKER: &str = "x-blaxel-sensitive";

/// The generated schemas with properties marked [`SENSITIVE_MARKER`], as
/// `(schema, [field])` with the fields named as the generated struct names
/// them (snake case). Schemas whose Rust type is written by hand are left
/// out: their `Debug` is written by hand too.
pub fn sensitive(doc: &Value) -> Vec<(String, Vec<String>)> {
    schemas(doc)
        .filter(|(_, s)| s.get(RUST_TYPE_MARKER).is_none())
        .filter_map(|(name, s)| {
            let props = s.get("properties")?.as_object()?;
            let fields: Vec<String> = props
                .iter()
                .filter(|(_, p)| p.get(SENSITIVE_MARKER).and_then(Value::as_bool) == Some(true))
                .map(|(n, _)| heck::ToSnakeCase::to_snake_case(n.as_str()))
                .collect();
            (!fields.is_empty()).then(|| (name.to_owned(), fields))
        })
        .collect()
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

/// The operations carrying `tag`, in document order.
pub fn tagged_operations<'a>(doc: &'a Value, tag: &str) -> Vec<Operation<'a>> {
    operations(doc)
        .into_iter()
        .filter(|op| op.has_tag(tag))
        .collect()
}

/// Follows local `$ref`s until a value that is not a reference. Unknown or
/// circular references (more than 32 hops) resolve to `None`.
pub fn resolve<'a>(doc: &'a Value, value: &'a Value) -> Option<&'a Value> {
    let mut current = value;
    for _ in 0..32 {
        if current.get("$ref").is_none() {
            return Some(current);
        }
        current = deref(doc, current)?;
    }
    None
}

/// The component schema name a `$ref` points at, when it points at
/// `#/components/schemas/...` (other references give `None`).
pub fn schema_ref_name(value: &Value) -> Option<&str> {
    value
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
}

/// Names of the component schemas that `ops` reach: through their parameters
/// (path-level ones included), request bodies and responses, following
/// `$ref`s transitively (into parameter, body and response components too).
///
/// A schema reached only as a member of an `allOf` is not included: it is
/// folded into the schema that composes it (see [`merge_all_of`]). Its own
/// references are still followed.
pub fn schema_closure(doc: &Value, ops: &[Operation<'_>]) -> std::collections::BTreeSet<String> {
    let mut walk = Closure {
        doc,
        named: Default::default(),
        walked: Default::default(),
    };
    for op in ops {
        walk.value(op.op);
        if let Some(params) = op.path_item.get("parameters") {
            walk.value(params);
        }
    }
    walk.named
}

struct Closure<'a> {
    doc: &'a Value,
    named: std::collections::BTreeSet<String>,
    walked: std::collections::BTreeSet<String>,
}

impl<'a> Closure<'a> {
    fn value(&mut self, value: &'a Value) {
        match value {
            Value::Object(map) => {
                if let Some(r) = map.get("$ref").and_then(Value::as_str) {
                    self.reference(r, true);
                }
                for (key, child) in map {
                    match (key.as_str(), child) {
                        ("allOf", Value::Array(members)) => {
                            for m in members {
                                match m.get("$ref").and_then(Value::as_str) {
                                    Some(r) => self.reference(r, false),
                                    None => self.value(m),
                                }
                            }
                        }
                        _ => self.value(child),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| self.value(v)),
            _ => {}
        }
    }

    fn reference(&mut self, r: &str, name_it: bool) {
        if name_it && let Some(name) = r.strip_prefix("#/components/schemas/") {
            self.named.insert(name.to_owned());
        }
        if self.walked.insert(r.to_owned())
            && let Some(target) = r.strip_prefix('#').and_then(|p| self.doc.pointer(p))
        {
            self.value(target);
        }
    }
}

/// A schema with its `allOf` members merged into one schema: properties are
/// united (the first declaration of a property wins), `required` lists are
/// united, and any other keyword a member has is taken when the composed
/// schema lacks it. Members may be references; nested `allOf`s are merged
/// too. A schema without `allOf` comes back unchanged.
pub fn merge_all_of(doc: &Value, schema: &Value) -> Value {
    merge_all_of_depth(doc, schema, 0)
}

fn merge_all_of_depth(doc: &Value, schema: &Value, depth: usize) -> Value {
    let Some(members) = schema.get("allOf").and_then(Value::as_array) else {
        return schema.clone();
    };
    let mut merged = schema.clone();
    let Value::Object(out) = &mut merged else {
        return merged;
    };
    out.remove("allOf");
    if depth > 16 {
        return merged;
    }
    for member in members {
        let Some(member) = resolve(doc, member) else {
            continue;
        };
        let member = merge_all_of_depth(doc, member, depth + 1);
        let Value::Object(member) = member else {
            continue;
        };
        for (key, value) in member {
            match (key.as_str(), value) {
                ("properties", Value::Object(props)) => {
                    let target = out
                        .entry("properties")
                        .or_insert_with(|| Value::Object(Default::default()));
                    if let Value::Object(target) = target {
                        for (name, prop) in props {
                            target.entry(name).or_insert(prop);
                        }
                    }
                }
                ("required", Value::Array(names)) => {
                    let target = out
                        .entry("required")
                        .or_insert_with(|| Value::Array(Vec::new()));
                    if let Value::Array(target) = target {
                        for name in names {
                            if !target.contains(&name) {
                                target.push(name);
                            }
                        }
                    }
                }
                (_, value) => {
                    out.entry(key).or_insert(value);
                }
            }
        }
    }
    merged
}
