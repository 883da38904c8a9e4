//! `cargo xtask spec-diff`: the comparison, the deviations list and the binary.

mod common;

use common::{fixture, fixture_path};
use xtask::spec_diff::deviations::{self, Deviation};
use xtask::spec_diff::{self, Area, Difference};

fn keys(diffs: &[Difference]) -> Vec<&str> {
    diffs.iter().map(|d| d.key.as_str()).collect()
}

fn fixture_diff() -> Vec<Difference> {
    spec_diff::diff(
        &fixture("spec_diff/upstream.yaml"),
        &fixture("spec_diff/ours.yaml"),
    )
}

#[test]
fn reports_exactly_the_fixture_differences() {
    // Anything more would mean that an allOf, an inline enum against a named
    // one, a parameter reference or a description counted as a difference.
    assert_eq!(
        keys(&fixture_diff()),
        [
            "operation POST /widgets: error statuses, bodies or headers only in ours",
            "operation DELETE /widgets/{id} only upstream",
            "schema Color: enum value blue only upstream",
            "schema Color: enum value yellow only in ours",
            "schema Error only in ours",
            "schema Widget: property size only in ours",
            "schema WidgetSort only in ours",
        ]
    );
}

#[test]
fn reports_an_added_field() {
    let diffs = fixture_diff();
    let d = diffs
        .iter()
        .find(|d| d.key == "schema Widget: property size only in ours")
        .expect("the added field is reported");
    assert_eq!(d.area, Area::Field);
}

#[test]
fn reports_a_removed_operation() {
    let diffs = fixture_diff();
    let d = diffs
        .iter()
        .find(|d| d.key == "operation DELETE /widgets/{id} only upstream")
        .expect("the removed operation is reported");
    assert_eq!(d.area, Area::Operation);
    assert_eq!(d.detail.as_deref(), Some("operationId DeleteWidget"));
}

#[test]
fn reports_enum_values_added_and_removed() {
    let diffs = fixture_diff();
    let enum_keys: Vec<&str> = diffs
        .iter()
        .filter(|d| d.area == Area::EnumValue)
        .map(|d| d.key.as_str())
        .collect();
    assert_eq!(
        enum_keys,
        [
            "schema Color: enum value blue only upstream",
            "schema Color: enum value yellow only in ours",
        ]
    );
}

#[test]
fn error_class_lists_statuses_and_bodies() {
    let diffs = fixture_diff();
    let d = diffs
        .iter()
        .find(|d| d.area == Area::ErrorResponse)
        .expect("the error class is reported");
    assert_eq!(
        d.detail.as_deref(),
        Some("statuses only in ours: 401; bodies only in ours: 400")
    );
}

#[test]
fn identical_documents_have_no_differences() {
    for name in ["spec_diff/upstream.yaml", "spec_diff/ours.yaml"] {
        let doc = fixture(name);
        assert_eq!(
            keys(&spec_diff::diff(&doc, &doc)),
            Vec::<&str>::new(),
            "{name}"
        );
    }
    let real = common::real_doc();
    assert!(spec_diff::diff(&real, &real).is_empty());
}

