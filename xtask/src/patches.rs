//! Patches to progenitor's output, each for one of its shortcomings, each
//! done on the syntax tree and counted against the document so that it fails
//! loudly, rather than silently doing nothing, when progenitor changes.

use quote::{ToTokens as _, quote};

/// Works around a progenitor 0.15.1 bug in the generated mocks: a path
/// parameter's matcher puts the value into the path regex as it is, neither
/// percent-encoded (as the client sends it) nor regex-escaped, so an id with
/// a space never matches and `v1.2` also matches `v1x2`. In every
/// `format!("^/...", ...)` (a path regex), each argument `value.to_string()`
/// becomes `regex::escape(&progenitor_client::encode_path(&value.to_string()))`.
///
/// Each path parameter of each operation has one such matcher, so the number
/// of patches must equal `expected`, the number of path parameters in the
/// document; any other count is an error, so that the patch is revisited when
/// progenitor changes the shape of its mocks.
pub fn fix_mock_path_matchers(file: &mut syn::File, expected: usize) -> Result<(), String> {
    let mut fixer = PathMatcherFix::default();
    syn::visit_mut::VisitMut::visit_file_mut(&mut fixer, file);
    if let Some(e) = fixer.error {
        return Err(e);
    }
    if fixer.patched != expected {
        return Err(format!(
            "generated mocks: patched {} path matcher(s), but the document has {expected} path \
             parameter(s); progenitor's mocks changed shape, revisit fix_mock_path_matchers",
            fixer.patched
        ));
    }
    Ok(())
}

/// The `syn` visitor behind [`fix_mock_path_matchers`].
#[derive(Default)]
struct PathMatcherFix {
    patched: usize,
    error: Option<String>,
}

impl PathMatcherFix {
    /// Whether `e` is `value.to_string()`.
    fn is_value_to_string(e: &syn::Expr) -> bool {
        matches!(e, syn::Expr::MethodCall(m)
            if m.method == "to_string"
                && m.args.is_empty()
                && matches!(&*m.receiver, syn::Expr::Path(p) if p.path.is_ident("value")))
    }
}

impl syn::visit_mut::VisitMut for PathMatcherFix {
    fn visit_macro_mut(&mut self, mac: &mut syn::Macro) {
        let patched = rewrite_format_args(mac, "^/", |arg| {
            Self::is_value_to_string(arg).then(|| {
                syn::parse_quote!(regex::escape(&progenitor_client::encode_path(
                    &value.to_string()
                )))
            })
        });
        match patched {
            Some(0) => {
                self.error = Some(
                    "generated mocks: a path regex without `value.to_string()`; revisit \
                     fix_mock_path_matchers"
                        .into(),
                )
            }
            Some(n) => self.patched += n,
            None => {}
        }
    }
}

/// In a `format!` whose text starts with `prefix`, replaces each argument
/// after the text for which `rewrite` answers a new expression. `None` when
/// `mac` is no such `format!`; otherwise how many arguments changed.
fn rewrite_format_args(
    mac: &mut syn::Macro,
    prefix: &str,
    mut rewrite: impl FnMut(&syn::Expr) -> Option<syn::Expr>,
) -> Option<usize> {
    if !mac.path.is_ident("format") {
        return None;
    }
    type Args = syn::punctuated::Punctuated<syn::Expr, syn::Token![,]>;
    let mut args = mac.parse_body_with(Args::parse_terminated).ok()?;
    let matches = matches!(args.first(),
        Some(syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }))
            if s.value().starts_with(prefix));
    if !matches {
        return None;
    }
    let mut patched = 0;
    for arg in args.iter_mut().skip(1) {
        if let Some(new) = rewrite(arg) {
            *arg = new;
            patched += 1;
        }
    }
    if patched > 0 {
        mac.tokens = quote!(#args);
    }
    Some(patched)
}

/// Removes a header progenitor 0.15.1 adds to every request: `api-version`
/// with the document's `info.version`. Blaxel's API does not define it (the
/// version a request asks for is `Blaxel-Version`, which the SDK sets), so
/// it only put a second, possibly contradicting version on the wire, and it
/// cost every request a header map entry and the map's growth. Each
/// operation's request builder has one such statement,
/// `header_map.append(HeaderName::from_static("api-version"), ..)`, right
/// after `let mut header_map = HeaderMap::with_capacity(n)`; the statement
/// goes and `n` shrinks by one.
///
/// The number of statements removed must equal `expected`, the number of
/// operations in the document, and so must the number of capacities
/// shrunk; any other count is an error, so that the patch is revisited when
/// progenitor changes the shape of its requests.
pub fn drop_api_version_header(file: &mut syn::File, expected: usize) -> Result<(), String> {
    let mut dropper = ApiVersionDrop::default();
    syn::visit_mut::VisitMut::visit_file_mut(&mut dropper, file);
    if let Some(e) = dropper.error {
        return Err(e);
    }
    if dropper.removed != expected || dropper.shrunk != expected {
        return Err(format!(
            "generated client: removed {} `api-version` header(s) and shrank {} header map(s), \
             but the document has {expected} operation(s); progenitor's requests changed \
             shape, revisit drop_api_version_header",
            dropper.removed, dropper.shrunk
        ));
    }
    Ok(())
}

/// The `syn` visitor behind [`drop_api_version_header`].
#[derive(Default)]
struct ApiVersionDrop {
    removed: usize,
    shrunk: usize,
    error: Option<String>,
}

