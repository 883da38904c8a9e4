//! Turns the document's operations into the client crate's generated
//! `operations` module: one table that names every operation (its
//! `operationId`, progenitor's method and builder, HTTP method, path
//! template) and states how safe it is to send its request again
//! (`x-blaxel-retry`), so that the SDK's spans and retries, the emulator's
//! routes and the tests all read them from the document.

use crate::spec;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::Value;

/// The per-operation extension that states whether the SDK may resend a
/// request (see [`Retry`]).
pub const RETRY_EXTENSION: &str = "x-blaxel-retry";
/// The per-operation extension that names the request-body property holding
/// the client-generated token of an `idempotent-with-client-token`
/// operation.
pub const CLIENT_TOKEN_EXTENSION: &str = "x-blaxel-client-token";

/// What the document says about sending an operation's request again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// `idempotent`: the request has the same effect sent once or many
    /// times; the SDK may resend it after any transient failure.
    Idempotent,
    /// `idempotent-with-client-token`: the request is idempotent when it
    /// carries a client-generated token (named by `x-blaxel-client-token`)
    /// and every attempt carries the same one; the SDK always sends one.
    IdempotentWithClientToken,
    /// `not-idempotent`: a second request may do the work twice; the SDK
    /// resends it only when the server cannot have processed the first.
    NotIdempotent,
}

impl Retry {
    /// Every class, as spelled in the document.
    pub const ALL: [(&'static str, Retry); 3] = [
        ("idempotent", Retry::Idempotent),
        (
            "idempotent-with-client-token",
            Retry::IdempotentWithClientToken,
        ),
        ("not-idempotent", Retry::NotIdempotent),
    ];

    /// The class with this spelling.
    pub fn parse(s: &str) -> Option<Retry> {
        Self::ALL.iter().find(|(n, _)| *n == s).map(|(_, r)| *r)
    }

    /// The spelling in the document.
    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, r)| *r == self)
            .map(|(n, _)| *n)
            .unwrap_or_default()
    }

    fn variant(self) -> proc_macro2::Ident {
        format_ident!(
            "{}",
            match self {
                Retry::Idempotent => "Idempotent",
                Retry::IdempotentWithClientToken => "IdempotentWithClientToken",
                Retry::NotIdempotent => "NotIdempotent",
            }
        )
    }
}

/// One operation, as the document states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    /// The `operationId`, such as `CreateJobExecution`.
    pub id: String,
    /// The upper-case HTTP method.
    pub method: String,
    /// The path template, such as `/jobs/{jobId}`.
    pub path: String,
    /// The path parameters, in the order of the template.
    pub path_params: Vec<String>,
    /// The retry class.
    pub retry: Retry,
    /// The request-body property holding the client token (the first of
    /// `client_tokens`): it names what the request creates.
    pub client_token: Option<String>,
    /// Every request-body property the client fills with a new token, the
    /// same on every attempt.
    pub client_tokens: Vec<String>,
}

impl Op {
    /// The name of progenitor's method on `Client` (snake case of the
    /// `operationId`). [`crate::codegen::generate`] checks that the
    /// generated client has it.
    pub fn method_name(&self) -> String {
        heck::ToSnakeCase::to_snake_case(self.id.as_str())
    }

    /// The name of progenitor's request builder (`builder::<Name>`).
    pub fn builder_name(&self) -> String {
        heck::ToUpperCamelCase::to_upper_camel_case(self.id.as_str())
    }
}

/// The operations of a document and the path prefix of its servers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operations {
    /// Every operation, in the order of [`spec::operations`].
    pub ops: Vec<Op>,
    /// The path of the servers' URLs, such as `/v0` (empty when they have none).
    pub base_path: String,
}

/// The names of the `{parameters}` of a path template, in order.
pub fn template_params(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(str::to_owned)
        .collect()
}

/// The path of a server URL: `https://api.blaxel.ai/v0` gives `/v0`.
fn url_path(url: &str) -> &str {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let path = rest.find('/').map(|i| &rest[i..]).unwrap_or("");
    path.trim_end_matches('/')
}