#[test]
fn changed_types_keywords_and_required_have_keys() {
    let up = xtask::spec::parse(
        r#"
openapi: 3.0.3
info: {title: t, version: "1"}
paths: {}
components:
  schemas:
    Limits:
      type: object
      required: [a]
      properties:
        a: {type: string, maxLength: 10}
        b: {type: integer, maximum: 200}
        c: {type: string, readOnly: true}
"#,
    )
    .unwrap();
    let ours = xtask::spec::parse(
        r#"
openapi: 3.0.3
info: {title: t, version: "1"}
paths: {}
components:
  schemas:
    Limits:
      type: object
      required: [b]
      properties:
        a: {type: integer}
        b: {type: integer, maximum: 100, pattern: "^[0-9]+$"}
        c: {type: string}
"#,
    )
    .unwrap();
    // Schemas no operation reaches are not compared at all...
    assert!(spec_diff::diff(&up, &ours).is_empty());
    // ...so make an operation reach them on both sides.
    let reach = |mut doc: serde_json::Value| {
        doc["paths"] = serde_json::json!({"/limits": {"get": {
            "tags": ["jobs"], "operationId": "GetLimits",
            "responses": {"200": {"description": "ok", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Limits"}}}}}}}});
        doc
    };
    let diffs = spec_diff::diff(&reach(up), &reach(ours));
    assert_eq!(
        keys(&diffs),
        [
            "schema Limits: property a: type changed (upstream string, ours integer)",
            "schema Limits: property b: maximum changed (upstream 200, ours 100)",
            "schema Limits: property b: pattern `^[0-9]+$` only in ours",
            "schema Limits: property c: readOnly only upstream",
            "schema Limits: required a only upstream",
            "schema Limits: required b only in ours",
        ]
    );
}

fn all_fixture_deviations() -> Vec<Deviation> {
    deviations::load(&fixture_path("spec_diff/deviations.yaml")).unwrap()
}

#[test]
fn known_deviations_suppress() {
    let report = deviations::classify(fixture_diff(), &all_fixture_deviations());
    assert!(report.is_clean(), "{:?}", report);
    assert_eq!(report.known().count(), 7);
    // The wildcard entry covers the error class.
    let error_class = report
        .differences
        .iter()
        .find(|c| c.difference.area == Area::ErrorResponse)
        .unwrap();
    assert_eq!(
        error_class.known_as.as_deref(),
        Some("operation *: error statuses, bodies or headers only in ours")
    );
}

#[test]
fn an_unlisted_difference_is_unknown() {
    let mut known = all_fixture_deviations();
    known.retain(|d| d.key != "schema Widget: property size only in ours");
    let report = deviations::classify(fixture_diff(), &known);
    assert!(!report.is_clean());
    let unknown: Vec<&str> = report.unknown().map(|d| d.key.as_str()).collect();
    assert_eq!(unknown, ["schema Widget: property size only in ours"]);
    let text = report.render(&names());
    assert!(
        text.contains("UNKNOWN  schema Widget: property size only in ours"),
        "{text}"
    );
    assert!(text.contains("cargo xtask codegen"), "{text}");
}

#[test]
fn stale_deviations_fail() {
    let mut known = all_fixture_deviations();
    known.push(Deviation {
        key: "schema Widget: property weight only in ours".into(),
        why: "It was removed since.".into(),
    });
    let report = deviations::classify(fixture_diff(), &known);
    assert!(!report.is_clean());
    assert_eq!(report.unknown().count(), 0);
    let stale: Vec<&str> = report.stale.iter().map(|d| d.key.as_str()).collect();
    assert_eq!(stale, ["schema Widget: property weight only in ours"]);
    let text = report.render(&names());
    assert!(
        text.contains("STALE    schema Widget: property weight only in ours"),
        "{text}"
    );
    assert!(text.contains("remove them"), "{text}");
}

fn names() -> deviations::Names {
    deviations::Names {
        upstream: "upstream.yaml".into(),
        ours: "ours.yaml".into(),
        deviations: "deviations.yaml".into(),
    }
}

#[test]
fn wildcards_match_runs_of_characters() {
    use deviations::wildcard_match as m;
    assert!(m("operation *: x", "operation GET /jobs: x"));
    assert!(m("a*b*c", "abc"));
    assert!(m("exact", "exact"));
    assert!(!m("exact", "exact plus"));
    assert!(!m("operation *: x", "operation GET /jobs: y"));
    assert!(!m("a*aa", "aa"));
}

#[test]
fn malformed_deviation_files_are_rejected() {
    let unknown_field = deviations::parse("- key: a\n  why: b\n  note: c\n").unwrap_err();
    assert!(
        unknown_field.contains("unknown field `note`"),
        "{unknown_field}"
    );
    let twice = deviations::parse("- {key: a, why: b}\n- {key: a, why: c}\n").unwrap_err();
    assert!(twice.contains("listed twice"), "{twice}");
    let no_why = deviations::parse("- key: a\n").unwrap_err();
    assert!(
        no_why.contains("`why` must be a non-empty string"),
        "{no_why}"
    );
    assert_eq!(deviations::parse("[]\n").unwrap(), Vec::new());
}

#[test]
fn the_workspace_deviations_file_parses() {
    let path = xtask::workspace_root().join(spec_diff::DEVIATIONS_PATH);
    let list = deviations::load(&path).unwrap();
    assert!(!list.is_empty());
    for d in &list {
        assert!(!d.why.is_empty(), "{}", d.key);
    }
}

fn run_binary(deviations_file: &str) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("spec-diff")
        .arg(fixture_path("spec_diff/upstream.yaml"))
        .arg("--ours")
        .arg(fixture_path("spec_diff/ours.yaml"))
        .arg("--deviations")
        .arg(fixture_path(deviations_file))
        .output()
        .expect("run xtask")
}

#[test]
fn binary_exit_code_follows_drift() {
    let clean = run_binary("spec_diff/deviations.yaml");
    let stdout = String::from_utf8_lossy(&clean.stdout);
    assert!(clean.status.success(), "{stdout}");
    assert!(
        stdout.contains("7 known deviation(s), 0 unknown"),
        "{stdout}"
    );

    let drift = run_binary("spec_diff/no-deviations.yaml");
    let stdout = String::from_utf8_lossy(&drift.stdout);
    let stderr = String::from_utf8_lossy(&drift.stderr);
    assert_eq!(drift.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains("UNKNOWN  operation DELETE /widgets/{id} only upstream"),
        "{stdout}"
    );
    assert!(stderr.contains("7 unknown difference(s)"), "{stderr}");
}

#[test]
fn inline_enum_against_named_enum_compares_values() {
    let doc = |kind: &str, extra: &str| {
        xtask::spec::parse(&format!(
            r##"
openapi: 3.0.3
info: {{title: t, version: "1"}}
paths:
  /things:
    get:
      tags: [jobs]
      operationId: GetThing
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {{$ref: "#/components/schemas/Thing"}}
components:
  schemas:
    Thing:
      type: object
      properties:
        kind: {kind}
{extra}"##
        ))
        .unwrap()
    };
    let upstream = doc("{type: string, enum: [a, b, c]}", "");
    let same = doc(
        "{$ref: \"#/components/schemas/Kind\"}",
        "    Kind: {type: string, x-blaxel-open-enum: true, enum: [c, b, a]}\n",
    );
    assert_eq!(
        keys(&spec_diff::diff(&upstream, &same)),
        ["schema Kind only in ours"]
    );
    let fewer = doc(
        "{$ref: \"#/components/schemas/Kind\"}",
        "    Kind: {type: string, enum: [a, b]}\n",
    );
    assert_eq!(
        keys(&spec_diff::diff(&upstream, &fewer)),
        [
            "schema Kind only in ours",
            "schema Thing: property kind: enum value c only upstream",
        ]
    );
    let retyped = doc(
        "{$ref: \"#/components/schemas/Kind\"}",
        "    Kind: {type: integer, enum: [1, 2]}\n",
    );
    assert_eq!(
        keys(&spec_diff::diff(&upstream, &retyped)),
        [
            "schema Kind only in ours",
            "schema Thing: property kind: type changed (upstream string, ours Kind)",
        ]
    );
}

/// A document with `GET /jobs` (tagged `tag`) whose 200 and 500 responses
/// carry the given `headers:` blocks, and `POST /jobs/{id}/pause` tagged
/// `other`.
fn jobs_doc(tag: &str, ok_headers: &str, error_headers: &str, pause: bool) -> serde_json::Value {
    let pause = if pause {
        r#"
  /jobs/{id}/pause:
    post:
      tags: [other]
      operationId: PauseJob
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        "200": {description: ok}"#
    } else {
        ""
    };
    xtask::spec::parse(&format!(
        r#"
openapi: 3.0.3
info: {{title: t, version: "1"}}
paths:
  /jobs:
    get:
      tags: [{tag}]
      operationId: ListJobs
      responses:
        "200":
          description: ok
{ok_headers}
        "500":
          description: failed
{error_headers}{pause}
"#
    ))
    .unwrap()
}

const REQUEST_ID: &str = "          headers:
            X-Request-Id: {schema: {type: string}}";
const REQUEST_ID_INT: &str = "          headers:
            x-request-id: {required: true, schema: {type: integer}}";
const RETRY_AFTER: &str = "          headers:
            Retry-After: {schema: {type: string}}";

#[test]
fn response_headers_are_compared() {
    let plain = jobs_doc("jobs", "", "", false);
    let with_id = jobs_doc("jobs", REQUEST_ID, "", false);
    assert_eq!(
        keys(&spec_diff::diff(&with_id, &plain)),
        ["operation GET /jobs: response 200 header x-request-id only upstream"]
    );
    assert_eq!(
        keys(&spec_diff::diff(&plain, &with_id)),
        ["operation GET /jobs: response 200 header x-request-id only in ours"]
    );
    let diffs = spec_diff::diff(&with_id, &jobs_doc("jobs", REQUEST_ID_INT, "", false));
    assert_eq!(
        keys(&diffs),
        [
            "operation GET /jobs: response 200 header x-request-id: required only in ours",
            "operation GET /jobs: response 200 header x-request-id: type changed (upstream string, ours integer)",
        ]
    );
    assert!(
        diffs
            .iter()
            .all(|d| d.area == Area::Header || d.area == Area::Type)
    );
    // Same header, other case: no difference.
    assert!(spec_diff::diff(&with_id, &with_id).is_empty());
}

#[test]
fn error_response_headers_are_compared() {
    let plain = jobs_doc("jobs", "", "", false);
    let retry = jobs_doc("jobs", "", RETRY_AFTER, false);
    assert_eq!(
        keys(&spec_diff::diff(&retry, &plain)),
        ["operation GET /jobs: error response 500 header retry-after only upstream"]
    );
    let diffs = spec_diff::diff(&plain, &retry);
    assert_eq!(
        keys(&diffs),
        ["operation GET /jobs: error statuses, bodies or headers only in ours"]
    );
    assert_eq!(
        diffs[0].detail.as_deref(),
        Some("headers only in ours: error response 500 header retry-after")
    );
}

#[test]
fn operations_under_jobs_are_compared_whatever_their_tag() {
    let without = jobs_doc("jobs", "", "", false);
    let with_pause = jobs_doc("jobs", "", "", true);
    assert_eq!(
        keys(&spec_diff::diff(&with_pause, &without)),
        ["operation POST /jobs/{id}/pause only upstream"]
    );
    // Even GET /jobs itself under another tag.
    let retagged = jobs_doc("other", "", "", false);
    assert!(spec_diff::diff(&without, &retagged).is_empty());
    let ops = spec_diff::compared_operations(&with_pause);
    assert_eq!(ops.len(), 2);
}

#[test]
fn the_report_lists_what_is_not_compared() {
    let report = deviations::classify(Vec::new(), &[]);
    let names = deviations::Names {
        upstream: "u".into(),
        ours: "o".into(),
        deviations: "d".into(),
    };
    let text = report.render(&names);
    assert!(text.contains("or under `/jobs`"), "{text}");
    for item in spec_diff::NOT_COMPARED {
        assert!(text.contains(item), "{item} missing from {text}");
    }
    assert!(
        !text.contains("response headers"),
        "headers are compared: {text}"
    );
}