impl ApiVersionDrop {
    /// Whether `stmt` is `header_map.append(HeaderName::from_static("api-version"), ..);`.
    fn is_api_version_append(stmt: &syn::Stmt) -> bool {
        let syn::Stmt::Expr(syn::Expr::MethodCall(call), Some(_)) = stmt else {
            return false;
        };
        call.method == "append"
            && matches!(&*call.receiver, syn::Expr::Path(p) if p.path.is_ident("header_map"))
            && matches!(call.args.first(), Some(syn::Expr::Call(name))
                if matches!(&*name.func, syn::Expr::Path(p)
                    if p.path.segments.last().is_some_and(|s| s.ident == "from_static"))
                && matches!(name.args.first(), Some(syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s), ..
                })) if s.value() == "api-version"))
    }

    /// The binding and the capacity literal of
    /// `let mut header_map = HeaderMap::with_capacity(n);`.
    fn header_map_capacity(stmt: &mut syn::Stmt) -> Option<(&mut syn::PatIdent, &mut syn::LitInt)> {
        let syn::Stmt::Local(local) = stmt else {
            return None;
        };
        let syn::Pat::Ident(name) = &mut local.pat else {
            return None;
        };
        if name.ident != "header_map" {
            return None;
        }
        let syn::Expr::Call(call) = &mut *local.init.as_mut()?.expr else {
            return None;
        };
        let is_with_capacity = matches!(&*call.func, syn::Expr::Path(p)
            if p.path.segments.last().is_some_and(|s| s.ident == "with_capacity"));
        match call.args.first_mut() {
            Some(syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Int(n),
                ..
            })) if is_with_capacity => Some((name, n)),
            _ => None,
        }
    }
}

impl syn::visit_mut::VisitMut for ApiVersionDrop {
    fn visit_block_mut(&mut self, block: &mut syn::Block) {
        let before = block.stmts.len();
        block.stmts.retain(|s| !Self::is_api_version_append(s));
        let removed = before - block.stmts.len();
        if removed > 0 {
            self.removed += removed;
            for stmt in &mut block.stmts {
                if let Some((binding, n)) = Self::header_map_capacity(stmt) {
                    match n
                        .base10_parse::<usize>()
                        .ok()
                        .and_then(|v| v.checked_sub(removed))
                    {
                        Some(v) => {
                            *n = syn::LitInt::new(&format!("{v}usize"), n.span());
                            if v == 0 {
                                // Nothing is appended to it any more.
                                binding.mutability = None;
                            }
                            self.shrunk += 1;
                        }
                        None => {
                            self.error = Some(format!(
                                "generated client: a header map of capacity `{n}` held an \
                                 `api-version` header; revisit drop_api_version_header"
                            ))
                        }
                    }
                }
            }
        }
        syn::visit_mut::visit_block_mut(self, block);
    }
}

/// Saves a copy of each path parameter on every request: progenitor 0.15.1
/// formats a request's URL with `encode_path(&value.to_string())`, which
/// copies a `String` parameter only to borrow the copy. Where every path
/// parameter of the document is a string (the caller checks), each such
/// argument of a URL `format!` (one whose text starts with `{}/`, the base
/// URL) becomes `encode_path(&value)`; were a parameter not a `String`, the
/// client would not compile, rather than silently change.
///
/// The number of patches must equal `expected`, the number of path
/// parameters in the document; any other count is an error.
pub fn borrow_path_strings(file: &mut syn::File, expected: usize) -> Result<(), String> {
    let mut borrower = PathStringBorrow::default();
    syn::visit_mut::VisitMut::visit_file_mut(&mut borrower, file);
    if borrower.patched != expected {
        return Err(format!(
            "generated client: borrowed {} path parameter(s) in request URLs, but the document \
             has {expected}; progenitor's requests changed shape, revisit borrow_path_strings",
            borrower.patched
        ));
    }
    Ok(())
}

/// The `syn` visitor behind [`borrow_path_strings`].
#[derive(Default)]
struct PathStringBorrow {
    patched: usize,
}

impl PathStringBorrow {
    /// The `value` of `encode_path(&value.to_string())`.
    fn copied_argument(e: &syn::Expr) -> Option<syn::Expr> {
        let syn::Expr::Call(call) = e else {
            return None;
        };
        let is_encode_path = matches!(&*call.func, syn::Expr::Path(p)
            if p.path.segments.last().is_some_and(|s| s.ident == "encode_path"));
        let [syn::Expr::Reference(r)] = call.args.iter().collect::<Vec<_>>()[..] else {
            return None;
        };
        match &*r.expr {
            syn::Expr::MethodCall(m)
                if is_encode_path && m.method == "to_string" && m.args.is_empty() =>
            {
                Some((*m.receiver).clone())
            }
            _ => None,
        }
    }
}

