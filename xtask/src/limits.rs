//! Turns the request limits of the document into a generated `limits` module,
//! so that the SDK checks exactly what the document states.

use crate::spec;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::Value;

/// The limits of one value, as the document states them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    /// The Rust constant's name, such as `METADATA_NAME`.
    pub constant: String,
    /// `Schema.property` or `OperationId.parameter`.
    pub field: String,
    /// `minLength`.
    pub min_length: Option<u64>,
    /// `maxLength`.
    pub max_length: Option<u64>,
    /// `pattern`.
    pub pattern: Option<String>,
    /// `minimum`.
    pub minimum: Option<i64>,
    /// `maximum`.
    pub maximum: Option<i64>,
}

impl Limit {
    fn from_schema(constant: String, field: String, schema: &Value) -> Option<Self> {
        let int = |k: &str| schema.get(k).and_then(Value::as_i64);
        let uint = |k: &str| schema.get(k).and_then(Value::as_u64);
        let limit = Limit {
            constant,
            field,
            min_length: uint("minLength"),
            max_length: uint("maxLength"),
            pattern: schema
                .get("pattern")
                .and_then(Value::as_str)
                .map(str::to_owned),
            minimum: int("minimum"),
            maximum: int("maximum"),
        };
        let any = limit.min_length.is_some()
            || limit.max_length.is_some()
            || limit.pattern.is_some()
            || limit.minimum.is_some()
            || limit.maximum.is_some();
        any.then_some(limit)
    }

    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(n) = self.min_length {
            parts.push(format!("at least {n} characters"));
        }
        if let Some(n) = self.max_length {
            parts.push(format!("at most {n} characters"));
        }
        if let Some(p) = &self.pattern {
            parts.push(format!("matches `{p}`"));
        }
        if let Some(n) = self.minimum {
            parts.push(format!("at least {n}"));
        }
        if let Some(n) = self.maximum {
            parts.push(format!("at most {n}"));
        }
        parts.join("; ")
    }
}

/// `camelCase`, `PascalCase`, `snake_case` or `kebab-case` to `SCREAMING_SNAKE`.
pub fn screaming_snake(name: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if c == '-' || c == '_' || c == '.' {
            if !out.ends_with('_') && !out.is_empty() {
                out.push('_');
            }
            prev_lower = false;
        } else if c.is_ascii_uppercase() {
            if prev_lower {
                out.push('_');
            }
            out.push(c);
            prev_lower = false;
        } else {
            out.push(c.to_ascii_uppercase());
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        }
    }
    out
}

/// Every limit the document states, on schema properties and on parameters.
pub fn collect(doc: &Value) -> Vec<Limit> {
    let mut out = Vec::new();
    for (name, schema) in spec::schemas(doc) {
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (prop, s) in props {
                let constant = format!("{}_{}", screaming_snake(name), screaming_snake(prop));
                out.extend(Limit::from_schema(constant, format!("{name}.{prop}"), s));
            }
        }
    }
    for op in spec::operations(doc) {
        let Some(id) = op.id() else { continue };
        for p in spec::parameters(doc, &op) {
            let (Some(pname), Some(schema)) = (
                p.get("name").and_then(Value::as_str),
                p.get("schema").and_then(|s| spec::deref(doc, s)),
            ) else {
                continue;
            };
            let constant = format!("{}_{}", screaming_snake(id), screaming_snake(pname));
            out.extend(Limit::from_schema(
                constant,
                format!("{id}.{pname}"),
                schema,
            ));
        }
    }
    out
}

fn opt<T: quote::ToTokens>(v: &Option<T>) -> TokenStream {
    match v {
        Some(v) => quote!(Some(#v)),
        None => quote!(None),
    }
}

/// The generated `limits` module.
pub fn module(limits: &[Limit]) -> TokenStream {
    let consts = limits.iter().map(|l| {
        let ident = format_ident!("{}", l.constant);
        let doc = format!("`{}`: {}.", l.field, l.describe());
        let field = &l.field;
        let (min_length, max_length, minimum, maximum) = (
            opt(&l.min_length),
            opt(&l.max_length),
            opt(&l.minimum),
            opt(&l.maximum),
        );
        let pattern = opt(&l.pattern.as_deref());
        quote! {
            #[doc = #doc]
            pub const #ident: Limit = Limit {
                field: #field,
                min_length: #min_length,
                max_length: #max_length,
                pattern: #pattern,
                minimum: #minimum,
                maximum: #maximum,
            };
        }
    });
    let all = limits.iter().map(|l| format_ident!("{}", l.constant));
    quote! {
        /// Limits that the API document states for request values.
        ///
        /// The generated types do not enforce them, so that a server
        /// response always parses; the `blaxel-jobs` crate checks them
        /// before a request is sent, and the emulator rejects requests that
        /// break them.
        pub mod limits {
            /// The limits on one value.
            #[derive(Debug, Clone, Copy, PartialEq, Eq)]
            pub struct Limit {
                /// Where the value sits: `Schema.property` or `OperationId.parameter`.
                pub field: &'static str,
                /// The fewest characters a string may have.
                pub min_length: Option<u64>,
                /// The most characters a string may have.
                pub max_length: Option<u64>,
                /// A regular expression the whole string must match.
                pub pattern: Option<&'static str>,
                /// The smallest number allowed.
                pub minimum: Option<i64>,
                /// The largest number allowed.
                pub maximum: Option<i64>,
            }

            #(#consts)*

            /// Every limit above.
            pub const ALL: &[Limit] = &[#(#all),*];
        }
    }
}
