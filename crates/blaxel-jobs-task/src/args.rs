//! Parameters from `--key value` arguments, as a local run passes them.
//!
//! Each `--key` takes the next argument as its value unless that one is
//! another `--key` (or there is none), in which case the value is `"true"`;
//! `--key=value` is read too. Values are text, read as the field's type
//! needs them: `--count 3` fills a `u32`, `--name 3` a `String`,
//! `--verbose` a `bool`, and a field that is a list, map or struct takes
//! its value as JSON (`--regions '["eu", "us"]'`).

use std::ffi::OsString;

use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;

use crate::error::{Error, Source};
use crate::redact::redact;

/// The `--key value` pairs of `args`, in order.
pub(crate) fn pairs(args: &[OsString]) -> Result<Vec<(String, String)>, Error> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let position = i + 1;
        let arg = args[i]
            .to_str()
            .ok_or_else(|| Error::Arguments(format!("argument {position} is not valid UTF-8")))?;
        i += 1;
        let Some(key) = arg.strip_prefix("--") else {
            return Err(Error::Arguments(format!(
                "argument {position} does not start with `--` (values follow their `--key`)"
            )));
        };
        if let Some((key, value)) = key.split_once('=') {
            if key.is_empty() {
                return Err(Error::Arguments(format!(
                    "argument {position} has an empty key"
                )));
            }
            out.push((key.to_owned(), value.to_owned()));
            continue;
        }
        if key.is_empty() {
            return Err(Error::Arguments(format!(
                "argument {position} has an empty key"
            )));
        }
        let value = match args.get(i).map(|a| a.to_str()) {
            Some(Some(v)) if !v.starts_with("--") => {
                i += 1;
                v.to_owned()
            }
            Some(None) => {
                return Err(Error::Arguments(format!(
                    "argument {} is not valid UTF-8",
                    i + 1
                )));
            }
            _ => "true".to_owned(),
        };
        out.push((key.to_owned(), value));
    }
    Ok(out)
}

/// `T` from `--key value` arguments.
pub(crate) fn parse<T: DeserializeOwned>(args: &[OsString]) -> Result<T, Error> {
    let pairs = pairs(args)?;
    let de = de::value::MapDeserializer::<_, de::value::Error>::new(
        pairs.into_iter().map(|(k, v)| (k, Text(v))),
    );
    serde_path_to_error::deserialize(de).map_err(|e| Error::Parameters {
        origin: Source::Arguments,
        path: e.path().to_string(),
        message: redact(&e.inner().to_string()),
    })
}

/// An argument's value: text that becomes whatever the field asks for.
struct Text(String);

impl<'de> IntoDeserializer<'de, de::value::Error> for Text {
    type Deserializer = Text;
    fn into_deserializer(self) -> Text {
        self
    }
}

/// Parses the text as the number or bool the visitor wants; text that
/// does not parse goes to the visitor as a string, which rejects it with
/// serde's usual message.
macro_rules! parsed {
    ($($method:ident => $ty:ty, $visit:ident;)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
                match self.0.trim().parse::<$ty>() {
                    Ok(v) => visitor.$visit(v),
                    Err(_) => visitor.visit_string(self.0),
                }
            }
        )*
    };
}

impl Text {
    /// Reads the text as JSON for a visitor that wants a structure.
    fn json<'de, V: Visitor<'de>>(
        self,
        visitor: V,
        read: impl FnOnce(
            &mut serde_json::Deserializer<serde_json::de::IoRead<&[u8]>>,
            V,
        ) -> Result<V::Value, serde_json::Error>,
    ) -> Result<V::Value, de::value::Error> {
        let mut de = serde_json::Deserializer::from_reader(self.0.as_bytes());
        let value = read(&mut de, visitor).and_then(|v| de.end().map(|()| v));
        value.map_err(|e| {
            let message = crate::data::json_message(&e);
            <de::value::Error as de::Error>::custom(match e.classify() {
                serde_json::error::Category::Data => message,
                _ => format!("{}{message}", crate::redact::NOT_JSON),
            })
        })
    }
}

