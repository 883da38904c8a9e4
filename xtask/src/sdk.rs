//! Generates the SDK's per-operation surface from the document: the
//! resource handles that follow the paths (`client.jobs()`,
//! `client.job(name)`, `.executions()`, `.execution(id)`, …), one request
//! builder per operation named after its `operationId` with a setter for
//! each of its parameters (documented from the document, with the checks
//! and clamps its limits state), paging for list operations, the client
//! tokens of `idempotent-with-client-token` operations, and what the
//! blocking client needs. The output is `crates/blaxel-jobs/src/api.rs`;
//! the hand-written SDK supplies the runtime it calls (`call`, `validate`,
//! `paginate`) and extends the generated handles with what is not
//! per-operation (waiters, `update_with`, batch).
//!
//! # How paths become handles
//!
//! A path is read segment by segment from the client: a literal segment is
//! a collection (`/jobs`), a `{parameter}` segment after it one item of that
//! collection (`/jobs/{jobId}`). Each item becomes a handle type named after
//! its parameter (`jobId` gives `JobRef`), reached from the collection's
//! parent with a method of the same name (`client.job(id)`). A collection
//! with one operation is reached from its parent with a method named after
//! the segment that answers that operation's builder (`job.revisions()`); a
//! collection with more becomes a handle type of its own (`client.jobs()`
//! gives `Jobs`). Adding an item path under a collection adds its handle
//! and leaves the collection's method as it was.
//!
//! An operation's method on its handle follows its HTTP method: on a
//! collection, GET is `list` and POST `create`; on an item, GET is `get`,
//! PUT `update`, PATCH `patch` and DELETE `delete`. The operation's
//! `x-blaxel-sdk-method` names it otherwise (`cancel` for an execution's
//! DELETE), and must where no rule applies.
//!
//! # Placing an operation on other handles
//!
//! An operation whose path does not follow the resource it serves (Blaxel's
//! logs are read at `/observability/logs`, with the job and the execution
//! as query parameters) can also be offered on the handles of that
//! resource, with `x-blaxel-sdk-handles`: a list of placements, each
//!
//! ```yaml
//! x-blaxel-sdk-handles:
//!   - handle: /jobs/{jobId}/executions/{executionId}  # a handle's path
//!     method: logs                                     # its new method
//!     bind: {workloadIds: jobId, executionId: executionId}
//!     set: {resourceType: jobs}
//! ```
//!
//! `handle` is the path of a handle type (the root `/`, an item, or a
//! collection with other than one operation); the handle gets a method
//! named `method` that answers the operation's one builder, with the
//! parameters `bind` names (query or path parameters of the operation)
//! filled from the handle's path parameters, and those `set` names given
//! their fixed values (strings, integers or booleans). The method
//! still sits on the handle of the operation's own path. Bound query
//! parameters must be strings; every path parameter of the operation must
//! be bound; an operation with a request body cannot be placed. A
//! placement that breaks these rules, names a path that is no handle or a
//! parameter the operation or the handle lacks, or gives a handle a method
//! it already has, fails the generation with a message saying which. The
//! builder also remembers the handle's path parameters (`Call::id`), so
//! that hand-written extras of the operation know which resource it is
//! about.

use crate::operations::{Op, Operations};
use crate::{limits, spec};
use heck::{ToSnakeCase, ToUpperCamelCase};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::Value;

/// Where the generated surface goes, relative to the workspace root.
pub const SDK_OUT: &str = "crates/blaxel-jobs/src/api.rs";
/// The per-operation extension naming the operation's method on its handle.
pub const METHOD_EXTENSION: &str = "x-blaxel-sdk-method";
/// The property extension that leaves a request-body property without a
/// setter (it repeats what the path or a header already carries).
pub const OMIT_EXTENSION: &str = "x-blaxel-sdk-omit";
/// The parameter extension that makes a string parameter a comma-separated
/// list of the named schema's values.
pub const COMMA_LIST_EXTENSION: &str = "x-blaxel-comma-separated";
/// The per-operation extension that also places the operation on other
/// handles (see [the module](self)).
pub const HANDLES_EXTENSION: &str = "x-blaxel-sdk-handles";

/// One node of the path tree.
#[derive(Debug)]
struct Node {
    kind: Kind,
    parent: Option<usize>,
    children: Vec<usize>,
    /// Indexes into the operations, in document order.
    ops: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Root,
    /// A literal segment.
    Collection(String),
    /// A `{parameter}` segment.
    Item(String),
}

/// The path tree of a document.
#[derive(Debug)]
struct Tree {
    nodes: Vec<Node>,
}

impl Tree {
    fn build(ops: &[Op]) -> Result<Tree, String> {
        let mut tree = Tree {
            nodes: vec![Node {
                kind: Kind::Root,
                parent: None,
                children: Vec::new(),
                ops: Vec::new(),
            }],
        };
        for (index, op) in ops.iter().enumerate() {
            let mut at = 0;
            for segment in op.path.split('/').filter(|s| !s.is_empty()) {
                let kind = match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(param) => {
                        if !matches!(tree.nodes[at].kind, Kind::Collection(_)) {
                            return Err(format!(
                                "operation {}: the parameter segment `{segment}` of `{}` does \
                                 not follow a collection segment; the SDK's handles need \
                                 `/collection/{{id}}` paths",
                                op.id, op.path
                            ));
                        }
                        Kind::Item(param.to_owned())
                    }
                    None => Kind::Collection(segment.to_owned()),
                };
                at = tree.child(at, kind);
            }
            tree.nodes[at].ops.push(index);
        }
        Ok(tree)
    }

    fn child(&mut self, at: usize, kind: Kind) -> usize {
        if let Some(&c) = self.nodes[at]
            .children
            .iter()
            .find(|&&c| self.nodes[c].kind == kind)
        {
            return c;
        }
        self.nodes.push(Node {
            kind,
            parent: Some(at),
            children: Vec::new(),
            ops: Vec::new(),
        });
        let c = self.nodes.len() - 1;
        self.nodes[at].children.push(c);
        c
    }

    /// The path parameters a handle at `at` holds, from the root down.
    fn params(&self, mut at: usize) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            if let Kind::Item(p) = &self.nodes[at].kind {
                out.push(p.clone());
            }
            match self.nodes[at].parent {
                Some(p) => at = p,
                None => break,
            }
        }
        out.reverse();
        out
    }

    /// Whether the node is a handle type of its own (every item, every
    /// collection with other than one operation, and the root).
    fn is_handle(&self, at: usize) -> bool {
        match self.nodes[at].kind {
            Kind::Root | Kind::Item(_) => true,
            Kind::Collection(_) => self.nodes[at].ops.len() != 1,
        }
    }

    /// The handle a node's accessor method lives on: an item's on its
    /// collection's parent, a collection's on its parent.
    fn owner(&self, at: usize) -> Option<usize> {
        let parent = self.nodes[at].parent?;
        match self.nodes[at].kind {
            Kind::Item(_) => self.nodes[parent].parent,
            _ => Some(parent),
        }
    }

    /// The handle that carries a node's operations: the node itself when it
    /// is a handle, else (a collection with one operation) its owner.
    fn carrier(&self, at: usize) -> usize {
        if self.is_handle(at) {
            at
        } else {
            self.owner(at).unwrap_or(0)
        }
    }
}

