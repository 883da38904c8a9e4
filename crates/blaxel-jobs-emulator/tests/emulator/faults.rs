//! Injected faults and request counts.

use crate::common::{H, send};
use blaxel_jobs_client::operations::Operation;
use blaxel_jobs_emulator::{Fault, Route};
use reqwest::Method;
use serde_json::json;
use std::time::Duration;
use tokio::time::Instant;

#[tokio::test]
async fn status_faults_answer_instead_of_processing() {
    let h = H::manual().await;
    h.emu.inject(
        Operation::CreateJob,
        Fault::Status {
            status: 503,
            retry_after: Some("7".into()),
            body: None,
        },
        2,
    );
    let body = json!({"metadata": {"name": "job"}, "spec": {}});
    for _ in 0..2 {
        let r = h.post("/jobs", body.clone()).await;
        r.api_error(503, "service_unavailable");
        assert_eq!(r.header("retry-after"), Some("7"));
        assert!(r.header("x-request-id").is_some());
    }
    assert!(
        h.emu.job_names("test-ws").is_empty(),
        "faulted requests are not processed"
    );
    h.post("/jobs", body).await.expect(200);
    assert_eq!(h.emu.request_count(Operation::CreateJob), 3);
    assert_eq!(h.emu.request_count(Operation::GetJob), 0);

    // A custom body, JSON or not.
    h.emu.inject(
        Operation::GetJob,
        Fault::Status {
            status: 429,
            retry_after: None,
            body: Some(r#"{"error":{"code":"USAGE_LIMIT_EXCEEDED"}}"#.into()),
        },
        1,
    );
    h.emu.inject(
        Operation::GetJob,
        Fault::Status {
            status: 500,
            retry_after: None,
            body: Some("oops".into()),
        },
        1,
    );
    let r = h.get("/jobs/job").await;
    assert_eq!(r.expect(429)["error"]["code"], "USAGE_LIMIT_EXCEEDED");
    let r = h.get("/jobs/job").await;
    assert_eq!((r.status, r.text.as_str()), (500, "oops"));
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("text/plain"))
    );
    assert_eq!(h.get("/jobs/job").await.status, 200);
    assert_eq!(h.emu.request_count(Operation::GetJob), 3);
}

#[tokio::test]
async fn dropped_connections_before_processing_change_nothing() {
    let h = H::manual().await;
    h.emu.inject(
        Operation::CreateJob,
        Fault::DropConnection {
            after_processing: false,
        },
        1,
    );
    let err = h
        .req(Method::POST, "/jobs")
        .json(&json!({"metadata": {"name": "lost"}, "spec": {}}))
        .send()
        .await
        .expect_err("no answer");
    assert!(!err.is_status(), "{err}");
    assert!(h.emu.job_names("test-ws").is_empty());
    assert_eq!(h.emu.request_count(Operation::CreateJob), 1);
    // The server still works.
    h.create_job("lost", json!({})).await;
}

#[tokio::test]
async fn dropped_connections_after_processing_keep_the_effect() {
    let h = H::manual().await;
    h.create_job("job", json!({})).await;
    h.emu.inject(
        Operation::CreateJobExecution,
        Fault::DropConnection {
            after_processing: true,
        },
        1,
    );
    let body = json!({"executionId": "run-1"});
    let err = h
        .req(Method::POST, "/jobs/job/executions")
        .json(&body)
        .send()
        .await
        .expect_err("no answer");
    assert!(!err.is_status(), "{err}");
    // The execution exists; a retry with the same id finds it.
    assert_eq!(h.emu.executions("test-ws", "job").len(), 1);
    let out = h.post("/jobs/job/executions", body).await.expect(200);
    assert_eq!(out["executionId"], "run-1");
    assert_eq!(h.emu.executions("test-ws", "job").len(), 1);
    assert_eq!(h.emu.request_count(Operation::CreateJobExecution), 2);
}

/// On a paused tokio clock: the injected delay is a tokio sleep, so the
/// answer comes exactly 400 ms of virtual time later, and only once.
#[tokio::test(start_paused = true)]
async fn delays_hold_the_answer() {
    let h = H::manual().await;
    h.emu.inject(
        Operation::ListJobs,
        Fault::Delay(Duration::from_millis(400)),
        1,
    );
    let started = Instant::now();
    let r = h.get("/jobs").await;
    assert_eq!(r.status, 200);
    assert_eq!(started.elapsed(), Duration::from_millis(400));
    let started = Instant::now();
    assert_eq!(h.get("/jobs").await.status, 200);
    assert_eq!(
        started.elapsed(),
        Duration::ZERO,
        "only one request is delayed"
    );
}

#[tokio::test]
async fn malformed_and_truncated_bodies_follow_real_processing() {
    let h = H::manual().await;
    h.emu.inject(Operation::CreateJob, Fault::MalformedBody, 1);
    let r = h
        .post("/jobs", json!({"metadata": {"name": "made"}, "spec": {}}))
        .await;
    assert_eq!(r.status, 200);
    assert!(
        serde_json::from_str::<serde_json::Value>(&r.text).is_err(),
        "{}",
        r.text
    );
    assert_eq!(
        h.emu.job_names("test-ws"),
        vec!["made"],
        "the request was processed"
    );

    let full = h.get("/jobs/made").await;
    h.emu.inject(Operation::GetJob, Fault::TruncatedBody, 1);
    let cut = h.get("/jobs/made").await;
    assert_eq!(cut.status, 200);
    assert!(serde_json::from_str::<serde_json::Value>(&cut.text).is_err());
    assert_eq!(cut.text.len(), full.text.len() / 2);
    assert!(full.text.starts_with(&cut.text));

    // Truncation turns an error status into a 200 too.
    h.emu.inject(Operation::GetJob, Fault::TruncatedBody, 1);
    let cut = h.get("/jobs/absent").await;
    assert_eq!(cut.status, 200);
    assert!(cut.text.starts_with("{\"code\":404"), "{}", cut.text);
}

#[tokio::test]
async fn html_errors_look_like_a_gateway() {
    let h = H::manual().await;
    h.emu.inject(
        Operation::ListJobExecutions,
        Fault::HtmlError { status: 502 },
        1,
    );
    h.create_job("job", json!({})).await;
    let r = h.get("/jobs/job/executions").await;
    assert_eq!(r.status, 502);
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("text/html"))
    );
    assert!(
        r.text.contains("<html") && r.text.contains("502 Bad Gateway"),
        "{}",
        r.text
    );
    assert_eq!(h.get("/jobs/job/executions").await.status, 200);
}

#[tokio::test]
async fn faults_apply_to_the_token_endpoint_and_ignore_other_routes() {
    let h = H::manual().await;
    h.emu
        .inject(Route::OAuthToken, Fault::HtmlError { status: 504 }, 1);
    let r = send(
        h.bare(Method::POST, "/oauth/token")
            .json(&json!({"grant_type": "client_credentials"})),
    )
    .await;
    assert_eq!(r.status, 504);
    // Requests with bad credentials still count on their route.
    let r = send(h.bare(Method::GET, "/jobs")).await;
    assert_eq!(r.status, 401);
    assert_eq!(h.emu.request_count(Operation::ListJobs), 1);
    assert_eq!(h.emu.request_count(Route::OAuthToken), 1);
    // `times: 0` injects nothing.
    h.emu
        .inject(Operation::ListJobs, Fault::HtmlError { status: 500 }, 0);
    assert_eq!(h.get("/jobs").await.status, 200);
}
