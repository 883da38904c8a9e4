//! Reading one task's parameters out of the execution data,
//! `{"tasks": [ ... ]}`, without building the others.
//!
//! The document is parsed in one pass: keys other than `tasks` and every
//! element before and after `tasks[index]` are skipped with
//! [`serde::de::IgnoredAny`] (checked for syntax, never allocated), and
//! `tasks[index]` is deserialized straight into the task's type.

use std::fmt;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor,
};

use crate::redact::redact;

/// One task's parameters, read out of the execution data.
#[derive(Clone, PartialEq, Eq)]
pub struct Selected<T> {
    /// `tasks[index]`, or `None` when the index is past the end.
    pub params: Option<T>,
    /// The number of tasks in the execution data.
    pub count: usize,
}

impl<T> fmt::Debug for Selected<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Selected")
            .field("params", &self.params.as_ref().map(|_| "<redacted>"))
            .field("count", &self.count)
            .finish()
    }
}

/// Why the execution data could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DataError {
    /// Not JSON; `eof` when the body ends early.
    Syntax {
        /// serde_json's description (it never quotes the input).
        message: String,
        /// Line, from 1.
        line: usize,
        /// Column, from 1.
        column: usize,
        /// The body ended before the value did.
        eof: bool,
    },
    /// JSON, but not an object with a `tasks` array (message redacted).
    Shape(String),
    /// `tasks[index]` does not match the parameter type.
    Parameters {
        /// The path of the field inside the task's parameters.
        path: String,
        /// What did not match, without the value.
        message: String,
    },
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataError::Syntax {
                message,
                line,
                column,
                ..
            } => write!(
                f,
                "not valid JSON: {message} at line {line} column {column}"
            ),
            DataError::Shape(m) => write!(f, "not an object with a `tasks` array: {m}"),
            DataError::Parameters { path, message } => {
                write!(f, "tasks[..] does not match at `{path}`: {message}")
            }
        }
    }
}

impl std::error::Error for DataError {}

/// serde_json's message without its ` at line L column C` suffix.
pub(crate) fn json_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    match text.strip_suffix(&suffix) {
        Some(m) => m.to_owned(),
        None => text,
    }
}

/// Reads `tasks[index]` of `body` as `T`, and counts the tasks.
///
/// A missing `tasks` key counts as an empty list, and an index past the
/// end gives `params: None`, as the official helpers do.
pub fn select<T: DeserializeOwned>(body: &[u8], index: usize) -> Result<Selected<T>, DataError> {
    let mut failure = None;
    let mut de = serde_json::Deserializer::from_slice(body);
    let seed = Envelope::<T> {
        index,
        failure: &mut failure,
        _t: std::marker::PhantomData,
    };
    let result = seed.deserialize(&mut de).and_then(|s| de.end().map(|()| s));
    match result {
        Ok(s) => Ok(s),
        Err(e) => match e.classify() {
            serde_json::error::Category::Data => Err(match failure {
                Some(f) => f,
                None => DataError::Shape(redact(&json_message(&e))),
            }),
            category => Err(DataError::Syntax {
                message: json_message(&e),
                line: e.line(),
                column: e.column(),
                eof: category == serde_json::error::Category::Eof,
            }),
        },
    }
}

/// `T` from `{}`: the parameters of a task past the end of the list.
pub(crate) fn from_empty_object<T: DeserializeOwned>() -> Result<T, DataError> {
    let mut de = serde_json::Deserializer::from_str("{}");
    serde_path_to_error::deserialize(&mut de).map_err(|e| DataError::Parameters {
        path: e.path().to_string(),
        message: redact(&json_message(e.inner())),
    })
}

struct Envelope<'a, T> {
    index: usize,
    failure: &'a mut Option<DataError>,
    _t: std::marker::PhantomData<T>,
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for Envelope<'_, T> {
    type Value = Selected<T>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Selected<T>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T: DeserializeOwned> Visitor<'de> for Envelope<'_, T> {
    type Value = Selected<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object with a `tasks` array")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Selected<T>, A::Error> {
        let mut selected = None;
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Tasks if selected.is_some() => {
                    return Err(de::Error::duplicate_field("tasks"));
                }
                Key::Tasks => {
                    selected = Some(map.next_value_seed(Tasks::<T> {
                        index: self.index,
                        failure: &mut *self.failure,
                        _t: std::marker::PhantomData,
                    })?);
                }
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(selected.unwrap_or(Selected {
            params: None,
            count: 0,
        }))
    }
}

enum Key {
    Tasks,
    Other,
}

impl<'de> de::Deserialize<'de> for Key {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(if v == "tasks" { Key::Tasks } else { Key::Other })
            }
        }
        d.deserialize_identifier(KeyVisitor)
    }
}

struct Tasks<'a, T> {
    index: usize,
    failure: &'a mut Option<DataError>,
    _t: std::marker::PhantomData<T>,
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for Tasks<'_, T> {
    type Value = Selected<T>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Selected<T>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, T: DeserializeOwned> Visitor<'de> for Tasks<'_, T> {
    type Value = Selected<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of task parameters")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Selected<T>, A::Error> {
        let mut count = 0usize;
        while count < self.index {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Ok(Selected {
                    params: None,
                    count,
                });
            }
            count += 1;
        }
        let params = seq.next_element_seed(Params::<T> {
            failure: self.failure,
            _t: std::marker::PhantomData,
        })?;
        if params.is_some() {
            count += 1;
            while seq.next_element::<IgnoredAny>()?.is_some() {
                count += 1;
            }
        }
        Ok(Selected { params, count })
    }
}