/// `jobId` gives `job`; any other name stays as it is.
fn item_name(param: &str) -> &str {
    param
        .strip_suffix("Id")
        .or_else(|| param.strip_suffix("_id"))
        .filter(|s| !s.is_empty())
        .unwrap_or(param)
}

/// The Rust type name of a handle node.
fn handle_type(tree: &Tree, at: usize) -> proc_macro2::Ident {
    match &tree.nodes[at].kind {
        Kind::Root => format_ident!("Client"),
        Kind::Collection(s) => format_ident!("{}", s.to_upper_camel_case()),
        Kind::Item(p) => format_ident!("{}Ref", item_name(p).to_upper_camel_case()),
    }
}

/// The accessor method of a node on its owner.
fn accessor(tree: &Tree, at: usize) -> proc_macro2::Ident {
    match &tree.nodes[at].kind {
        Kind::Root => format_ident!("client"),
        Kind::Collection(s) => ident(&s.to_snake_case()),
        Kind::Item(p) => ident(&item_name(p).to_snake_case()),
    }
}

/// An identifier, raw when it is a keyword.
fn ident(name: &str) -> proc_macro2::Ident {
    syn::parse_str::<proc_macro2::Ident>(name).unwrap_or_else(|_| format_ident!("r#{}", name))
}

/// A snake-case identifier for a path parameter's field.
fn param_field(param: &str) -> proc_macro2::Ident {
    ident(&param.to_snake_case())
}

/// One query parameter and its setter.
#[derive(Debug)]
struct Param {
    /// The name in the document.
    name: String,
    /// progenitor's setter on its builder.
    setter: proc_macro2::Ident,
    doc: String,
    kind: ParamKind,
}

#[derive(Debug)]
enum ParamKind {
    /// A string, with the limit's constant when it has one.
    Str(Option<proc_macro2::Ident>),
    /// An integer: the setter's type, whether the server clamps it, and the
    /// limit's constant when it has one.
    Int {
        setter_type: syn::Type,
        clamp: bool,
        limit: Option<proc_macro2::Ident>,
    },
    /// A comma-separated list of the values of a type.
    CommaList(syn::Type),
    /// Any other type, set as it is (booleans, enums).
    Plain(syn::Type),
}

/// A request body's setters: a whole-body argument, or one setter per
/// property.
#[derive(Debug)]
enum Body {
    /// The body is given to the handle's method (a schema with required
    /// properties, such as a whole job).
    Argument {
        ty: syn::Type,
        name: proc_macro2::Ident,
    },
    /// The body is assembled with a setter per property.
    Setters { ty: syn::Type, fields: Vec<Field> },
}

#[derive(Debug)]
struct Field {
    ident: proc_macro2::Ident,
    doc: String,
    kind: FieldKind,
}

#[derive(Debug)]
enum FieldKind {
    /// `Option<String>`.
    OptString,
    /// `Option<T>`.
    Opt(syn::Type),
    /// `Vec<serde_json::Map<..>>`: free-form JSON objects.
    Objects,
    /// `Vec<T>`.
    Vec(syn::Type),
    /// `BTreeMap<String, String>`.
    StringMap,
    /// Any other type, set as it is.
    Plain(syn::Type),
}

/// Everything the generator knows of one operation.
#[derive(Debug)]
struct OpInfo<'a> {
    op: &'a Op,
    node: usize,
    method: proc_macro2::Ident,
    summary: String,
    description: String,
    params: Vec<Param>,
    body: Option<Body>,
    output: syn::Type,
    /// The item type of a page, for list operations that page with cursors.
    page_item: Option<syn::Type>,
    client_tokens: Vec<proc_macro2::Ident>,
    /// The other handles it is offered on.
    placements: Vec<Placement>,
}

/// An operation offered on another handle (`x-blaxel-sdk-handles`).
#[derive(Debug)]
struct Placement {
    /// The handle's node.
    node: usize,
    method: proc_macro2::Ident,
    /// `(operation's parameter, where it goes, the handle's path parameter)`.
    bind: Vec<(String, Slot, String)>,
    /// `(the SDK builder's setter, the value)`.
    set: Vec<(proc_macro2::Ident, TokenStream)>,
}

/// Where a bound parameter goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// A path parameter: set on the generated builder, checked as a path
    /// segment.
    Path,
    /// A string query parameter: set with the SDK builder's setter.
    Query,
}

/// The fields of the structs progenitor generated in `mod types`, by name.
struct TypeFields<'a> {
    structs: std::collections::BTreeMap<String, &'a syn::ItemStruct>,
}

impl<'a> TypeFields<'a> {
    fn of(client: &'a syn::File) -> Self {
        let mut structs = std::collections::BTreeMap::new();
        for item in &client.items {
            let syn::Item::Mod(m) = item else { continue };
            if m.ident != "types" {
                continue;
            }
            for it in m.content.iter().flat_map(|(_, items)| items) {
                if let syn::Item::Struct(s) = it {
                    structs.insert(s.ident.to_string(), s);
                }
            }
        }
        TypeFields { structs }
    }

    /// `(field, name in JSON)` of each field of a struct.
    fn fields(&self, name: &str) -> Option<Vec<(&'a syn::Field, String)>> {
        let s = self.structs.get(name)?;
        let syn::Fields::Named(named) = &s.fields else {
            return None;
        };
        Some(
            named
                .named
                .iter()
                .filter_map(|f| {
                    let ident = f.ident.as_ref()?.to_string();
                    let json = serde_rename(&f.attrs)
                        .unwrap_or_else(|| ident.trim_start_matches("r#").to_owned());
                    Some((f, json))
                })
                .collect(),
        )
    }
}

