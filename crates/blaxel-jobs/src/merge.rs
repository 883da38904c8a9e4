//! The body of a read-modify-write update ([`crate::JobRef::update_with`]):
//! the server's JSON text with a typed edit applied, keeping every part of
//! it that the typed view does not model.
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
//! - An object the edit changed keeps *original*'s members in their order.
//!   A member the typed view does not know (absent from *before* and
//!   *after*) is copied as its exact text. A known member takes the
//!   edited value, merged by these same rules. New members follow, except
//!   those the typed view only filled in with a default (present and equal
//!   in *before* and *after*, absent from *original*).
//! - A member the edit removed (present in *before*, absent from *after*)
//!   is left out, except a list, which is sent as `[]`. The generated types
//!   never serialize an empty list, so without this rule emptying a list
//!   (all the env variables, say) would drop the member, and a server that
//!   reads a missing member as "unchanged" would keep the old entries.
//! - A list the edit changed is the edited list, in the edited order. Each
//!   edited element is paired with an element of the original list, whose
//!   unknown members it then keeps: first by identity (its `id`, else its
//!   `name`: an env variable's name, a trigger's id, a volume's name), then
//!   an element without identity that the edit left exactly as it was, then
//!   an element without identity at the same position. An element left
//!   unpaired is new and sent as edited; an original element left unpaired
//!   was removed by the edit. Changing an element's `id` or `name` makes it
//!   a new element: its unknown members are not carried over.
//!
//! Object keys are written back decoded and re-encoded, so a key that the
//! server escaped without need (`"\u0061"` for `"a"`) comes back in its
//! plain form; values are never re-encoded unless the edit changed them.

use serde::Deserialize;
use serde::de::{MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::fmt;

/// The text to send: `original` with the change from `before` to `after`
/// applied (see the module's documentation). Fails only if `original` is
/// not JSON.
pub(crate) fn merge(
    original: &str,
    before: &Value,
    after: &Value,
) -> Result<String, serde_json::Error> {
    let raw: &RawValue = serde_json::from_str(original)?;
    let mut out = String::with_capacity(original.len() + 64);
    value(raw, Some(before), after, &mut out)?;
    Ok(out)
}

/// The members of a JSON object in their original order, each value as
/// its original text.
struct RawObject<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for RawObject<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> Visitor<'de> for Members {
            type Value = RawObject<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, &'de RawValue>()? {
                    members.push((k, v));
                }
                Ok(RawObject(members))
            }
        }
        d.deserialize_map(Members)
    }
}

fn starts_with(raw: &RawValue, c: char) -> bool {
    raw.get().trim_start().starts_with(c)
}

fn write(v: &Value, out: &mut String) -> Result<(), serde_json::Error> {
    out.push_str(&serde_json::to_string(v)?);
    Ok(())
}

fn value(
    original: &RawValue,
    before: Option<&Value>,
    after: &Value,
    out: &mut String,
) -> Result<(), serde_json::Error> {
    if before == Some(after) {
        out.push_str(original.get());
        return Ok(());
    }
    match after {
        Value::Object(a) if starts_with(original, '{') => {
            let members: RawObject<'_> = serde_json::from_str(original.get())?;
            let empty = Map::new();
            let b = before.and_then(Value::as_object).unwrap_or(&empty);
            object(&members, b, a, out)
        }
        Value::Array(a) if starts_with(original, '[') => {
            let items: Vec<&RawValue> = serde_json::from_str(original.get())?;
            match before.and_then(Value::as_array) {
                Some(b) if b.len() == items.len() => array(&items, b, a, out),
                _ => write(after, out),
            }
        }
        _ => write(after, out),
    }
}

