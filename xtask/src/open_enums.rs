//! Turns the document's open enums (schemas marked `x-blaxel-open-enum`)
//! into the client crate's generated `open_enum/known.rs`: one
//! `open_enum!` invocation per schema, with the values the document lists
//! and what each means (`x-enum-descriptions`), so that the known values are
//! never listed by hand.

use crate::spec;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::Value;

/// The extension that says what each value of an open enum means, in the
/// order of its `enum` list.
pub const DESCRIPTIONS: &str = "x-enum-descriptions";

/// The extension that names the Rust variant of some values, in the order
/// of the `enum` list (`null` or a missing entry keeps the derived name):
/// for a value whose derived name cannot be a variant, such as `UNKNOWN`
/// (every open enum's own `Unknown` variant holds the values it does not
/// know).
pub const VARIANT_NAMES: &str = "x-enum-varnames";

/// One known value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    /// The value on the wire, such as `http-async`.
    pub value: String,
    /// The Rust variant, such as `HttpAsync`.
    pub variant: String,
    /// What the value means.
    pub doc: String,
}

/// The extension that lists the values after which nothing changes any
/// more (the final statuses of a status enum).
pub const FINAL: &str = "x-blaxel-final";

/// One open enum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenEnum {
    /// The schema name.
    pub name: String,
    /// The Rust type's name: the schema name, or the name that the schema's
    /// `x-blaxel-rust-type: open_enum::<Name>` gives it.
    pub rust_name: String,
    /// The schema's description.
    pub description: String,
    /// The values known today, in document order.
    pub known: Vec<Known>,
    /// The final values (`x-blaxel-final`), when the schema states them.
    pub finals: Option<Vec<String>>,
}

/// The Rust variant of a value: `http-async` gives `HttpAsync`, `DELETING`
/// gives `Deleting`.
pub fn variant_name(value: &str) -> String {
    heck::ToUpperCamelCase::to_upper_camel_case(value)
}

