//! Error parsing: every body shape the API and its gateway send, request
//! ids, Retry-After, predicates, one-line Display, and decode errors.

mod common;

use blaxel_jobs::{Error, RetryConfig};
use blaxel_jobs_httpmock::MockServerExt;
use common::{JOB, api_error, builder_for, job, job_value};
use httpmock::MockServer;
use serde_json::json;
use std::error::Error as _;
use std::time::Duration;

/// A client that does not retry, so each case is one request.
fn once(server: &MockServer) -> blaxel_jobs::Client {
    builder_for(&server.base_url())
        .retry(RetryConfig::disabled())
        .build()
        .unwrap()
}

/// GET /jobs/{JOB} answered with this status, headers and raw body.
async fn get_with(status: u16, headers: &[(&str, &str)], body: &str) -> Error {
    let server = MockServer::start_async().await;
    let mock = server.mock(|when, then| {
        when.method("GET").path(format!("/jobs/{JOB}"));
        let mut then = then.status(status);
        for (k, v) in headers {
            then = then.header(*k, *v);
        }
        then.body(body);
    });
    let err = once(&server).job(JOB).get().send().await.unwrap_err();
    assert_eq!(mock.calls(), 1);
    err
}

fn assert_one_line(err: &Error) -> String {
    let shown = err.to_string();
    assert!(!shown.contains('\n'), "{shown:?}");
    assert!(!shown.is_empty());
    // `{:#}` adds nothing that `{}` lacks.
    assert_eq!(format!("{err:#}"), shown);
    shown
}

#[tokio::test]
async fn the_api_error_object_is_parsed() {
    let err = get_with(
        404,
        &[
            ("content-type", "application/json"),
            ("x-request-id", "req-7f3a9c"),
        ],
        &api_error(404, "not_found", "Job nightly-report not found").to_string(),
    )
    .await;
    let api = err.api().expect("an API error");
    assert_eq!(api.status().as_u16(), 404);
    assert_eq!(api.code().map(|c| c.as_str()), Some("not_found"));
    assert_eq!(api.message(), Some("Job nightly-report not found"));
    assert_eq!(api.request_id(), Some("req-7f3a9c"));
    assert_eq!(err.request_id(), Some("req-7f3a9c"));
    assert_eq!(api.retry_after(), None);
    assert_eq!(api.blaxel_source(), None);
    assert_eq!(api.attempts(), 1);
    assert!(err.is_not_found());
    assert!(!err.is_retryable());
    let shown = assert_one_line(&err);
    for part in [
        "404",
        "not_found",
        "Job nightly-report not found",
        "req-7f3a9c",
    ] {
        assert!(shown.contains(part), "{part} missing from {shown}");
    }
    assert_eq!(
        shown,
        "API error 404 Not Found [not_found]: Job nightly-report not found (request id req-7f3a9c)"
    );
}

#[tokio::test]
async fn the_platform_envelope_is_parsed() {
    let body = json!({"error": {
        "code": "WORKSPACE_NOT_FOUND",
        "message": "Workspace acme-analytics does not exist",
        "origin": "gateway",
        "retryable": false,
        "action": "Check X-Blaxel-Workspace",
        "docs_url": "https://docs.blaxel.ai/errors#WORKSPACE_NOT_FOUND",
        "status": 404
    }});
    let err = get_with(
        404,
        &[
            ("content-type", "application/json"),
            ("x-blaxel-source", "platform"),
            ("x-blaxel-request-id", "gw-42"),
        ],
        &body.to_string(),
    )
    .await;
    let api = err.api().unwrap();
    assert_eq!(api.code().map(|c| c.as_str()), Some("WORKSPACE_NOT_FOUND"));
    assert_eq!(
        api.message(),
        Some("Workspace acme-analytics does not exist")
    );
    assert_eq!(api.retryable(), Some(false));
    assert_eq!(api.blaxel_source(), Some("platform"));
    assert_eq!(api.request_id(), Some("gw-42"));
    let shown = assert_one_line(&err);
    assert!(
        shown.contains("WORKSPACE_NOT_FOUND") && shown.contains("gw-42"),
        "{shown}"
    );
}

#[tokio::test]
async fn a_platform_error_marked_retryable_is_retryable_whatever_its_status() {
    let body = json!({"error": {"code": "WORKLOAD_UNAVAILABLE", "message": "starting", "retryable": true}});
    let err = get_with(409, &[("x-blaxel-source", "platform")], &body.to_string()).await;
    assert!(err.is_conflict());
    assert_eq!(err.api().unwrap().retryable(), Some(true));
    assert!(err.is_retryable());
}

