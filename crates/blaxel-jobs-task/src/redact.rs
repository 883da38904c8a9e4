//! Error messages about parameters, without the parameters.
//!
//! serde's errors quote the value they rejected (`invalid type: string
//! "hunter2", expected u32`), and task parameters may be secrets. Messages
//! in serde's standard forms are rewritten to name only the kind of value;
//! any other message (a type's own `custom` error) is withheld, since it
//! may quote the input.

/// The kinds of value serde's `Unexpected` names, longest first where one
/// is a prefix of another.
const KINDS: [&str; 16] = [
    "floating point",
    "string",
    "integer",
    "boolean",
    "character",
    "byte array",
    "unit value",
    "unit variant",
    "Option value",
    "newtype struct",
    "newtype variant",
    "tuple variant",
    "struct variant",
    "sequence",
    "map",
    "enum",
];

/// The start of the message for an argument that should be JSON and is
/// not (serde_json's syntax messages never quote the input).
pub(crate) const NOT_JSON: &str = "the value is not valid JSON: ";

const WITHHELD: &str = "the value was rejected (the message is withheld: it may quote the value)";

/// The part of `rest` from its last `, expected `, without the comma.
fn expected(rest: &str) -> Option<&str> {
    rest.rfind(", expected ").map(|i| &rest[i + 2..])
}

/// `message` with any quoted input removed.
pub(crate) fn redact(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            let Some(expected) = expected(rest) else {
                return WITHHELD.to_owned();
            };
            let kind = KINDS
                .iter()
                .find(|k| {
                    rest.strip_prefix(**k)
                        .is_some_and(|after| after.is_empty() || after.starts_with([' ', ',']))
                })
                .copied()
                .unwrap_or("a value");
            return format!("{prefix}{kind}, {expected}");
        }
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        return match expected(rest) {
            Some(expected) => format!("unknown variant, {expected}"),
            None => "unknown variant".to_owned(),
        };
    }
    // Forms that name a field of the type or a length, never a value.
    let safe = [
        "missing field `",
        "duplicate field `",
        "invalid length ",
        NOT_JSON,
    ];
    if safe.iter().any(|p| message.starts_with(p)) || message.starts_with("unknown field `") {
        return message.to_owned();
    }
    WITHHELD.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::de::value::Error;
    use serde::de::{Error as _, Unexpected};

    fn msg(e: Error) -> String {
        e.to_string()
    }

    #[test]
    fn standard_messages_keep_the_kind_and_the_expectation() {
        assert_eq!(
            redact(&msg(Error::invalid_type(
                Unexpected::Str("hunter2"),
                &"u32"
            ))),
            "invalid type: string, expected u32"
        );
        assert_eq!(
            redact(&msg(Error::invalid_value(
                Unexpected::Float(2.5),
                &"a whole number"
            ))),
            "invalid value: floating point, expected a whole number"
        );
        assert_eq!(
            redact(&msg(Error::unknown_variant("secret", &["fast", "slow"]))),
            "unknown variant, expected `fast` or `slow`"
        );
        assert_eq!(redact("missing field `region`"), "missing field `region`");
        assert_eq!(
            redact(&msg(Error::invalid_length(3, &"a tuple of 2"))),
            "invalid length 3, expected a tuple of 2"
        );
        assert_eq!(redact("the key sk-123 is revoked"), WITHHELD);
    }

    proptest! {
        // Whatever the rejected value, the message does not depend on it.
        #[test]
        fn values_never_reach_the_message(
            value in ".*",
            secret in "[a-z0-9]{8,24}",
            n in any::<i64>(),
            f in any::<f64>(),
        ) {
            let a = redact(&msg(Error::invalid_type(Unexpected::Str(&value), &"u32")));
            prop_assert_eq!(a, "invalid type: string, expected u32");
            let b = redact(&msg(Error::invalid_value(Unexpected::Signed(n), &"a port")));
            prop_assert_eq!(b, "invalid value: integer, expected a port");
            let c = redact(&msg(Error::invalid_type(Unexpected::Float(f), &"a string")));
            prop_assert_eq!(c, "invalid type: floating point, expected a string");
            let d = redact(&msg(Error::unknown_variant(&value, &["a"])));
            prop_assert_eq!(d, "unknown variant, expected `a`");
            let e = redact(&msg(Error::custom(format!("bad token {secret}"))));
            prop_assert_eq!(e, WITHHELD);
        }
    }
}
