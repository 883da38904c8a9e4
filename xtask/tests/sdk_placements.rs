//! `x-blaxel-sdk-handles`: an operation offered on handles other than its
//! path's, with parameters bound to the handle's ids and fixed values; and
//! the clear errors of placements that cannot be generated.

mod common;

use common::{fixture, real_doc};
use serde_json::{Value, json};
use xtask::codegen;

fn surface(doc: &Value) -> String {
    let generated = codegen::generate(doc, "minimal.yaml").expect("generates");
    generated
        .files
        .into_iter()
        .find(|f| f.path == std::path::Path::new(xtask::sdk::SDK_OUT))
        .expect("the SDK surface is generated")
        .contents
}

/// The minimal fixture with a search operation whose path is not the
/// things', placed on one thing's handle by `placements`.
fn doc_with(placements: Value) -> Value {
    let mut doc = fixture("codegen/minimal.yaml");
    let query = |name: &str, schema: Value| {
        json!({"name": name, "in": "query", "required": false,
               "description": format!("The {name}."), "schema": schema})
    };
    doc["paths"]["/search/results"] = json!({
        "get": {
            "operationId": "SearchThings",
            "x-blaxel-retry": "idempotent",
            "x-blaxel-sdk-handles": placements,
            "summary": "Search",
            "parameters": [
                query("thingId", json!({"type": "string"})),
                query("kind", json!({"type": "string"})),
                query("limit", json!({"type": "integer"})),
                query("exact", json!({"type": "boolean"})),
            ],
            "responses": {
                "200": {"description": "Found.", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Thing"}}}},
                "400": {"description": "Bad request.", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Error"}}}},
            },
        }
    });
    doc
}

#[test]
fn an_operation_is_placed_on_another_handle_with_bound_and_set_parameters() {
    let text = surface(&doc_with(json!([{
        "handle": "/things/{id}",
        "method": "search",
        "bind": {"thingId": "id"},
        "set": {"kind": "bolt", "limit": 5, "exact": true},
    }])));
    // The handle of one thing has the method; it fills the bound
    // parameter from the handle and sets the others, with the SDK's
    // own setters (so their checks apply).
    let method = text
        .split("pub fn search(&self) -> SearchThings<'a>")
        .nth(1)
        .expect("IdRef has `search`");
    let body = &method[..method.find("\n    }").expect("the method ends")];
    for fragment in [
        ".thing_id(self.id.clone())",
        r#".kind("bolt")"#,
        ".limit(5)",
        ".exact(true)",
    ] {
        assert!(body.contains(fragment), "`{fragment}` missing in {body}");
    }
    // Its documentation says what the handle fills in.
    assert!(text.contains("On this handle: `thingId` is this handle's `id`"));
    // The operation keeps its own path's place too: `client.search().results()`.
    assert!(text.contains("pub fn results(&self) -> SearchThings<'a>"));
}

#[test]
fn the_document_places_logs_on_jobs_and_executions() {
    let text = surface(&real_doc());
    for (handle, binds) in [
        (
            "impl<'a> JobRef<'a>",
            &[".workload_ids(self.job_id.clone())"][..],
        ),
        (
            "impl<'a> ExecutionRef<'a>",
            &[
                ".workload_ids(self.job_id.clone())",
                ".execution_id(self.execution_id.clone())",
            ][..],
        ),
    ] {
        let block = text
            .split(handle)
            .skip(1)
            .filter_map(|rest| rest.split("pub fn logs(&self) -> ListLogs<'a>").nth(1))
            .next()
            .unwrap_or_else(|| panic!("{handle} has no `logs`"));
        let body = &block[..block.find("\n    }").expect("the method ends")];
        for b in binds.iter().chain(&[r#".resource_type("jobs")"#]) {
            assert!(body.contains(b), "{handle}: `{b}` missing in {body}");
        }
    }
    assert!(text.contains("pub fn observability(&self) -> Observability<'_>"));
}

/// Generation fails with one problem that has every fragment.
fn fails_with(placements: Value, fragments: &[&str]) {
    let problems =
        codegen::generate(&doc_with(placements.clone()), "minimal.yaml").expect_err("fails");
    assert!(
        problems
            .iter()
            .any(|p| fragments.iter().all(|f| p.contains(f))),
        "{placements}: {fragments:?} not in {problems:?}"
    );
}

#[test]
fn bad_placements_fail_the_generation_saying_why() {
    let place = |extra: Value| {
        let mut p = json!({"handle": "/things/{id}", "method": "search"});
        for (k, v) in extra.as_object().unwrap() {
            p[k] = v.clone();
        }
        json!([p])
    };
    fails_with(json!({"handle": "/"}), &["SearchThings", "must be a list"]);
    fails_with(
        json!([{"handle": "/things/{nope}", "method": "search"}]),
        &[
            "`x-blaxel-sdk-handles`[0]",
            "/things/{nope} is not the path of one of the SDK's handles",
            "/things/{id}",
        ],
    );
    // A collection with one operation is a method, not a handle.
    fails_with(
        json!([{"handle": "/things", "method": "search"}]),
        &["/things is not the path of one of the SDK's handles"],
    );
    fails_with(
        json!([{"handle": "/things/{id}", "method": "not a name"}]),
        &["`method` must be a Rust method name"],
    );
    fails_with(
        json!([{"handle": "/things/{id}"}]),
        &["`method` must be a Rust method name, not nothing"],
    );
    fails_with(
        json!([{"handle": "/things/{id}", "method": "search", "where": 1}]),
        &["`where` is not a member of a placement"],
    );
    fails_with(
        place(json!({"bind": {"colour": "id"}})),
        &[
            "`bind` names `colour`",
            "not a parameter of SearchThings",
            "thingId",
        ],
    );
    fails_with(
        place(json!({"bind": {"thingId": "jobId"}})),
        &["`bind` takes `thingId` from \"jobId\"", "it holds: id"],
    );
    fails_with(
        place(json!({"bind": {"limit": "id"}})),
        &["`bind` names `limit`, which is not a string parameter"],
    );
    fails_with(
        place(json!({"bind": ["thingId"]})),
        &["`bind` must be a map"],
    );
    fails_with(
        place(json!({"set": {"colour": "red"}})),
        &[
            "`set` names `colour`",
            "not a query parameter of SearchThings",
        ],
    );
    fails_with(
        place(json!({"set": {"limit": "five"}})),
        &["`set` gives `limit` the value \"five\""],
    );
    fails_with(
        place(json!({"set": {"exact": 1}})),
        &["`set` gives `exact` the value 1"],
    );
    fails_with(
        place(json!({"bind": {"thingId": "id"}, "set": {"thingId": "x"}})),
        &["`thingId` is both bound and set"],
    );
    // The handle already has a method of that name.
    fails_with(
        json!([{"handle": "/things/{id}", "method": "get"}]),
        &["the handle /things/{id} would have two methods named `get`"],
    );
    // An operation with path parameters must have them all bound.
    let mut doc = fixture("codegen/minimal.yaml");
    doc["paths"]["/things/{id}"]["get"]["x-blaxel-sdk-handles"] =
        json!([{"handle": "/", "method": "thing_by_id"}]);
    let problems = codegen::generate(&doc, "minimal.yaml").expect_err("fails");
    assert!(
        problems
            .iter()
            .any(|p| p.contains("the path parameter `id` of GetThing must be bound")),
        "{problems:?}"
    );
    // An operation with a body cannot be placed.
    let mut doc = fixture("codegen/minimal.yaml");
    doc["paths"]["/things"]["post"]["x-blaxel-sdk-handles"] =
        json!([{"handle": "/things/{id}", "method": "copy"}]);
    let problems = codegen::generate(&doc, "minimal.yaml").expect_err("fails");
    assert!(
        problems
            .iter()
            .any(|p| p.contains("an operation with a request body cannot be placed")),
        "{problems:?}"
    );
}