#[tokio::test]
async fn an_html_502_keeps_its_body_and_shows_a_snippet() {
    let html = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n";
    let err = get_with(502, &[("content-type", "text/html")], html).await;
    let api = err.api().unwrap();
    assert_eq!(api.status().as_u16(), 502);
    assert_eq!(api.code(), None);
    assert_eq!(api.message(), None);
    assert_eq!(api.body_text(), html);
    assert_eq!(&api.body()[..], html.as_bytes());
    assert!(err.is_retryable());
    let shown = assert_one_line(&err);
    assert!(shown.contains("502"), "{shown}");
    assert!(shown.contains("<title>502 Bad Gateway</title>"), "{shown}");
    assert!(!shown.contains('\r'), "{shown:?}");
}

#[tokio::test]
async fn an_empty_body_is_said_to_be_empty() {
    let err = get_with(500, &[], "").await;
    let api = err.api().unwrap();
    assert!(api.body().is_empty());
    assert_eq!(
        (api.code().map(|c| c.as_str()), api.message()),
        (None, None)
    );
    let shown = assert_one_line(&err);
    assert!(
        shown.contains("500") && shown.contains("empty body"),
        "{shown}"
    );
}

#[tokio::test]
async fn a_non_json_text_body_is_shown_as_text() {
    let text = "upstream connect error or disconnect/reset before headers. reset reason: overflow";
    let err = get_with(503, &[("content-type", "text/plain")], text).await;
    let api = err.api().unwrap();
    assert_eq!(api.code(), None);
    assert_eq!(api.body_text(), text);
    let shown = assert_one_line(&err);
    assert!(shown.contains("upstream connect error"), "{shown}");

    // A very long body is cut in the message but kept whole in `body`.
    let long = "x".repeat(5000);
    let err = get_with(500, &[], &long).await;
    assert_eq!(err.api().unwrap().body().len(), 5000);
    assert!(err.to_string().len() < 400, "{}", err.to_string().len());
}

#[tokio::test]
async fn the_version_error_without_a_code_field_is_parsed() {
    let err = get_with(
        400,
        &[("content-type", "application/json")],
        r#"{"error":"invalid_api_version","message":"Unknown API version 2099-01-01"}"#,
    )
    .await;
    let api = err.api().unwrap();
    assert_eq!(api.code().map(|c| c.as_str()), Some("invalid_api_version"));
    assert_eq!(api.message(), Some("Unknown API version 2099-01-01"));
}

#[tokio::test]
async fn retry_after_is_read_from_the_response() {
    let err = get_with(
        429,
        &[("retry-after", "120"), ("x-request-id", "rl-1")],
        &api_error(429, "rate_limited", "slow down").to_string(),
    )
    .await;
    assert!(err.is_rate_limited());
    assert!(err.is_retryable());
    let api = err.api().unwrap();
    assert_eq!(api.retry_after(), Some(Duration::from_secs(120)));
    assert_eq!(api.request_id(), Some("rl-1"));

    // The HTTP-date form, without depending on how long the test takes:
    // a date long past is no wait at all, one far ahead is centuries away.
    // (The exact arithmetic against a given "now" is unit-tested in the
    // retry module.)
    let err = get_with(503, &[("retry-after", "Sun, 06 Nov 1994 08:49:37 GMT")], "").await;
    assert_eq!(err.api().unwrap().retry_after(), Some(Duration::ZERO));
    let err = get_with(503, &[("retry-after", "Fri, 31 Dec 9999 23:59:59 GMT")], "").await;
    let after = err.api().unwrap().retry_after().unwrap();
    assert!(
        after > Duration::from_secs(100 * 365 * 24 * 3600),
        "{after:?}"
    );
}

#[tokio::test]
async fn predicates_match_their_statuses_only() {
    let cases: &[(u16, &str)] = &[
        (401, "unauthorized"),
        (403, "forbidden"),
        (404, "not_found"),
        (409, "conflict"),
        (429, "rate_limited"),
        (500, "internal"),
    ];
    for &(status, code) in cases {
        let err = get_with(status, &[], &api_error(status, code, "m").to_string()).await;
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
        assert_eq!(err.is_unauthorized(), status == 401, "{status}");
        assert_eq!(err.is_forbidden(), status == 403, "{status}");
        assert_eq!(err.is_not_found(), status == 404, "{status}");
        assert_eq!(err.is_conflict(), status == 409, "{status}");
        assert_eq!(err.is_rate_limited(), status == 429, "{status}");
        assert_eq!(err.is_retryable(), matches!(status, 429 | 500), "{status}");
        assert!(!err.is_timeout());
    }
}

