//! The parts of a JSON object's or array's text, as written: each member's
//! whitespace, key spelling and value text, so that the merge can write an
//! object or list the edit changed with everything else it held kept
//! byte for byte.
//!
//! The text is valid JSON (the merge parsed the whole document first); a
//! text that is not still gets an error, never a panic.

use serde_json::value::RawValue;
use std::borrow::Cow;

/// One member of an object (`key` is `None`) or element of an array, as
/// written between the delimiters: `lead` `key` `colon` `value` `trail`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Part<'a> {
    /// The whitespace before it (after `{`, `[` or `,`).
    pub(super) lead: &'a str,
    /// An object member's key as written, quotes and escapes included.
    pub(super) key: Option<&'a str>,
    /// The text between the key and the value: `:` with its whitespace.
    pub(super) colon: &'a str,
    /// The value's text.
    pub(super) value: &'a str,
    /// The whitespace after the value, before the next `,` (empty for the
    /// last part, whose trailing whitespace is the container's `close`).
    pub(super) trail: &'a str,
}

impl Part<'_> {
    /// An object member's key, decoded (`"k\u00e9y"` is `kéy`).
    pub(super) fn name(&self) -> Result<Cow<'_, str>, serde_json::Error> {
        let raw = self.key.unwrap_or("\"\"");
        match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
            Some(plain) if !plain.contains('\\') => Ok(Cow::Borrowed(plain)),
            _ => serde_json::from_str::<String>(raw).map(Cow::Owned),
        }
    }
}

/// An object's members or an array's elements, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Container<'a> {
    pub(super) parts: Vec<Part<'a>>,
    /// The whitespace before the closing `}` or `]`.
    pub(super) close: &'a str,
}

fn malformed(what: &str) -> serde_json::Error {
    serde::de::Error::custom(format!("malformed JSON {what}"))
}

/// The end of the whitespace that starts at `at`.
fn skip_ws(s: &str, at: usize) -> usize {
    at + s
        .get(at..)
        .map(|rest| rest.len() - rest.trim_start_matches([' ', '\t', '\n', '\r']).len())
        .unwrap_or(0)
}

/// The end (exclusive) of the JSON string that starts at `at` (a `"`).
fn string_end(s: &str, at: usize) -> Result<usize, serde_json::Error> {
    let bytes = s.as_bytes();
    if bytes.get(at) != Some(&b'"') {
        return Err(malformed("key"));
    }
    let mut i = at + 1;
    loop {
        match bytes.get(i) {
            Some(b'"') => return Ok(i + 1),
            Some(b'\\') => i += 2,
            Some(_) => i += 1,
            None => return Err(malformed("string")),
        }
    }
}

/// The end (exclusive) of the JSON value that starts at `at`.
fn value_end(s: &str, at: usize) -> Result<usize, serde_json::Error> {
    let rest = s.get(at..).ok_or_else(|| malformed("value"))?;
    let mut values = serde_json::Deserializer::from_str(rest).into_iter::<&RawValue>();
    match values.next() {
        Some(Ok(_)) => Ok(at + values.byte_offset()),
        Some(Err(e)) => Err(e),
        None => Err(malformed("value")),
    }
}

/// The members of the object text `s` (which starts with `{`), or the
/// elements of the array text `s` (`[`): `object` says which.
pub(super) fn container(s: &str, object: bool) -> Result<Container<'_>, serde_json::Error> {
    let (open, closing) = if object { (b'{', b'}') } else { (b'[', b']') };
    if s.as_bytes().first() != Some(&open) {
        return Err(malformed("container"));
    }
    let mut parts = Vec::new();
    let mut at = 1;
    loop {
        let lead_start = at;
        at = skip_ws(s, at);
        if parts.is_empty() && s.as_bytes().get(at) == Some(&closing) {
            return Ok(Container {
                parts,
                close: &s[lead_start..at],
            });
        }
        let lead = &s[lead_start..at];
        let (key, colon) = if object {
            let key_end = string_end(s, at)?;
            let key = &s[at..key_end];
            let colon_start = key_end;
            at = skip_ws(s, key_end);
            if s.as_bytes().get(at) != Some(&b':') {
                return Err(malformed("object"));
            }
            at = skip_ws(s, at + 1);
            (Some(key), &s[colon_start..at])
        } else {
            (None, "")
        };
        let value_start = at;
        at = value_end(s, at)?;
        let value = &s[value_start..at];
        let trail_start = at;
        at = skip_ws(s, at);
        let trail = &s[trail_start..at];
        match s.as_bytes().get(at) {
            Some(b',') => {
                parts.push(Part {
                    lead,
                    key,
                    colon,
                    value,
                    trail,
                });
                at += 1;
            }
            Some(&c) if c == closing => {
                parts.push(Part {
                    lead,
                    key,
                    colon,
                    value,
                    trail: "",
                });
                return Ok(Container {
                    parts,
                    close: trail,
                });
            }
            _ => return Err(malformed("container")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_keeps_its_spacing_and_key_spellings() {
        let s = "{\n  \"a\" : 1 ,\n  \"k\\u00e9y\": [1, {\"x\": \"}\"}],\"q\":\"a\\\"b\"\n}";
        let c = container(s, true).unwrap();
        assert_eq!(c.parts.len(), 3);
        assert_eq!(c.parts[0].lead, "\n  ");
        assert_eq!(c.parts[0].key, Some("\"a\""));
        assert_eq!(c.parts[0].colon, " : ");
        assert_eq!(c.parts[0].value, "1");
        assert_eq!(c.parts[0].trail, " ");
        assert_eq!(c.parts[1].key, Some("\"k\\u00e9y\""));
        assert_eq!(c.parts[1].name().unwrap(), "kéy");
        assert_eq!(c.parts[1].value, "[1, {\"x\": \"}\"}]");
        assert_eq!(c.parts[2].name().unwrap(), "q");
        assert_eq!(c.parts[2].value, "\"a\\\"b\"");
        assert_eq!(c.close, "\n");
        // Put back together, the parts are the text.
        let mut back = String::from("{");
        for (i, p) in c.parts.iter().enumerate() {
            if i > 0 {
                back.push(',');
            }
            for piece in [p.lead, p.key.unwrap(), p.colon, p.value, p.trail] {
                back.push_str(piece);
            }
        }
        back.push_str(c.close);
        back.push('}');
        assert_eq!(back, s);
    }

    #[test]
    fn arrays_and_empty_containers() {
        let c = container("[ 1,2.50 ,\"x\"]", false).unwrap();
        let values: Vec<_> = c.parts.iter().map(|p| p.value).collect();
        assert_eq!(values, ["1", "2.50", "\"x\""]);
        assert_eq!((c.parts[0].lead, c.parts[1].trail), (" ", " "));
        let empty = container("{ \n}", true).unwrap();
        assert!(empty.parts.is_empty());
        assert_eq!(empty.close, " \n");
        assert!(container("[]", false).unwrap().parts.is_empty());
    }

    #[test]
    fn malformed_text_is_an_error_not_a_panic() {
        for bad in [
            "",
            "{",
            "[",
            "{\"a\"}",
            "{\"a\":}",
            "{\"a\":1",
            "{a:1}",
            "[1 2]",
            "{\"a\":1,}",
            "x",
            "{\"a\\",
        ] {
            assert!(container(bad, true).is_err(), "{bad:?} as an object");
            assert!(container(bad, false).is_err(), "{bad:?} as an array");
        }
    }
}
