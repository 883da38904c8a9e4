//! The request limits of the document: what `limits::collect` finds, and
//! what `spec::generation_view` hides from progenitor.

mod common;

use common::{fixture, real_doc};
use serde_json::Value;
use xtask::limits::{self, Limit};
use xtask::spec;

fn find<'a>(all: &'a [Limit], field: &str) -> &'a Limit {
    all.iter()
        .find(|l| l.field == field)
        .unwrap_or_else(|| panic!("no limit for {field}"))
}

#[test]
fn collects_the_documented_limits() {
    let all = limits::collect(&real_doc());

    let name = find(&all, "Metadata.name");
    assert_eq!(name.constant, "METADATA_NAME");
    assert_eq!(name.max_length, Some(49));
    assert_eq!(name.pattern.as_deref(), Some("^[a-z0-9-]+$"));

    let disk = find(&all, "JobRuntime.diskPercent");
    assert_eq!((disk.minimum, disk.maximum), (Some(10), Some(95)));

    let timeout = find(&all, "TriggerConfiguration.timeout");
    assert_eq!(timeout.maximum, Some(900));

    for (field, max) in [
        ("ListJobs.limit", 200),
        ("ListJobExecutionTasks.limit", 200),
        ("ListJobExecutions.limit", 100),
    ] {
        let limit = find(&all, field);
        assert_eq!(
            (limit.minimum, limit.maximum),
            (Some(1), Some(max)),
            "{field}"
        );
    }
}

#[test]
fn unconstrained_fields_have_no_limit() {
    let all = limits::collect(&real_doc());
    assert!(all.iter().all(|l| l.field != "Env.name"));
    assert!(all.iter().all(|l| l.field != "GetJob.show_secrets"));
    // Nor the fields Blaxel states no limit for.
    for field in [
        "TriggerConfiguration.schedule",
        "JobRuntime.memory",
        "Port.target",
    ] {
        assert!(all.iter().all(|l| l.field != field), "{field}");
    }
}

fn at<'a>(doc: &'a Value, pointer: &str) -> &'a Value {
    doc.pointer(pointer)
        .unwrap_or_else(|| panic!("{pointer} is missing"))
}

#[test]
fn generation_view_removes_keywords_but_not_properties_named_like_them() {
    let doc = fixture("codegen/keyword-names.yaml");
    let view = spec::generation_view(&doc);
    let rule = "/components/schemas/Rule/properties";

    // The properties named `pattern` and `maximum` survive...
    let props = at(&view, rule).as_object().unwrap();
    assert_eq!(
        props.keys().map(String::as_str).collect::<Vec<_>>(),
        ["maximum", "pattern", "tags"]
    );
    assert_eq!(at(&view, &format!("{rule}/pattern/type")), "string");
    assert_eq!(at(&view, &format!("{rule}/maximum/type")), "integer");
    // ...and lose their keywords.
    for kw in ["maxLength", "pattern"] {
        assert!(
            view.pointer(&format!("{rule}/pattern/{kw}")).is_none(),
            "{kw}"
        );
    }
    for kw in ["minimum", "maximum"] {
        assert!(
            view.pointer(&format!("{rule}/maximum/{kw}")).is_none(),
            "{kw}"
        );
    }
    assert!(
        view.pointer(&format!("{rule}/tags/items/minLength"))
            .is_none()
    );

    // Parameter and response schemas lose theirs too.
    let op = "/paths/~1rules/get";
    assert!(
        view.pointer(&format!("{op}/parameters/0/schema/maximum"))
            .is_none()
    );
    assert!(
        view.pointer(&format!("{op}/parameters/0/schema/minimum"))
            .is_none()
    );
    let response = format!("{op}/responses/200/content/application~1json/schema");
    assert!(view.pointer(&format!("{response}/maxItems")).is_none());

    // The document itself keeps everything.
    assert_eq!(at(&doc, &format!("{rule}/maximum/maximum")), 9);
    assert_eq!(at(&doc, &format!("{op}/parameters/0/schema/maximum")), 50);
}

#[test]
fn generation_view_of_the_real_document_has_no_limits() {
    let view = spec::generation_view(&real_doc());
    assert!(limits::collect(&view).is_empty());
    let name = at(&view, "/components/schemas/Metadata/properties/name");
    assert!(name.get("maxLength").is_none() && name.get("pattern").is_none());
    assert_eq!(name["type"], "string");
}