#[tokio::test]
async fn an_undocumented_status_is_still_an_api_error() {
    let err = get_with(
        413,
        &[
            ("content-type", "application/json"),
            ("x-request-id", "big-1"),
        ],
        &api_error(413, "payload_too_large", "too big").to_string(),
    )
    .await;
    let api = err.api().expect("API error");
    assert_eq!(api.status().as_u16(), 413);
    assert_eq!(api.code().map(|c| c.as_str()), Some("payload_too_large"));
    assert_eq!(api.request_id(), Some("big-1"));
    assert!(!err.is_retryable());
    let err = get_with(418, &[], "I'm a teapot").await;
    assert_eq!(err.status().map(|s| s.as_u16()), Some(418));
    assert!(matches!(err, Error::Api(_)));
}

#[tokio::test]
async fn a_body_that_does_not_match_the_schema_is_a_decode_error_with_its_path() {
    let server = MockServer::start_async().await;
    let mut bad = job_value(JOB);
    bad["spec"]["runtime"]["memory"] = json!("lots");
    let body = bad.to_string();
    let mock = server.mock(|when, then| {
        when.method("GET").path(format!("/jobs/{JOB}"));
        then.status(200)
            .header("content-type", "application/json")
            .header("x-request-id", "dec-1")
            .body(&body);
    });
    let err = once(&server).job(JOB).get().send().await.unwrap_err();
    match &err {
        Error::Decode(d) => {
            assert_eq!(d.status().as_u16(), 200);
            assert_eq!(d.path(), "spec.runtime.memory");
            assert!(d.message().contains("lots"), "{}", d.message());
            assert_eq!(&d.body()[..], body.as_bytes());
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(err.status().map(|s| s.as_u16()), Some(200));
    let shown = assert_one_line(&err);
    assert!(shown.contains("spec.runtime.memory"), "{shown}");
    assert_eq!(mock.calls(), 1, "a decode error is not retried");
}

#[tokio::test]
async fn a_decode_error_keeps_the_request_id() {
    let server = MockServer::start_async().await;
    let mut bad = job_value(JOB);
    bad["spec"]["runtime"]["memory"] = json!("lots");
    server.mock(|when, then| {
        when.method("GET").path(format!("/jobs/{JOB}"));
        then.status(200)
            .header("content-type", "application/json")
            .header("x-request-id", "dec-1")
            .body(bad.to_string());
    });
    let err = once(&server).job(JOB).get().send().await.unwrap_err();
    assert!(matches!(err, Error::Decode(_)), "{err:?}");
    assert_eq!(err.request_id(), Some("dec-1"));
}

#[tokio::test]
async fn decode_errors_in_lists_name_the_item() {
    let server = MockServer::start_async().await;
    let mut second = job_value("second");
    second["metadata"]["labels"] = json!(["not", "a", "map"]);
    let body = json!({"data": [job_value("first"), second], "meta": {"hasMore": false}});
    server.mock(|when, then| {
        when.method("GET").path("/jobs");
        then.status(200).json_body(body.clone());
    });
    let err = once(&server).jobs().list().send().await.unwrap_err();
    match &err {
        Error::Decode(d) => assert_eq!(d.path(), "data[1].metadata.labels"),
        other => panic!("unexpected {other:?}"),
    }
    // Not JSON at all.
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method("GET").path(format!("/jobs/{JOB}"));
        then.status(200).body("<html>maintenance</html>");
    });
    let err = once(&server).job(JOB).get().send().await.unwrap_err();
    match &err {
        Error::Decode(d) => assert_eq!(&d.body()[..], b"<html>maintenance</html>"),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn an_undocumented_success_status_with_a_valid_body_is_reported() {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method("GET").path(format!("/jobs/{JOB}"));
        then.status(202).json_body(job_value(JOB));
    });
    let err = once(&server).job(JOB).get().send().await.unwrap_err();
    match &err {
        Error::Decode(d) => {
            assert_eq!(d.status().as_u16(), 202);
            assert!(d.message().contains("202"), "{}", d.message());
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn typed_mocks_produce_the_same_errors() {
    let server = MockServer::start_async().await;
    server.create_job(|_, then| {
        then.conflict(api_error(
            409,
            "already_exists",
            "job nightly-report already exists",
        ));
    });
    let err = once(&server)
        .jobs()
        .create(job(JOB))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_conflict());
    assert_eq!(
        err.api().unwrap().code().map(|c| c.as_str()),
        Some("already_exists")
    );
    // The API error is the source of nothing; transport errors keep theirs.
    assert!(err.source().is_none());
}

#[tokio::test]
async fn transport_errors_keep_their_cause() {
    let client = builder_for(&common::closed_port_url())
        .retry(RetryConfig::disabled())
        .build()
        .unwrap();
    let err = client.job(JOB).get().send().await.unwrap_err();
    match &err {
        Error::Transport(t) => {
            assert!(t.source().is_some(), "the reqwest error is kept");
            assert_eq!(t.attempts(), 1);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.status().is_none());
    assert!(err.api().is_none());
    assert_one_line(&err);
}