fn object(
    original: &RawObject<'_>,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
    out: &mut String,
) -> Result<(), serde_json::Error> {
    out.push('{');
    let mut first = true;
    let mut member = |k: &str, out: &mut String| -> Result<(), serde_json::Error> {
        if !std::mem::take(&mut first) {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(k)?);
        out.push(':');
        Ok(())
    };
    let mut seen = HashSet::with_capacity(original.0.len());
    for (k, raw) in &original.0 {
        seen.insert(k.as_str());
        match (after.get(k), before.get(k)) {
            (Some(a), b) => {
                member(k, out)?;
                value(raw, b, a, out)?;
            }
            // Removed by the edit: a list is sent empty, the rest left out.
            (None, Some(b)) => {
                if b.is_array() {
                    member(k, out)?;
                    out.push_str("[]");
                }
            }
            // Not in the typed view: the server's own text.
            (None, None) => {
                member(k, out)?;
                out.push_str(raw.get());
            }
        }
    }
    for (k, a) in after {
        if seen.contains(k.as_str()) || before.get(k) == Some(a) {
            continue;
        }
        member(k, out)?;
        write(a, out)?;
    }
    out.push('}');
    Ok(())
}

fn array(
    original: &[&RawValue],
    before: &[Value],
    after: &[Value],
    out: &mut String,
) -> Result<(), serde_json::Error> {
    let pairs = pair(before, after)?;
    out.push('[');
    for (j, a) in after.iter().enumerate() {
        if j > 0 {
            out.push(',');
        }
        match pairs[j] {
            Some(i) => value(original[i], Some(&before[i]), a, out)?,
            None => write(a, out)?,
        }
    }
    out.push(']');
    Ok(())
}

/// What identifies a list element: its `id`, else its `name`.
fn identity(v: &Value) -> Option<(&'static str, &str)> {
    let o = v.as_object()?;
    ["id", "name"]
        .into_iter()
        .find_map(|k| o.get(k).and_then(Value::as_str).map(|s| (k, s)))
}

/// For each element of `after`, the index of the element of `before` it
/// is paired with, if any (see the module's documentation).
fn pair(before: &[Value], after: &[Value]) -> Result<Vec<Option<usize>>, serde_json::Error> {
    let mut taken = vec![false; before.len()];
    let mut pairs = vec![None; after.len()];

    // 1. By identity, in order among equal identities.
    let mut by_identity: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
    for (i, b) in before.iter().enumerate().rev() {
        if let Some(id) = identity(b) {
            by_identity.entry(id).or_default().push(i);
        }
    }
    for (j, a) in after.iter().enumerate() {
        if let Some(i) = identity(a).and_then(|id| by_identity.get_mut(&id)?.pop()) {
            taken[i] = true;
            pairs[j] = Some(i);
        }
    }

    // 2. Unchanged elements without identity, by their text.
    let mut by_text: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, b) in before.iter().enumerate().rev() {
        if !taken[i] && identity(b).is_none() {
            by_text
                .entry(serde_json::to_string(b)?)
                .or_default()
                .push(i);
        }
    }
    for (j, a) in after.iter().enumerate() {
        if pairs[j].is_some() || identity(a).is_some() {
            continue;
        }
        if let Some(i) = by_text
            .get_mut(&serde_json::to_string(a)?)
            .and_then(Vec::pop)
        {
            taken[i] = true;
            pairs[j] = Some(i);
        }
    }

    // 3. Changed elements without identity, by position.
    for (j, a) in after.iter().enumerate() {
        if pairs[j].is_none()
            && identity(a).is_none()
            && j < before.len()
            && !taken[j]
            && identity(&before[j]).is_none()
        {
            taken[j] = true;
            pairs[j] = Some(j);
        }
    }
    Ok(pairs)
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
        // The first is removed, the last changed: the second keeps its own
        // unknown member, the changed one keeps the one at its position.
        let after = json!([{"t": 2}, {"t": 30}]);
        assert_eq!(
            run(original, before, after),
            r#"[{"t":2,"u":"b"},{"t":30}]"#
        );
        let original = r#"[{"t":1,"u":"a"},{"t":2,"u":"b"}]"#;
        let after = json!([{"t": 10}, {"t": 2}]);
        assert_eq!(
            run(original, json!([{"t": 1}, {"t": 2}]), after),
            r#"[{"t":10,"u":"a"},{"t":2,"u":"b"}]"#
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
        assert!(merge("not json", &json!({}), &json!({"a": 1})).is_err());
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

            let out = merge(&text, &before, &after).unwrap();
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
    }
}