impl syn::visit_mut::VisitMut for PathStringBorrow {
    fn visit_macro_mut(&mut self, mac: &mut syn::Macro) {
        let patched = rewrite_format_args(mac, "{}/", |arg| {
            Self::copied_argument(arg).map(|value| syn::parse_quote!(encode_path(&#value)))
        });
        self.patched += patched.unwrap_or(0);
    }
}

/// Leaves unset query parameters out without touching the URL: progenitor
/// 0.15.1 adds each one with `.query(&QueryParam::new(name, &value))`,
/// which serializes nothing for `None` but still rewrites the URL's query
/// (a GetJob without `show_secrets` paid for it on every call). Where every
/// query parameter of the document is optional (the caller checks), each
/// such call becomes `.query_opt(name, &value)` (the client crate's
/// `query::OptionalQuery`, imported where it is used), which adds the
/// parameter only when it is set; were a value not an `Option`,
/// the client would not compile, rather than silently change.
///
/// The number of patches must equal `expected`, the number of query
/// parameters in the document; any other count is an error.
pub fn skip_unset_query_params(file: &mut syn::File, expected: usize) -> Result<(), String> {
    let mut skipper = UnsetQuerySkip::default();
    syn::visit_mut::VisitMut::visit_file_mut(&mut skipper, file);
    if skipper.patched != expected {
        return Err(format!(
            "generated client: rewrote {} query parameter(s), but the document has \
             {expected}; progenitor's requests changed shape, revisit skip_unset_query_params",
            skipper.patched
        ));
    }
    Ok(())
}

/// The `syn` visitor behind [`skip_unset_query_params`].
#[derive(Default)]
struct UnsetQuerySkip {
    patched: usize,
}

impl UnsetQuerySkip {
    /// The name and value of `&progenitor_client::QueryParam::new(name, &value)`.
    fn query_param(e: &syn::Expr) -> Option<(&syn::Expr, &syn::Expr)> {
        let syn::Expr::Reference(r) = e else {
            return None;
        };
        let syn::Expr::Call(call) = &*r.expr else {
            return None;
        };
        let is_new = matches!(&*call.func, syn::Expr::Path(p)
            if p.path.segments.len() >= 2
                && p.path.segments.iter().rev().nth(1).is_some_and(|s| s.ident == "QueryParam")
                && p.path.segments.last().is_some_and(|s| s.ident == "new"));
        match call.args.iter().collect::<Vec<_>>()[..] {
            [name, value] if is_new => Some((name, value)),
            _ => None,
        }
    }
}

impl syn::visit_mut::VisitMut for UnsetQuerySkip {
    fn visit_item_mod_mut(&mut self, module: &mut syn::ItemMod) {
        let before = self.patched;
        syn::visit_mut::visit_item_mod_mut(self, module);
        if self.patched > before
            && let Some((_, items)) = &mut module.content
        {
            items.insert(
                0,
                syn::parse_quote!(
                    use crate::query::OptionalQuery as _;
                ),
            );
        }
    }

    fn visit_expr_method_call_mut(&mut self, call: &mut syn::ExprMethodCall) {
        // The receiver first: a chain holds one `.query(..)` per parameter.
        syn::visit_mut::visit_expr_method_call_mut(self, call);
        if call.method != "query" || call.args.len() != 1 {
            return;
        }
        let Some((name, value)) = call.args.first().and_then(Self::query_param) else {
            return;
        };
        let (name, value) = (name.clone(), value.clone());
        call.method = syn::Ident::new("query_opt", call.method.span());
        call.args = syn::parse_quote!(#name, #value);
        self.patched += 1;
    }
}

/// Splits every request builder's `send()` in three, so that a caller can
/// drive a request itself (the SDK does: its own attempts, retries and
/// limits, with the call's settings as ordinary arguments) instead of
/// reaching in through hooks:
///
/// - `build_request(self) -> Result<reqwest::Request, Error<E>>`: what
///   `send()` did up to the built request (checks, URL, query, headers,
///   body);
/// - `decode(response) -> Result<ResponseValue<T>, Error<E>>`: what `send()`
///   did with the response (the match on its status);
/// - `send(self)`, which now calls the two around the hooks as before.
///
/// progenitor 0.15.1 writes `send()` as: statements that build `request`,
/// `let info = OperationInfo { .. }`, the hook calls, `let response =
/// result?;`, and the `match response.status().as_u16() { .. }`. Each
/// builder must have exactly that shape, and the number of builders split
/// must equal `expected`, the number of operations; anything else is an
/// error, so that the patch is revisited when progenitor changes.
pub fn split_send(file: &mut syn::File, expected: usize) -> Result<(), String> {
    let mut split = 0;
    for item in &mut file.items {
        let syn::Item::Mod(module) = item else {
            continue;
        };
        if module.ident != "builder" {
            continue;
        }
        for item in module.content.iter_mut().flat_map(|(_, items)| items) {
            let syn::Item::Impl(imp) = item else { continue };
            let Some(pos) = imp
                .items
                .iter()
                .position(|i| matches!(i, syn::ImplItem::Fn(f) if f.sig.ident == "send"))
            else {
                continue;
            };
            let syn::ImplItem::Fn(send) = &imp.items[pos] else {
                continue;
            };
            let name = match &*imp.self_ty {
                syn::Type::Path(p) => p
                    .path
                    .segments
                    .last()
                    .map(|s| s.ident.to_string())
                    .unwrap_or_default(),
                _ => String::new(),
            };
            let parts = SendParts::of(send).ok_or_else(|| {
                format!(
                    "generated client: `builder::{name}::send` does not have the shape \
                     split_send expects (build, `let info`, hooks, `let response = result?`, \
                     match on the status); progenitor changed, revisit split_send"
                )
            })?;
            let new = parts.into_items();
            imp.items.splice(pos..=pos, new);
            split += 1;
        }
    }
    if split != expected {
        return Err(format!(
            "generated client: split {split} builder `send()`(s), but the document has \
             {expected} operation(s); progenitor's builders changed shape, revisit split_send"
        ));
    }
    Ok(())
}

/// The pieces of a generated `send()`.
struct SendParts {
    /// `Result<ResponseValue<T>, Error<E>>`.
    output: syn::Type,
    /// `Error<E>`.
    error: syn::Type,
    /// The statements that build `request`, the last one binding it.
    build: Vec<syn::Stmt>,
    /// `let info = ..;` to `let response = result?;`.
    hooks: Vec<syn::Stmt>,
    /// The `match` on the response's status.
    decode: syn::Expr,
    /// The doc attributes of `send`.
    attrs: Vec<syn::Attribute>,
}

impl SendParts {
    fn of(send: &syn::ImplItemFn) -> Option<SendParts> {
        let syn::ReturnType::Type(_, output) = &send.sig.output else {
            return None;
        };
        let error = Self::error_type(output)?;
        let stmts = &send.block.stmts;
        let info = stmts.iter().position(|s| Self::binds(s, "info"))?;
        let response = stmts.iter().position(|s| Self::binds(s, "response"))?;
        let (syn::Stmt::Expr(decode @ syn::Expr::Match(_), None), true) =
            (stmts.last()?, response + 2 == stmts.len())
        else {
            return None;
        };
        if info == 0 || !Self::binds(&stmts[info - 1], "request") || response < info {
            return None;
        }
        Some(SendParts {
            output: (**output).clone(),
            error,
            build: stmts[..info].to_vec(),
            hooks: stmts[info..=response].to_vec(),
            decode: decode.clone(),
            attrs: send.attrs.clone(),
        })
    }

    /// Whether `stmt` is `let [mut] <name> = ..;`.
    fn binds(stmt: &syn::Stmt, name: &str) -> bool {
        matches!(stmt, syn::Stmt::Local(l)
            if matches!(&l.pat, syn::Pat::Ident(p) if p.ident == name))
    }

    /// `Error<E>` of `Result<_, Error<E>>`.
    fn error_type(ty: &syn::Type) -> Option<syn::Type> {
        let syn::Type::Path(p) = ty else { return None };
        let seg = p.path.segments.last()?;
        let syn::PathArguments::AngleBracketed(args) = &seg.arguments else {
            return None;
        };
        args.args.iter().nth(1).and_then(|a| match a {
            syn::GenericArgument::Type(t) => Some(t.clone()),
            _ => None,
        })
    }

    fn into_items(self) -> Vec<syn::ImplItem> {
        let SendParts {
            output,
            error,
            mut build,
            hooks,
            decode,
            attrs,
        } = self;
        // The built request is not changed here any more.
        if let Some(syn::Stmt::Local(local)) = build.last_mut() {
            if let syn::Pat::Ident(p) = &mut local.pat {
                p.mutability = None;
            }
            local.attrs.retain(|a| !a.path().is_ident("allow"));
        }
        let build_fn: syn::ImplItem = syn::parse_quote! {
            /// Builds the request without sending it: checks the values
            /// given, then forms the URL, query, headers and body, as
            /// `send()` does.
            pub fn build_request(self) -> Result<reqwest::Request, #error> {
                #(#build)*
                Ok(request)
            }
        };
        let decode_fn: syn::ImplItem = syn::parse_quote! {
            /// Reads a response to this request as `send()` does: the
            /// documented success decoded, a documented error status as
            /// [`Error::ErrorResponse`], anything else as
            /// [`Error::UnexpectedResponse`].
            pub async fn decode(response: reqwest::Response) -> #output {
                #decode
            }
        };
        let send_fn: syn::ImplItem = syn::parse_quote! {
            #(#attrs)*
            pub async fn send(self) -> #output {
                let client = self.client;
                #[allow(unused_mut)]
                let mut request = self.build_request()?;
                #(#hooks)*
                Self::decode(response).await
            }
        };
        vec![build_fn, decode_fn, send_fn]
    }
}

/// Gives the generated types whose schemas have properties marked
/// `x-blaxel-sensitive: true` a `Debug` that never shows those values: a
/// map shows its keys, anything else `***` (an `Option` shows whether it
/// is set). Each such struct's derived `Debug` is replaced by one that
/// writes every field as the derive would, the sensitive ones through
/// `crate::redacted::Redacted`.
///
/// `sensitive` lists `(schema, [(property, field)])`; every schema must
/// be found with a derived `Debug` and every field in it, else it is an
/// error.
pub fn redact_sensitive(
    file: &mut syn::File,
    sensitive: &[(String, Vec<String>)],
) -> Result<(), String> {
    let mut patched = 0;
    for item in &mut file.items {
        let syn::Item::Mod(module) = item else {
            continue;
        };
        if module.ident != "types" {
            continue;
        }
        let Some((_, items)) = &mut module.content else {
            continue;
        };
        let mut impls = Vec::new();
        for item in items.iter_mut() {
            let syn::Item::Struct(st) = item else {
                continue;
            };
            let Some((_, fields)) = sensitive.iter().find(|(s, _)| st.ident == s) else {
                continue;
            };
            let mut removed = false;
            for attr in &mut st.attrs {
                if !attr.path().is_ident("derive") {
                    continue;
                }
                let Ok(list) = attr.parse_args_with(
                    syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated,
                ) else {
                    continue;
                };
                let kept: Vec<&syn::Path> = list.iter().filter(|p| !p.is_ident("Debug")).collect();
                if kept.len() != list.len() {
                    removed = true;
                    *attr = syn::parse_quote!(#[derive(#(#kept),*)]);
                }
            }
            let syn::Fields::Named(named) = &st.fields else {
                return Err(format!(
                    "generated types: `{}` has no named fields",
                    st.ident
                ));
            };
            let mut found = 0;
            let writes = named
                .named
                .iter()
                .filter_map(|f| {
                    let id = f.ident.as_ref()?;
                    let name = id.to_string();
                    let shown = name.trim_start_matches("r#").to_owned();
                    Some(if fields.contains(&shown) {
                        found += 1;
                        quote!(.field(#shown, &crate::redacted::Redacted(&self.#id)))
                    } else {
                        quote!(.field(#shown, &self.#id))
                    })
                })
                .collect::<Vec<_>>();
            if !removed || found != fields.len() {
                return Err(format!(
                    "generated types: `{}` has no derived Debug or lacks one of the fields \
                     {fields:?} marked `x-blaxel-sensitive`; revisit redact_sensitive",
                    st.ident
                ));
            }
            let ident = &st.ident;
            let shown = ident.to_string();
            impls.push(syn::parse_quote! {
                impl ::std::fmt::Debug for #ident {
                    fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.debug_struct(#shown)#(#writes)*.finish()
                    }
                }
            });
            patched += 1;
        }
        items.extend(impls);
    }
    if patched != sensitive.len() {
        return Err(format!(
            "generated types: redacted {patched} type(s), but the document marks properties \
             of {} schema(s) `x-blaxel-sensitive`; revisit redact_sensitive",
            sensitive.len()
        ));
    }
    Ok(())
}

/// Makes the generated `Client::new` follow no redirect: progenitor 0.15.1
/// builds its HTTP client with `reqwest::ClientBuilder::new()`, whose
/// default policy follows up to 10 redirects, sending the request again,
/// body included, to each `Location`. In `new`, the builder of the native
/// (`not(target_arch = "wasm32")`) branch becomes
/// `crate::tls::http_client_builder()`, the client crate's hand-written
/// builder, which readies TLS and turns redirects off; the timeouts
/// progenitor sets on it stay. (On wasm32 the browser decides, and
/// reqwest has no redirect policy to set.)
///
/// Exactly one builder must be replaced; any other count is an error, so
/// that the patch is revisited when progenitor changes `new`.
pub fn client_new_follows_no_redirect(file: &mut syn::File) -> Result<(), String> {
    let mut replaced = 0;
    for item in &mut file.items {
        let syn::Item::Impl(imp) = item else { continue };
        let is_client = matches!(&*imp.self_ty, syn::Type::Path(p) if p.path.is_ident("Client"));
        if !is_client || imp.trait_.is_some() {
            continue;
        }
        for it in &mut imp.items {
            let syn::ImplItem::Fn(f) = it else { continue };
            if f.sig.ident != "new" {
                continue;
            }
            for stmt in &mut f.block.stmts {
                let syn::Stmt::Local(local) = stmt else {
                    continue;
                };
                let native = local.attrs.iter().any(|a| {
                    a.path().is_ident("cfg") && {
                        let t = a.meta.to_token_stream().to_string().replace(' ', "");
                        t.contains("not(target_arch=\"wasm32\")")
                    }
                });
                if let (true, Some(init)) = (native, local.init.as_mut()) {
                    let mut swap = BuilderSwap { replaced: 0 };
                    syn::visit_mut::VisitMut::visit_expr_mut(&mut swap, &mut init.expr);
                    replaced += swap.replaced;
                }
            }
        }
    }
    if replaced != 1 {
        return Err(format!(
            "generated client: replaced {replaced} `reqwest::ClientBuilder::new()` in \
             `Client::new`, expected 1; progenitor's constructor changed shape, revisit \
             client_new_follows_no_redirect"
        ));
    }
    Ok(())
}

/// The `syn` visitor behind [`client_new_follows_no_redirect`].
struct BuilderSwap {
    replaced: usize,
}

impl syn::visit_mut::VisitMut for BuilderSwap {
    fn visit_expr_mut(&mut self, e: &mut syn::Expr) {
        let is_new_builder = matches!(&*e, syn::Expr::Call(call)
        if call.args.is_empty()
            && matches!(&*call.func, syn::Expr::Path(p) if {
                let names: Vec<String> =
                    p.path.segments.iter().map(|s| s.ident.to_string()).collect();
                names == ["reqwest", "ClientBuilder", "new"]
            }));
        if is_new_builder {
            *e = syn::parse_quote!(crate::tls::http_client_builder());
            self.replaced += 1;
            return;
        }
        syn::visit_mut::visit_expr_mut(self, e);
    }
}

/// Reads `null` as absent in every optional field whose type has no room
/// for it: typify 0.8 types an optional list as `Vec<T>`, an optional map
/// as a map and an optional value with a default as `T`, each with
/// `#[serde(default)]` (or `default = "<function>"`), which fill in a
/// missing member but fail on `null`. Go servers send `null` for unset
/// lists, and Blaxel's own SDKs read it as absent; so does the client.
///
/// Each such field of the `types` module (a `#[serde(..)]` with `default`
/// on a type that is not an `Option`) gets
/// `deserialize_with = "crate::null::or_default"`, or, for a default
/// function, a private function of the module that passes that function to
/// `crate::null::or_else`. `Option` fields read `null` as `None` already
/// and are left alone.
///
/// The number of fields patched must equal `expected`, the number of such
/// optional properties in the document (see
/// `codegen::null_defaulted_property_count`); any other count is an error,
/// so that the patch is revisited when typify changes its types.
pub fn null_as_absent(file: &mut syn::File, expected: usize) -> Result<(), String> {
    let types = file.items.iter_mut().find_map(|item| match item {
        syn::Item::Mod(m) if m.ident == "types" => m.content.as_mut().map(|(_, items)| items),
        _ => None,
    });
    let Some(items) = types else {
        return Err(
            "generated client: no `types` module; progenitor's output changed shape, revisit \
             null_as_absent"
                .into(),
        );
    };
    let mut helpers: Vec<syn::Item> = Vec::new();
    let mut patched = 0;
    for item in items.iter_mut() {
        let syn::Item::Struct(st) = item else {
            continue;
        };
        let owner = snake_case(&st.ident.to_string());
        for field in st.fields.iter_mut() {
            let Some(name) = field.ident.as_ref().map(ToString::to_string) else {
                continue;
            };
            if is_option(&field.ty) {
                continue;
            }
            let helper = format!("{owner}_{name}_null_as_default");
            let ty = field.ty.clone();
            for attr in field
                .attrs
                .iter_mut()
                .filter(|a| a.path().is_ident("serde"))
            {
                match null_as_default_attr(attr, &helper)? {
                    None => {}
                    Some(None) => patched += 1,
                    Some(Some(default)) => {
                        let ident = syn::Ident::new(&helper, proc_macro2::Span::call_site());
                        helpers.push(syn::parse_quote! {
                            /// `null` read as the field's default (see `crate::null`).
                            fn #ident<'de, D>(
                                deserializer: D,
                            ) -> ::std::result::Result<#ty, D::Error>
                            where
                                D: ::serde::Deserializer<'de>,
                            {
                                crate::null::or_else(deserializer, #default)
                            }
                        });
                        patched += 1;
                    }
                }
            }
        }
    }
    items.extend(helpers);
    if patched != expected {
        return Err(format!(
            "generated client: made {patched} field(s) read `null` as absent, but the document \
             has {expected} optional propert(y/ies) typed without an `Option`; typify's types \
             changed shape, revisit null_as_absent"
        ));
    }
    Ok(())
}

/// Whether `ty` is `Option<..>` (spelled in any path).
fn is_option(ty: &syn::Type) -> bool {
    matches!(ty, syn::Type::Path(p)
        if p.qself.is_none() && p.path.segments.last().is_some_and(|s| s.ident == "Option"))
}

/// `CreateJobExecutionOutput` → `create_job_execution_output`.
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Adds a `deserialize_with` to a `#[serde(..)]` attribute that has
/// `default`: `None` when it has no `default`; `Some(None)` when it had a
/// plain `default` (now read through `crate::null::or_default`);
/// `Some(Some(path))` when it had `default = "path"` (now read through the
/// function `helper`, which the caller writes).
fn null_as_default_attr(
    attr: &mut syn::Attribute,
    helper: &str,
) -> Result<Option<Option<syn::ExprPath>>, String> {
    type Metas = syn::punctuated::Punctuated<syn::Meta, syn::Token![,]>;
    let syn::Meta::List(list) = &attr.meta else {
        return Ok(None);
    };
    let mut metas = list
        .parse_args_with(Metas::parse_terminated)
        .map_err(|e| format!("generated client: unreadable serde attribute: {e}"))?;
    let mut default = None;
    for meta in &metas {
        match meta {
            syn::Meta::Path(p) if p.is_ident("default") => default = Some(None),
            syn::Meta::NameValue(nv) if nv.path.is_ident("default") => {
                let syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) = &nv.value
                else {
                    return Err("generated client: a `default` that is not a string".into());
                };
                let path: syn::ExprPath = s.parse().map_err(|e| {
                    format!("generated client: a `default` that is not a path: {e}")
                })?;
                default = Some(Some(path));
            }
            syn::Meta::NameValue(nv)
                if nv.path.is_ident("deserialize_with") || nv.path.is_ident("with") =>
            {
                return Err(
                    "generated client: a field already has a `deserialize_with`; revisit \
                     null_as_absent"
                        .into(),
                );
            }
            _ => {}
        }
    }
    let Some(default) = default else {
        return Ok(None);
    };
    let with = match &default {
        None => "crate::null::or_default".to_owned(),
        Some(_) => helper.to_owned(),
    };
    metas.push(syn::parse_quote!(deserialize_with = #with));
    attr.meta = syn::parse_quote!(serde(#metas));
    Ok(Some(default))
}

#[cfg(test)]
mod tests {
    use super::{
        borrow_path_strings, client_new_follows_no_redirect, drop_api_version_header,
        fix_mock_path_matchers, null_as_absent, skip_unset_query_params,
    };

    const MOCK: &str = r#"
        fn job_id(value: &str) {
            let re = regex::Regex::new(&format!("^/jobs/{}$", value.to_string()));
        }
        fn execution_id(value: &str) {
            let re = regex::Regex::new(&format!("^/jobs/.*/executions/{}$", value.to_string()));
        }
        fn other(value: &str) { let s = format!("{}", value.to_string()); }
    "#;

    #[test]
    fn mock_path_matchers_are_encoded_and_escaped() {
        let mut file: syn::File = syn::parse_str(MOCK).unwrap();
        fix_mock_path_matchers(&mut file, 2).unwrap();
        // prettyplease spaces macro bodies its own way: compare without spaces.
        let fixed: String = prettyplease::unparse(&file).split_whitespace().collect();
        assert_eq!(
            fixed
                .matches("regex::escape(&progenitor_client::encode_path(&value.to_string()))")
                .count(),
            2,
            "{fixed}"
        );
        // A format! that is not a path regex is left alone.
        assert!(
            fixed.contains(r#"format!("{}",value.to_string())"#),
            "{fixed}"
        );
    }

    #[test]
    fn a_patch_count_other_than_the_path_parameters_is_an_error() {
        for expected in [1, 3] {
            let mut file: syn::File = syn::parse_str(MOCK).unwrap();
            let err = fix_mock_path_matchers(&mut file, expected).unwrap_err();
            assert!(err.contains("patched 2 path matcher(s)"), "{err}");
            assert!(
                err.contains(&format!("{expected} path parameter(s)")),
                "{err}"
            );
        }
    }

    #[test]
    fn a_changed_shape_is_an_error_not_a_silent_no_op() {
        let mut file: syn::File = syn::parse_str("fn f() {}").unwrap();
        assert!(fix_mock_path_matchers(&mut file, 1).is_err());
        let mut file: syn::File =
            syn::parse_str(r#"fn f(v: &str) { format!("^/jobs/{}", v); }"#).unwrap();
        let err = fix_mock_path_matchers(&mut file, 1).unwrap_err();
        assert!(err.contains("without `value.to_string()`"), "{err}");
    }

    const REQUEST: &str = r#"
        async fn get_job() {
            let mut header_map = ::reqwest::header::HeaderMap::with_capacity(1usize);
            header_map.append(
                ::reqwest::header::HeaderName::from_static("api-version"),
                ::reqwest::header::HeaderValue::from_static(super::Client::api_version()),
            );
            let request = client.get(url).headers(header_map).build()?;
        }
        async fn create_job_execution() {
            let mut header_map = ::reqwest::header::HeaderMap::with_capacity(2usize);
            header_map.append(
                ::reqwest::header::HeaderName::from_static("api-version"),
                ::reqwest::header::HeaderValue::from_static(super::Client::api_version()),
            );
            header_map.append(
                ::reqwest::header::HeaderName::from_static("x-other"),
                value.to_string().try_into()?,
            );
        }
    "#;

    #[test]
    fn the_api_version_header_goes_and_the_maps_shrink() {
        let mut file: syn::File = syn::parse_str(REQUEST).unwrap();
        drop_api_version_header(&mut file, 2).unwrap();
        let out: String = prettyplease::unparse(&file).split_whitespace().collect();
        assert!(!out.contains("api-version"), "{out}");
        assert!(
            out.contains("letheader_map=::reqwest::header::HeaderMap::with_capacity(0usize)"),
            "{out}"
        );
        assert!(
            out.contains("letmutheader_map=::reqwest::header::HeaderMap::with_capacity(1usize)"),
            "{out}"
        );
        // Other headers stay.
        assert!(out.contains(r#"from_static("x-other")"#), "{out}");
    }

    #[test]
    fn an_api_version_count_other_than_the_operations_is_an_error() {
        for expected in [1, 3] {
            let mut file: syn::File = syn::parse_str(REQUEST).unwrap();
            let err = drop_api_version_header(&mut file, expected).unwrap_err();
            assert!(err.contains("removed 2 `api-version` header(s)"), "{err}");
            assert!(err.contains(&format!("{expected} operation(s)")), "{err}");
        }
        // A request without the header (progenitor changed) is an error too.
        let mut file: syn::File = syn::parse_str("async fn f() { let x = 1; }").unwrap();
        assert!(drop_api_version_header(&mut file, 1).is_err());
    }

    const URLS: &str = r#"
        async fn get_execution() {
            let url = format!(
                "{}/jobs/{}/executions/{}",
                client.baseurl,
                encode_path(&job_id.to_string()),
                encode_path(&execution_id.to_string()),
            );
            let other = format!("{}", encode_path(&x.to_string()));
        }
    "#;

    #[test]
    fn path_strings_in_urls_are_borrowed_not_copied() {
        let mut file: syn::File = syn::parse_str(URLS).unwrap();
        borrow_path_strings(&mut file, 2).unwrap();
        let out: String = prettyplease::unparse(&file).split_whitespace().collect();
        assert!(out.contains("encode_path(&job_id)"), "{out}");
        assert!(out.contains("encode_path(&execution_id)"), "{out}");
        // A format! that is not a request URL is left alone.
        assert!(out.contains("encode_path(&x.to_string())"), "{out}");
    }

    #[test]
    fn a_borrow_count_other_than_the_path_parameters_is_an_error() {
        let mut file: syn::File = syn::parse_str(URLS).unwrap();
        let err = borrow_path_strings(&mut file, 3).unwrap_err();
        assert!(err.contains("borrowed 2 path parameter(s)"), "{err}");
    }

    const QUERIES: &str = r#"
        mod builder {
        async fn list_jobs() {
            let request = client
                .client
                .get(url)
                .query(&progenitor_client::QueryParam::new("cursor", &cursor))
                .query(&progenitor_client::QueryParam::new("limit", &limit))
                .query(&other)
                .build()?;
        }
        }
    "#;

    #[test]
    fn unset_query_parameters_are_left_out() {
        let mut file: syn::File = syn::parse_str(QUERIES).unwrap();
        skip_unset_query_params(&mut file, 2).unwrap();
        let out: String = prettyplease::unparse(&file).split_whitespace().collect();
        // The chain's order, and other `.query(..)` calls, stay.
        assert!(
            out.contains(
                r#"client.client.get(url).query_opt("cursor",&cursor).query_opt("limit",&limit).query(&other)"#
            ),
            "{out}"
        );
        assert!(
            out.contains("modbuilder{usecrate::query::OptionalQueryas_;"),
            "{out}"
        );
        assert!(!out.contains("QueryParam"), "{out}");
    }

    #[test]
    fn a_query_count_other_than_the_parameters_is_an_error() {
        let mut file: syn::File = syn::parse_str(QUERIES).unwrap();
        let err = skip_unset_query_params(&mut file, 3).unwrap_err();
        assert!(err.contains("rewrote 2 query parameter(s)"), "{err}");
    }

    const NULLS: &str = r#"
        pub mod types {
            pub struct JobSpec {
                #[serde(default = "defaults::default_bool::<true>")]
                pub enabled: bool,
                #[serde(rename = "x", skip_serializing_if = "::std::option::Option::is_none")]
                pub region: ::std::option::Option<::std::string::String>,
            }
            pub struct JobRuntime {
                #[serde(default, skip_serializing_if = "::std::vec::Vec::is_empty")]
                pub envs: ::std::vec::Vec<Env>,
                #[serde(default, skip_serializing_if = "::std::option::Option::is_none")]
                pub memory: ::std::option::Option<i64>,
                pub image: ::std::string::String,
            }
        }
    "#;

    #[test]
    fn fields_that_cannot_hold_null_read_it_as_their_default() {
        let mut file: syn::File = syn::parse_str(NULLS).unwrap();
        null_as_absent(&mut file, 2).unwrap();
        let out: String = prettyplease::unparse(&file).split_whitespace().collect();
        assert!(
            out.contains(
                r#"#[serde(default,skip_serializing_if="::std::vec::Vec::is_empty",deserialize_with="crate::null::or_default")]pubenvs"#
            ),
            "{out}"
        );
        assert!(
            out.contains(
                r#"#[serde(default="defaults::default_bool::<true>",deserialize_with="job_spec_enabled_null_as_default")]pubenabled"#
            ),
            "{out}"
        );
        assert!(
            out.contains("fnjob_spec_enabled_null_as_default<'de,D>(deserializer:D,)->::std::result::Result<bool,D::Error>"),
            "{out}"
        );
        assert!(
            out.contains("crate::null::or_else(deserializer,defaults::default_bool::<true>)"),
            "{out}"
        );
        // `Option`s and required fields are left alone.
        assert_eq!(out.matches("deserialize_with").count(), 2, "{out}");
    }

    #[test]
    fn a_null_count_other_than_the_documents_is_an_error() {
        let mut file: syn::File = syn::parse_str(NULLS).unwrap();
        let err = null_as_absent(&mut file, 3).unwrap_err();
        assert!(err.contains("made 2 field(s)"), "{err}");
        let mut file: syn::File = syn::parse_str("fn f() {}").unwrap();
        assert!(null_as_absent(&mut file, 0).is_err(), "no types module");
    }

    const CONSTRUCTOR: &str = r#"
        impl Client {
            pub fn new(baseurl: &str, inner: crate::hooks::Hooks) -> Self {
                #[cfg(not(target_arch = "wasm32"))]
                let client = {
                    let dur = ::std::time::Duration::from_secs(15u64);
                    reqwest::ClientBuilder::new().connect_timeout(dur).timeout(dur)
                };
                #[cfg(target_arch = "wasm32")]
                let client = reqwest::ClientBuilder::new();
                Self::new_with_client(baseurl, client.build().unwrap(), inner)
            }
            pub fn other() { let b = reqwest::ClientBuilder::new(); }
        }
    "#;

    #[test]
    fn the_generated_constructor_builds_a_client_that_follows_no_redirect() {
        let mut file: syn::File = syn::parse_str(CONSTRUCTOR).unwrap();
        client_new_follows_no_redirect(&mut file).unwrap();
        let out: String = prettyplease::unparse(&file).split_whitespace().collect();
        assert!(
            out.contains("crate::tls::http_client_builder().connect_timeout(dur).timeout(dur)"),
            "{out}"
        );
        // The wasm branch and other functions are left alone.
        assert_eq!(
            out.matches("reqwest::ClientBuilder::new()").count(),
            2,
            "{out}"
        );
    }

    #[test]
    fn a_constructor_of_another_shape_is_an_error() {
        let mut file: syn::File =
            syn::parse_str("impl Client { pub fn new() -> Self { todo!() } }").unwrap();
        let err = client_new_follows_no_redirect(&mut file).unwrap_err();
        assert!(err.contains("replaced 0"), "{err}");
    }
}
