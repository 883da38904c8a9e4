//! A caller's values turned into JSON within the nesting the API takes.
//!
//! A task's parameters (and a cron trigger's tasks) are whatever the caller
//! passes: any [`Serialize`] value. Serializing recurses once per level of
//! nesting, in the caller's `Serialize` code and in serde_json's, so a value
//! nested 10,000 levels deep (which a custom `Serialize` can produce without
//! holding any tree) overflows the 2 MiB stack of a tokio worker thread,
//! and 100,000 levels overflow a main thread's 8 MiB: the process aborts.
//!
//! [`to_value`] serializes through a serializer that counts the levels and
//! stops with an error past the limit, before the stack is at risk. The
//! limit is what the API takes: [`BODY_DEPTH`] levels of arrays and objects
//! in a whole request body, less the levels above the value in that body.
//! [`check`] applies the same limit, without recursion, to values already
//! built (a typed request passed whole).

use serde::ser::{self, Serialize};
use serde_json::{Map, Value};

/// The most levels of arrays and objects a request body may nest: 127.
///
/// Blaxel documents no limit. serde_json refuses a 128th level when it
/// parses (as the emulator does with every request body, and the task
/// crate with the execution data a task reads its parameters from), so a
/// deeper value could not be read by them; nesting that deep is refused
/// before it is sent.
pub(crate) const BODY_DEPTH: usize = 127;

/// The most levels a task of a CreateJobExecution request may nest, its
/// own object included: [`BODY_DEPTH`] less the body's object and its
/// `tasks` array.
pub(crate) const EXECUTION_TASK_DEPTH: usize = BODY_DEPTH - 2;

/// The most levels a task of a job's cron trigger may nest, its own object
/// included: [`BODY_DEPTH`] less the six levels above it in a job
/// (`{"spec": {"triggers": [{"configuration": {"tasks": [...]}}]}}`).
pub(crate) const TRIGGER_TASK_DEPTH: usize = BODY_DEPTH - 6;

/// How many nested calls of `serialize` are allowed for each allowed level
/// of JSON: wrappers that add no level to the JSON (`Some`, newtypes) still
/// recurse, and a chain of them must not overflow the stack either.
const CALLS_PER_LEVEL: usize = 4;

/// Serializes `value` into JSON, refusing it when it nests more than
/// `max_depth` levels of arrays and objects. The error says why, never
/// quoting the value.
pub(crate) fn to_value<T: Serialize + ?Sized>(
    value: &T,
    max_depth: usize,
) -> Result<Value, String> {
    let budget = Budget {
        levels: max_depth,
        calls: max_depth.saturating_mul(CALLS_PER_LEVEL),
        max_depth,
    };
    value
        .serialize(Limited {
            inner: serde_json::value::Serializer,
            budget,
        })
        .map_err(|e| e.to_string())
}

/// [`to_value`] for a value that must be a JSON object (a task's
/// parameters): the error says what it was instead.
pub(crate) fn to_object<T: Serialize + ?Sized>(
    value: &T,
    max_depth: usize,
) -> Result<Map<String, Value>, String> {
    match to_value(value, max_depth) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(format!(
            "a task must be a JSON object, not {}",
            crate::error::Clip(&other.to_string(), 64)
        )),
        Err(e) => Err(format!("cannot serialize the task: {e}")),
    }
}

/// Checks, without recursion, that `map` (as a JSON object) nests at most
/// `max_depth` levels of arrays and objects, itself included.
pub(crate) fn check(map: &Map<String, Value>, max_depth: usize) -> Result<(), String> {
    // Each entry: a container and its level (the map itself is level 1).
    let mut stack: Vec<(&Value, usize)> = map.values().map(|v| (v, 2)).collect();
    if max_depth == 0 {
        return Err(too_deep(max_depth));
    }
    while let Some((value, level)) = stack.pop() {
        let children: &mut dyn Iterator<Item = &Value> = match value {
            Value::Array(items) => &mut items.iter(),
            Value::Object(map) => &mut map.values(),
            _ => continue,
        };
        if level > max_depth {
            return Err(too_deep(max_depth));
        }
        stack.extend(children.map(|v| (v, level + 1)));
    }
    Ok(())
}

