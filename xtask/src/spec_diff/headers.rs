//! Comparison of response headers: their presence, whether they are
//! required, and their schemas. Header names are compared case-insensitively;
//! `Content-Type` is skipped, as OpenAPI says it is described by the media
//! types instead.

use super::place::Place;
use super::schemas::{self, Docs};
use super::{Area, Differences, Side};
use crate::spec;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The headers of a (resolved) response, by lower-case name, with
/// references resolved.
pub(super) fn of<'a>(doc: &'a Value, response: &'a Value) -> BTreeMap<String, &'a Value> {
    response
        .get("headers")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(name, _)| !name.eq_ignore_ascii_case("content-type"))
        .filter_map(|(name, h)| Some((name.to_ascii_lowercase(), spec::resolve(doc, h)?)))
        .collect()
}

/// The schema of a header: `schema`, or the one of its single `content` entry.
fn schema(h: &Value) -> Option<&Value> {
    h.get("schema").or_else(|| {
        h.get("content")
            .and_then(Value::as_object)
            .and_then(|c| c.values().next())
            .and_then(|mt| mt.get("schema"))
    })
}

/// Compares the headers of two responses at `base` (`response 200`,
/// `error response 500`). Headers only in ours are reported unless
/// `ours_only` collects them instead (error responses sum them up in one
/// difference per operation).
pub(super) fn compare(
    docs: &Docs<'_>,
    subject: &str,
    base: &str,
    up: &Value,
    ours: &Value,
    out: &mut Differences,
    mut ours_only: Option<&mut Vec<String>>,
) {
    let (u, o) = (of(docs.upstream, up), of(docs.ours, ours));
    let names: BTreeSet<&String> = u.keys().chain(o.keys()).collect();
    for name in names {
        let place = Place::new(subject.to_owned(), Some(format!("{base} header {name}")));
        match (u.get(name), o.get(name)) {
            (Some(a), Some(b)) => {
                let required = |h: &Value| h.get("required").and_then(Value::as_bool) == Some(true);
                if required(a) != required(b) {
                    let side = if required(a) {
                        Side::Upstream
                    } else {
                        Side::Ours
                    };
                    out.push(
                        Area::Header,
                        place.key(&format!("required {}", side.only())),
                    );
                }
                match (schema(a), schema(b)) {
                    (Some(x), Some(y)) => schemas::compare(docs, &place, x, y, out),
                    (None, None) => {}
                    (x, _) => {
                        let side = if x.is_some() {
                            Side::Upstream
                        } else {
                            Side::Ours
                        };
                        out.push(Area::Header, place.key(&format!("schema {}", side.only())));
                    }
                }
            }
            (Some(_), None) => out.push(Area::Header, place.presence(Side::Upstream)),
            (None, Some(_)) => match ours_only.as_deref_mut() {
                Some(list) => list.push(format!("{base} header {name}")),
                None => out.push(Area::Header, place.presence(Side::Ours)),
            },
            (None, None) => {}
        }
    }
}
