//! Which element of the server's list each element of the edited list
//! stands for, so that it keeps the fields the typed view does not know,
//! and never takes another element's.
//!
//! Elements are grouped by identity: their `id`, else their `name` (an env
//! variable's name, a trigger's id, a volume's name), or none. Within a
//! group:
//!
//! 1. An identity that one element had before and one has after pairs
//!    them, whatever the edit changed in it.
//! 2. Otherwise (several elements share the identity, or have none), an
//!    element the edit left exactly as it was pairs with one that was
//!    exactly so before, in order. When fewer such elements remain than
//!    there were and the ones there were differ in fields the typed view
//!    does not know (so which one survived matters), they go to step 3.
//! 3. The elements left: as many after as before pair in order (by
//!    position among them: the edit changed them where they were);
//!    otherwise, if any of those before carries fields the typed view does
//!    not know, the pairing is ambiguous and the merge is refused (which
//!    one was removed, which one changed?); if none does, nothing is lost
//!    by sending them as edited.
//!
//! An element left unpaired after is new and sent as edited; one left
//! unpaired before was removed by the edit.

use serde_json::Value;
use std::collections::HashMap;

/// What identifies a list element: its `id`, else its `name`.
pub(super) fn identity(v: &Value) -> Option<(&'static str, &str)> {
    let o = v.as_object()?;
    ["id", "name"]
        .into_iter()
        .find_map(|k| o.get(k).and_then(Value::as_str).map(|s| (k, s)))
}

/// Elements that share an identity (or have none) and whose pairing the
/// typed view cannot decide without moving or dropping fields it does not
/// know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ambiguous {
    /// The identity they share (`name` `A`), or `None` for elements with
    /// neither `id` nor `name`.
    pub(crate) identity: Option<(&'static str, String)>,
    /// How many there were.
    pub(crate) before: usize,
    /// How many the edit left (changed or not).
    pub(crate) after: usize,
}

/// Whether the server's element, written `original`, holds something that
/// `typed` (the typed view of it) does not. A text `serde_json::Value`
/// cannot hold (a number such as `1e400`) counts as something.
fn carries_unknown_text(original: &str, typed: &Value) -> bool {
    serde_json::from_str::<Value>(original).map_or(true, |v| carries_unknown(&v, typed))
}

/// Whether two of the server's elements, as written, are the same JSON.
fn same_text(a: &str, b: &str) -> bool {
    a == b
        || matches!(
            (serde_json::from_str::<Value>(a), serde_json::from_str::<Value>(b)),
            (Ok(x), Ok(y)) if x == y
        )
}

/// Whether `original` (the server's element) holds something that `typed`
/// (the typed view of it) does not: a member it lacks (other than `null`,
/// which reads as absent), or a value it holds differently.
pub(super) fn carries_unknown(original: &Value, typed: &Value) -> bool {
    match (original, typed) {
        (Value::Null, _) => false,
        (Value::Object(o), Value::Object(t)) => o.iter().any(|(k, v)| match t.get(k) {
            Some(tv) => carries_unknown(v, tv),
            None => !v.is_null(),
        }),
        (Value::Array(o), Value::Array(t)) => {
            o.len() != t.len() || o.iter().zip(t).any(|(o, t)| carries_unknown(o, t))
        }
        (o, t) => o != t,
    }
}

