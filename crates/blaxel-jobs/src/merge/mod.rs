//! The body of a read-modify-write update ([`crate::JobRef::update_with`]):
//! the server's JSON text with a typed edit applied, keeping every part of
//! it that the typed view does not model, and refusing what would lose
//! something ([`guard`]).
//!
//! Three versions of the job take part: the server's JSON text as read
//! (*original*), the typed view of it serialized (*before*), and the typed
//! view after the caller's edit serialized (*after*). *before* and *after*
//! are produced by the same code, so comparing them tells exactly what the
//! edit changed; *original* supplies everything else. The rules, applied
//! from the root down:
//!
//! - A value the edit did not change (*before* equals *after*) is copied
//!   from *original* as its exact text, whatever it holds, known or not.
//! - An object the edit changed keeps *original*'s members in their order,
//!   each with its key spelled as written (escapes included) and the
//!   whitespace around it. A member the typed view does not know (absent
//!   from *before* and *after*) is copied as its exact text. A known
//!   member takes the edited value, merged by these same rules. New
//!   members follow, indented like the last member, except those the typed
//!   view only filled in with a default (present and equal in *before* and
//!   *after*, absent from *original*).
//! - A member the edit removed (present in *before*, absent from *after*)
//!   is left out with its whitespace, except a list, which is sent as `[]`.
//!   The generated types never serialize an empty list, so without this
//!   rule emptying a list (all the env variables, say) would drop the
//!   member, and a server that reads a missing member as "unchanged" would
//!   keep the old entries.
//! - A list the edit changed is the edited list, in the edited order. Each
//!   edited element is paired with the element of the original list it
//!   stands for ([`pair`]: by `id` or `name`, by content, by position), and
//!   merged with it by these same rules, so it keeps its own unknown
//!   members and whitespace; an element left unpaired is new (written as
//!   edited, indented like the last element) and an original element left
//!   unpaired was removed. Where the typed view cannot tell which element
//!   an edited one stands for and the candidates hold different unknown
//!   members, the merge is refused ([`MergeError::Ambiguous`]) rather than
//!   move or drop them. Changing an element's `id` or `name` makes it a new
//!   element: its unknown members are not carried over.
//!
//! What the edit set (a new value, a new member or element) is written in
//! `serde_json`'s compact form; everything else is the server's text.

pub(crate) mod guard;
mod pair;
pub(crate) mod refusal;
mod scan;

pub(crate) use pair::Ambiguous;

use blaxel_jobs_client::types;
use refusal::UpdateRefused;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::collections::HashSet;

/// Why the merge produced no body.
#[derive(Debug)]
pub(crate) enum MergeError {
    /// The server's text is not JSON (or not the JSON the typed view was
    /// read from).
    NotJson(serde_json::Error),
    /// The edit changed a list whose elements cannot be paired without
    /// moving or dropping unknown members; `at` is the list's path, such as
    /// `spec.runtime.envs`.
    Ambiguous { at: String, ambiguous: Ambiguous },
}

/// Why [`update_body`] produced no body.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// The server's text is not JSON.
    NotJson(serde_json::Error),
    /// A check of [`guard`], or the pairing of a list's entries, refused.
    Refused(UpdateRefused),
}

/// What an update may write back although it could not read it in full
/// (each `false` by default, which refuses), and how it read the job.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct WriteBack {
    /// The job was read with `show_secrets`.
    pub(crate) read_in_clear: bool,
    /// Secret values read masked may be written back masked.
    pub(crate) masked_secrets: bool,
    /// Triggers whose tasks are stored apart may be written back without
    /// them.
    pub(crate) unread_trigger_tasks: bool,
}

