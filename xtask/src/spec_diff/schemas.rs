//! Semantic comparison of two schemas, wherever they sit.

use super::place::{Place, Step};
use super::{Area, Differences, Side};
use crate::spec;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// Validation keywords and defaults, compared by value.
const KEYWORDS: &[&str] = &[
    "format",
    "default",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
];

/// Boolean keywords that are false when absent.
const FLAGS: &[&str] = &["readOnly", "writeOnly", "nullable", "deprecated"];

/// How deep inline schemas are followed.
const MAX_DEPTH: usize = 48;

/// The two documents.
pub(super) struct Docs<'a> {
    pub upstream: &'a Value,
    pub ours: &'a Value,
}

impl<'a> Docs<'a> {
    fn doc(&self, side: Side) -> &'a Value {
        match side {
            Side::Upstream => self.upstream,
            Side::Ours => self.ours,
        }
    }
}

/// Compares the component schema `name` of both documents, reporting a
/// schema that only one of them has.
pub(super) fn compare_component(docs: &Docs<'_>, name: &str, out: &mut Differences) {
    let pointer = format!(
        "/components/schemas/{}",
        name.replace('~', "~0").replace('/', "~1")
    );
    let place = Place::new(format!("schema {name}"), None);
    match (docs.upstream.pointer(&pointer), docs.ours.pointer(&pointer)) {
        (Some(up), Some(ours)) => compare(docs, &place, up, ours, out),
        (Some(_), None) => out.push(Area::Schema, place.presence(Side::Upstream)),
        (None, Some(_)) => out.push(Area::Schema, place.presence(Side::Ours)),
        (None, None) => {}
    }
}

/// Compares two schemas at `place`.
pub(super) fn compare(
    docs: &Docs<'_>,
    place: &Place,
    up: &Value,
    ours: &Value,
    out: &mut Differences,
) {
    Comparer { docs, out }.schema(place, up, ours, 0);
}

/// A short description of a schema's type for messages: a schema name,
/// `string`, `array of Job`, `map of string`, `object`, `any`.
pub(super) fn summary(doc: &Value, schema: &Value) -> String {
    summary_depth(doc, schema, 0)
}

fn summary_depth(doc: &Value, schema: &Value, depth: usize) -> String {
    if let Some(name) = spec::ref_name(schema) {
        return name.to_owned();
    }
    if depth > 8 {
        return "...".into();
    }
    let schema = spec::merge_all_of(doc, schema);
    match effective_type(&schema).as_str() {
        "array" => match schema.get("items") {
            Some(items) => format!("array of {}", summary_depth(doc, items, depth + 1)),
            None => "array".into(),
        },
        "object" => match schema.get("additionalProperties") {
            Some(v @ Value::Object(_)) if schema.get("properties").is_none() => {
                format!("map of {}", summary_depth(doc, v, depth + 1))
            }
            _ => "object".into(),
        },
        other => other.to_owned(),
    }
}

/// The type of a schema: its `type`, or what its keywords imply.
fn effective_type(schema: &Value) -> String {
    if let Some(t) = schema.get("type").and_then(Value::as_str) {
        return t.to_owned();
    }
    let has = |k: &str| schema.get(k).is_some();
    if has("properties") || has("additionalProperties") || has("required") {
        "object".into()
    } else if has("items") {
        "array".into()
    } else if has("oneOf") {
        "oneOf".into()
    } else if has("anyOf") {
        "anyOf".into()
    } else {
        "any".into()
    }
}

/// A value in a key: strings between backticks, anything else as JSON.
pub(super) fn show(value: &Value) -> String {
    match value {
        Value::String(s) => format!("`{s}`"),
        other => other.to_string(),
    }
}

/// An enum value in a key: strings as they are, anything else as JSON.
fn show_enum_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Equality that treats `1` and `1.0` alike.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

struct Comparer<'d, 'o> {
    docs: &'d Docs<'d>,
    out: &'o mut Differences,
}

