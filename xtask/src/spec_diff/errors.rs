//! Comparison of error responses, as one deviation class per operation:
//! upstream statuses ours do not cover, upstream bodies ours do not accept
//! and upstream headers ours do not declare are reported one by one; what
//! only ours declare is summed up in one difference, `<operation>: error
//! statuses, bodies or headers only in ours`.

use super::headers;
use super::operations::{content, is_error, responses};
use super::place::Place;
use super::schemas::{self, Docs};
use super::{Area, Differences, Side};
use crate::spec::{self, Operation};
use serde_json::Value;
use std::collections::BTreeMap;

/// The response of `responses` that answers `code`: the same code, else its
/// range (`5XX`), else `default`.
fn covering<'m, 'a>(
    responses: &'m BTreeMap<String, &'a Value>,
    code: &str,
) -> Option<(&'m String, &'a Value)> {
    let range = code.chars().next().map(|c| format!("{c}XX"));
    [Some(code.to_owned()), range, Some("default".to_owned())]
        .into_iter()
        .flatten()
        .find_map(|c| responses.get_key_value(&c).map(|(k, v)| (k, *v)))
}

/// Whether `ours` accepts a body of schema `up`: the same reference, a
/// `oneOf`/`anyOf` of ours that lists it, or an equal inline schema.
fn accepts(docs: &Docs<'_>, ours: &Value, up: &Value) -> bool {
    let up_name = spec::ref_name(up);
    if up_name.is_some() && spec::ref_name(ours) == up_name {
        return true;
    }
    let Some(resolved) = spec::resolve(docs.ours, ours) else {
        return false;
    };
    let listed = ["oneOf", "anyOf"].iter().any(|kw| {
        resolved
            .get(*kw)
            .and_then(Value::as_array)
            .is_some_and(|ms| {
                ms.iter()
                    .any(|m| up_name.is_some() && spec::ref_name(m) == up_name)
            })
    });
    if listed {
        return true;
    }
    let mut probe = Differences::default();
    schemas::compare(docs, &Place::new(String::new(), None), up, ours, &mut probe);
    probe.0.is_empty()
}

pub(super) fn compare(
    docs: &Docs<'_>,
    subject: &str,
    up: &Operation<'_>,
    ours: &Operation<'_>,
    out: &mut Differences,
) {
    let errors = |doc, op| -> BTreeMap<String, &Value> {
        responses(doc, op)
            .into_iter()
            .filter(|(c, _)| is_error(c))
            .collect()
    };
    let (u, o) = (errors(docs.upstream, up), errors(docs.ours, ours));
    let mut matched: BTreeMap<&String, bool> = BTreeMap::new();
    let mut headers_only_ours: Vec<String> = Vec::new();
    for (code, a) in &u {
        let Some((our_code, b)) = covering(&o, code) else {
            out.push(
                Area::ErrorResponse,
                format!("{subject}: error response {code} {}", Side::Upstream.only()),
            );
            continue;
        };
        headers::compare(
            docs,
            subject,
            &format!("error response {code}"),
            a,
            b,
            out,
            Some(&mut headers_only_ours),
        );
        let up_bodies: Vec<&Value> = content(a).into_values().flatten().collect();
        let our_bodies: Vec<&Value> = content(b).into_values().flatten().collect();
        let has_up_content = !content(a).is_empty();
        *matched.entry(our_code).or_default() |= has_up_content;
        if has_up_content && content(b).is_empty() {
            out.push(
                Area::ErrorResponse,
                format!(
                    "{subject}: error response {code}: body {}",
                    Side::Upstream.only()
                ),
            );
            continue;
        }
        for body in up_bodies {
            if !our_bodies.iter().any(|ours| accepts(docs, ours, body)) {
                let what = format!(
                    "error response {code}: upstream body {} not accepted by ours ({})",
                    schemas::summary(docs.upstream, body),
                    our_bodies
                        .iter()
                        .map(|b| schemas::summary(docs.ours, b))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                out.push(Area::ErrorResponse, format!("{subject}: {what}"));
            }
        }
    }
    let statuses: Vec<&str> = o
        .keys()
        .filter(|c| !matched.contains_key(c))
        .map(String::as_str)
        .collect();
    let bodies: Vec<&str> = o
        .iter()
        .filter(|(c, r)| matched.get(c) == Some(&false) && !content(r).is_empty())
        .map(|(c, _)| c.as_str())
        .collect();
    headers_only_ours.sort();
    headers_only_ours.dedup();
    if statuses.is_empty() && bodies.is_empty() && headers_only_ours.is_empty() {
        return;
    }
    let mut detail = Vec::new();
    if !statuses.is_empty() {
        detail.push(format!("statuses only in ours: {}", statuses.join(" ")));
    }
    if !bodies.is_empty() {
        detail.push(format!("bodies only in ours: {}", bodies.join(" ")));
    }
    if !headers_only_ours.is_empty() {
        detail.push(format!(
            "headers only in ours: {}",
            headers_only_ours.join(", ")
        ));
    }
    out.push_detailed(
        Area::ErrorResponse,
        format!(
            "{subject}: error statuses, bodies or headers {}",
            Side::Ours.only()
        ),
        Some(detail.join("; ")),
    );
}