/// Deserializes `T` and records the path of a mismatch.
struct Params<'a, T> {
    failure: &'a mut Option<DataError>,
    _t: std::marker::PhantomData<T>,
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for Params<'_, T> {
    type Value = T;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        match serde_path_to_error::deserialize::<_, T>(d) {
            Ok(v) => Ok(v),
            Err(e) => {
                let path = e.path().to_string();
                let inner = e.into_inner();
                // Recorded whatever the error; `select` keeps it only when
                // serde_json classifies the error as data (not syntax).
                *self.failure = Some(DataError::Parameters {
                    path,
                    message: redact(strip_position(&inner.to_string())),
                });
                Err(inner)
            }
        }
    }
}

/// `message` without a trailing ` at line L column C`.
fn strip_position(message: &str) -> &str {
    if let Some(i) = message.rfind(" at line ") {
        let rest = &message[i + " at line ".len()..];
        let mut parts = rest.splitn(2, " column ");
        let line = parts.next().unwrap_or("");
        let column = parts.next().unwrap_or("");
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if digits(line) && digits(column) {
            return &message[..i];
        }
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct P {
        n: u32,
        #[serde(default)]
        name: Option<String>,
    }

    #[test]
    fn only_the_indexed_task_is_read_and_all_are_counted() {
        let body = br#"{"meta": {"x": [1, 2]}, "tasks": [{"n": 1}, {"n": 2, "name": "b"}, {"other": true}]}"#;
        let s = select::<P>(body, 1).unwrap();
        assert_eq!(
            s.params,
            Some(P {
                n: 2,
                name: Some("b".into())
            })
        );
        assert_eq!(s.count, 3);
        // Other tasks need not match the type.
        assert_eq!(select::<P>(body, 0).unwrap().params.unwrap().n, 1);
    }

    #[test]
    fn past_the_end_and_missing_tasks_give_no_parameters() {
        let s = select::<P>(br#"{"tasks": [{"n": 1}]}"#, 5).unwrap();
        assert_eq!((s.params, s.count), (None, 1));
        let s = select::<P>(br#"{"other": 1}"#, 0).unwrap();
        assert_eq!((s.params, s.count), (None, 0));
    }

    #[test]
    fn a_mismatch_names_the_field_but_not_the_value() {
        let body = br#"{"tasks": [{"n": "hunter2"}]}"#;
        match select::<P>(body, 0).unwrap_err() {
            DataError::Parameters { path, message } => {
                assert_eq!(path, "n");
                assert!(message.contains("invalid type: string"), "{message}");
                assert!(!message.contains("hunter2"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        match select::<P>(br#"{"tasks": [{"name": "x"}]}"#, 0).unwrap_err() {
            DataError::Parameters { path, message } => {
                assert_eq!(path, ".");
                assert_eq!(message, "missing field `n`");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn truncated_and_malformed_bodies_are_syntax_errors() {
        let full = br#"{"tasks": [{"n": 1}, {"n": 2}]}"#;
        for cut in 1..full.len() {
            let err = select::<P>(&full[..cut], 0).unwrap_err();
            assert!(
                matches!(err, DataError::Syntax { eof: true, .. }),
                "cut at {cut}: {err:?}"
            );
        }
        let err = select::<P>(br#"{"tasks": [{"n": 1},, ]}"#, 0).unwrap_err();
        assert!(
            matches!(err, DataError::Syntax { eof: false, .. }),
            "{err:?}"
        );
        let err = select::<P>(br#"{"tasks": [{"n": 1}]} trailing"#, 0).unwrap_err();
        assert!(
            matches!(err, DataError::Syntax { eof: false, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn the_wrong_shape_is_a_shape_error_without_values() {
        for body in [
            &br#""sk-secret-value""#[..],
            br#"{"tasks": "sk-secret-value"}"#,
            br#"{"tasks": [], "tasks": []}"#,
            br#"[1, 2]"#,
        ] {
            let err = select::<P>(body, 0).unwrap_err();
            let DataError::Shape(m) = &err else {
                panic!("{err:?}")
            };
            assert!(!m.contains("sk-secret-value"), "{m}");
        }
    }

    proptest! {
        // Whatever the bytes, select returns (no panic), and on a document
        // that serde_json reads as execution data the two agree.
        #[test]
        fn select_agrees_with_a_full_parse(
            tasks in proptest::collection::vec(proptest::option::of(0u32..1000), 0..20),
            index in 0usize..25,
        ) {
            let values: Vec<serde_json::Value> = tasks
                .iter()
                .map(|t| match t {
                    Some(n) => serde_json::json!({"n": n}),
                    None => serde_json::json!({"skip": [1, {"a": null}]}),
                })
                .collect();
            let body = serde_json::to_vec(&serde_json::json!({"tasks": values})).unwrap();
            let full: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let expected = full["tasks"].get(index).cloned();
            match (select::<serde_json::Value>(&body, index), expected) {
                (Ok(s), e) => {
                    prop_assert_eq!(s.params, e);
                    prop_assert_eq!(s.count, tasks.len());
                }
                (Err(err), _) => prop_assert!(false, "{:?}", err),
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..200), index in 0usize..4) {
            let _ = select::<P>(&body, index);
        }
    }
}