fn too_deep(max_depth: usize) -> String {
    format!(
        "it nests arrays and objects more than {max_depth} levels deep, more than the API takes \
         at this place in a request"
    )
}

/// What is left of the nesting allowed.
#[derive(Debug, Clone, Copy)]
struct Budget {
    /// Levels of arrays and objects.
    levels: usize,
    /// Nested calls of `serialize`.
    calls: usize,
    /// The limit, for the error.
    max_depth: usize,
}

impl Budget {
    /// The budget inside one more call of `serialize` that adds no level.
    fn call<E: ser::Error>(self) -> Result<Budget, E> {
        match self.calls.checked_sub(1) {
            Some(calls) => Ok(Budget { calls, ..self }),
            None => Err(E::custom(too_deep(self.max_depth))),
        }
    }

    /// The budget inside `n` more levels of arrays and objects.
    fn enter<E: ser::Error>(self, n: usize) -> Result<Budget, E> {
        match (self.levels.checked_sub(n), self.calls.checked_sub(1)) {
            (Some(levels), Some(calls)) => Ok(Budget {
                levels,
                calls,
                max_depth: self.max_depth,
            }),
            _ => Err(E::custom(too_deep(self.max_depth))),
        }
    }
}

/// A serializer (or one of its compound parts) that passes everything to
/// `inner`, counting the nesting.
struct Limited<S> {
    inner: S,
    budget: Budget,
}

/// A value to serialize with what is left of the budget.
struct Nested<'a, T: ?Sized> {
    value: &'a T,
    budget: Budget,
}

impl<T: Serialize + ?Sized> Serialize for Nested<'_, T> {
    fn serialize<S: ser::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(Limited {
            inner: serializer,
            budget: self.budget,
        })
    }
}

impl<S> Limited<S> {
    fn nested<'a, T: ?Sized>(&self, value: &'a T) -> Nested<'a, T> {
        Nested {
            value,
            budget: self.budget,
        }
    }
}

macro_rules! forward {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(
            fn $method(self, $($arg: $ty),*) -> Result<S::Ok, S::Error> {
                self.inner.$method($($arg),*)
            }
        )*
    };
}

impl<S: ser::Serializer> ser::Serializer for Limited<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Limited<S::SerializeSeq>;
    type SerializeTuple = Limited<S::SerializeTuple>;
    type SerializeTupleStruct = Limited<S::SerializeTupleStruct>;
    type SerializeTupleVariant = Limited<S::SerializeTupleVariant>;
    type SerializeMap = Limited<S::SerializeMap>;
    type SerializeStruct = Limited<S::SerializeStruct>;
    type SerializeStructVariant = Limited<S::SerializeStructVariant>;

    forward! {
        serialize_bool(v: bool);
        serialize_i8(v: i8);
        serialize_i16(v: i16);
        serialize_i32(v: i32);
        serialize_i64(v: i64);
        serialize_i128(v: i128);
        serialize_u8(v: u8);
        serialize_u16(v: u16);
        serialize_u32(v: u32);
        serialize_u64(v: u64);
        serialize_u128(v: u128);
        serialize_f32(v: f32);
        serialize_f64(v: f64);
        serialize_char(v: char);
        serialize_str(v: &str);
        serialize_bytes(v: &[u8]);
        serialize_none();
        serialize_unit();
        serialize_unit_struct(name: &'static str);
        serialize_unit_variant(name: &'static str, index: u32, variant: &'static str);
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        let budget = self.budget.call()?;
        self.inner.serialize_some(&Nested { value, budget })
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        let budget = self.budget.call()?;
        self.inner
            .serialize_newtype_struct(name, &Nested { value, budget })
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        // `{"variant": value}`: one level.
        let budget = self.budget.enter(1)?;
        self.inner
            .serialize_newtype_variant(name, index, variant, &Nested { value, budget })
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        let budget = self.budget.enter(1)?;
        let inner = self.inner.serialize_seq(len)?;
        Ok(Limited { inner, budget })
    }

    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, S::Error> {
        let budget = self.budget.enter(1)?;
        let inner = self.inner.serialize_tuple(len)?;
        Ok(Limited { inner, budget })
    }

    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, S::Error> {
        let budget = self.budget.enter(1)?;
        let inner = self.inner.serialize_tuple_struct(name, len)?;
        Ok(Limited { inner, budget })
    }

    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        // `{"variant": [...]}`: two levels.
        let budget = self.budget.enter(2)?;
        let inner = self
            .inner
            .serialize_tuple_variant(name, index, variant, len)?;
        Ok(Limited { inner, budget })
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        let budget = self.budget.enter(1)?;
        let inner = self.inner.serialize_map(len)?;
        Ok(Limited { inner, budget })
    }

    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, S::Error> {
        let budget = self.budget.enter(1)?;
        let inner = self.inner.serialize_struct(name, len)?;
        Ok(Limited { inner, budget })
    }

    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        // `{"variant": {...}}`: two levels.
        let budget = self.budget.enter(2)?;
        let inner = self
            .inner
            .serialize_struct_variant(name, index, variant, len)?;
        Ok(Limited { inner, budget })
    }

    fn collect_str<T: std::fmt::Display + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        self.inner.collect_str(value)
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

