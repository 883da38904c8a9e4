//! Retries: attempt counts, Retry-After, which statuses and failures are
//! retried for which operations, and the ids that make CreateJobExecution
//! safe to send again.

mod common;

use blaxel_jobs::{Error, RetryConfig, TransportErrorKind};
use blaxel_jobs_httpmock::MockServerExt;
use common::raw::{RawServer, Reply};
use common::{
    HangUpServer, JOB, Recorder, api_error, builder_for, closed_port_url, execution_value, job,
    job_value, json_response,
};
use httpmock::{Mock, MockServer};
use serde_json::{Value, json};
use std::time::Duration;

/// Answers GET /jobs/{JOB} with `status` (and Retry-After when given).
fn get_job_fails<'a>(server: &'a MockServer, status: u16, retry_after: Option<&str>) -> Mock<'a> {
    server.mock(|when, then| {
        when.method("GET").path(format!("/jobs/{JOB}"));
        let then = then
            .status(status)
            .header("content-type", "application/json")
            .json_body(api_error(status, "transient", "try again"));
        if let Some(v) = retry_after {
            then.header("retry-after", v);
        }
    })
}

/// Answers POST /jobs with `status` (and Retry-After when given).
fn create_job_fails<'a>(
    server: &'a MockServer,
    status: u16,
    retry_after: Option<&str>,
) -> Mock<'a> {
    server.mock(|when, then| {
        when.method("POST").path("/jobs");
        let then = then
            .status(status)
            .header("content-type", "application/json")
            .json_body(api_error(status, "transient", "try again"));
        if let Some(v) = retry_after {
            then.header("retry-after", v);
        }
    })
}

fn api_attempts(err: &Error) -> u32 {
    err.api()
        .unwrap_or_else(|| panic!("not an API error: {err:?}"))
        .attempts()
}

#[tokio::test]
async fn get_makes_three_attempts_on_each_transient_status() {
    let server = MockServer::start_async().await;
    let client = common::client(&server);
    for status in [503, 502, 504, 429, 500, 408] {
        let mut mock = get_job_fails(&server, status, None);
        let err = client.job(JOB).get().send().await.unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
        assert_eq!(mock.calls(), 3, "{status}");
        assert_eq!(api_attempts(&err), 3, "{status}");
        assert!(err.to_string().contains("after 3 attempts"), "{err}");
        assert!(err.is_retryable(), "{status}");
        mock.delete();
    }
}

#[tokio::test]
async fn disabled_retries_make_one_attempt_and_max_attempts_five_makes_five() {
    let server = MockServer::start_async().await;
    let mock = get_job_fails(&server, 503, None);

    let once = builder_for(&server.base_url())
        .retry(RetryConfig::disabled())
        .build()
        .unwrap();
    let err = once.job(JOB).get().send().await.unwrap_err();
    assert_eq!(mock.calls(), 1);
    assert_eq!(api_attempts(&err), 1);
    assert!(!err.to_string().contains("attempts"), "{err}");

    let five = builder_for(&server.base_url())
        .retry(common::fast_retry().with_max_attempts(5))
        .build()
        .unwrap();
    let err = five.job(JOB).get().send().await.unwrap_err();
    assert_eq!(mock.calls(), 1 + 5);
    assert_eq!(api_attempts(&err), 5);

    // with_max_attempts(0) still makes one attempt.
    assert_eq!(
        RetryConfig::default().with_max_attempts(0).max_attempts(),
        1
    );
    assert_eq!(RetryConfig::default().max_attempts(), 3);
}

#[tokio::test]
async fn a_transient_failure_followed_by_success_returns_the_success() {
    let server = MockServer::start_async().await;
    let failing = server.get_job(|when, then| {
        when.job_id(JOB);
        then.server_error(502, json!({"code": 502, "error": "bad_gateway"}))
            .into_inner()
            .up_to_n_times(2);
    });
    let ok = server.get_job(|when, then| {
        when.job_id(JOB);
        then.ok(&job(JOB));
    });
    let found = common::client(&server).job(JOB).get().send().await.unwrap();
    assert_eq!(found.metadata.name, JOB);
    assert_eq!(failing.calls(), 2);
    assert_eq!(ok.calls(), 1);
}