/// The body of an update of the job read as `text` (typed: `read`, and
/// serialized: `before`) to the edited job (`edited`, serialized: `after`):
/// the checks of [`guard`] that `allowed` does not waive, then [`merge`].
pub(crate) fn update_body(
    text: &str,
    read: &types::Job,
    edited: &types::Job,
    (before, after): (&Value, &Value),
    allowed: WriteBack,
) -> Result<String, BodyError> {
    if !allowed.masked_secrets
        && let Some(refused) = guard::masked_secrets(read, edited, allowed.read_in_clear)
    {
        return Err(BodyError::Refused(refused));
    }
    if !allowed.unread_trigger_tasks
        && let Some(refused) = guard::unread_trigger_tasks(read, edited)
    {
        return Err(BodyError::Refused(refused));
    }
    merge(text, before, after).map_err(|e| match e {
        MergeError::NotJson(e) => BodyError::NotJson(e),
        MergeError::Ambiguous { at, ambiguous } => {
            BodyError::Refused(guard::ambiguous(&at, ambiguous))
        }
    })
}

impl From<serde_json::Error> for MergeError {
    fn from(e: serde_json::Error) -> Self {
        MergeError::NotJson(e)
    }
}

/// The text to send: `original` with the change from `before` to `after`
/// applied (see the module's documentation).
pub(crate) fn merge(original: &str, before: &Value, after: &Value) -> Result<String, MergeError> {
    let raw: &RawValue = serde_json::from_str(original)?;
    let mut out = String::with_capacity(original.len() + 64);
    let mut at = String::new();
    value(raw.get(), Some(before), after, &mut out, &mut at)?;
    Ok(out)
}

fn write(v: &Value, out: &mut String) -> Result<(), serde_json::Error> {
    out.push_str(&serde_json::to_string(v)?);
    Ok(())
}

/// Merges the value whose text is `original` (no surrounding whitespace);
/// `at` is its path, for errors.
fn value(
    original: &str,
    before: Option<&Value>,
    after: &Value,
    out: &mut String,
    at: &mut String,
) -> Result<(), MergeError> {
    if before == Some(after) {
        out.push_str(original);
        return Ok(());
    }
    match after {
        Value::Object(a) if original.starts_with('{') => {
            let members = scan::container(original, true)?;
            let empty = Map::new();
            let b = before.and_then(Value::as_object).unwrap_or(&empty);
            object(&members, b, a, out, at)
        }
        Value::Array(a) if original.starts_with('[') => {
            let items = scan::container(original, false)?;
            match before.and_then(Value::as_array) {
                Some(b) if b.len() == items.parts.len() => array(&items, b, a, out, at),
                _ => Ok(write(after, out)?),
            }
        }
        _ => Ok(write(after, out)?),
    }
}

/// Runs `f` with `at` extended by `segment`, then restores it.
fn within<T>(at: &mut String, segment: &str, f: impl FnOnce(&mut String) -> T) -> T {
    let len = at.len();
    if !at.is_empty() && !segment.starts_with('[') {
        at.push('.');
    }
    at.push_str(segment);
    let result = f(at);
    at.truncate(len);
    result
}

fn object(
    original: &scan::Container<'_>,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
    out: &mut String,
    at: &mut String,
) -> Result<(), MergeError> {
    out.push('{');
    let mut first = true;
    // A member's separator, whitespace, key (as written) and colon.
    let mut head = |out: &mut String, lead: &str, key: &str, colon: &str| {
        if !std::mem::take(&mut first) {
            out.push(',');
        }
        out.push_str(lead);
        out.push_str(key);
        out.push_str(colon);
    };
    let mut seen = HashSet::with_capacity(original.parts.len());
    for part in &original.parts {
        let key = part.key.unwrap_or_default();
        let Ok(name) = part.name() else {
            // A key serde cannot decode (a lone surrogate escape) is none
            // the typed view knows: the server's own text.
            head(out, part.lead, key, part.colon);
            out.push_str(part.value);
            out.push_str(part.trail);
            continue;
        };
        match (after.get(name.as_ref()), before.get(name.as_ref())) {
            (Some(a), b) => {
                head(out, part.lead, key, part.colon);
                within(at, &name, |at| value(part.value, b, a, out, at))?;
                out.push_str(part.trail);
            }
            // Removed by the edit: a list is sent empty, the rest left out.
            (None, Some(b)) => {
                if b.is_array() {
                    head(out, part.lead, key, part.colon);
                    out.push_str("[]");
                    out.push_str(part.trail);
                }
            }
            // Not in the typed view: the server's own text.
            (None, None) => {
                head(out, part.lead, key, part.colon);
                out.push_str(part.value);
                out.push_str(part.trail);
            }
        }
        seen.insert(name);
    }
    // New members, spaced like the last member the server wrote.
    let (lead, colon) = original
        .parts
        .last()
        .map_or(("", ":"), |p| (p.lead, p.colon));
    for (k, a) in after {
        if seen.contains(k.as_str()) || before.get(k) == Some(a) {
            continue;
        }
        head(out, lead, &serde_json::to_string(k)?, colon);
        write(a, out)?;
    }
    out.push_str(original.close);
    out.push('}');
    Ok(())
}

