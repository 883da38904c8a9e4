//! Facts of the document that are not operations, generated where the code
//! reads them: the HTTP headers of the API (the client crate's `headers`
//! module), its servers, the `BL_ENV` names that select them and the path
//! of the OAuth token endpoint on them (`servers`), and the variables the platform sets in a task's
//! environment (`task_environment`, in the client crate for the emulator
//! and in the task crate for task programs), and what the API answers in
//! place of a secret value (`secrets`).

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::Value;

/// Where the generated headers go, relative to the workspace root.
pub const HEADERS_OUT: &str = "crates/blaxel-jobs-client/src/headers.rs";
/// Where the generated servers go, relative to the workspace root.
pub const SERVERS_OUT: &str = "crates/blaxel-jobs-client/src/servers.rs";
/// Where the client crate's task environment goes.
pub const CLIENT_TASK_ENV_OUT: &str = "crates/blaxel-jobs-client/src/task_environment.rs";
/// Where the mask of secret values goes.
pub const SECRETS_OUT: &str = "crates/blaxel-jobs-client/src/secrets.rs";
/// Where the mask of secret values sits in the document.
pub const SECRET_MASK_POINTER: &str = "/info/x-blaxel-secret-mask";
/// Where the task crate's task environment goes.
pub const TASK_ENV_OUT: &str = "crates/blaxel-jobs-task/src/platform.rs";
/// The per-server extension naming the `BL_ENV` values that select it.
pub const ENV_EXTENSION: &str = "x-blaxel-env";
/// The response-header extension listing the names a header may have.
pub const NAMES_EXTENSION: &str = "x-blaxel-names";
/// Where the task environment sits in the document.
pub const TASK_ENV_POINTER: &str = "/info/x-blaxel-task-environment";

