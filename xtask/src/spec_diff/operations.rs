//! Comparison of operations: their presence, operationId, parameters,
//! request body and success responses (error responses: see `errors`).

use super::place::Place;
use super::schemas::{self, Docs};
use super::{Area, Differences, Side, errors, headers};
use crate::spec::{self, Operation};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Operations keyed by path, then by the position of their method in
/// [`spec::METHODS`], so that the report follows the paths.
type ByKey<'a> = BTreeMap<(String, usize), Operation<'a>>;

fn by_key(doc: &Value) -> ByKey<'_> {
    super::compared_operations(doc)
        .into_iter()
        .map(|op| {
            let index = spec::METHODS
                .iter()
                .position(|m| *m == op.method)
                .unwrap_or(usize::MAX);
            ((op.path.to_owned(), index), op)
        })
        .collect()
}

/// `operation GET /jobs`.
fn subject(op: &Operation<'_>) -> String {
    format!("operation {} {}", op.method.to_uppercase(), op.path)
}

/// Compares the [compared operations](super::compared_operations) of both documents.
pub(super) fn compare(docs: &Docs<'_>, out: &mut Differences) {
    let (up, ours) = (by_key(docs.upstream), by_key(docs.ours));
    let keys: BTreeSet<&(String, usize)> = up.keys().chain(ours.keys()).collect();
    for key in keys {
        match (up.get(key), ours.get(key)) {
            (Some(u), Some(o)) => compare_operation(docs, u, o, out),
            (Some(op), None) | (None, Some(op)) => {
                let side = if up.contains_key(key) {
                    Side::Upstream
                } else {
                    Side::Ours
                };
                let detail = op.id().map(|id| format!("operationId {id}"));
                out.push_detailed(
                    Area::Operation,
                    format!("{} {}", subject(op), side.only()),
                    detail,
                );
            }
            (None, None) => {}
        }
    }
}

fn compare_operation(
    docs: &Docs<'_>,
    up: &Operation<'_>,
    ours: &Operation<'_>,
    out: &mut Differences,
) {
    let subject = subject(ours);
    if up.id() != ours.id() {
        let what = format!(
            "operationId changed (upstream {}, ours {})",
            up.id().unwrap_or("none"),
            ours.id().unwrap_or("none")
        );
        out.push(Area::Operation, format!("{subject}: {what}"));
    }
    let deprecated = |op: &Operation<'_>| {
        op.op
            .get("deprecated")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    if deprecated(up) != deprecated(ours) {
        let side = if deprecated(up) {
            Side::Upstream
        } else {
            Side::Ours
        };
        out.push(Area::Flag, format!("{subject}: deprecated {}", side.only()));
    }
    compare_parameters(docs, &subject, up, ours, out);
    compare_body(docs, &subject, up, ours, out);
    compare_success(docs, &subject, up, ours, out);
    errors::compare(docs, &subject, up, ours, out);
}

/// Parameters keyed by location and name (header names in lower case).
fn parameters<'a>(doc: &'a Value, op: &Operation<'a>) -> BTreeMap<(String, String), &'a Value> {
    spec::parameters(doc, op)
        .into_iter()
        .map(|p| {
            let location = p
                .get("in")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned();
            let name = p.get("name").and_then(Value::as_str).unwrap_or("?");
            let name = if location == "header" {
                name.to_ascii_lowercase()
            } else {
                name.to_owned()
            };
            ((location, name), p)
        })
        .collect()
}

/// The schema of a parameter: `schema`, or the one of its single `content` entry.
fn parameter_schema(p: &Value) -> Option<&Value> {
    p.get("schema").or_else(|| {
        p.get("content")
            .and_then(Value::as_object)
            .and_then(|c| c.values().next())
            .and_then(|mt| mt.get("schema"))
    })
}

fn compare_parameters(
    docs: &Docs<'_>,
    subject: &str,
    up: &Operation<'_>,
    ours: &Operation<'_>,
    out: &mut Differences,
) {
    let (u, o) = (parameters(docs.upstream, up), parameters(docs.ours, ours));
    let keys: BTreeSet<&(String, String)> = u.keys().chain(o.keys()).collect();
    for key in keys {
        let place = Place::new(
            subject.to_owned(),
            Some(format!("parameter {} {}", key.0, key.1)),
        );
        let (a, b) = match (u.get(key), o.get(key)) {
            (Some(a), Some(b)) => (*a, *b),
            (Some(_), None) => {
                out.push(Area::Parameter, place.presence(Side::Upstream));
                continue;
            }
            (None, Some(_)) => {
                out.push(Area::Parameter, place.presence(Side::Ours));
                continue;
            }
            (None, None) => continue,
        };
        for (flag, area) in [("required", Area::Parameter), ("deprecated", Area::Flag)] {
            let on = |p: &Value| p.get(flag).and_then(Value::as_bool).unwrap_or(false);
            if on(a) != on(b) {
                let side = if on(a) { Side::Upstream } else { Side::Ours };
                out.push(area, place.key(&format!("{flag} {}", side.only())));
            }
        }
        for kw in ["style", "explode", "allowEmptyValue"] {
            match (a.get(kw), b.get(kw)) {
                (x, y) if x == y => {}
                (x, y) => {
                    let show =
                        |v: Option<&Value>| v.map(schemas::show).unwrap_or_else(|| "unset".into());
                    let what = format!("{kw} changed (upstream {}, ours {})", show(x), show(y));
                    out.push(Area::Parameter, place.key(&what));
                }
            }
        }
        match (parameter_schema(a), parameter_schema(b)) {
            (Some(x), Some(y)) => schemas::compare(docs, &place, x, y, out),
            (None, None) => {}
            (x, _) => {
                let side = if x.is_some() {
                    Side::Upstream
                } else {
                    Side::Ours
                };
                out.push(Area::Type, place.key(&format!("schema {}", side.only())));
            }
        }
    }
}