/// Reads and checks every open enum: each must be a string schema with a
/// non-empty `enum` of strings and an `x-enum-descriptions` list of the same
/// length; values must differ even ignoring ASCII case (matching is
/// case-insensitive), and their variant names must be distinct identifiers.
pub fn collect(doc: &Value) -> Result<Vec<OpenEnum>, Vec<String>> {
    let mut problems = Vec::new();
    let mut out = Vec::new();
    for (name, schema) in spec::schemas(doc) {
        if schema.get(spec::OPEN_ENUM_MARKER).and_then(Value::as_bool) != Some(true) {
            continue;
        }
        let at = format!("schema {name}");
        if schema.get("type").and_then(Value::as_str) != Some("string") {
            problems.push(format!("{at}: an open enum must be `type: string`"));
        }
        let values: Vec<&str> = schema
            .get("enum")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let all_strings = schema
            .get("enum")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty() && a.iter().all(Value::is_string));
        if !all_strings {
            problems.push(format!(
                "{at}: an open enum needs a non-empty `enum` list of strings"
            ));
            continue;
        }
        let docs: Vec<&str> = schema
            .get(DESCRIPTIONS)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if docs.len() != values.len() || docs.iter().any(|d| d.trim().is_empty()) {
            problems.push(format!(
                "{at}: `{DESCRIPTIONS}` must give one non-empty description per `enum` value \
                 ({} value(s), {} description(s))",
                values.len(),
                docs.len()
            ));
            continue;
        }
        let names = schema.get(VARIANT_NAMES);
        if names.is_some_and(|n| {
            n.as_array().is_none_or(|a| {
                a.len() > values.len() || a.iter().any(|v| !(v.is_string() || v.is_null()))
            })
        }) {
            problems.push(format!(
                "{at}: `{VARIANT_NAMES}` must be a list of variant names (or nulls), at most one \
                 per `enum` value"
            ));
            continue;
        }
        let mut known: Vec<Known> = Vec::new();
        for (i, (value, doc)) in values.iter().zip(&docs).enumerate() {
            let variant = names
                .and_then(|n| n.get(i))
                .and_then(Value::as_str)
                .map_or_else(|| variant_name(value), str::to_owned);
            if let Some(prev) = known.iter().find(|k| k.value.eq_ignore_ascii_case(value)) {
                problems.push(format!(
                    "{at}: the values `{}` and `{value}` differ only in case; open enums match \
                     case-insensitively",
                    prev.value
                ));
            } else if let Some(prev) = known.iter().find(|k| k.variant == variant) {
                problems.push(format!(
                    "{at}: the values `{}` and `{value}` both become the variant `{variant}`",
                    prev.value
                ));
            } else if variant == "Unknown" || syn::parse_str::<syn::Ident>(&variant).is_err() {
                problems.push(format!(
                    "{at}: the value `{value}` gives `{variant}`, which cannot be a variant; \
                     name it with `{VARIANT_NAMES}`"
                ));
            }
            known.push(Known {
                value: (*value).to_owned(),
                variant,
                doc: doc.trim().to_owned(),
            });
        }
        let finals = match schema.get(FINAL) {
            None => None,
            Some(list) => {
                let items: Vec<&str> = list
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let well_formed = list.as_array().is_some_and(|a| a.len() == items.len());
                match items.iter().find(|v| !values.contains(v)) {
                    _ if !well_formed => problems.push(format!(
                        "{at}: `{FINAL}` must be a list of strings, not {list}"
                    )),
                    Some(v) => problems.push(format!(
                        "{at}: `{FINAL}` lists `{v}`, which is not one of its `enum` values"
                    )),
                    None => {}
                }
                Some(items.iter().map(|s| (*s).to_owned()).collect())
            }
        };
        let rust_name = match schema.get(spec::RUST_TYPE_MARKER).map(Value::as_str) {
            None => name.to_owned(),
            Some(Some(path)) => match path.strip_prefix("open_enum::") {
                Some(n) if syn::parse_str::<syn::Ident>(n).is_ok() => n.to_owned(),
                _ => {
                    problems.push(format!(
                        "{at}: an open enum's `{}` must be `open_enum::<Name>`, not `{path}`",
                        spec::RUST_TYPE_MARKER
                    ));
                    continue;
                }
            },
            Some(None) => {
                problems.push(format!(
                    "{at}: `{}` must be a string",
                    spec::RUST_TYPE_MARKER
                ));
                continue;
            }
        };
        out.push(OpenEnum {
            finals,
            rust_name,
            name: name.to_owned(),
            description: schema
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .trim()
                .to_owned(),
            known,
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// The generated module: per open enum, the enum with its known values and
/// an `Unknown` variant, `KNOWN`, `as_str` and the matching of known values;
/// then `open_enum_impls!` (defined in the hand-written `open_enum.rs`) for
/// the conversions and serde. Last, the table of every open enum's known
/// values by schema name.
pub fn module(enums: &[OpenEnum]) -> TokenStream {
    let defs = enums.iter().map(|e| {
        let name = format_ident!("{}", e.rust_name);
        let description = e.description.lines().map(|l| format!(" {l}"));
        let origin = format!(" `{}` in the document.", e.name);
        let variants: Vec<_> = e
            .known
            .iter()
            .map(|k| format_ident!("{}", k.variant))
            .collect();
        let values: Vec<&str> = e.known.iter().map(|k| k.value.as_str()).collect();
        let docs = e.known.iter().map(|k| format!(" `{}`: {}", k.value, k.doc));
        let terminal = e.finals.as_ref().map(|finals| {
            let listed: Vec<String> = finals.iter().map(|f| format!("`{f}`")).collect();
            let doc = format!(
                " Whether this is a final value ({}): it stays until someone acts \
                 on the resource. Unknown values are not final.",
                listed.join(", ")
            );
            let arms = e
                .known
                .iter()
                .filter(|k| finals.contains(&k.value))
                .map(|k| format_ident!("{}", k.variant));
            quote! {
                impl #name {
                    #[doc = #doc]
                    pub fn is_terminal(&self) -> bool {
                        matches!(self, #(Self::#arms)|*)
                    }
                }
            }
        });
        quote! {
            #(#[doc = #description])*
            #[doc = ""]
            #[doc = #origin]
            #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
            #[non_exhaustive]
            pub enum #name {
                #(#[doc = #docs] #variants,)*
                /// A value that this version of the SDK does not know.
                Unknown(UnknownValue),
            }

            impl #name {
                /// The values known to this version of the SDK, as the document lists them.
                pub const KNOWN: &'static [&'static str] = &[#(#values),*];

                /// The value as sent on the wire.
                pub fn as_str(&self) -> &str {
                    match self {
                        #(Self::#variants => #values,)*
                        Self::Unknown(v) => v.as_str(),
                    }
                }

                /// The known value `s`: an exact match first, then an ASCII
                /// case-insensitive one.
                fn known(s: &str) -> Option<Self> {
                    match s {
                        #(#values => Some(Self::#variants),)*
                        _ => None,
                    }
                    .or_else(|| {
                        #(if s.eq_ignore_ascii_case(#values) { return Some(Self::#variants); })*
                        None
                    })
                }
            }

            #terminal

            open_enum_impls!(#name);
        }
    });
    let table = enums.iter().map(|e| {
        let (schema, name) = (&e.name, format_ident!("{}", e.rust_name));
        quote!((#schema, #name::KNOWN))
    });
    quote! {
        use super::UnknownValue;

        #(#defs)*

        /// Every open enum, as `(schema name, known values)`, sorted by schema
        /// name (public as `open_enum::ALL`).
        pub(crate) const ALL: &[(&str, &[&str])] = &[#(#table),*];
    }
}