/// The `rename` of a field's `#[serde(..)]`.
fn serde_rename(attrs: &[syn::Attribute]) -> Option<String> {
    let mut out = None;
    for a in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ = a.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                let s: syn::LitStr = meta.value()?.parse()?;
                out = Some(s.value());
            } else if meta.input.peek(syn::Token![=]) {
                let _: syn::Expr = meta.value()?.parse()?;
            }
            Ok(())
        });
    }
    out
}

/// The generic argument of a one-argument type named `outer` (`Option<T>` gives `T`).
fn inner<'t>(ty: &'t syn::Type, outer: &str) -> Option<&'t syn::Type> {
    let syn::Type::Path(p) = ty else { return None };
    let seg = p.path.segments.last()?;
    if seg.ident != outer {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &seg.arguments else {
        return None;
    };
    let mut types = args.args.iter().filter_map(|a| match a {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    });
    let first = types.next()?;
    types.next().is_none().then_some(first)
}

fn last_ident(ty: &syn::Type) -> Option<String> {
    let syn::Type::Path(p) = ty else { return None };
    p.path.segments.last().map(|s| s.ident.to_string())
}

/// progenitor's builder struct fields for an operation: `(field, T)` of
/// each `field: Result<Option<T>, String>` (query parameters), in order.
fn builder_fields(client: &syn::File, builder: &str) -> Vec<(proc_macro2::Ident, syn::Type)> {
    let mut out = Vec::new();
    for item in &client.items {
        let syn::Item::Mod(m) = item else { continue };
        if m.ident != "builder" {
            continue;
        }
        for it in m.content.iter().flat_map(|(_, items)| items) {
            let syn::Item::Struct(s) = it else { continue };
            if s.ident != builder {
                continue;
            }
            for f in &s.fields {
                let Some(id) = &f.ident else { continue };
                if let Some(t) = inner_result_option(&f.ty) {
                    out.push((id.clone(), t.clone()));
                }
            }
        }
    }
    out
}

/// `T` of `Result<Option<T>, String>`.
fn inner_result_option(ty: &syn::Type) -> Option<&syn::Type> {
    let syn::Type::Path(p) = ty else { return None };
    let seg = p.path.segments.last()?;
    if seg.ident != "Result" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &seg.arguments else {
        return None;
    };
    let first = args.args.iter().find_map(|a| match a {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    })?;
    inner(first, "Option")
}

fn text(v: Option<&Value>) -> String {
    v.and_then(Value::as_str)
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// The unsigned setter type of an integer parameter whose minimum is not
/// negative: `u32` when its maximum fits one, else `u64`.
fn unsigned_type(schema: &Value) -> Option<syn::Type> {
    let min = schema.get("minimum").and_then(Value::as_i64)?;
    if min < 0 {
        return None;
    }
    let fits_u32 = schema
        .get("maximum")
        .and_then(Value::as_i64)
        .is_some_and(|m| m <= i64::from(u32::MAX));
    Some(if fits_u32 {
        syn::parse_quote!(u32)
    } else {
        syn::parse_quote!(u64)
    })
}

/// The method of an operation on its handle.
fn method_name(op: &Op, raw: &Value, on_item: bool) -> Result<proc_macro2::Ident, String> {
    if let Some(name) = raw.get(METHOD_EXTENSION) {
        return name
            .as_str()
            .filter(|n| syn::parse_str::<proc_macro2::Ident>(n).is_ok())
            .map(|n| format_ident!("{n}"))
            .ok_or_else(|| {
                format!(
                    "operation {}: `{METHOD_EXTENSION}` is {name}, not a Rust method name",
                    op.id
                )
            });
    }
    let name = match (on_item, op.method.as_str()) {
        (false, "GET") => "list",
        (false, "POST") => "create",
        (true, "GET") => "get",
        (true, "PUT") => "update",
        (true, "PATCH") => "patch",
        (true, "DELETE") => "delete",
        _ => {
            return Err(format!(
                "operation {}: no method name follows from `{} {}`; name it with \
                 `{METHOD_EXTENSION}`",
                op.id, op.method, op.path
            ));
        }
    };
    Ok(format_ident!("{name}"))
}

/// Everything the generator reads from the document and from progenitor's
/// output, for every operation.
fn collect<'a>(
    doc: &Value,
    client: &syn::File,
    ops: &'a Operations,
    outputs: &[syn::Type],
    tree: &Tree,
) -> Result<Vec<OpInfo<'a>>, Vec<String>> {
    let mut problems = Vec::new();
    let raw_ops = spec::operations(doc);
    let types = TypeFields::of(client);
    let limits = limits::collect(doc);
    let limit_const = |field: &str| {
        limits
            .iter()
            .find(|l| l.field == field)
            .map(|l| format_ident!("{}", l.constant))
    };
    let mut infos = Vec::new();
    for (index, (op, output)) in ops.ops.iter().zip(outputs).enumerate() {
        let Some(raw) = raw_ops.iter().find(|r| r.id() == Some(op.id.as_str())) else {
            continue;
        };
        let node = tree
            .nodes
            .iter()
            .position(|n| n.ops.contains(&index))
            .unwrap_or(0);
        let on_item = matches!(tree.nodes[node].kind, Kind::Item(_));
        let method = if tree.is_handle(node) {
            match method_name(op, raw.op, on_item) {
                Ok(m) => m,
                Err(e) => {
                    problems.push(e);
                    continue;
                }
            }
        } else {
            accessor(tree, node)
        };
        // Query parameters, in progenitor's order.
        let fields = builder_fields(client, &op.builder_name());
        let mut params = Vec::new();
        for p in spec::parameters(doc, raw) {
            if p.get("in").and_then(Value::as_str) != Some("query") {
                continue;
            }
            let name = text(p.get("name"));
            let setter = name.to_snake_case();
            // progenitor writes a keyword with a trailing `_` (`type_`).
            let Some((setter, ty)) = fields
                .iter()
                .find(|(f, _)| *f == setter || *f == format!("{setter}_"))
                .cloned()
            else {
                problems.push(format!(
                    "operation {}: progenitor's builder has no setter `{setter}` for the query \
                     parameter `{name}`",
                    op.id
                ));
                continue;
            };
            let schema = p
                .get("schema")
                .and_then(|s| spec::resolve(doc, s))
                .cloned()
                .unwrap_or(Value::Null);
            let limit = limit_const(&format!("{}.{name}", op.id));
            let kind = if let Some(list) = p.get(COMMA_LIST_EXTENSION) {
                match list.as_str().and_then(|n| spec::replacement_type(doc, n)) {
                    Some(t) => ParamKind::CommaList(t),
                    None => {
                        problems.push(format!(
                            "operation {}: parameter `{name}`: `{COMMA_LIST_EXTENSION}` is \
                             {list}, not the name of a schema with a Rust type",
                            op.id
                        ));
                        continue;
                    }
                }
            } else {
                match schema.get("type").and_then(Value::as_str) {
                    Some("string")
                        if spec::schema_ref_name(p.get("schema").unwrap_or(&Value::Null))
                            .is_none() =>
                    {
                        ParamKind::Str(limit)
                    }
                    Some("integer") => ParamKind::Int {
                        setter_type: unsigned_type(&schema).unwrap_or(ty),
                        clamp: schema.get("x-blaxel-clamp").and_then(Value::as_bool) == Some(true),
                        limit,
                    },
                    _ => ParamKind::Plain(ty),
                }
            };
            params.push(Param {
                name,
                setter,
                doc: text(p.get("description")),
                kind,
            });
        }
        // The request body.
        let body_schema = raw
            .op
            .get("requestBody")
            .and_then(|b| spec::resolve(doc, b))
            .and_then(|b| b.pointer("/content/application~1json/schema"));
        let body = match body_schema {
            None => None,
            Some(schema) => {
                let Some(name) = spec::schema_ref_name(schema) else {
                    problems.push(format!(
                        "operation {}: the request body is not a named schema; the SDK's \
                         builders need `$ref: '#/components/schemas/..'`",
                        op.id
                    ));
                    continue;
                };
                let resolved = spec::resolve(doc, schema)
                    .map(|s| spec::merge_all_of(doc, s))
                    .unwrap_or(Value::Null);
                let ty = spec::replacement_type(doc, name).unwrap_or_else(|| {
                    let n = format_ident!("{name}");
                    syn::parse_quote!(types::#n)
                });
                let required = resolved
                    .get("required")
                    .and_then(Value::as_array)
                    .is_some_and(|r| !r.is_empty());
                if required {
                    Some(Body::Argument {
                        ty,
                        name: ident(&name.to_snake_case()),
                    })
                } else {
                    match body_fields(&types, name, &resolved) {
                        Ok(fields) => Some(Body::Setters { ty, fields }),
                        Err(e) => {
                            problems.push(format!("operation {}: {e}", op.id));
                            continue;
                        }
                    }
                }
            }
        };
        let page_item = page_item(doc, raw, &params);
        let client_tokens = op
            .client_tokens
            .iter()
            .map(|t| ident(&t.to_snake_case()))
            .collect();
        let placements = match raw.op.get(HANDLES_EXTENSION) {
            None => Vec::new(),
            Some(list) => match placements(op, list, &params, body.is_some(), tree) {
                Ok(p) => p,
                Err(mut e) => {
                    problems.append(&mut e);
                    continue;
                }
            },
        };
        infos.push(OpInfo {
            op,
            node,
            method,
            summary: text(raw.op.get("summary")),
            description: text(raw.op.get("description")),
            params,
            body,
            output: output.clone(),
            page_item,
            client_tokens,
            placements,
        });
    }
    if problems.is_empty() {
        Ok(infos)
    } else {
        Err(problems)
    }
}