/// The media types of a request body or response, with their schemas.
pub(super) fn content(value: &Value) -> BTreeMap<String, Option<&Value>> {
    value
        .get("content")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(mt, m)| (mt.clone(), m.get("schema")))
        .collect()
}

/// Compares the content of a request body or success response at `base`
/// (`request body`, `response 200`).
fn compare_content(
    docs: &Docs<'_>,
    subject: &str,
    base: &str,
    up: &Value,
    ours: &Value,
    out: &mut Differences,
) {
    let (u, o) = (content(up), content(ours));
    let types: BTreeSet<&String> = u.keys().chain(o.keys()).collect();
    for mt in types {
        let place = Place::new(subject.to_owned(), Some(format!("{base} {mt}")));
        match (u.get(mt), o.get(mt)) {
            (Some(Some(x)), Some(Some(y))) => schemas::compare(docs, &place, x, y, out),
            (Some(None), Some(None)) => {}
            (Some(x), Some(_)) => {
                let side = if x.is_some() {
                    Side::Upstream
                } else {
                    Side::Ours
                };
                out.push(Area::Type, place.key(&format!("schema {}", side.only())));
            }
            (Some(_), None) => out.push(Area::Body, place.presence(Side::Upstream)),
            (None, Some(_)) => out.push(Area::Body, place.presence(Side::Ours)),
            (None, None) => {}
        }
    }
}

fn compare_body(
    docs: &Docs<'_>,
    subject: &str,
    up: &Operation<'_>,
    ours: &Operation<'_>,
    out: &mut Differences,
) {
    let body = |doc: &'_ Value, op: &Operation<'_>| -> Option<Value> {
        op.op
            .get("requestBody")
            .and_then(|b| spec::resolve(doc, b))
            .cloned()
    };
    let place = Place::new(subject.to_owned(), Some("request body".into()));
    match (body(docs.upstream, up), body(docs.ours, ours)) {
        (Some(a), Some(b)) => {
            let required = |v: &Value| v.get("required").and_then(Value::as_bool).unwrap_or(false);
            if required(&a) != required(&b) {
                let side = if required(&a) {
                    Side::Upstream
                } else {
                    Side::Ours
                };
                out.push(Area::Body, place.key(&format!("required {}", side.only())));
            }
            compare_content(docs, subject, "request body", &a, &b, out);
        }
        (Some(_), None) => out.push(Area::Body, place.presence(Side::Upstream)),
        (None, Some(_)) => out.push(Area::Body, place.presence(Side::Ours)),
        (None, None) => {}
    }
}

/// Whether a status code is an error (4xx, 5xx, their ranges, `default`).
pub(super) fn is_error(code: &str) -> bool {
    code == "default" || code.starts_with('4') || code.starts_with('5')
}

/// The responses of an operation with references resolved.
pub(super) fn responses<'a>(doc: &'a Value, op: &Operation<'a>) -> BTreeMap<String, &'a Value> {
    op.op
        .get("responses")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(code, r)| {
            Some((
                code.to_uppercase().replace("DEFAULT", "default"),
                spec::resolve(doc, r)?,
            ))
        })
        .collect()
}

fn compare_success(
    docs: &Docs<'_>,
    subject: &str,
    up: &Operation<'_>,
    ours: &Operation<'_>,
    out: &mut Differences,
) {
    let success = |doc, op| -> BTreeMap<String, &Value> {
        responses(doc, op)
            .into_iter()
            .filter(|(c, _)| !is_error(c))
            .collect()
    };
    let (u, o) = (success(docs.upstream, up), success(docs.ours, ours));
    let codes: BTreeSet<&String> = u.keys().chain(o.keys()).collect();
    for code in codes {
        let base = format!("response {code}");
        match (u.get(code), o.get(code)) {
            (Some(a), Some(b)) => {
                compare_content(docs, subject, &base, a, b, out);
                headers::compare(docs, subject, &base, a, b, out, None);
            }
            (Some(_), None) => out.push(
                Area::Body,
                format!("{subject}: {base} {}", Side::Upstream.only()),
            ),
            (None, Some(_)) => out.push(
                Area::Body,
                format!("{subject}: {base} {}", Side::Ours.only()),
            ),
            (None, None) => {}
        }
    }
}