/// For each element of `after`, the index of the element of `before` it
/// stands for, if any. `original` holds the server's elements as written,
/// in the order of `before` (the typed view of each); they are parsed only
/// where a decision needs them.
pub(super) fn pair(
    original: &[&str],
    before: &[Value],
    after: &[Value],
) -> Result<Vec<Option<usize>>, Ambiguous> {
    // The groups, in order of first appearance, with their indices before
    // and after.
    type Group = (Vec<usize>, Vec<usize>);
    let mut order: Vec<Option<(&'static str, &str)>> = Vec::new();
    let mut groups: HashMap<Option<(&'static str, &str)>, Group> = HashMap::new();
    for (side, list) in [before, after].into_iter().enumerate() {
        for (i, v) in list.iter().enumerate() {
            let key = identity(v);
            let group = groups.entry(key).or_insert_with(|| {
                order.push(key);
                Default::default()
            });
            if side == 0 {
                group.0.push(i);
            } else {
                group.1.push(i);
            }
        }
    }
    let mut pairs = vec![None; after.len()];
    for key in order {
        let (bs, as_) = &groups[&key];
        if key.is_some() && bs.len() <= 1 && as_.len() <= 1 {
            if let (Some(&i), Some(&j)) = (bs.first(), as_.first()) {
                pairs[j] = Some(i);
            }
            continue;
        }
        pair_group(original, before, after, bs, as_, &mut pairs).map_err(|(b, a)| Ambiguous {
            identity: key.map(|(k, v)| (k, v.to_owned())),
            before: b,
            after: a,
        })?;
    }
    Ok(pairs)
}

/// Steps 2 and 3 of the module's rules for one group; on ambiguity, how
/// many elements there were and are.
fn pair_group(
    original: &[&str],
    before: &[Value],
    after: &[Value],
    bs: &[usize],
    as_: &[usize],
    pairs: &mut [Option<usize>],
) -> Result<(), (usize, usize)> {
    let mut taken = vec![false; before.len()];
    // 2. Unchanged elements, content by content.
    let mut done: Vec<&Value> = Vec::new();
    for &j in as_ {
        let content = &after[j];
        if done.contains(&content) {
            continue;
        }
        done.push(content);
        let same_after: Vec<usize> = as_
            .iter()
            .copied()
            .filter(|&j| after[j] == *content)
            .collect();
        let same_before: Vec<usize> = bs
            .iter()
            .copied()
            .filter(|&i| !taken[i] && before[i] == *content)
            .collect();
        let interchangeable = same_before
            .windows(2)
            .all(|w| same_text(original[w[0]], original[w[1]]));
        if same_after.len() >= same_before.len() || interchangeable {
            for (&j, &i) in same_after.iter().zip(&same_before) {
                pairs[j] = Some(i);
                taken[i] = true;
            }
        }
    }
    // 3. The rest, by position among them.
    let rest_before: Vec<usize> = bs.iter().copied().filter(|&i| !taken[i]).collect();
    let rest_after: Vec<usize> = as_
        .iter()
        .copied()
        .filter(|&j| pairs[j].is_none())
        .collect();
    if rest_before.is_empty() || rest_after.is_empty() {
        return Ok(());
    }
    if rest_before.len() == rest_after.len() {
        for (&j, &i) in rest_after.iter().zip(&rest_before) {
            pairs[j] = Some(i);
        }
        return Ok(());
    }
    if rest_before
        .iter()
        .any(|&i| carries_unknown_text(original[i], &before[i]))
    {
        return Err((bs.len(), as_.len()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn strip(v: &Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .filter(|(k, _)| !k.starts_with('u'))
                    .map(|(k, v)| (k.clone(), strip(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// Pairs `after` with `original` (whose `u…` members the typed view
    /// does not know).
    fn run(original: Value, after: Value) -> Result<Vec<Option<usize>>, Ambiguous> {
        let original = original.as_array().unwrap().clone();
        let before: Vec<Value> = original.iter().map(strip).collect();
        let texts: Vec<String> = original.iter().map(Value::to_string).collect();
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        pair(&texts, &before, after.as_array().unwrap())
    }

    #[test]
    fn a_unique_identity_pairs_whatever_changed() {
        let original = json!([{"name": "A", "value": "1", "u": 1}, {"name": "B", "u": 2}]);
        let after =
            json!([{"name": "B", "value": "x"}, {"name": "C"}, {"name": "A", "value": "2"}]);
        assert_eq!(run(original, after), Ok(vec![Some(1), None, Some(0)]));
    }

    #[test]
    fn a_duplicate_name_never_takes_another_entrys_fields() {
        // The issue's case: removing the first of two entries named A.
        let original = json!([
            {"name": "A", "value": "1", "u": "first"},
            {"name": "A", "value": "2", "u": "second"}
        ]);
        let removed_first = json!([{"name": "A", "value": "2"}]);
        assert_eq!(run(original.clone(), removed_first), Ok(vec![Some(1)]));
        let removed_second = json!([{"name": "A", "value": "1"}]);
        assert_eq!(run(original.clone(), removed_second), Ok(vec![Some(0)]));
        // One changed in place, the other kept: the unchanged pairs by
        // content, the changed one by what is left.
        let changed_second = json!([{"name": "A", "value": "1"}, {"name": "A", "value": "9"}]);
        assert_eq!(
            run(original.clone(), changed_second),
            Ok(vec![Some(0), Some(1)])
        );
        // Both changed, none removed: by position.
        let both = json!([{"name": "A", "value": "8"}, {"name": "A", "value": "9"}]);
        assert_eq!(run(original.clone(), both), Ok(vec![Some(0), Some(1)]));
        // One left, changed: which one was removed cannot be told.
        let one_changed = json!([{"name": "A", "value": "9"}]);
        assert_eq!(
            run(original, one_changed),
            Err(Ambiguous {
                identity: Some(("name", "A".into())),
                before: 2,
                after: 1
            })
        );
    }

    #[test]
    fn identical_entries_that_differ_only_in_unknown_fields() {
        let original = json!([{"name": "A", "u": "x"}, {"name": "A", "u": "y"}]);
        // Both kept: in order.
        let both = json!([{"name": "A"}, {"name": "A"}]);
        assert_eq!(run(original.clone(), both), Ok(vec![Some(0), Some(1)]));
        // One removed: which one cannot be told, and it matters.
        let one = json!([{"name": "A"}]);
        assert!(run(original, one).is_err());
        // Without unknown fields, it does not matter.
        let plain = json!([{"name": "A", "v": 1}, {"name": "A", "v": 1}]);
        assert_eq!(
            run(plain, json!([{"name": "A", "v": 1}])),
            Ok(vec![Some(0)])
        );
    }

    #[test]
    fn entries_without_unknown_fields_are_never_ambiguous() {
        let original = json!([{"name": "A", "v": 1}, {"name": "A", "v": 2}]);
        assert_eq!(
            run(original, json!([{"name": "A", "v": 3}])),
            Ok(vec![None])
        );
        let strings = json!(["a", "b", "c"]);
        assert_eq!(run(strings, json!(["c", "x"])), Ok(vec![Some(2), None]));
    }

    #[test]
    fn elements_without_identity_follow_the_same_rules() {
        let original = json!([{"t": 1, "u": "a"}, {"t": 2, "u": "b"}]);
        assert_eq!(
            run(original.clone(), json!([{"t": 10}, {"t": 2}])),
            Ok(vec![Some(0), Some(1)])
        );
        assert_eq!(
            run(original.clone(), json!([{"t": 2}, {"t": 1}])),
            Ok(vec![Some(1), Some(0)])
        );
        let three = json!([{"t": 1, "u": "a"}, {"t": 2, "u": "b"}, {"t": 3, "u": "c"}]);
        assert_eq!(
            run(three, json!([{"t": 2}, {"t": 30}])),
            Err(Ambiguous {
                identity: None,
                before: 3,
                after: 2
            })
        );
    }

    #[test]
    fn numbers_no_value_can_hold_are_unknown_content_not_errors() {
        // Two entries of one name, one with a number `Value` cannot hold.
        let texts = [r#"{"name":"A","u":1e400}"#, r#"{"name":"A","u":1}"#];
        let before = [json!({"name": "A"}), json!({"name": "A"})];
        // Kept in place, they pair; one removed, which one is unknown.
        let both = [json!({"name": "A"}), json!({"name": "A"})];
        assert_eq!(pair(&texts, &before, &both), Ok(vec![Some(0), Some(1)]));
        assert!(pair(&texts, &before, &[json!({"name": "A"})]).is_err());
        assert!(carries_unknown_text("1e400", &json!(1)));
        assert!(same_text("[1e400]", "[1e400]"));
        assert!(same_text("[1, 2]", "[1,2]"));
    }

    #[test]
    fn null_members_are_not_unknown_content() {
        assert!(!carries_unknown(
            &json!({"a": 1, "b": null}),
            &json!({"a": 1})
        ));
        assert!(carries_unknown(&json!({"a": 1, "b": 0}), &json!({"a": 1})));
        assert!(carries_unknown(
            &json!({"a": [1, {"u": 1}]}),
            &json!({"a": [1, {}]})
        ));
        assert!(!carries_unknown(&json!(null), &json!({"a": 1})));
    }
}