/// Reads and checks every operation: each needs an `x-blaxel-retry` of a
/// known class, and `idempotent-with-client-token` needs an
/// `x-blaxel-client-token` naming a property of its JSON request body (which
/// no other class may have). Every server must have the same path.
pub fn collect(doc: &Value) -> Result<Operations, Vec<String>> {
    let mut problems = Vec::new();
    let mut ops = Vec::new();
    let classes = Retry::ALL.map(|(n, _)| n).join(", ");
    for op in spec::operations(doc) {
        let Some(id) = op.id() else {
            // check::check reports it.
            continue;
        };
        let label = op.label();
        let retry = match op.op.get(RETRY_EXTENSION) {
            None => {
                problems.push(format!(
                    "operation {label}: `{RETRY_EXTENSION}` is missing; state whether the SDK \
                     may send its request again: one of {classes}"
                ));
                None
            }
            Some(v) => match v.as_str().and_then(Retry::parse) {
                Some(r) => Some(r),
                None => {
                    problems.push(format!(
                        "operation {label}: `{RETRY_EXTENSION}` is {v}, not one of {classes}"
                    ));
                    None
                }
            },
        };
        let token = op.op.get(CLIENT_TOKEN_EXTENSION);
        let client_tokens = match (retry, token) {
            (Some(Retry::IdempotentWithClientToken), None) => {
                problems.push(format!(
                    "operation {label}: `{RETRY_EXTENSION}: idempotent-with-client-token` needs \
                     `{CLIENT_TOKEN_EXTENSION}`, the request-body property that carries the token"
                ));
                Vec::new()
            }
            (Some(Retry::IdempotentWithClientToken), Some(t)) => {
                // One property, or a list of them, the first naming what the
                // request creates.
                let names: Option<Vec<&str>> = match t {
                    Value::String(s) => Some(vec![s.as_str()]),
                    Value::Array(a) if !a.is_empty() => a.iter().map(Value::as_str).collect(),
                    _ => None,
                };
                match names {
                    Some(names) if names.iter().all(|n| body_has_property(doc, op.op, n)) => {
                        names.into_iter().map(str::to_owned).collect()
                    }
                    _ => {
                        problems.push(format!(
                            "operation {label}: `{CLIENT_TOKEN_EXTENSION}` is {t}, which is not a \
                             property of its JSON request body (or a list of them)"
                        ));
                        Vec::new()
                    }
                }
            }
            (Some(r), Some(_)) => {
                problems.push(format!(
                    "operation {label}: `{CLIENT_TOKEN_EXTENSION}` only goes with \
                     `{RETRY_EXTENSION}: idempotent-with-client-token`, not {}",
                    r.as_str()
                ));
                Vec::new()
            }
            (_, None) | (None, _) => Vec::new(),
        };
        let client_token = client_tokens.first().cloned();
        if let Some(retry) = retry {
            ops.push(Op {
                id: id.to_owned(),
                method: op.method.to_uppercase(),
                path: op.path.to_owned(),
                path_params: template_params(op.path),
                retry,
                client_token,
                client_tokens,
            });
        }
    }
    let servers: Vec<&str> = doc
        .get("servers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| s.get("url").and_then(Value::as_str))
        .collect();
    let base_path = servers.first().map(|u| url_path(u)).unwrap_or_default();
    if let Some(other) = servers.iter().find(|u| url_path(u) != base_path) {
        problems.push(format!(
            "document: the servers have different paths (`{}` and `{other}`); the generated \
             operations table has one base path",
            servers[0]
        ));
    }
    if problems.is_empty() {
        Ok(Operations {
            ops,
            base_path: base_path.to_owned(),
        })
    } else {
        Err(problems)
    }
}

fn body_has_property(doc: &Value, op: &Value, name: &str) -> bool {
    op.get("requestBody")
        .and_then(|b| spec::resolve(doc, b))
        .and_then(|b| b.pointer("/content/application~1json/schema"))
        .and_then(|s| spec::resolve(doc, s))
        .map(|s| spec::merge_all_of(doc, s))
        .and_then(|s| s.get("properties").and_then(Value::as_object).cloned())
        .is_some_and(|props| props.contains_key(name))
}

/// What progenitor generated for one operation's builder: what `send()`
/// answers on success and the body type of its error responses.
#[derive(Debug, Clone)]
pub struct BuilderTypes {
    /// `T` of `ResponseValue<T>`.
    pub output: syn::Type,
    /// `E` of `Error<E>`.
    pub error: syn::Type,
}

/// Finds, in the generated client, the method of each operation on `Client`
/// and the types of its builder's `send()`. An operation whose method or
/// builder is not where progenitor's naming puts it is an error: the table
/// would name something that does not exist.
pub fn builder_types(client: &syn::File, ops: &Operations) -> Result<Vec<BuilderTypes>, String> {
    let mut methods = std::collections::BTreeSet::new();
    let mut sends = std::collections::BTreeMap::new();
    for item in &client.items {
        match item {
            syn::Item::Impl(imp) if is_path(&imp.self_ty, "Client") && imp.trait_.is_none() => {
                for it in &imp.items {
                    if let syn::ImplItem::Fn(f) = it {
                        methods.insert(f.sig.ident.to_string());
                    }
                }
            }
            syn::Item::Mod(m) if m.ident == "builder" => {
                for it in m.content.iter().flat_map(|(_, items)| items) {
                    let syn::Item::Impl(imp) = it else { continue };
                    let syn::Type::Path(tp) = &*imp.self_ty else {
                        continue;
                    };
                    let Some(name) = tp.path.segments.last().map(|s| s.ident.to_string()) else {
                        continue;
                    };
                    for f in imp.items.iter().filter_map(|i| match i {
                        syn::ImplItem::Fn(f) if f.sig.ident == "send" => Some(f),
                        _ => None,
                    }) {
                        if let Some(types) = send_types(&f.sig.output) {
                            sends.insert(name.clone(), types);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    ops.ops
        .iter()
        .map(|op| {
            if !methods.contains(&op.method_name()) {
                return Err(format!(
                    "operation {}: the generated client has no method `{}`; progenitor names \
                     methods differently than the operations table expects",
                    op.id,
                    op.method_name()
                ));
            }
            sends.get(&op.builder_name()).cloned().ok_or_else(|| {
                format!(
                    "operation {}: the generated client has no `builder::{}::send`",
                    op.id,
                    op.builder_name()
                )
            })
        })
        .collect()
}

fn is_path(ty: &syn::Type, name: &str) -> bool {
    matches!(ty, syn::Type::Path(p) if p.path.is_ident(name))
}

/// The last generic argument of a path type named `outer`.
fn generic_arg<'a>(ty: &'a syn::Type, outer: &str) -> Option<&'a syn::Type> {
    let syn::Type::Path(p) = ty else { return None };
    let seg = p.path.segments.last()?;
    if seg.ident != outer {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &seg.arguments else {
        return None;
    };
    args.args.iter().rev().find_map(|a| match a {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    })
}

/// `Result<ResponseValue<T>, Error<E>>` gives `(T, E)`.
fn send_types(output: &syn::ReturnType) -> Option<BuilderTypes> {
    let syn::ReturnType::Type(_, ty) = output else {
        return None;
    };
    let syn::Type::Path(p) = &**ty else {
        return None;
    };
    let seg = p.path.segments.last()?;
    if seg.ident != "Result" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &seg.arguments else {
        return None;
    };
    let mut types = args.args.iter().filter_map(|a| match a {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    });
    let ok = types.next()?;
    let err = types.next()?;
    Some(BuilderTypes {
        output: generic_arg(ok, "ResponseValue")?.clone(),
        error: generic_arg(err, "Error")?.clone(),
    })
}

/// The generated `operations` module, as a file of its own.
pub fn module(ops: &Operations, builders: &[BuilderTypes]) -> TokenStream {
    let variants: Vec<_> = ops.ops.iter().map(|o| format_ident!("{}", o.id)).collect();
    let variant_docs = ops.ops.iter().map(|o| {
        let token = match &o.client_token {
            Some(t) => format!(" (client token in `{t}`)"),
            None => String::new(),
        };
        format!(
            " `{} {}`; retry: `{}`{token}.",
            o.method,
            o.path,
            o.retry.as_str()
        )
    });
    let arms = |f: &dyn Fn(&Op) -> TokenStream| -> Vec<TokenStream> {
        ops.ops
            .iter()
            .zip(&variants)
            .map(|(o, v)| {
                let value = f(o);
                quote!(Operation::#v => #value)
            })
            .collect()
    };
    let names = arms(&|o| {
        let s = &o.id;
        quote!(#s)
    });
    let method_names = arms(&|o| {
        let s = o.method_name();
        quote!(#s)
    });
    let methods = arms(&|o| {
        let s = &o.method;
        quote!(#s)
    });
    let paths = arms(&|o| {
        let s = &o.path;
        quote!(#s)
    });
    let params = arms(&|o| {
        let p = &o.path_params;
        quote!(&[#(#p),*])
    });
    let retries = arms(&|o| {
        let r = o.retry.variant();
        quote!(RetrySafety::#r)
    });
    let tokens = arms(&|o| match &o.client_token {
        Some(t) => quote!(Some(#t)),
        None => quote!(None),
    });
    let all_tokens = arms(&|o| {
        let t = &o.client_tokens;
        quote!(&[#(#t),*])
    });
    let from_names = ops.ops.iter().zip(&variants).map(|(o, v)| {
        let s = &o.id;
        quote!(#s => Some(Operation::#v))
    });
    let impls = ops
        .ops
        .iter()
        .zip(&variants)
        .zip(builders)
        .map(|((o, v), b)| {
            let builder = format_ident!("{}", o.builder_name());
            let (output, error) = (&b.output, &b.error);
            quote! {
                impl<'a> OperationBuilder for crate::builder::#builder<'a> {
                    const OPERATION: Operation = Operation::#v;
                    type Output = #output;
                    type ErrorBody = #error;
                    #[allow(clippy::result_large_err)]
                    fn build_request(self) -> Result<reqwest::Request, Error<Self::ErrorBody>> {
                        crate::builder::#builder::build_request(self)
                    }
                    fn decode(
                        response: reqwest::Response,
                    ) -> impl ::std::future::Future<
                        Output = Result<ResponseValue<Self::Output>, Error<Self::ErrorBody>>,
                    > + Send {
                        crate::builder::#builder::decode(response)
                    }
                    fn send_request(
                        self,
                    ) -> impl ::std::future::Future<
                        Output = Result<ResponseValue<Self::Output>, Error<Self::ErrorBody>>,
                    > + Send {
                        crate::builder::#builder::send(self)
                    }
                }
            }
        });
    let round_trips = variants.iter().zip(builders).map(|(v, b)| {
        let output = &b.output;
        quote! {
            Operation::#v => ::serde_json::from_slice::<#output>(body)
                .and_then(|typed| ::serde_json::to_value(&typed))
        }
    });
    let count = proc_macro2::Literal::usize_unsuffixed(ops.ops.len());
    let base_path = &ops.base_path;
    let base_doc = format!(
        " The path of the servers' URLs (`{base_path}`): operation paths are relative to it."
    );
    let retry_doc = |r: Retry| -> String {
        let which: Vec<&str> = ops
            .ops
            .iter()
            .filter(|o| o.retry == r)
            .map(|o| o.id.as_str())
            .collect();
        if which.is_empty() {
            " No operation of the document has this class.".to_owned()
        } else {
            format!(" In the document: {}.", which.join(", "))
        }
    };
    let (idem_doc, token_doc, not_doc) = (
        retry_doc(Retry::Idempotent),
        retry_doc(Retry::IdempotentWithClientToken),
        retry_doc(Retry::NotIdempotent),
    );
    quote! {
        #[allow(unused_imports)]
        use crate::{types, ByteStream, Error, ResponseValue};

        #[doc = #base_doc]
        pub const BASE_PATH: &str = #base_path;

        /// How safe it is to send an operation's request again after a
        /// failure: the operation's `x-blaxel-retry` in the document.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum RetrySafety {
            /// `idempotent`: sending the request twice has the effect of
            /// sending it once, so it may be sent again after any transient
            /// failure.
            ///
            #[doc = #idem_doc]
            Idempotent,
            /// `idempotent-with-client-token`: idempotent because the request
            /// carries a client-generated token
            /// ([`Operation::client_token`]) and every attempt carries the
            /// same one; the server answers a repeated token with what the
            /// first request made. A client that sends no token must treat
            /// the operation as [`NotIdempotent`](Self::NotIdempotent).
            ///
            #[doc = #token_doc]
            IdempotentWithClientToken,
            /// `not-idempotent`: a second request may do the work twice, so
            /// it may be sent again only when the server cannot have
            /// processed the first.
            ///
            #[doc = #not_doc]
            NotIdempotent,
        }

        impl RetrySafety {
            /// The class as spelled in the document.
            pub const fn as_str(self) -> &'static str {
                match self {
                    RetrySafety::Idempotent => "idempotent",
                    RetrySafety::IdempotentWithClientToken => "idempotent-with-client-token",
                    RetrySafety::NotIdempotent => "not-idempotent",
                }
            }

            /// Whether a request that may have reached the server may be sent
            /// again: true for [`Idempotent`](Self::Idempotent) and
            /// [`IdempotentWithClientToken`](Self::IdempotentWithClientToken)
            /// (given the same token on every attempt).
            pub const fn is_idempotent(self) -> bool {
                !matches!(self, RetrySafety::NotIdempotent)
            }
        }

        impl ::std::fmt::Display for RetrySafety {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// One operation of the API, named by its `operationId`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Operation {
            #(#[doc = #variant_docs] #variants,)*
        }

        impl Operation {
            /// Every operation, sorted by path template, then by method in the
            /// order GET, PUT, POST, DELETE.
            pub const ALL: [Operation; #count] = [#(Operation::#variants),*];

            /// The `operationId`, such as `"CreateJobExecution"`: the name of
            /// the operation in spans, errors and the emulator.
            pub const fn name(self) -> &'static str {
                match self { #(#names,)* }
            }

            /// The generated client's method for it, such as
            /// `"create_job_execution"` (its builder is
            /// `builder::<operationId>`).
            pub const fn method_name(self) -> &'static str {
                match self { #(#method_names,)* }
            }

            /// The upper-case HTTP method, such as `"POST"`.
            pub const fn method(self) -> &'static str {
                match self { #(#methods,)* }
            }

            /// The path template, relative to [`BASE_PATH`], such as
            /// `"/jobs/{jobId}/executions"`.
            pub const fn path(self) -> &'static str {
                match self { #(#paths,)* }
            }

            /// The names of the path template's parameters, in order.
            pub const fn path_params(self) -> &'static [&'static str] {
                match self { #(#params,)* }
            }

            /// How safe it is to send the request again.
            pub const fn retry(self) -> RetrySafety {
                match self { #(#retries,)* }
            }

            /// For [`RetrySafety::IdempotentWithClientToken`], the
            /// request-body property that carries the client-generated token.
            pub const fn client_token(self) -> Option<&'static str> {
                match self { #(#tokens,)* }
            }

            /// For [`RetrySafety::IdempotentWithClientToken`], every
            /// request-body property the client fills with a new token,
            /// the same on every attempt ([`client_token`](Self::client_token)
            /// first).
            pub const fn client_tokens(self) -> &'static [&'static str] {
                match self { #(#all_tokens,)* }
            }

            /// Decodes `body`, a successful answer of this operation, into
            /// its output type ([`OperationBuilder::Output`]) and encodes
            /// that back as a JSON value: what a typed client keeps of the
            /// answer. For checking the generated types against bodies, as
            /// the tests of `null` handling do for every operation of the
            /// document.
            pub fn round_trip_output(
                self,
                body: &[u8],
            ) -> ::std::result::Result<::serde_json::Value, ::serde_json::Error> {
                match self { #(#round_trips,)* }
            }

            /// The operation with this `operationId` (exact match).
            pub fn from_name(name: &str) -> Option<Operation> {
                match name {
                    #(#from_names,)*
                    _ => None,
                }
            }
        }

        impl ::std::fmt::Display for Operation {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.name())
            }
        }

        /// A generated request builder (`builder::<operationId>`), with the
        /// operation it sends and the types of its answer, so that code
        /// generic over operations needs no table of its own.
        pub trait OperationBuilder: Send + Sized {
            /// The operation the builder sends.
            const OPERATION: Operation;
            /// What a successful response decodes to.
            type Output;
            /// The body type of error responses.
            type ErrorBody;
            /// Builds the request without sending it: the builder's
            /// `build_request()`.
            #[allow(clippy::result_large_err)]
            fn build_request(self) -> Result<reqwest::Request, Error<Self::ErrorBody>>;
            /// Reads a response to the request: the builder's `decode()`.
            fn decode(
                response: reqwest::Response,
            ) -> impl ::std::future::Future<
                Output = Result<ResponseValue<Self::Output>, Error<Self::ErrorBody>>,
            > + Send;
            /// Sends the request: the builder's `send()`.
            fn send_request(
                self,
            ) -> impl ::std::future::Future<
                Output = Result<ResponseValue<Self::Output>, Error<Self::ErrorBody>>,
            > + Send;
        }

        #(#impls)*
    }
}