/// The paths of the handle types, for messages.
fn handle_paths(tree: &Tree) -> String {
    let paths: Vec<String> = (0..tree.nodes.len())
        .filter(|&at| tree.is_handle(at))
        .map(|at| path_of(tree, at))
        .collect();
    paths.join(", ")
}

/// Reads an operation's `x-blaxel-sdk-handles` (see [the module](self)).
fn placements(
    op: &Op,
    list: &Value,
    params: &[Param],
    has_body: bool,
    tree: &Tree,
) -> Result<Vec<Placement>, Vec<String>> {
    let mut problems = Vec::new();
    let Some(list) = list.as_array() else {
        return Err(vec![format!(
            "operation {}: `{HANDLES_EXTENSION}` must be a list of placements, not {list}",
            op.id
        )]);
    };
    if has_body && !list.is_empty() {
        return Err(vec![format!(
            "operation {}: `{HANDLES_EXTENSION}`: an operation with a request body cannot be \
             placed on other handles",
            op.id
        )]);
    }
    let mut out = Vec::new();
    for (i, entry) in list.iter().enumerate() {
        let at = format!("operation {}: `{HANDLES_EXTENSION}`[{i}]", op.id);
        let mut problem = |p: String| problems.push(format!("{at}: {p}"));
        let Some(entry) = entry.as_object() else {
            problem(format!(
                "must be an object with `handle` and `method`, not {entry}"
            ));
            continue;
        };
        if let Some(unknown) = entry
            .keys()
            .find(|k| !["handle", "method", "bind", "set"].contains(&k.as_str()))
        {
            problem(format!(
                "`{unknown}` is not a member of a placement (`handle`, `method`, `bind`, `set`)"
            ));
            continue;
        }
        let Some(handle) = entry.get("handle").and_then(Value::as_str) else {
            problem("`handle` must be the path of a handle, as a string".to_owned());
            continue;
        };
        let Some(node) =
            (0..tree.nodes.len()).find(|&n| tree.is_handle(n) && path_of(tree, n) == handle)
        else {
            problem(format!(
                "`handle` {handle} is not the path of one of the SDK's handles ({})",
                handle_paths(tree)
            ));
            continue;
        };
        let method = match entry.get("method").and_then(Value::as_str) {
            Some(m) if syn::parse_str::<proc_macro2::Ident>(m).is_ok() => format_ident!("{m}"),
            other => {
                problem(format!(
                    "`method` must be a Rust method name, not {}",
                    other.map_or_else(|| "nothing".to_owned(), |m| format!("`{m}`"))
                ));
                continue;
            }
        };
        let held = tree.params(node);
        let empty = serde_json::Map::new();
        let object = |key: &str| match entry.get(key) {
            None => Ok(&empty),
            Some(v) => v.as_object().ok_or_else(|| {
                format!("`{key}` must be a map from the operation's parameters, not {v}")
            }),
        };
        let (bind_map, set_map) = match (object("bind"), object("set")) {
            (Ok(b), Ok(s)) => (b, s),
            (Err(e), _) | (_, Err(e)) => {
                problem(e);
                continue;
            }
        };
        let names = || {
            let mut all: Vec<String> = op.path_params.clone();
            all.extend(params.iter().map(|p| p.name.clone()));
            all.join(", ")
        };
        let mut bind = Vec::new();
        for (name, from) in bind_map {
            let slot = if op.path_params.contains(name) {
                Slot::Path
            } else {
                match params.iter().find(|p| &p.name == name) {
                    Some(Param {
                        kind: ParamKind::Str(_),
                        ..
                    }) => Slot::Query,
                    Some(_) => {
                        problem(format!(
                            "`bind` names `{name}`, which is not a string parameter; only \
                             strings take a handle's ids"
                        ));
                        continue;
                    }
                    None => {
                        problem(format!(
                            "`bind` names `{name}`, which is not a parameter of {} ({})",
                            op.id,
                            names()
                        ));
                        continue;
                    }
                }
            };
            match from.as_str() {
                Some(from) if held.iter().any(|h| h == from) => {
                    bind.push((name.clone(), slot, from.to_owned()));
                }
                _ => problem(format!(
                    "`bind` takes `{name}` from {from}, which is not a path parameter of the \
                     handle {handle} (it holds: {})",
                    if held.is_empty() {
                        "none".to_owned()
                    } else {
                        held.join(", ")
                    }
                )),
            }
        }
        for p in &op.path_params {
            if !bind_map.contains_key(p) {
                problem(format!(
                    "the path parameter `{p}` of {} must be bound with `bind`",
                    op.id
                ));
            }
        }
        let mut set = Vec::new();
        for (name, value) in set_map {
            if bind_map.contains_key(name) {
                problem(format!("`{name}` is both bound and set"));
                continue;
            }
            let Some(param) = params.iter().find(|p| &p.name == name) else {
                problem(format!(
                    "`set` names `{name}`, which is not a query parameter of {} ({})",
                    op.id,
                    names()
                ));
                continue;
            };
            let literal = match (&param.kind, value) {
                (ParamKind::Str(_), Value::String(v)) => Some(quote!(#v)),
                (ParamKind::Int { .. }, Value::Number(n)) => n
                    .as_i64()
                    .filter(|n| *n >= 0)
                    .map(|n| syn::LitInt::new(&n.to_string(), proc_macro2::Span::call_site()))
                    .map(|lit| quote!(#lit)),
                (ParamKind::Plain(t), Value::Bool(b))
                    if last_ident(t).as_deref() == Some("bool") =>
                {
                    Some(quote!(#b))
                }
                _ => None,
            };
            match literal {
                Some(l) => set.push((param.setter.clone(), l)),
                None => problem(format!(
                    "`set` gives `{name}` the value {value}, which its type does not take \
                     (strings, integers from 0 and booleans can be set)"
                )),
            }
        }
        out.push(Placement {
            node,
            method,
            bind,
            set,
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// The setters of a body assembled property by property.
fn body_fields(types: &TypeFields<'_>, name: &str, schema: &Value) -> Result<Vec<Field>, String> {
    let props = schema
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let fields = types
        .fields(name)
        .ok_or_else(|| format!("progenitor generated no struct `types::{name}`"))?;
    let mut out = Vec::new();
    for (f, json) in fields {
        let prop = props.get(&json).cloned().unwrap_or(Value::Null);
        if prop.get(OMIT_EXTENSION).and_then(Value::as_bool) == Some(true) {
            continue;
        }
        let Some(id) = f.ident.clone() else { continue };
        let ty = &f.ty;
        let kind = if let Some(t) = inner(ty, "Option") {
            if last_ident(t).as_deref() == Some("String") {
                FieldKind::OptString
            } else {
                FieldKind::Opt(t.clone())
            }
        } else if let Some(t) = inner(ty, "Vec") {
            if last_ident(t).as_deref() == Some("Map") {
                FieldKind::Objects
            } else {
                FieldKind::Vec(t.clone())
            }
        } else if last_ident(ty).as_deref() == Some("BTreeMap")
            && prop
                .pointer("/additionalProperties/type")
                .and_then(Value::as_str)
                == Some("string")
        {
            FieldKind::StringMap
        } else {
            FieldKind::Plain(ty.clone())
        };
        out.push(Field {
            ident: id,
            doc: text(prop.get("description")),
            kind,
        });
    }
    Ok(out)
}

/// The item type of a list operation's page: the operation pages with
/// cursors (it has a `cursor` query parameter) and answers an object with
/// a `data` array and a `meta` object.
fn page_item(doc: &Value, raw: &spec::Operation<'_>, params: &[Param]) -> Option<syn::Type> {
    if !params.iter().any(|p| p.name == "cursor") {
        return None;
    }
    let schema = raw
        .op
        .pointer("/responses/200/content/application~1json/schema")?;
    let resolved = spec::resolve(doc, schema)?;
    let props = resolved.get("properties")?;
    props.get("meta")?;
    let items = props.get("data")?.get("items")?;
    let name = spec::schema_ref_name(items)?;
    Some(spec::replacement_type(doc, name).unwrap_or_else(|| {
        let n = format_ident!("{name}");
        syn::parse_quote!(types::#n)
    }))
}

fn docs(lines: &str) -> TokenStream {
    let lines: Vec<String> = lines.lines().map(|l| format!(" {l}")).collect();
    quote!(#(#[doc = #lines])*)
}

/// The generated surface, as tokens.
pub fn module(
    doc: &Value,
    client: &syn::File,
    ops: &Operations,
    outputs: &[syn::Type],
) -> Result<TokenStream, Vec<String>> {
    let tree = Tree::build(&ops.ops).map_err(|e| vec![e])?;
    let infos = collect(doc, client, ops, outputs, &tree)?;
    let mut problems = Vec::new();
    let mut items = Vec::new();

    // Handles.
    for at in 0..tree.nodes.len() {
        if !tree.is_handle(at) {
            continue;
        }
        let ty = handle_type(&tree, at);
        let params = tree.params(at);
        let fields: Vec<_> = params.iter().map(|p| param_field(p)).collect();
        if at != 0 {
            let what = match &tree.nodes[at].kind {
                Kind::Collection(s) => format!(
                    " The `{s}` collection at `{}`: its operations, as methods that answer \
                     request builders. Making it sends nothing.",
                    path_of(&tree, at)
                ),
                Kind::Item(p) => format!(
                    " One item at `{}`, by its `{p}`: its operations, as methods that answer \
                     request builders, and the resources below it. Making it sends nothing.",
                    path_of(&tree, at)
                ),
                Kind::Root => String::new(),
            };
            let getters: Vec<_> = params
                .iter()
                .zip(&fields)
                .map(|(p, f)| {
                    let doc = format!(" The `{p}` this handle addresses.");
                    quote! {
                        #[doc = #doc]
                        pub fn #f(&self) -> &str {
                            &self.#f
                        }
                    }
                })
                .collect();
            let getters = (!getters.is_empty()).then(|| quote!(impl<'a> #ty<'a> { #(#getters)* }));
            items.push(quote! {
                #[doc = #what]
                #[derive(Debug, Clone)]
                pub struct #ty<'a> {
                    pub(crate) client: &'a Client,
                    #(pub(crate) #fields: String,)*
                }

                #getters
            });
        }
        // Methods: accessors of the handles and one-operation collections
        // it owns, then its own operations.
        let lifetime = if at == 0 { quote!('_) } else { quote!('a) };
        let client_expr = if at == 0 {
            quote!(self)
        } else {
            quote!(self.client)
        };
        let mut methods = Vec::new();
        for child in 0..tree.nodes.len() {
            if tree.owner(child) != Some(at) {
                continue;
            }
            let name = accessor(&tree, child);
            let child_params = tree.params(child);
            let own: Vec<_> = params.iter().map(|p| param_field(p)).collect();
            if tree.is_handle(child) {
                let child_ty = handle_type(&tree, child);
                let (arg, init) = match &tree.nodes[child].kind {
                    Kind::Item(p) => {
                        let f = param_field(p);
                        (quote!(#f: impl Into<String>), quote!(#f: #f.into(),))
                    }
                    _ => (quote!(), quote!()),
                };
                let doc = match &tree.nodes[child].kind {
                    Kind::Item(p) => format!(
                        " A handle on one item of `{}`, by its `{p}` (see [`{child_ty}`]).",
                        path_of(&tree, tree.nodes[child].parent.unwrap_or(0))
                    ),
                    _ => format!(
                        " The `{}` collection (see [`{child_ty}`]).",
                        path_of(&tree, child)
                    ),
                };
                let _ = child_params;
                methods.push(quote! {
                    #[doc = #doc]
                    pub fn #name(&self, #arg) -> #child_ty<#lifetime> {
                        #child_ty {
                            client: #client_expr,
                            #(#own: self.#own.clone(),)*
                            #init
                        }
                    }
                });
            }
        }
        for info in infos.iter().filter(|i| tree.carrier(i.node) == at) {
            methods.push(handle_method(info, &params, &client_expr, &lifetime));
        }
        for info in &infos {
            for placement in info.placements.iter().filter(|p| p.node == at) {
                methods.push(placed_method(
                    info,
                    placement,
                    &params,
                    &client_expr,
                    &lifetime,
                ));
            }
        }
        // Two methods of one name on a handle: a placement's (or an
        // `x-blaxel-sdk-method`'s) choice meets another's.
        let mut names = std::collections::BTreeSet::new();
        for m in &methods {
            if let Ok(f) = syn::parse2::<syn::ImplItemFn>(m.clone())
                && !names.insert(f.sig.ident.to_string())
            {
                problems.push(format!(
                    "the handle {} would have two methods named `{}`: rename one with \
                     `{METHOD_EXTENSION}` or the placement's `method` (`{HANDLES_EXTENSION}`)",
                    path_of(&tree, at),
                    f.sig.ident
                ));
            }
        }
        let target = if at == 0 {
            quote!(Client)
        } else {
            quote!(#ty<'a>)
        };
        let generics = if at == 0 { quote!() } else { quote!(<'a>) };
        if methods.is_empty() {
            continue;
        }
        items.push(quote! {
            impl #generics #target {
                #(#methods)*
            }
        });
    }

    // Builders.
    let mut pages = std::collections::BTreeSet::new();
    for info in &infos {
        match builder(info) {
            Ok(tokens) => items.push(tokens),
            Err(e) => problems.push(e),
        }
        if let Some(item) = &info.page_item {
            let page = &info.output;
            let key = quote!(#page).to_string();
            if pages.insert(key) {
                items.push(quote!(crate::paginate::page!(#page, #item);));
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(quote! {
        use crate::Client;
        use crate::call::Call;
        use crate::error::Error;
        #[allow(unused_imports)]
        use blaxel_jobs_client::{limits, types};

        #(#items)*
    })
}

fn path_of(tree: &Tree, mut at: usize) -> String {
    let mut parts = Vec::new();
    loop {
        match &tree.nodes[at].kind {
            Kind::Root => break,
            Kind::Collection(s) => parts.push(s.clone()),
            Kind::Item(p) => parts.push(format!("{{{p}}}")),
        }
        match tree.nodes[at].parent {
            Some(p) => at = p,
            None => break,
        }
    }
    parts.reverse();
    format!("/{}", parts.join("/"))
}

/// The doc comment of an operation: summary, operationId, description.
fn op_docs(info: &OpInfo<'_>, extra: &str) -> TokenStream {
    let mut text = format!(
        "{} ({}: `{} {}`).",
        info.summary.trim_end_matches('.'),
        info.op.id,
        info.op.method,
        info.op.path
    );
    if !info.description.is_empty() {
        text.push_str("\n\n");
        text.push_str(&info.description);
    }
    if !extra.is_empty() {
        text.push_str("\n\n");
        text.push_str(extra);
    }
    docs(&text)
}

/// The method of a handle that answers an operation's builder.
fn handle_method(
    info: &OpInfo<'_>,
    held: &[String],
    client_expr: &TokenStream,
    lifetime: &TokenStream,
) -> TokenStream {
    let op = info.op;
    let name = &info.method;
    let builder = format_ident!("{}", op.builder_name());
    let raw_method = format_ident!("{}", op.method_name());
    let setters = op.path_params.iter().map(|p| {
        let f = param_field(p);
        let setter = format_ident!("{}", p.to_snake_case());
        quote!(.#setter(self.#f.clone()))
    });
    let checks = op.path_params.iter().map(|p| {
        let f = param_field(p);
        quote!(.check(crate::validate::path_id(&self.#f, #p)))
    });
    let _ = held;
    let path_values: Vec<TokenStream> = op
        .path_params
        .iter()
        .map(|p| {
            let f = param_field(p);
            quote!((#p, self.#f.as_str()))
        })
        .collect();
    let docs = op_docs(info, "");
    match &info.body {
        Some(Body::Argument { ty, name: arg }) => quote! {
            #docs
            pub fn #name(&self, #arg: #ty) -> #builder<#lifetime> {
                let check = crate::validate::body(&#arg, &[#(#path_values),*]);
                let op = #client_expr.raw().#raw_method()#(#setters)*.body(#arg);
                #builder {
                    call: Call::new(#client_expr, op)#(#checks)*.check(check),
                }
            }
        },
        Some(Body::Setters { .. }) => {
            let path = if info.client_tokens.is_empty() {
                quote!()
            } else {
                let values = op.path_params.iter().map(|p| {
                    let f = param_field(p);
                    quote!(self.#f.clone())
                });
                quote!(path: vec![#(#values),*],)
            };
            quote! {
                #docs
                pub fn #name(&self) -> #builder<#lifetime> {
                    let op = #client_expr.raw().#raw_method()#(#setters)*;
                    #builder {
                        call: Call::new(#client_expr, op)#(#checks)*,
                        #path
                        body: Default::default(),
                    }
                }
            }
        }
        None => quote! {
            #docs
            pub fn #name(&self) -> #builder<#lifetime> {
                let op = #client_expr.raw().#raw_method()#(#setters)*;
                #builder {
                    call: Call::new(#client_expr, op)#(#checks)*,
                }
            }
        },
    }
}

/// The method of a handle that answers an operation's builder with the
/// parameters a placement binds and sets (`x-blaxel-sdk-handles`).
fn placed_method(
    info: &OpInfo<'_>,
    placement: &Placement,
    held: &[String],
    client_expr: &TokenStream,
    lifetime: &TokenStream,
) -> TokenStream {
    let op = info.op;
    let name = &placement.method;
    let builder = format_ident!("{}", op.builder_name());
    let raw_method = format_ident!("{}", op.method_name());
    let path = placement.bind.iter().filter(|(_, s, _)| *s == Slot::Path);
    let path_setters = path.clone().map(|(p, _, from)| {
        let setter = format_ident!("{}", p.to_snake_case());
        let f = param_field(from);
        quote!(.#setter(self.#f.clone()))
    });
    let checks = path.map(|(p, _, from)| {
        let f = param_field(from);
        quote!(.check(crate::validate::path_id(&self.#f, #p)))
    });
    let query = placement
        .bind
        .iter()
        .filter(|(_, s, _)| *s == Slot::Query)
        .map(|(p, _, from)| {
            let setter = info
                .params
                .iter()
                .find(|q| &q.name == p)
                .map(|q| q.setter.clone())
                .unwrap_or_else(|| format_ident!("{}", p.to_snake_case()));
            let f = param_field(from);
            quote!(.#setter(self.#f.clone()))
        });
    let set = placement.set.iter().map(|(setter, v)| quote!(.#setter(#v)));
    let mut given: Vec<String> = placement
        .bind
        .iter()
        .map(|(p, _, from)| format!("`{p}` is this handle's `{from}`"))
        .collect();
    given.extend(placement.set.iter().map(|(setter, v)| {
        let name = info
            .params
            .iter()
            .find(|q| &q.setter == setter)
            .map_or_else(|| setter.to_string(), |q| q.name.clone());
        format!("`{name}` is {}", v.to_string().replace('"', "`"))
    }));
    let docs = op_docs(
        info,
        &format!(
            "On this handle: {} (set again on the builder to change them).",
            given.join(", ")
        ),
    );
    let ids = held.iter().map(|p| {
        let f = param_field(p);
        quote!(.with_id(#p, self.#f.clone()))
    });
    quote! {
        #docs
        pub fn #name(&self) -> #builder<#lifetime> {
            let op = #client_expr.raw().#raw_method()#(#path_setters)*;
            #builder {
                call: Call::new(#client_expr, op)#(#checks)*#(#ids)*,
            }
            #(#query)*
            #(#set)*
        }
    }
}

/// One operation's builder.
fn builder(info: &OpInfo<'_>) -> Result<TokenStream, String> {
    let op = info.op;
    let name = format_ident!("{}", op.builder_name());
    let output = &info.output;
    let raw = quote!(blaxel_jobs_client::builder::#name<'a>);
    let docs = op_docs(
        info,
        "Set its options, then `.send().await`; the client's timeouts and retry settings \
         can be overridden for this call.",
    );
    let setters: Vec<TokenStream> = info.params.iter().map(param_setter).collect();
    let (fields, body_setters, send) = match &info.body {
        Some(Body::Setters { ty, fields }) => {
            let body_setters: Vec<TokenStream> = fields.iter().map(field_setter).collect();
            let tokens = &info.client_tokens;
            let fill = quote! {
                #(body.#tokens.get_or_insert_with(crate::call::client_token);)*
            };
            let send = if tokens.is_empty() {
                quote! {
                    let Self { call, body } = self;
                    let check = crate::validate::body(&body, &[]);
                    call.check(check).map(|b| b.body(body)).send()
                }
            } else {
                quote! {
                    let Self { call, path, mut body } = self;
                    #fill
                    let check = crate::validate::body(&body, &[]);
                    <Self as crate::call::ClientToken<'a>>::send(call.check(check), path, body)
                }
            };
            let build_doc = if tokens.is_empty() {
                " The request body as it will be sent, with the checks applied.".to_owned()
            } else {
                let names: Vec<String> = tokens.iter().map(|t| format!("`{t}`")).collect();
                format!(
                    " The request body as it will be sent: client tokens ({}) filled in where \
                     unset, and the checks applied. Sending the built body again (with \
                     `request`) sends the same tokens.",
                    names.join(", ")
                )
            };
            let extra = quote! {
                /// Sets the whole request body, replacing what the setters
                /// set so far.
                pub fn request(mut self, body: #ty) -> Self {
                    self.body = body;
                    self
                }

                #[doc = #build_doc]
                pub fn build(self) -> Result<#ty, Error> {
                    let Self { call, mut body, .. } = self;
                    #fill
                    call.check(crate::validate::body(&body, &[])).into_checked()?;
                    Ok(body)
                }
            };
            let path = if tokens.is_empty() {
                quote!()
            } else {
                quote!(pub(crate) path: Vec<String>,)
            };
            (
                quote!(pub(crate) call: Call<'a, #raw>, #path pub(crate) body: #ty,),
                quote!(#(#body_setters)* #extra),
                send,
            )
        }
        _ => (
            quote!(pub(crate) call: Call<'a, #raw>,),
            quote!(),
            quote!(self.call.send()),
        ),
    };
    let paging = info
        .page_item
        .as_ref()
        .map(|_| quote!(crate::paginate::listing!(#name, #output);));
    Ok(quote! {
        #docs
        #[derive(Debug, Clone)]
        #[must_use = "a request does nothing until it is sent"]
        pub struct #name<'a> {
            #fields
        }

        impl<'a> #name<'a> {
            #(#setters)*
            #body_setters
            crate::call::settings!();

            /// Sends the request, retrying as [`crate::retry`] describes.
            pub fn send(self) -> impl std::future::Future<Output = Result<#output, Error>> + Send + 'a {
                #send
            }
        }

        impl<'a> crate::call::Request for #name<'a> {
            type Output = #output;
            fn send(self) -> impl std::future::Future<Output = Result<#output, Error>> + Send {
                #name::send(self)
            }
        }

        #paging
    })
}

/// The setter of a query parameter.
fn param_setter(p: &Param) -> TokenStream {
    let docs = docs(&p.doc);
    let setter = &p.setter;
    let name = &p.name;
    match &p.kind {
        ParamKind::Str(limit) => {
            let check = match limit {
                Some(l) => quote!(.check(crate::validate::check_str(&limits::#l, &value, #name))),
                None => quote!(),
            };
            quote! {
                #docs
                pub fn #setter(mut self, value: impl Into<String>) -> Self {
                    let value: String = value.into();
                    self.call = self.call #check .map(|b| b.#setter(value));
                    self
                }
            }
        }
        ParamKind::Int {
            setter_type,
            clamp,
            limit,
        } => {
            let convert = match last_ident(setter_type).as_deref() {
                Some("u32") => quote!(let value = i64::from(value);),
                Some("u64") => quote!(let value = i64::try_from(value).unwrap_or(i64::MAX);),
                _ => quote!(),
            };
            let (adjust, check) = match (clamp, limit) {
                (true, Some(l)) => (
                    quote!(let value = crate::validate::clamp(&limits::#l, value, #name);),
                    quote!(),
                ),
                (false, Some(l)) => (
                    quote!(),
                    quote!(.check(crate::validate::check_int(&limits::#l, value, #name))),
                ),
                _ => (quote!(), quote!()),
            };
            quote! {
                #docs
                pub fn #setter(mut self, value: #setter_type) -> Self {
                    #convert
                    #adjust
                    self.call = self.call #check .map(|b| b.#setter(value));
                    self
                }
            }
        }
        ParamKind::CommaList(item) => quote! {
            #docs
            ///
            /// An empty list sets no filter.
            pub fn #setter<I, S>(mut self, values: I) -> Self
            where
                I: IntoIterator<Item = S>,
                S: Into<#item>,
            {
                if let Some(joined) = crate::validate::comma_list(values.into_iter().map(Into::into)) {
                    self.call = self.call.map(|b| b.#setter(joined));
                }
                self
            }
        },
        ParamKind::Plain(ty) => quote! {
            #docs
            pub fn #setter(mut self, value: #ty) -> Self {
                self.call = self.call.map(|b| b.#setter(value));
                self
            }
        },
    }
}

/// The setter(s) of a request-body property.
fn field_setter(f: &Field) -> TokenStream {
    let docs = docs(&f.doc);
    let id = &f.ident;
    let plain = id.to_string().trim_start_matches("r#").to_owned();
    match &f.kind {
        FieldKind::OptString => quote! {
            #docs
            pub fn #id(mut self, value: impl Into<String>) -> Self {
                self.body.#id = Some(value.into());
                self
            }
        },
        FieldKind::Opt(t) => quote! {
            #docs
            pub fn #id(mut self, value: #t) -> Self {
                self.body.#id = Some(value);
                self
            }
        },
        FieldKind::Objects => {
            let one = singular(&plain);
            let one_doc = format!(
                " Adds one entry to `{plain}`: any value that serializes to a JSON object \
                 (see [`{plain}`](Self::{plain}))."
            );
            let each_doc = format!(" Adds each entry, as [`{one}`](Self::{one}) does.");
            quote! {
                #[doc = #one_doc]
                pub fn #one(mut self, value: impl serde::Serialize) -> Self {
                    let field = crate::validate::Index(#plain, self.body.#id.len());
                    // In the body object, in the list: two levels above.
                    match crate::validate::json_object(&value, &field, 2) {
                        Ok(object) => self.body.#id.push(object),
                        Err(e) => self.call = self.call.check(Err(e)),
                    }
                    self
                }

                #docs
                #[doc = ""]
                #[doc = #each_doc]
                pub fn #id<T: serde::Serialize>(self, values: impl IntoIterator<Item = T>) -> Self {
                    values.into_iter().fold(self, Self::#one)
                }
            }
        }
        FieldKind::Vec(t) => {
            let one = singular(&plain);
            let one_doc = format!(" Adds one entry to `{plain}`.");
            quote! {
                #[doc = #one_doc]
                pub fn #one(mut self, value: impl Into<#t>) -> Self {
                    self.body.#id.push(value.into());
                    self
                }

                #docs
                pub fn #id<T: Into<#t>>(mut self, values: impl IntoIterator<Item = T>) -> Self {
                    self.body.#id.extend(values.into_iter().map(Into::into));
                    self
                }
            }
        }
        FieldKind::StringMap => quote! {
            #docs
            ///
            /// Sets one entry; call again for more.
            pub fn #id(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
                self.body.#id.insert(name.into(), value.into());
                self
            }
        },
        FieldKind::Plain(t) => quote! {
            #docs
            pub fn #id(mut self, value: #t) -> Self {
                self.body.#id = value;
                self
            }
        },
    }
}

/// The name of the setter that adds one entry to a list field: `tasks`
/// gives `task`; a name that does not end in `s` gives `push_<name>`.
fn singular(plural: &str) -> proc_macro2::Ident {
    match plural.strip_suffix('s').filter(|s| !s.is_empty()) {
        Some(one) => ident(one),
        None => format_ident!("push_{plural}"),
    }
}