/// A raw server (in the test's own runtime, so that a paused clock only
/// moves when every task waits on a timer) whose first `failures` answers
/// are `status` with `Retry-After: retry_after`, and then the job.
async fn failing_then_ok(
    failures: usize,
    status: &'static str,
    retry_after: &'static str,
) -> RawServer {
    RawServer::start(move |n, _| {
        if n < failures {
            Reply::http(
                status,
                &[
                    ("retry-after", retry_after),
                    ("content-type", "application/json"),
                ],
                &api_error(503, "unavailable", "busy").to_string(),
            )
        } else {
            Reply::json("200 OK", &job_value(JOB).to_string())
        }
    })
    .await
}

/// Virtual time: the clock moves only to the 1 s the server asked for (the
/// other timers are the 60 s attempt timeout and the 90 s deadline, which
/// would show as a jump far past 2 s).
#[tokio::test(start_paused = true)]
async fn retry_after_in_seconds_is_honoured() {
    let server = failing_then_ok(1, "503 Service Unavailable", "1").await;
    let started = tokio::time::Instant::now();
    builder_for(&server.url)
        .build()
        .unwrap()
        .job(JOB)
        .get()
        .send()
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(server.received().len(), 2);
    // The fast backoff alone would retry within 5 ms; the server's
    // Retry-After is the wait, exactly.
    assert_eq!(elapsed, Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_longer_than_the_cap_is_not_waited_for() {
    let server = failing_then_ok(usize::MAX, "429 Too Many Requests", "120").await;
    let started = tokio::time::Instant::now();
    let err = builder_for(&server.url)
        .build()
        .unwrap()
        .job(JOB)
        .get()
        .send()
        .await
        .unwrap_err();
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert_eq!(server.received().len(), 1);
    assert!(err.is_rate_limited());
    let api = err.api().unwrap();
    assert_eq!(api.retry_after(), Some(Duration::from_secs(120)));
    assert_eq!(api.attempts(), 1);

    // The cap is configurable: 1 s asked, 500 ms allowed.
    let server = failing_then_ok(usize::MAX, "503 Service Unavailable", "1").await;
    let capped = builder_for(&server.url)
        .retry(common::fast_retry().with_max_retry_after(Duration::from_millis(500)))
        .build()
        .unwrap();
    let started = tokio::time::Instant::now();
    let err = capped.job(JOB).get().send().await.unwrap_err();
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert_eq!(
        err.api().unwrap().retry_after(),
        Some(Duration::from_secs(1))
    );
    assert_eq!(server.received().len(), 1);
}

/// `.retry(...)` on one call replaces the client's retry settings for that
/// call only, in both directions (fewer and more attempts).
#[tokio::test(start_paused = true)]
async fn a_call_can_override_the_retry_settings() {
    let server = failing_then_ok(usize::MAX, "503 Service Unavailable", "0").await;
    let client = builder_for(&server.url).build().unwrap();

    let err = client
        .job(JOB)
        .get()
        .retry(RetryConfig::disabled())
        .send()
        .await
        .unwrap_err();
    assert_eq!(api_attempts(&err), 1);
    assert_eq!(server.received().len(), 1);

    let err = client
        .job(JOB)
        .get()
        .retry(common::fast_retry().with_max_attempts(5))
        .send()
        .await
        .unwrap_err();
    assert_eq!(api_attempts(&err), 5);
    assert_eq!(server.received().len(), 1 + 5);

    // The client's own settings (3 attempts) are untouched.
    let err = client.job(JOB).get().send().await.unwrap_err();
    assert_eq!(api_attempts(&err), 3);
    assert_eq!(server.received().len(), 1 + 5 + 3);

    // The override changes how often, never what: CreateJob is still not
    // retried after a 503 without `Retry-After`.
    let server = RawServer::start(|_, _| {
        Reply::json(
            "503 Service Unavailable",
            &api_error(503, "unavailable", "busy").to_string(),
        )
    })
    .await;
    let err = builder_for(&server.url)
        .build()
        .unwrap()
        .jobs()
        .create(job(JOB))
        .retry(common::fast_retry().with_max_attempts(5))
        .send()
        .await
        .unwrap_err();
    assert_eq!(api_attempts(&err), 1);
    assert_eq!(server.received().len(), 1);
}

/// `.timeout(d)` bounds each attempt and `.operation_timeout(d)` the whole
/// call, for that call only (virtual time, against a server that never
/// answers).
#[tokio::test(start_paused = true)]
async fn a_call_can_override_its_timeouts() {
    let server = RawServer::start(|_, _| Reply::Hang).await;
    let client = builder_for(&server.url).build().unwrap();

    // Three attempts of 2 s each, with millisecond backoffs between them.
    let started = tokio::time::Instant::now();
    let err = client
        .job(JOB)
        .get()
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(err.is_timeout(), "{err}");
    assert!(took >= Duration::from_secs(6), "{took:?}");
    assert!(
        took <= Duration::from_secs(6) + Duration::from_millis(10),
        "{took:?}"
    );
    match &err {
        Error::Transport(t) => {
            assert_eq!(t.attempts(), 3);
            assert_eq!(t.deadline(), None, "{err}");
        }
        other => panic!("unexpected {other:?}"),
    }

    // A 5 s deadline for the whole call ends the first (60 s) attempt.
    let started = tokio::time::Instant::now();
    let err = client
        .job(JOB)
        .get()
        .operation_timeout(Duration::from_secs(5))
        .send()
        .await
        .unwrap_err();
    assert_eq!(started.elapsed(), Duration::from_secs(5));
    match &err {
        Error::Transport(t) => {
            assert_eq!(t.kind(), TransportErrorKind::Timeout, "{err}");
            assert_eq!(t.attempts(), 1, "{err}");
            assert_eq!(t.deadline(), Some(Duration::from_secs(5)), "{err}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(server.received().len(), 3 + 1);
}

#[tokio::test]
async fn client_errors_are_never_retried() {
    let server = MockServer::start_async().await;
    let client = common::client(&server);
    for status in [400, 401, 403, 404, 409, 422] {
        let mut mock = get_job_fails(&server, status, None);
        let err = client.job(JOB).get().send().await.unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
        assert_eq!(mock.calls(), 1, "{status}");
        assert_eq!(api_attempts(&err), 1);
        assert!(!err.is_retryable(), "{status}");
        mock.delete();
    }
}

#[tokio::test]
async fn create_job_is_not_retried_on_500_502_504() {
    let server = MockServer::start_async().await;
    let client = common::client(&server);
    for status in [500, 502, 504, 503] {
        let mut mock = create_job_fails(&server, status, None);
        let err = client.jobs().create(job(JOB)).send().await.unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
        assert_eq!(mock.calls(), 1, "{status}: the job may exist");
        mock.delete();
    }
}

#[tokio::test]
async fn create_job_is_retried_on_429_and_on_503_with_retry_after() {
    let server = MockServer::start_async().await;
    let client = common::client(&server);

    let mut mock = create_job_fails(&server, 429, None);
    let err = client.jobs().create(job(JOB)).send().await.unwrap_err();
    assert!(err.is_rate_limited());
    assert_eq!(mock.calls(), 3);
    mock.delete();

    let mut mock = create_job_fails(&server, 503, Some("0"));
    let err = client.jobs().create(job(JOB)).send().await.unwrap_err();
    assert_eq!(mock.calls(), 3);
    assert_eq!(api_attempts(&err), 3);
    mock.delete();

    // 503 with Retry-After, then success.
    let failing = server.create_job(|when, then| {
        then.server_error(503, json!({"code": 503, "error": "unavailable"}))
            .into_inner()
            .header("retry-after", "0")
            .up_to_n_times(1);
        let _ = when;
    });
    let ok = server.create_job(|_, then| {
        then.ok(&job(JOB));
    });
    client.jobs().create(job(JOB)).send().await.unwrap();
    assert_eq!((failing.calls(), ok.calls()), (1, 1));
}

#[tokio::test]
async fn create_job_is_not_retried_when_the_connection_drops_but_get_is() {
    let server = HangUpServer::start();
    let client = builder_for(&server.url).build().unwrap();

    let err = client.jobs().create(job(JOB)).send().await.unwrap_err();
    match &err {
        Error::Transport(t) => {
            assert_eq!(t.kind(), TransportErrorKind::Other, "{t}");
            assert_eq!(t.attempts(), 1);
            assert!(!t.is_connect());
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.is_retryable());
    assert_eq!(server.requests().len(), 1, "{:?}", server.requests());
    assert!(server.requests()[0].starts_with("POST /jobs "));

    let err = client.job(JOB).get().send().await.unwrap_err();
    assert!(
        matches!(&err, Error::Transport(t) if t.attempts() == 3),
        "{err:?}"
    );
    assert_eq!(server.requests().len(), 1 + 3);
}

/// Virtual time, against a server that reads each request and never
/// answers: every request that times out has reached the server, whatever
/// the machine's speed.
#[tokio::test(start_paused = true)]
async fn timeouts_are_retried_for_get_but_not_for_create_job() {
    let server = RawServer::start(|_, _| Reply::Hang).await;
    let client = builder_for(&server.url).build().unwrap();
    let sent = |what: &str| {
        server
            .received()
            .iter()
            .filter(|r| r.line().starts_with(what))
            .count()
    };

    let err = client
        .jobs()
        .create(job(JOB))
        .timeout(Duration::from_millis(50))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(matches!(&err, Error::Transport(t) if t.kind() == TransportErrorKind::Timeout));
    assert_eq!(sent("POST /jobs "), 1);

    let err = client
        .job(JOB)
        .get()
        .timeout(Duration::from_millis(50))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Transport(t) if t.kind() == TransportErrorKind::Timeout && t.attempts() == 3),
        "{err:?}"
    );
    assert_eq!(sent("GET /jobs/"), 3);

    // The client-wide timeout works the same way.
    let short = builder_for(&server.url)
        .timeout(Duration::from_millis(50))
        .build()
        .unwrap();
    let err = short.job(JOB).get().send().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(sent("GET /jobs/"), 6);
}

#[tokio::test]
async fn connection_refused_is_retried_then_reported_as_a_connect_error() {
    let client = builder_for(&closed_port_url()).build().unwrap();
    for err in [
        client.job(JOB).get().send().await.unwrap_err(),
        // Nothing reached a server: even CreateJob may be retried.
        client.jobs().create(job(JOB)).send().await.unwrap_err(),
    ] {
        match &err {
            Error::Transport(t) => {
                assert_eq!(t.kind(), TransportErrorKind::Connect, "{t}");
                assert!(t.is_connect());
                assert_eq!(t.attempts(), 3);
            }
            other => panic!("unexpected {other:?}"),
        }
        let shown = err.to_string();
        assert!(shown.starts_with("transport error: "), "{shown}");
        assert!(shown.contains("after 3 attempts"), "{shown}");
    }
}

fn ids(body: &Value) -> (String, String) {
    (
        body["executionId"]
            .as_str()
            .expect("executionId")
            .to_owned(),
        body["id"].as_str().expect("id").to_owned(),
    )
}

#[tokio::test]
async fn create_execution_is_retried_on_500_and_503_with_the_same_ids() {
    let server = MockServer::start_async().await;
    let rec = Recorder::new();
    let mock = server.create_job_execution(|when, then| {
        when.job_id(JOB);
        then.into_inner()
            .respond_with(rec.responder(|n, req| match n {
            0 => json_response(500, &api_error(500, "internal", "oops")),
            1 => json_response(503, &api_error(503, "unavailable", "busy")),
            _ => {
                let body: Value = serde_json::from_slice(req.body_ref()).unwrap();
                json_response(
                    200,
                    &json!({"executionId": body["executionId"], "id": body["id"], "jobId": JOB}),
                )
            }
        }));
    });
    let out = common::client(&server)
        .job(JOB)
        .executions()
        .create()
        .task(json!({"shard": 0}))
        .task(json!({"shard": 1}))
        .env("MODE", "full")
        .send()
        .await
        .unwrap();
    assert_eq!(mock.calls(), 3);
    let bodies = rec.json_bodies();
    assert_eq!(bodies.len(), 3);
    let (execution_id, message_id) = ids(&bodies[0]);
    assert!(!execution_id.is_empty() && !message_id.is_empty());
    assert_ne!(execution_id, message_id);
    for body in &bodies {
        assert_eq!(ids(body), (execution_id.clone(), message_id.clone()));
        assert_eq!(body["tasks"], json!([{"shard": 0}, {"shard": 1}]));
        assert_eq!(body["env"], json!({"MODE": "full"}));
    }
    assert_eq!(out.execution_id.as_deref(), Some(execution_id.as_str()));
}

#[tokio::test]
async fn a_given_execution_id_is_sent_on_every_attempt() {
    let server = MockServer::start_async().await;
    let rec = Recorder::new();
    let mock = server.create_job_execution(|when, then| {
        when.job_id(JOB);
        then.into_inner().respond_with(rec.responder(|n, _| {
            if n < 2 {
                json_response(503, &api_error(503, "unavailable", "busy"))
            } else {
                json_response(200, &json!({"executionId": "exec-mine"}))
            }
        }));
    });
    common::client(&server)
        .job(JOB)
        .executions()
        .create()
        .execution_id("exec-mine")
        .send()
        .await
        .unwrap();
    assert_eq!(mock.calls(), 3);
    let bodies = rec.json_bodies();
    assert!(bodies.iter().all(|b| b["executionId"] == "exec-mine"));
    let first_id = &bodies[0]["id"];
    assert!(first_id.is_string());
    assert!(bodies.iter().all(|b| &b["id"] == first_id));
}

#[tokio::test]
async fn two_create_execution_calls_get_different_ids() {
    let server = MockServer::start_async().await;
    let rec = Recorder::new();
    server.create_job_execution(|when, then| {
        when.job_id(JOB);
        then.into_inner()
            .respond_with(rec.responder(|_, _| json_response(200, &json!({}))));
    });
    let client = common::client(&server);
    for _ in 0..2 {
        client.job(JOB).executions().create().send().await.unwrap();
    }
    let bodies = rec.json_bodies();
    assert_ne!(ids(&bodies[0]).0, ids(&bodies[1]).0);
    assert_ne!(ids(&bodies[0]).1, ids(&bodies[1]).1);
}

/// A server whose CreateJobExecution answers 503 first (the answer lost),
/// then 409; whose GetJobExecution answers an execution with the requested
/// id created at `execution_created` (stating neither its tasks nor its
/// environment overrides, so that only the times can tell); and whose
/// GetJob answers the job created at `job_created`.
async fn conflict_after_retry(
    execution_created: &'static str,
    job_created: &'static str,
) -> (MockServer, Recorder) {
    let server = MockServer::start_async().await;
    let rec = Recorder::new();
    server.create_job_execution(|when, then| {
        when.job_id(JOB);
        then.into_inner().respond_with(rec.responder(|n, _| {
            if n == 0 {
                json_response(503, &api_error(503, "unavailable", "busy"))
            } else {
                json_response(409, &api_error(409, "conflict", "execution exists"))
            }
        }));
    });
    server.mock(|when, then| {
        when.method("GET")
            .path_matches(format!("^/jobs/{JOB}/executions/[^/]+$").as_str());
        then.respond_with(move |req: &httpmock::HttpMockRequest| {
            let path = req.uri().path().to_owned();
            let id = path.rsplit('/').next().unwrap_or_default();
            let mut v = execution_value(id, "running");
            v["metadata"]["createdAt"] = json!(execution_created);
            v["tasks"] = json!([]);
            v["spec"]["envOverride"] = json!({});
            json_response(200, &v)
        });
    });
    server.mock(|when, then| {
        when.method("GET").path(format!("/jobs/{JOB}"));
        let mut v = job_value(JOB);
        v["metadata"]["createdAt"] = json!(job_created);
        then.status(200).json_body(v);
    });
    (server, rec)
}

#[tokio::test]
async fn a_retried_create_execution_that_conflicts_reports_the_existing_execution() {
    let (server, rec) = conflict_after_retry("2026-11-03T03:00:00Z", "2026-10-28T14:02:11Z").await;
    let out = common::client(&server)
        .job(JOB)
        .executions()
        .create()
        .task(json!({"shard": 0}))
        .send()
        .await
        .unwrap();
    let (sent_id, _) = ids(&rec.json_bodies()[0]);
    assert_eq!(rec.count(), 2);
    assert_eq!(out.execution_id.as_deref(), Some(sent_id.as_str()));
    assert_eq!(out.job_id.as_deref(), Some(JOB));
}

#[tokio::test]
async fn an_execution_of_an_earlier_job_of_the_same_name_is_a_conflict_not_a_success() {
    // The execution id was used before the job was deleted and created
    // again; the first attempt was dropped before the server processed it.
    let (server, _) = conflict_after_retry("2026-10-01T09:00:00Z", "2026-10-28T14:02:11Z").await;
    let err = common::client(&server)
        .job(JOB)
        .executions()
        .create()
        .execution_id("exec-reused")
        .send()
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err}");
    match &err {
        Error::ExecutionConflict(c) => {
            assert_eq!(c.execution_id(), "exec-reused");
            assert_eq!(c.error().attempts(), 2);
            let found = c.found().expect("what was found is kept");
            assert_eq!(found.metadata.id.as_deref(), Some("exec-reused"));
            assert!(c.reason().contains("older than the job"), "{}", c.reason());
        }
        other => panic!("unexpected {other:?}"),
    }
    let shown = err.to_string();
    assert!(
        shown.contains("exec-reused") && shown.contains("earlier job"),
        "{shown}"
    );
}

#[tokio::test]
async fn a_conflict_whose_execution_cannot_be_dated_is_not_a_success() {
    let (server, _) = conflict_after_retry("yesterday", "2026-10-28T14:02:11Z").await;
    let err = common::client(&server)
        .job(JOB)
        .executions()
        .create()
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ExecutionConflict(_)), "{err}");
}

#[tokio::test]
async fn a_conflict_with_no_execution_to_show_for_it_is_not_a_success() {
    let server = MockServer::start_async().await;
    let rec = Recorder::new();
    server.create_job_execution(|when, then| {
        when.job_id(JOB);
        then.into_inner().respond_with(rec.responder(|n, _| {
            let status = if n == 0 { 503 } else { 409 };
            json_response(status, &api_error(status, "x", "no"))
        }));
    });
    server.mock(|when, then| {
        when.method("GET").path(format!("/jobs/{JOB}"));
        then.status(200).json_body(job_value(JOB));
    });
    server.mock(|when, then| {
        when.method("GET")
            .path_matches(format!("^/jobs/{JOB}/executions/[^/]+$").as_str());
        then.status(404)
            .json_body(api_error(404, "not_found", "no such execution"));
    });
    let err = common::client(&server)
        .job(JOB)
        .executions()
        .create()
        .send()
        .await
        .unwrap_err();
    match &err {
        Error::ExecutionConflict(c) => {
            assert!(c.found().is_none());
            assert_eq!(c.reason(), "no execution has this id");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn a_first_attempt_conflict_is_reported_as_a_conflict() {
    let server = MockServer::start_async().await;
    let create = server.create_job_execution(|when, then| {
        when.job_id(JOB);
        then.into_inner()
            .status(409)
            .json_body(api_error(409, "conflict", "execution exists"));
    });
    let get = server.mock(|when, then| {
        when.method("GET");
        then.status(200);
    });
    let err = common::client(&server)
        .job(JOB)
        .executions()
        .create()
        .execution_id("exec-taken")
        .send()
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err}");
    assert_eq!(create.calls(), 1);
    assert_eq!(get.calls(), 0);
}

#[tokio::test]
async fn put_and_delete_are_retried_like_get() {
    let server = MockServer::start_async().await;
    let update = server.update_job(|when, then| {
        when.job_id(JOB);
        then.server_error(500, json!({"code": 500, "error": "internal"}));
    });
    let delete = server.delete_job_execution(|when, then| {
        when.job_id(JOB).execution_id("exec-1");
        then.server_error(502, json!({"code": 502, "error": "bad_gateway"}));
    });
    let client = common::client(&server);
    client.job(JOB).update(job(JOB)).send().await.unwrap_err();
    client
        .job(JOB)
        .execution("exec-1")
        .cancel()
        .send()
        .await
        .unwrap_err();
    assert_eq!(update.calls(), 3);
    assert_eq!(delete.calls(), 3);
}

/// Many calls at once on a two-worker runtime, whose tasks move between
/// threads: each error reports its own call's attempts and the request id
/// of its own last response, never another call's (the transport reads the
/// call's context through a thread-local set for each poll).
#[test]
fn concurrent_calls_on_two_workers_keep_their_own_attempts_and_request_ids() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(std::collections::HashMap::<
            String,
            usize,
        >::new()));
        let server = RawServer::start(move |_, request| {
            // `GET /jobs/job-7 HTTP/1.1`: job-7 fails with 503 (7 % 3)
            // times, then answers 404; every answer names its attempt.
            let name = request
                .line()
                .split(' ')
                .nth(1)
                .and_then(|path| path.strip_prefix("/jobs/"))
                .unwrap_or_default()
                .to_owned();
            let failures = name
                .strip_prefix("job-")
                .and_then(|n| n.parse::<usize>().ok())
                .map_or(0, |n| n % 3);
            let attempt = {
                let mut seen = seen.lock().unwrap();
                let n = seen.entry(name.clone()).or_default();
                *n += 1;
                *n
            };
            let id = format!("{name}-{attempt}");
            let (status, body) = if attempt <= failures {
                (
                    "503 Service Unavailable",
                    api_error(503, "unavailable", "busy"),
                )
            } else {
                ("404 Not Found", api_error(404, "not_found", "no such job"))
            };
            Reply::http(
                status,
                &[("content-type", "application/json"), ("x-request-id", &id)],
                &body.to_string(),
            )
        })
        .await;
        let client = builder_for(&server.url).build().unwrap();
        let mut calls = tokio::task::JoinSet::new();
        for i in 0..48usize {
            let client = client.clone();
            calls.spawn(async move {
                let err = client
                    .job(format!("job-{i}"))
                    .get()
                    .send()
                    .await
                    .unwrap_err();
                (i, err)
            });
        }
        let mut done = 0;
        while let Some(joined) = calls.join_next().await {
            let (i, err) = joined.unwrap();
            let attempts = i % 3 + 1;
            assert!(err.is_not_found(), "job-{i}: {err}");
            let api = err.api().expect("an API error");
            assert_eq!(api.attempts(), attempts as u32, "job-{i}: {err}");
            assert_eq!(
                err.request_id(),
                Some(format!("job-{i}-{attempts}").as_str()),
                "job-{i}: {err}"
            );
            done += 1;
        }
        assert_eq!(done, 48);
    });
}