fn doc_lines(text: &str) -> TokenStream {
    let lines: Vec<String> = text.trim().lines().map(|l| format!(" {l}")).collect();
    quote!(#(#[doc = #lines])*)
}

/// The `headers` module: a constant per header parameter of the components
/// (its name, lower-cased as `HeaderName::from_static` wants it), and a
/// list per response header of the components (its names, in order of
/// preference).
pub fn headers(doc: &Value) -> Result<TokenStream, Vec<String>> {
    let mut problems = Vec::new();
    let mut items = Vec::new();
    if let Some(params) = doc
        .pointer("/components/parameters")
        .and_then(Value::as_object)
    {
        for (key, p) in params {
            if p.get("in").and_then(Value::as_str) != Some("header") {
                continue;
            }
            let Some(name) = p.get("name").and_then(Value::as_str) else {
                problems.push(format!("document: header parameter {key} has no name"));
                continue;
            };
            let constant = format_ident!("{}", crate::limits::screaming_snake(key));
            let lower = name.to_ascii_lowercase();
            let first = format!(" `{name}`.");
            let docs = doc_lines(&text(p.get("description")));
            items.push(quote! {
                #[doc = #first]
                #[doc = ""]
                #docs
                pub const #constant: &str = #lower;
            });
        }
    }
    if let Some(headers) = doc
        .pointer("/components/headers")
        .and_then(Value::as_object)
    {
        for (key, h) in headers {
            let names: Vec<String> = match h.get(NAMES_EXTENSION).and_then(Value::as_array) {
                Some(list) if !list.is_empty() => list
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_ascii_lowercase)
                    .collect(),
                _ => {
                    problems.push(format!(
                        "document: response header {key} needs `{NAMES_EXTENSION}`, the names \
                         it may have"
                    ));
                    continue;
                }
            };
            let constant = format_ident!("{}", crate::limits::screaming_snake(key));
            let shown: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
            let first = format!(" {}.", shown.join(", "));
            let docs = doc_lines(&text(h.get("description")));
            let count = names.len();
            items.push(quote! {
                #[doc = #first]
                #[doc = ""]
                #docs
                pub const #constant: [&str; #count] = [#(#names),*];
            });
        }
    }
    if problems.is_empty() {
        Ok(quote!(#(#items)*))
    } else {
        Err(problems)
    }
}

/// The `servers` module: an `Environment` per server, selected by the
/// names its `x-blaxel-env` lists; the first server is the default. When
/// the document has an OAuth 2.0 client credentials flow, `TOKEN_PATH` is
/// its `tokenUrl`, a path below a server's base URL.
pub fn servers(doc: &Value) -> Result<TokenStream, Vec<String>> {
    let mut problems = Vec::new();
    let token_path = match token_urls(doc).as_slice() {
        [] => None,
        [url] if url.starts_with('/') => Some(url.clone()),
        [url] => {
            problems.push(format!(
                "document: the client credentials `tokenUrl` {url:?} must be a path below the \
                 servers' base URL, starting with `/`"
            ));
            None
        }
        urls => {
            problems.push(format!(
                "document: more than one client credentials `tokenUrl`: {urls:?}"
            ));
            None
        }
    };
    let servers = doc
        .get("servers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut variants = Vec::new();
    for (i, s) in servers.iter().enumerate() {
        let url = text(s.get("url"));
        let names: Vec<String> = s
            .get(ENV_EXTENSION)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let Some(first) = names.first() else {
            problems.push(format!(
                "document: server {i} ({url}) needs `{ENV_EXTENSION}`, the BL_ENV names that \
                 select it"
            ));
            continue;
        };
        variants.push((
            format_ident!(
                "{}",
                heck::ToUpperCamelCase::to_upper_camel_case(first.as_str())
            ),
            url,
            names,
            text(s.get("description")),
        ));
    }
    if variants.is_empty() {
        problems.push("document: no servers".into());
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let idents: Vec<_> = variants.iter().map(|v| &v.0).collect();
    let docs = variants.iter().map(|(_, url, names, desc)| {
        let shown: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
        format!(" {desc} `{url}`; `BL_ENV` {}.", shown.join(" or "))
    });
    let urls = variants
        .iter()
        .map(|(id, url, _, _)| quote!(Environment::#id => #url));
    let names = variants.iter().map(|(id, _, names, _)| {
        let n = &names[0];
        quote!(Environment::#id => #n)
    });
    let parse = variants.iter().map(|(id, _, names, _)| {
        let lower: Vec<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
        quote!(#(#lower)|* => Some(Environment::#id))
    });
    let default = idents[0];
    let count = idents.len();
    let token_path = token_path.map(|path| {
        quote! {
            /// The OAuth 2.0 token endpoint (the client credentials grant),
            /// a path below a server's [`base_url`](Environment::base_url).
            pub const TOKEN_PATH: &str = #path;
        }
    });
    Ok(quote! {
        /// A Blaxel environment: one of the document's servers.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        #[non_exhaustive]
        pub enum Environment {
            #[default]
            #(#[doc = #docs] #idents,)*
        }

        impl Environment {
            /// Every environment; the first is the default.
            pub const ALL: [Environment; #count] = [#(Environment::#idents),*];

            /// The control plane's base URL.
            pub const fn base_url(self) -> &'static str {
                match self { #(#urls,)* }
            }

            /// The environment's own name, as `BL_ENV` gives it.
            pub const fn name(self) -> &'static str {
                match self { #(#names,)* }
            }

            /// The environment a `BL_ENV` value names (case and surrounding
            /// spaces aside); an empty value is the default.
            pub fn parse(value: &str) -> Option<Self> {
                match value.trim().to_ascii_lowercase().as_str() {
                    "" => Some(Environment::#default),
                    #(#parse,)*
                    _ => None,
                }
            }
        }

        #token_path
    })
}

/// The `tokenUrl` of every OAuth 2.0 client credentials flow of the
/// document's security schemes.
fn token_urls(doc: &Value) -> Vec<String> {
    doc.pointer("/components/securitySchemes")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|schemes| schemes.values())
        .filter_map(|s| s.pointer("/flows/clientCredentials/tokenUrl"))
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

/// A `task_environment` module: a constant per variable the platform sets
/// in a task's environment (named as the variable), and `ALL`.
pub fn task_environment(doc: &Value) -> Result<TokenStream, Vec<String>> {
    let Some(list) = doc.pointer(TASK_ENV_POINTER).and_then(Value::as_array) else {
        return Err(vec![
            "document: `info.x-blaxel-task-environment` is missing or not a list".into(),
        ]);
    };
    let mut problems = Vec::new();
    let mut items = Vec::new();
    let mut names = Vec::new();
    for v in list {
        let name = text(v.get("name"));
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        if !valid {
            problems.push(format!(
                "document: task environment variable {name:?} is not an upper-case name"
            ));
            continue;
        }
        let constant = format_ident!("{name}");
        let docs = doc_lines(&text(v.get("description")));
        items.push(quote! {
            #docs
            pub const #constant: &str = #name;
        });
        names.push(constant);
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let count = names.len();
    Ok(quote! {
        #(#items)*

        /// Every variable above: the names the platform sets, which a task's
        /// own environment must not override.
        pub const ALL: [&str; #count] = [#(#names),*];
    })
}

/// The `secrets` module: `MASK`, what the API answers in place of a secret
/// value (`info.x-blaxel-secret-mask`); nothing when the document does not
/// say.
pub fn secrets(doc: &Value) -> Result<TokenStream, Vec<String>> {
    match doc.pointer(SECRET_MASK_POINTER) {
        None => Ok(TokenStream::new()),
        Some(Value::String(mask)) if !mask.is_empty() => Ok(quote! {
            /// What the API answers in place of a secret value: a secret
            /// environment variable's `value`, and the values of an
            /// execution's `envOverride`. Whether Blaxel keeps a secret's
            /// stored value when this mask is sent back is not documented
            /// (the emulator keeps it unless told otherwise).
            pub const MASK: &str = #mask;
        }),
        Some(_) => Err(vec![
            "document: `info.x-blaxel-secret-mask` must be a non-empty string".into(),
        ]),
    }
}

fn text(v: Option<&Value>) -> String {
    v.and_then(Value::as_str)
        .unwrap_or_default()
        .trim()
        .to_owned()
}