impl<'d> Comparer<'d, '_> {
    fn schema(&mut self, place: &Place, up: &Value, ours: &Value, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        let (up_ref, our_ref) = (spec::ref_name(up), spec::ref_name(ours));
        if let (Some(u), Some(o)) = (up_ref, our_ref) {
            if u == o {
                // Compared once, as a component.
                return;
            }
            let both_enums = [(Side::Upstream, up), (Side::Ours, ours)]
                .iter()
                .all(|(side, v)| {
                    self.resolved(*side, v)
                        .is_some_and(|s| s.get("enum").is_some())
                });
            if !both_enums {
                self.type_changed(place, up, ours);
                return;
            }
        }
        let (Some(up_s), Some(our_s)) = (
            self.resolved(Side::Upstream, up),
            self.resolved(Side::Ours, ours),
        ) else {
            for (side, v, resolved) in [
                (Side::Upstream, up, self.resolved(Side::Upstream, up)),
                (Side::Ours, ours, self.resolved(Side::Ours, ours)),
            ] {
                if resolved.is_none() {
                    let target = v.get("$ref").and_then(Value::as_str).unwrap_or("?");
                    let what = match side {
                        Side::Upstream => format!("upstream reference {target} does not resolve"),
                        Side::Ours => format!("our reference {target} does not resolve"),
                    };
                    self.out.push(Area::Type, place.key(&what));
                }
            }
            return;
        };
        let up_s = spec::merge_all_of(self.docs.upstream, up_s);
        let our_s = spec::merge_all_of(self.docs.ours, our_s);
        if effective_type(&up_s) != effective_type(&our_s) {
            // Named in the message as written: `Kind` rather than `integer`.
            self.type_changed(place, up, ours);
            return;
        }
        self.inline(place, &up_s, &our_s, depth);
    }

    fn resolved<'v>(&self, side: Side, value: &'v Value) -> Option<&'v Value>
    where
        'd: 'v,
    {
        spec::resolve(self.docs.doc(side), value)
    }

    fn type_changed(&mut self, place: &Place, up: &Value, ours: &Value) {
        let what = format!(
            "type changed (upstream {}, ours {})",
            summary(self.docs.upstream, up),
            summary(self.docs.ours, ours)
        );
        self.out.push(Area::Type, place.key(&what));
    }

    /// Compares two schemas of the same type, with no reference or `allOf`
    /// left at their root.
    fn inline(&mut self, place: &Place, up: &Value, ours: &Value, depth: usize) {
        self.enums(place, up, ours);
        self.keywords(place, up, ours);
        self.properties(place, up, ours, depth);
        self.required(place, up, ours);
        self.items(place, up, ours, depth);
        self.values(place, up, ours, depth);
        self.alternatives(place, up, ours);
    }

    fn enums(&mut self, place: &Place, up: &Value, ours: &Value) {
        let list = |s: &Value| s.get("enum").and_then(Value::as_array).cloned();
        match (list(up), list(ours)) {
            (Some(u), Some(o)) => {
                for (side, these, others) in [(Side::Upstream, &u, &o), (Side::Ours, &o, &u)] {
                    for v in these {
                        if !others.iter().any(|w| same_value(v, w)) {
                            let what = format!("enum value {} {}", show_enum_value(v), side.only());
                            self.out.push(Area::EnumValue, place.key(&what));
                        }
                    }
                }
            }
            (Some(values), None) | (None, Some(values)) => {
                let side = if list(up).is_some() {
                    Side::Upstream
                } else {
                    Side::Ours
                };
                let shown: Vec<String> = values.iter().map(show_enum_value).collect();
                let what = format!("enum ({}) {}", shown.join(", "), side.only());
                self.out.push(Area::EnumValue, place.key(&what));
            }
            (None, None) => {}
        }
    }

    fn keywords(&mut self, place: &Place, up: &Value, ours: &Value) {
        for kw in KEYWORDS {
            let what = match (up.get(*kw), ours.get(*kw)) {
                (Some(u), Some(o)) if same_value(u, o) => continue,
                (Some(u), Some(o)) => {
                    format!("{kw} changed (upstream {}, ours {})", show(u), show(o))
                }
                (Some(u), None) => format!("{kw} {} {}", show(u), Side::Upstream.only()),
                (None, Some(o)) => format!("{kw} {} {}", show(o), Side::Ours.only()),
                (None, None) => continue,
            };
            self.out.push(Area::Keyword, place.key(&what));
        }
        for flag in FLAGS {
            let on = |s: &Value| s.get(*flag).and_then(Value::as_bool).unwrap_or(false);
            match (on(up), on(ours)) {
                (true, false) => self.out.push(
                    Area::Flag,
                    place.key(&format!("{flag} {}", Side::Upstream.only())),
                ),
                (false, true) => self.out.push(
                    Area::Flag,
                    place.key(&format!("{flag} {}", Side::Ours.only())),
                ),
                _ => {}
            }
        }
    }

    fn properties(&mut self, place: &Place, up: &Value, ours: &Value, depth: usize) {
        let empty = Map::new();
        let u = up
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let o = ours
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let names: BTreeSet<&String> = u.keys().chain(o.keys()).collect();
        for name in names {
            let child = place.child(Step::Property(name.clone()));
            match (u.get(name), o.get(name)) {
                (Some(a), Some(b)) => self.schema(&child, a, b, depth + 1),
                (Some(_), None) => self.out.push(Area::Field, child.presence(Side::Upstream)),
                (None, Some(_)) => self.out.push(Area::Field, child.presence(Side::Ours)),
                (None, None) => {}
            }
        }
    }

    fn required(&mut self, place: &Place, up: &Value, ours: &Value) {
        let names = |s: &Value| -> BTreeSet<String> {
            s.get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        };
        let (u, o) = (names(up), names(ours));
        for (side, these, others) in [(Side::Upstream, &u, &o), (Side::Ours, &o, &u)] {
            for name in these.difference(others) {
                self.out.push(
                    Area::Required,
                    place.key(&format!("required {name} {}", side.only())),
                );
            }
        }
    }

    fn items(&mut self, place: &Place, up: &Value, ours: &Value, depth: usize) {
        let child = place.child(Step::Items);
        match (up.get("items"), ours.get("items")) {
            (Some(a), Some(b)) => self.schema(&child, a, b, depth + 1),
            (Some(_), None) => self.out.push(Area::Type, child.presence(Side::Upstream)),
            (None, Some(_)) => self.out.push(Area::Type, child.presence(Side::Ours)),
            (None, None) => {}
        }
    }

    /// `additionalProperties`: absent, `true` and `{}` all mean "any value".
    fn values(&mut self, place: &Place, up: &Value, ours: &Value, depth: usize) {
        fn norm(s: &Value) -> Option<&Value> {
            match s.get("additionalProperties") {
                None | Some(Value::Bool(true)) => None,
                Some(Value::Object(m)) if m.is_empty() => None,
                Some(v) => Some(v),
            }
        }
        let describe = |doc: &Value, v: Option<&Value>| match v {
            None => "any".to_owned(),
            Some(Value::Bool(false)) => "none".to_owned(),
            Some(v) => summary(doc, v),
        };
        match (norm(up), norm(ours)) {
            (None, None) => {}
            (Some(a @ Value::Object(_)), Some(b @ Value::Object(_))) => {
                self.schema(&place.child(Step::Values), a, b, depth + 1)
            }
            (a, b) if a == b => {}
            (a, b) => {
                let what = format!(
                    "additionalProperties changed (upstream {}, ours {})",
                    describe(self.docs.upstream, a),
                    describe(self.docs.ours, b)
                );
                self.out.push(Area::Type, place.key(&what));
            }
        }
    }

    /// `oneOf` and `anyOf` members, compared by their summaries.
    fn alternatives(&mut self, place: &Place, up: &Value, ours: &Value) {
        for kw in ["oneOf", "anyOf"] {
            let members = |doc: &Value, s: &Value| -> BTreeSet<String> {
                s.get(kw)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|m| summary(doc, m))
                    .collect()
            };
            let (u, o) = (
                members(self.docs.upstream, up),
                members(self.docs.ours, ours),
            );
            for (side, these, others) in [(Side::Upstream, &u, &o), (Side::Ours, &o, &u)] {
                for m in these.difference(others) {
                    self.out.push(
                        Area::Type,
                        place.key(&format!("{kw} member {m} {}", side.only())),
                    );
                }
            }
        }
    }
}