fn array(
    original: &scan::Container<'_>,
    before: &[Value],
    after: &[Value],
    out: &mut String,
    at: &mut String,
) -> Result<(), MergeError> {
    let texts: Vec<&str> = original.parts.iter().map(|p| p.value).collect();
    let pairs = pair::pair(&texts, before, after).map_err(|ambiguous| MergeError::Ambiguous {
        at: at.clone(),
        ambiguous,
    })?;
    let lead = original.parts.last().map_or("", |p| p.lead);
    out.push('[');
    for (j, a) in after.iter().enumerate() {
        if j > 0 {
            out.push(',');
        }
        match pairs[j] {
            Some(i) => {
                let part = &original.parts[i];
                out.push_str(part.lead);
                within(at, &format!("[{i}]"), |at| {
                    value(part.value, Some(&before[i]), a, out, at)
                })?;
                out.push_str(part.trail);
            }
            None => {
                out.push_str(lead);
                write(a, out)?;
            }
        }
    }
    out.push_str(original.close);
    out.push(']');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `before` and `after` stand for the typed view: what it knows.
    fn run(original: &str, before: Value, after: Value) -> String {
        merge(original, &before, &after).unwrap()
    }

    #[test]
    fn an_unchanged_value_is_the_original_text() {
        let original = r#"{ "a" : 1.50, "x": [ 1,2 ] }"#;
        let before = json!({"a": 1.5});
        assert_eq!(run(original, before.clone(), before), original);
    }

    #[test]
    fn unknown_members_keep_their_text_and_place() {
        let original = r#"{"x":{"deep":[1, 2.50, "é"]},"a":1,"y":null,"b":"old"}"#;
        let out = run(
            original,
            json!({"a": 1, "b": "old"}),
            json!({"a": 1, "b": "new", "c": true}),
        );
        assert_eq!(
            out,
            r#"{"x":{"deep":[1, 2.50, "é"]},"a":1,"y":null,"b":"new","c":true}"#
        );
    }

    #[test]
    fn removed_members_are_left_out_and_removed_lists_sent_empty() {
        let original = r#"{"a":"x","list":[{"n":1}],"o":{"k":1},"keep":[]}"#;
        let out = run(
            original,
            json!({"a": "x", "list": [{"n": 1}], "o": {"k": 1}}),
            json!({}),
        );
        assert_eq!(out, r#"{"list":[],"keep":[]}"#);
    }

    #[test]
    fn defaults_the_typed_view_fills_in_are_not_added() {
        let original = r#"{"name":"a"}"#;
        let out = run(
            original,
            json!({"name": "a", "enabled": true}),
            json!({"name": "b", "enabled": true}),
        );
        assert_eq!(out, r#"{"name":"b"}"#);
    }

    #[test]
    fn list_elements_pair_by_identity_whatever_their_order() {
        let original = r#"[{"name":"A","value":"1","u":1},{"name":"B","value":"2","u":2}]"#;
        let before = json!([{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]);
        let after = json!([
            {"name": "B", "value": "changed"},
            {"name": "C", "value": "3"},
            {"name": "A", "value": "1"}
        ]);
        assert_eq!(
            run(original, before, after),
            r#"[{"name":"B","value":"changed","u":2},{"name":"C","value":"3"},{"name":"A","value":"1","u":1}]"#
        );
    }

    #[test]
    fn ids_come_before_names_and_renames_are_new_elements() {
        let original = r#"[{"id":"t1","name":"x","u":1},{"name":"y","u":2}]"#;
        let before = json!([{"id": "t1", "name": "x"}, {"name": "y"}]);
        let after = json!([{"id": "t1", "name": "renamed"}, {"name": "z"}]);
        assert_eq!(
            run(original, before, after),
            r#"[{"id":"t1","name":"renamed","u":1},{"name":"z"}]"#
        );
    }

    #[test]
    fn elements_without_identity_pair_by_content_then_position() {
        let original = r#"[{"t":1,"u":"a"},{"t":2,"u":"b"},{"t":3,"u":"c"}]"#;
        let before = json!([{"t": 1}, {"t": 2}, {"t": 3}]);
        // One of the first and the last is removed, the other changed: the
        // second keeps its own unknown member, and which of `a` and `c`
        // the changed one should keep cannot be told. (This once sent
        // `[{"t":2,"u":"b"},{"t":30}]`, losing both.)
        let after = json!([{"t": 2}, {"t": 30}]);
        match merge(original, &before, &after) {
            Err(MergeError::Ambiguous { at, ambiguous }) => {
                assert_eq!(at, "");
                assert_eq!((ambiguous.before, ambiguous.after), (3, 2));
                assert_eq!(ambiguous.identity, None);
            }
            other => panic!("{other:?}"),
        }
        // The first changed in place: it keeps the member at its position.
        let original = r#"[{"t":1,"u":"a"},{"t":2,"u":"b"}]"#;
        let after = json!([{"t": 10}, {"t": 2}]);
        assert_eq!(
            run(original, json!([{"t": 1}, {"t": 2}]), after),
            r#"[{"t":10,"u":"a"},{"t":2,"u":"b"}]"#
        );
    }

    #[test]
    fn entries_of_the_same_name_keep_their_own_unknown_members() {
        let original = r#"{"envs":[{"name":"A","value":"1","u":"first"},{"name":"A","value":"2","u":"second"}]}"#;
        let before = json!({"envs": [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]});
        let after = json!({"envs": [{"name": "A", "value": "2"}]});
        assert_eq!(
            run(original, before.clone(), after),
            r#"{"envs":[{"name":"A","value":"2","u":"second"}]}"#
        );
        let after = json!({"envs": [{"name": "A", "value": "3"}]});
        match merge(original, &before, &after) {
            Err(MergeError::Ambiguous { at, ambiguous }) => {
                assert_eq!(at, "envs");
                assert_eq!(ambiguous.identity, Some(("name", "A".to_owned())));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_edited_object_keeps_key_spellings_and_whitespace() {
        let original = "{\n  \"metadata\" : {\"name\": \"a\", \"k\\u00e9y\": 1},\n  \"spec\": {\n    \"memory\": 2048,\n    \"u_\\u0061\": [ 1 ,2 ]\n  }\n}\n";
        let before = json!({"metadata": {"name": "a"}, "spec": {"memory": 2048}});
        let after = json!({"metadata": {"name": "a"}, "spec": {"memory": 4096}});
        // Exactly the edited value differs (the document's own trailing
        // newline is outside the JSON value).
        assert_eq!(
            run(original, before.clone(), after),
            original.trim_end().replace("2048", "4096")
        );
        // A new member is indented like its neighbours; a removed one goes
        // with its whitespace.
        let after = json!({"metadata": {"name": "a"}, "spec": {"image": "x"}});
        assert_eq!(
            run(original, before, after),
            "{\n  \"metadata\" : {\"name\": \"a\", \"k\\u00e9y\": 1},\n  \"spec\": {\n    \"u_\\u0061\": [ 1 ,2 ],\n    \"image\": \"x\"\n  }\n}"
        );
    }

    #[test]
    fn values_serde_cannot_hold_survive_an_edit_of_their_list() {
        let original = r#"{"envs":[{"name":"A","value":"1","u":1e400},{"name":"B","u":[12345678901234567890,-0,"\ud83d\ude00"],"u":"dup"}],"\ud800":1}"#;
        let before = json!({"envs": [{"name": "A", "value": "1"}, {"name": "B"}]});
        let after = json!({"envs": [{"name": "B"}, {"name": "A", "value": "2"}], "x": 1});
        assert_eq!(
            run(original, before, after),
            r#"{"envs":[{"name":"B","u":[12345678901234567890,-0,"\ud83d\ude00"],"u":"dup"},{"name":"A","value":"2","u":1e400}],"\ud800":1,"x":1}"#
        );
    }

    #[test]
    fn an_edited_list_keeps_its_elements_spacing() {
        let original =
            "[\n  {\"name\": \"A\", \"u\": 1},\n  {\"name\": \"B\"},\n  {\"name\": \"C\"}\n]";
        let before = json!([{"name": "A"}, {"name": "B"}, {"name": "C"}]);
        let after = json!([{"name": "A"}, {"name": "C"}, {"name": "D"}]);
        assert_eq!(
            run(original, before, after),
            "[\n  {\"name\": \"A\", \"u\": 1},\n  {\"name\": \"C\"},\n  {\"name\":\"D\"}\n]"
        );
    }

    #[test]
    fn strings_and_numbers_in_lists_keep_their_text() {
        let original = r#"["a","b",1.0]"#;
        let out = run(original, json!(["a", "b", 1.0]), json!(["b", 1.0, "c"]));
        assert_eq!(out, r#"["b",1.0,"c"]"#);
    }

    #[test]
    fn a_shape_change_takes_the_edit() {
        assert_eq!(
            run(r#"{"a":null}"#, json!({}), json!({"a": [1]})),
            r#"{"a":[1]}"#
        );
        assert_eq!(
            run(r#"{"a":"s"}"#, json!({"a": "s"}), json!({"a": {"k": 1}})),
            r#"{"a":{"k":1}}"#
        );
    }

    #[test]
    fn the_result_is_always_json() {
        let original = r#" {"a": {"b": [ {"id": "1", "x": {"y": 1}} ], "z": "\u00e9\n"}} "#;
        let out = run(
            original,
            json!({"a": {"b": [{"id": "1"}]}}),
            json!({"a": {"b": [{"id": "1", "k": 2}, {"id": "2"}]}}),
        );
        let parsed: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            parsed,
            json!({"a": {"b": [{"id": "1", "x": {"y": 1}, "k": 2}, {"id": "2"}], "z": "é\n"}})
        );
        assert!(matches!(
            merge("not json", &json!({}), &json!({"a": 1})),
            Err(MergeError::NotJson(_))
        ));
    }

    /// Random JSON for the randomized test: `u_` keys are unknown to the
    /// "typed view"; the rest are known.
    fn random_value(rng: &mut fastrand::Rng, depth: u32, unknown: bool) -> Value {
        let pick = if depth == 0 {
            rng.u8(0..4)
        } else {
            rng.u8(0..6)
        };
        match pick {
            0 => Value::Null,
            1 => json!(rng.bool()),
            2 => json!(rng.i64(-5..5)),
            3 => json!(["a", "b", "id", "name"][rng.usize(0..4)]),
            4 => {
                let mut m = Map::new();
                for _ in 0..rng.usize(0..4) {
                    let key = ["id", "name", "k", "v", "w"][rng.usize(0..5)];
                    m.insert(key.into(), random_value(rng, depth - 1, unknown));
                }
                if unknown && rng.bool() {
                    m.insert(
                        format!("u_{}", rng.u8(0..3)),
                        random_value(rng, depth - 1, false),
                    );
                }
                Value::Object(m)
            }
            _ => Value::Array(
                (0..rng.usize(0..4))
                    .map(|_| random_value(rng, depth - 1, unknown))
                    .collect(),
            ),
        }
    }

    fn strip_unknown(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.retain(|k, _| !k.starts_with("u_"));
                m.values_mut().for_each(strip_unknown);
            }
            Value::Array(a) => a.iter_mut().for_each(strip_unknown),
            _ => {}
        }
    }

    fn drop_empty_lists(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.retain(|_, v| v.as_array().is_none_or(|a| !a.is_empty()));
                m.values_mut().for_each(drop_empty_lists);
            }
            Value::Array(a) => a.iter_mut().for_each(drop_empty_lists),
            _ => {}
        }
    }

    /// A random edit that never removes a list-valued member (which the
    /// merge sends as `[]` on purpose).
    fn random_edit(rng: &mut fastrand::Rng, v: &mut Value, depth: u32) {
        match v {
            Value::Object(m) => {
                let keys: Vec<String> = m.keys().cloned().collect();
                for k in keys {
                    match rng.u8(0..6) {
                        0 if !m[&k].is_array() => {
                            m.remove(&k);
                        }
                        1 => {
                            m.insert(k, random_value(rng, depth, false));
                        }
                        2 | 3 => random_edit(rng, m.get_mut(&k).unwrap(), depth.saturating_sub(1)),
                        _ => {}
                    }
                }
                if rng.u8(0..4) == 0 {
                    m.insert("added".into(), random_value(rng, depth, false));
                }
            }
            Value::Array(a) => {
                if !a.is_empty() && rng.bool() {
                    a.remove(rng.usize(0..a.len()));
                }
                if rng.bool() {
                    a.push(random_value(rng, depth, false));
                }
                if a.len() > 1 && rng.bool() {
                    let last = a.len() - 1;
                    a.swap(0, last);
                }
                for item in a.iter_mut() {
                    if rng.bool() {
                        random_edit(rng, item, depth.saturating_sub(1));
                    }
                }
            }
            _ => {
                if rng.bool() {
                    *v = random_value(rng, 0, false);
                }
            }
        }
    }

    #[test]
    fn random_edits_apply_exactly_and_keep_unknown_members() {
        let mut rng = fastrand::Rng::with_seed(0x5eed);
        let mut refused = 0;
        for round in 0..3000 {
            let mut original = Value::Object(Map::new());
            for _ in 0..rng.usize(1..5) {
                let key = ["k", "v", "w", "u_top", "u_other"][rng.usize(0..5)];
                original[key] = random_value(&mut rng, 3, true);
            }
            let text = if rng.bool() {
                serde_json::to_string_pretty(&original).unwrap()
            } else {
                serde_json::to_string(&original).unwrap()
            };
            let mut before = original.clone();
            strip_unknown(&mut before);
            let mut after = before.clone();
            random_edit(&mut rng, &mut after, 3);

            let out = match merge(&text, &before, &after) {
                Ok(out) => out,
                // Refused: elements that cannot be paired without moving or
                // dropping unknown members (see `pair`).
                Err(MergeError::Ambiguous { .. }) => {
                    refused += 1;
                    continue;
                }
                Err(e) => panic!("round {round}: {e:?}"),
            };
            let mut sent: Value = serde_json::from_str(&out)
                .unwrap_or_else(|e| panic!("round {round}: not JSON ({e}): {out}"));
            if before == after {
                assert_eq!(out, text, "round {round}");
            }
            // Every top-level unknown member is sent with its exact text.
            for (k, v) in original.as_object().unwrap() {
                if k.starts_with("u_") {
                    assert_eq!(sent.get(k), Some(v), "round {round}: {k} in {out}");
                    let exact = if text.contains('\n') {
                        serde_json::to_string_pretty(v).unwrap()
                    } else {
                        serde_json::to_string(v).unwrap()
                    };
                    assert!(
                        v.is_object() || v.is_array() || out.contains(&exact),
                        "round {round}: {k} text in {out}"
                    );
                }
            }
            // The known members are exactly the edit (up to members holding
            // `[]`: a list the edit dropped with its parent object is sent
            // empty on purpose).
            strip_unknown(&mut sent);
            let mut want = after.clone();
            drop_empty_lists(&mut sent);
            drop_empty_lists(&mut want);
            assert_eq!(sent, want, "round {round}: {text}\n=> {out}");
        }
        // Refusals stay the exception (random edits of lists that mostly
        // lack identities make them far more common than in real jobs).
        assert!(refused < 300, "{refused} of 3000 rounds refused");
    }
}