impl<S: ser::SerializeSeq> ser::SerializeSeq for Limited<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), S::Error> {
        let value = self.nested(value);
        self.inner.serialize_element(&value)
    }
    fn end(self) -> Result<S::Ok, S::Error> {
        self.inner.end()
    }
}

impl<S: ser::SerializeTuple> ser::SerializeTuple for Limited<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), S::Error> {
        let value = self.nested(value);
        self.inner.serialize_element(&value)
    }
    fn end(self) -> Result<S::Ok, S::Error> {
        self.inner.end()
    }
}

impl<S: ser::SerializeTupleStruct> ser::SerializeTupleStruct for Limited<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), S::Error> {
        let value = self.nested(value);
        self.inner.serialize_field(&value)
    }
    fn end(self) -> Result<S::Ok, S::Error> {
        self.inner.end()
    }
}

impl<S: ser::SerializeTupleVariant> ser::SerializeTupleVariant for Limited<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), S::Error> {
        let value = self.nested(value);
        self.inner.serialize_field(&value)
    }
    fn end(self) -> Result<S::Ok, S::Error> {
        self.inner.end()
    }
}

impl<S: ser::SerializeMap> ser::SerializeMap for Limited<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), S::Error> {
        let key = self.nested(key);
        self.inner.serialize_key(&key)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), S::Error> {
        let value = self.nested(value);
        self.inner.serialize_value(&value)
    }
    fn end(self) -> Result<S::Ok, S::Error> {
        self.inner.end()
    }
}

impl<S: ser::SerializeStruct> ser::SerializeStruct for Limited<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), S::Error> {
        let value = self.nested(value);
        self.inner.serialize_field(key, &value)
    }
    fn skip_field(&mut self, key: &'static str) -> Result<(), S::Error> {
        self.inner.skip_field(key)
    }
    fn end(self) -> Result<S::Ok, S::Error> {
        self.inner.end()
    }
}