impl<'de> de::Deserializer<'de> for Text {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_string(self.0)
    }

    parsed! {
        deserialize_bool => bool, visit_bool;
        deserialize_i8 => i8, visit_i8;
        deserialize_i16 => i16, visit_i16;
        deserialize_i32 => i32, visit_i32;
        deserialize_i64 => i64, visit_i64;
        deserialize_i128 => i128, visit_i128;
        deserialize_u8 => u8, visit_u8;
        deserialize_u16 => u16, visit_u16;
        deserialize_u32 => u32, visit_u32;
        deserialize_u64 => u64, visit_u64;
        deserialize_u128 => u128, visit_u128;
        deserialize_f32 => f32, visit_f32;
        deserialize_f64 => f64, visit_f64;
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.json(visitor, |de, v| de::Deserializer::deserialize_seq(de, v))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.json(visitor, |de, v| {
            de::Deserializer::deserialize_tuple(de, len, v)
        })
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.json(visitor, |de, v| {
            de::Deserializer::deserialize_tuple_struct(de, name, len, v)
        })
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.json(visitor, |de, v| de::Deserializer::deserialize_map(de, v))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.json(visitor, |de, v| {
            de::Deserializer::deserialize_struct(de, name, fields, v)
        })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        if self.0.trim_start().starts_with('{') {
            self.json(visitor, |de, v| {
                de::Deserializer::deserialize_enum(de, name, variants, v)
            })
        } else {
            visitor.visit_enum(self.0.into_deserializer())
        }
    }

    forward_to_deserialize_any! {
        char str string bytes byte_buf unit unit_struct identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    fn args(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Mode {
        Fast,
        Slow,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct P {
        count: u32,
        name: String,
        #[serde(default)]
        verbose: bool,
        ratio: Option<f64>,
        #[serde(default)]
        regions: Vec<String>,
        mode: Option<Mode>,
        offset: Option<i64>,
    }

    #[test]
    fn values_take_the_type_of_their_field() {
        let p: P = parse(&args(&[
            "--count",
            "3",
            "--name",
            "42",
            "--verbose",
            "--ratio=0.5",
            "--regions",
            r#"["eu", "us"]"#,
            "--mode",
            "slow",
            "--offset",
            "-5",
        ]))
        .unwrap();
        assert_eq!(
            p,
            P {
                count: 3,
                name: "42".into(),
                verbose: true,
                ratio: Some(0.5),
                regions: vec!["eu".into(), "us".into()],
                mode: Some(Mode::Slow),
                offset: Some(-5),
            }
        );
    }

    #[test]
    fn a_flag_without_value_is_true_and_maps_keep_text() {
        let m: BTreeMap<String, String> = parse(&args(&["--a", "--b", "x", "--c"])).unwrap();
        assert_eq!(m["a"], "true");
        assert_eq!(m["b"], "x");
        assert_eq!(m["c"], "true");
    }

    #[test]
    fn mismatches_name_the_field_and_hide_the_value() {
        let err = parse::<P>(&args(&["--count", "hunter2", "--name", "x"])).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("`count`"), "{text}");
        assert!(text.contains("command-line arguments"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        let err = parse::<P>(&args(&["--name", "x"])).unwrap_err().to_string();
        assert!(err.contains("missing field `count`"), "{err}");
        let err = parse::<P>(&args(&[
            "--count",
            "1",
            "--name",
            "x",
            "--regions",
            "[\"sk-1\"",
        ]))
        .unwrap_err()
        .to_string();
        assert!(err.contains("`regions`"), "{err}");
        assert!(!err.contains("sk-1"), "{err}");
    }

    #[test]
    fn positional_and_empty_keys_are_errors() {
        for bad in [&["value"][..], &["--"], &["--=x"], &["--a", "1", "stray"]] {
            let err = pairs(&args(bad)).unwrap_err();
            assert!(matches!(err, Error::Arguments(_)), "{bad:?}: {err}");
            assert!(!err.to_string().contains("stray"));
        }
        assert_eq!(pairs(&[]).unwrap(), vec![]);
    }
}
