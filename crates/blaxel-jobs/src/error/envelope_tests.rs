//! Error bodies as Blaxel documents them and as servers really send them:
//! the platform envelope with `origin: "platform"` and a `timestamp`, the
//! older `origin: "gateway"`, the API's own `Error` object, and bodies whose
//! fields have unexpected types. Parsing keeps every field it can read.

use crate::{ApiError, Client};
use blaxel_jobs_emulator::Emulator;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};

fn parse(status: u16, headers: &[(&'static str, &'static str)], body: &Value) -> ApiError {
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        map.insert(*k, HeaderValue::from_static(v));
    }
    ApiError::from_parts(
        StatusCode::from_u16(status).unwrap(),
        &map,
        body.to_string().into(),
    )
}

/// The documented envelope (docs "Error codes"), in our own values.
fn documented() -> Value {
    json!({"error": {
        "action": "Send a valid API key in Authorization.",
        "code": "AUTHENTICATION_FAILED",
        "do_not": "Do not retry with the same key.",
        "docs_url": "https://docs.blaxel.ai/errors",
        "message": "the API key is not valid",
        "origin": "platform",
        "retryable": false,
        "status": 401,
        "timestamp": "2026-11-30T10:00:00+00:00"
    }})
}

#[test]
fn the_documented_platform_envelope_is_parsed_and_recognized() {
    let e = parse(401, &[], &documented());
    assert_eq!(e.code().map(|c| c.as_str()), Some("AUTHENTICATION_FAILED"));
    assert_eq!(e.message(), Some("the API key is not valid"));
    assert_eq!(e.retryable(), Some(false));
    assert_eq!(e.origin(), Some("platform"));
    assert!(e.is_platform(), "origin platform, even without the header");
}

#[test]
fn the_gateway_origin_and_the_header_alone_still_parse() {
    let mut body = documented();
    body["error"]["origin"] = json!("gateway");
    let e = parse(401, &[("x-blaxel-source", "platform")], &body);
    assert_eq!(e.code().map(|c| c.as_str()), Some("AUTHENTICATION_FAILED"));
    assert_eq!(e.origin(), Some("gateway"));
    assert!(e.is_platform(), "the X-Blaxel-Source header says platform");
    let e = parse(401, &[], &body);
    assert!(
        !e.is_platform(),
        "neither the origin nor the header says so"
    );
}

#[test]
fn the_api_error_object_is_not_a_platform_error() {
    let e = parse(
        404,
        &[],
        &json!({"code": 404, "error": "not_found", "message": "job x not found"}),
    );
    assert_eq!(e.code().map(|c| c.as_str()), Some("not_found"));
    assert_eq!(e.message(), Some("job x not found"));
    assert_eq!(e.origin(), None);
    assert!(!e.is_platform());
}

#[test]
fn a_field_of_an_unexpected_type_loses_only_itself() {
    // Each of these used to make the whole body unreadable.
    let odd: [(&str, Value); 6] = [
        ("timestamp", json!(1_764_496_800)),
        ("status", json!("401")),
        ("retryable", json!("no")),
        ("origin", json!(7)),
        ("docs_url", json!(null)),
        ("do_not", json!(["a", "b"])),
    ];
    for (field, value) in odd {
        let mut body = documented();
        body["error"][field] = value.clone();
        let e = parse(401, &[], &body);
        assert_eq!(
            e.code().map(|c| c.as_str()),
            Some("AUTHENTICATION_FAILED"),
            "{field}: {value}"
        );
        assert_eq!(
            e.message(),
            Some("the API key is not valid"),
            "{field}: {value}"
        );
        if field != "retryable" {
            assert_eq!(e.retryable(), Some(false), "{field}: {value}");
        }
        if field != "origin" {
            assert!(e.is_platform(), "{field}: {value}");
        }
    }
    // The API's object with a numeric message keeps its code.
    let e = parse(400, &[], &json!({"error": "bad_request", "message": 5}));
    // Codes match without regard to case, as every open enum's values do:
    // the API's `bad_request` is the platform's `BAD_REQUEST`.
    assert_eq!(
        e.code(),
        Some(&crate::types::ErrorCode::BadRequest),
        "{:?}",
        e.code()
    );
    assert_eq!(e.message(), None);
}

#[test]
fn bodies_that_are_not_error_objects_keep_the_raw_body() {
    for body in [
        "",
        "<html>502 Bad Gateway</html>",
        "[1, 2]",
        "\"error\"",
        "{\"error\": 5}",
        "{\"error\": {\"code\": {\"nested\": true}}}",
        "{\"error\": {",
    ] {
        let e = ApiError::from_parts(StatusCode::BAD_GATEWAY, &HeaderMap::new(), body.into());
        assert_eq!(e.code(), None, "{body}");
        assert_eq!(e.body().as_ref(), body.as_bytes(), "{body}");
        assert!(!e.is_platform(), "{body}");
    }
}

#[tokio::test]
async fn the_emulator_sends_the_documented_envelope_and_the_sdk_reads_it() {
    let emu = Emulator::start().await.unwrap();
    let client = Client::builder()
        .ignore_environment()
        .base_url(emu.base_url())
        .api_key("not-the-key")
        .workspace("ws")
        .build()
        .unwrap();
    let err = client.job("any").get().send().await.unwrap_err();
    assert!(err.is_unauthorized(), "{err}");
    let api = err.api().expect("an API error");
    assert_eq!(api.origin(), Some("platform"));
    assert_eq!(api.blaxel_source(), Some("platform"));
    assert!(api.is_platform());
    assert_eq!(
        api.code().map(|c| c.as_str()),
        Some("AUTHENTICATION_FAILED")
    );
    let body: Value = serde_json::from_slice(api.body()).unwrap();
    let ts = body["error"]["timestamp"].as_str().expect("a timestamp");
    assert!(
        ts.starts_with("20") && ts.contains('T'),
        "an ISO 8601 timestamp: {ts}"
    );
    assert_eq!(body["error"]["status"], 401);
}