impl<S: ser::SerializeStructVariant> ser::SerializeStructVariant for Limited<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), S::Error> {
        let value = self.nested(value);
        self.inner.serialize_field(key, &value)
    }
    fn skip_field(&mut self, key: &'static str) -> Result<(), S::Error> {
        self.inner.skip_field(key)
    }
    fn end(self) -> Result<S::Ok, S::Error> {
        self.inner.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::ser::{SerializeMap as _, SerializeSeq as _};

    /// A value `levels` objects deep (`{"a": {"a": ... {}}}`), made up as it
    /// is serialized: no tree is held.
    struct Deep(usize);

    impl Serialize for Deep {
        fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut map = s.serialize_map(Some(1))?;
            if self.0 > 1 {
                map.serialize_entry("a", &Deep(self.0 - 1))?;
            }
            map.end()
        }
    }

    /// `levels` newtype wrappers around `{}`: deep recursion, no nesting.
    struct Wrapped(usize);

    impl Serialize for Wrapped {
        fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            if self.0 == 0 {
                s.serialize_map(Some(0))?.end()
            } else {
                s.serialize_newtype_struct("Wrapped", &Wrapped(self.0 - 1))
            }
        }
    }

    /// The JSON nesting of a value, counted without recursion.
    fn levels(v: &Value) -> usize {
        let mut deepest = 0;
        let mut stack = vec![(v, 1)];
        while let Some((v, level)) = stack.pop() {
            match v {
                Value::Object(m) => {
                    deepest = deepest.max(level);
                    stack.extend(m.values().map(|c| (c, level + 1)));
                }
                Value::Array(a) => {
                    deepest = deepest.max(level);
                    stack.extend(a.iter().map(|c| (c, level + 1)));
                }
                _ => {}
            }
        }
        deepest
    }

    #[test]
    fn values_up_to_the_limit_serialize_and_deeper_ones_are_refused() {
        let v = to_value(&Deep(EXECUTION_TASK_DEPTH), EXECUTION_TASK_DEPTH).unwrap();
        assert_eq!(levels(&v), EXECUTION_TASK_DEPTH);
        let e = to_value(&Deep(EXECUTION_TASK_DEPTH + 1), EXECUTION_TASK_DEPTH).unwrap_err();
        assert!(e.contains("more than 125 levels deep"), "{e}");
        // The same limit, checked on a value already built.
        assert_eq!(check(v.as_object().unwrap(), EXECUTION_TASK_DEPTH), Ok(()));
        let deeper = serde_json::json!({ "a": v });
        assert!(check(deeper.as_object().unwrap(), EXECUTION_TASK_DEPTH).is_err());
    }

    #[test]
    fn every_kind_of_container_counts_one_level_and_variants_two() {
        #[derive(serde::Serialize)]
        enum E {
            Tuple(u8, u8),
            Struct { x: u8 },
            New(Vec<u8>),
        }
        for (value, depth) in [
            (to_value(&vec![vec![1]], 2), 2),
            (to_value(&((1, 2),), 2), 2),
            (to_value(&E::Tuple(1, 2), 2), 2),
            (to_value(&E::Struct { x: 1 }, 2), 2),
            (to_value(&E::New(vec![1]), 2), 2),
        ] {
            assert_eq!(levels(&value.unwrap()), depth);
        }
        assert!(to_value(&vec![vec![vec![1]]], 2).is_err());
        assert!(to_value(&E::Tuple(1, 2), 1).is_err());
        assert!(to_value(&E::Struct { x: 1 }, 1).is_err());
        assert!(to_value(&E::New(vec![1]), 1).is_err());
        // Scalars nest nothing.
        assert_eq!(to_value("text", 0), Ok(Value::from("text")));
    }

    #[test]
    fn chains_of_wrappers_that_nest_nothing_are_bounded_too() {
        assert_eq!(
            to_value(&Wrapped(100), EXECUTION_TASK_DEPTH),
            Ok(Value::Object(Map::new())),
            "a few wrappers are fine"
        );
        assert!(to_value(&Wrapped(100_000), EXECUTION_TASK_DEPTH).is_err());
        assert!(to_value(&Some(Some(Some(1))), 1).is_ok());
    }

    #[test]
    fn a_task_must_be_an_object() {
        assert!(to_object(&serde_json::json!({"a": [1]}), 3).is_ok());
        let e = to_object(&serde_json::json!([1]), 3).unwrap_err();
        assert!(e.contains("a task must be a JSON object, not [1]"), "{e}");
        let e = to_object(&Deep(4), 3).unwrap_err();
        assert!(e.starts_with("cannot serialize the task: "), "{e}");
    }

    #[test]
    fn maps_whose_keys_recurse_are_bounded() {
        struct Key(usize);
        impl Serialize for Key {
            fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                if self.0 == 0 {
                    s.serialize_str("k")
                } else {
                    s.serialize_newtype_struct("Key", &Key(self.0 - 1))
                }
            }
        }
        struct WithKey(usize);
        impl Serialize for WithKey {
            fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(None)?;
                m.serialize_entry(&Key(self.0), &1)?;
                m.end()
            }
        }
        assert!(to_value(&WithKey(3), 4).is_ok());
        assert!(to_value(&WithKey(100_000), 4).is_err());
        struct Seq;
        impl Serialize for Seq {
            fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut q = s.serialize_seq(None)?;
                q.serialize_element(&Deep(3))?;
                q.end()
            }
        }
        assert_eq!(levels(&to_value(&Seq, 4).unwrap()), 4);
        assert!(to_value(&Seq, 3).is_err());
    }
}
