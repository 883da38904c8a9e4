//! Waiters: execution outcomes, polling until the deadline, progress
//! callbacks, errors while polling, and deployments.

mod common;

use blaxel_jobs::Error;
use blaxel_jobs::types::JobExecutionStatus;
use blaxel_jobs_httpmock::MockServerExt;
use common::raw::{RawServer, Reply};
use common::{
    JOB, Recorder, api_error, execution_value, fast_poll, job_with_status, json_response,
};
use httpmock::MockServer;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const EX: &str = "exec-7h1c5vde";

/// An execution endpoint that answers with `statuses` in turn (the last one
/// forever after).
fn execution_sequence<'a>(
    server: &'a MockServer,
    statuses: &'static [&'static str],
) -> (httpmock::Mock<'a>, Recorder) {
    let rec = Recorder::new();
    let mock = server.get_job_execution(|w, t| {
        w.job_id(JOB).execution_id(EX);
        t.into_inner().respond_with(rec.responder(move |n, _| {
            let status = statuses[n.min(statuses.len() - 1)];
            json_response(200, &execution_value(EX, status))
        }));
    });
    (mock, rec)
}

#[tokio::test]
async fn wait_returns_the_execution_once_it_succeeds() {
    let server = MockServer::start_async().await;
    let (mock, _) = execution_sequence(&server, &["queued", "pending", "running", "succeeded"]);
    let client = common::client(&server);
    let done = client
        .job(JOB)
        .execution(EX)
        .wait_until_succeeded()
        .poll_interval(fast_poll())
        .wait(Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(done.status, Some(JobExecutionStatus::Succeeded));
    assert_eq!(done.metadata.id.as_deref(), Some(EX));
    assert_eq!(mock.calls(), 4);
}

#[tokio::test]
async fn failed_cancelled_and_timeout_end_the_wait_with_execution_ended() {
    for (status, expected) in [
        ("failed", JobExecutionStatus::Failed),
        ("cancelled", JobExecutionStatus::Cancelled),
        ("timeout", JobExecutionStatus::Timeout),
    ] {
        let server = MockServer::start_async().await;
        let statuses: &'static [&'static str] = match status {
            "failed" => &["running", "failed"],
            "cancelled" => &["running", "cancelling", "cancelled"],
            _ => &["running", "timeout"],
        };
        let (mock, _) = execution_sequence(&server, statuses);
        let client = common::client(&server);
        let err = client
            .job(JOB)
            .execution(EX)
            .wait_until_succeeded()
            .poll_interval(fast_poll())
            .wait(Duration::from_secs(10))
            .await
            .unwrap_err();
        match &err {
            Error::ExecutionEnded(ended) => {
                assert_eq!(ended.status(), Some(&expected));
                assert_eq!(ended.execution().metadata.id.as_deref(), Some(EX));
            }
            other => panic!("{status}: unexpected {other:?}"),
        }
        let shown = err.to_string();
        assert!(
            shown.contains(EX) && shown.contains(status),
            "{status}: {shown}"
        );
        // The fixture's stats are part of the message.
        assert!(shown.contains("1 of 3 tasks succeeded"), "{shown}");
        assert_eq!(mock.calls(), statuses.len(), "{status}: stops at once");
        assert!(!err.is_retryable());
    }
}

/// Virtual time, against a loopback server that always answers `status`:
/// the wait gives up at exactly `max_wait`.
#[tokio::test(start_paused = true)]
async fn unknown_and_cancelling_statuses_keep_polling_until_max_wait() {
    for status in ["paused", "cancelling"] {
        let body = execution_value(EX, status).to_string();
        let server = RawServer::start(move |_, _| Reply::json("200 OK", &body)).await;
        let client = common::builder_for(&server.url).build().unwrap();
        let max_wait = Duration::from_millis(150);
        let err = client
            .job(JOB)
            .execution(EX)
            .wait_until_succeeded()
            .poll_interval(fast_poll())
            .wait(max_wait)
            .await
            .unwrap_err();
        match &err {
            Error::WaitTimeout(t) => {
                assert_eq!(t.elapsed(), max_wait, "{status}");
                assert!(t.polls() >= 2, "{status}: {} polls", t.polls());
                assert_eq!(t.polls() as usize, server.received().len(), "{status}");
                assert_eq!(t.last_status(), Some(status));
                assert!(
                    t.what().contains(EX) && t.what().contains(JOB),
                    "{}",
                    t.what()
                );
            }
            other => panic!("{status}: unexpected {other:?}"),
        }
        assert!(err.is_timeout());
        let shown = err.to_string();
        assert!(shown.contains("polls") && shown.contains(status), "{shown}");
    }
}

#[tokio::test]
async fn on_progress_is_called_on_each_poll() {
    let server = MockServer::start_async().await;
    let (mock, _) = execution_sequence(&server, &["queued", "running", "running", "succeeded"]);
    let client = common::client(&server);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    client
        .job(JOB)
        .execution(EX)
        .wait_until_succeeded()
        .poll_interval(fast_poll())
        .on_progress(move |e| {
            log.lock()
                .unwrap()
                .push(e.status.as_ref().map(|s| s.as_str().to_owned()))
        })
        .wait(Duration::from_secs(30 * 60))
        .await
        .unwrap();
    let seen = seen.lock().unwrap().clone();
    let expected: Vec<Option<String>> = ["queued", "running", "running", "succeeded"]
        .iter()
        .map(|s| Some(s.to_string()))
        .collect();
    assert_eq!(seen, expected);
    assert_eq!(mock.calls(), 4);
}

#[tokio::test]
async fn a_404_ends_the_wait_at_once() {
    let server = MockServer::start_async().await;
    let mock = server.get_job_execution(|w, t| {
        w.job_id(JOB).execution_id(EX);
        t.not_found(api_error(404, "not_found", "execution not found"));
    });
    let client = common::client(&server);
    let err = client
        .job(JOB)
        .execution(EX)
        .wait_until_succeeded()
        .poll_interval(fast_poll())
        .wait(Duration::from_secs(30))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    // One poll: the wait ended at the 404 instead of polling on.
    assert_eq!(mock.calls(), 1);
}

#[tokio::test]
async fn a_503_while_polling_is_not_fatal() {
    let server = MockServer::start_async().await;
    let rec = Recorder::new();
    // 4 unavailable answers: more than one request's 3 attempts.
    let mock = server.get_job_execution(|w, t| {
        w.job_id(JOB).execution_id(EX);
        t.into_inner().respond_with(rec.responder(|n, _| match n {
            0 => json_response(200, &execution_value(EX, "running")),
            1..=4 => json_response(503, &api_error(503, "unavailable", "busy")),
            _ => json_response(200, &execution_value(EX, "succeeded")),
        }));
    });
    let client = common::client(&server);
    let done = client
        .job(JOB)
        .execution(EX)
        .wait_until_succeeded()
        .poll_interval(fast_poll())
        .wait(Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(done.status, Some(JobExecutionStatus::Succeeded));
    assert_eq!(mock.calls(), 6);
}

#[tokio::test]
async fn an_empty_execution_id_fails_before_polling() {
    let server = MockServer::start_async().await;
    let any = server.mock(|w, t| {
        w.any_request();
        t.status(200);
    });
    let client = common::client(&server);
    let err = client
        .job(JOB)
        .execution("")
        .wait_until_succeeded()
        .poll_interval(fast_poll())
        .wait(Duration::from_secs(30 * 60))
        .await
        .unwrap_err();
    match err {
        Error::InvalidInput(i) => assert_eq!(i.field(), Some("executionId")),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(any.calls(), 0);
}

/// A job endpoint that answers with deployment `statuses` in turn.
fn deployment_sequence<'a>(
    server: &'a MockServer,
    statuses: &'static [&'static str],
) -> httpmock::Mock<'a> {
    let rec = Recorder::new();
    server.get_job(|w, t| {
        w.job_id(JOB);
        t.into_inner().respond_with(rec.responder(move |n, _| {
            let status = statuses[n.min(statuses.len() - 1)];
            json_response(
                200,
                &serde_json::to_value(job_with_status(JOB, status)).unwrap(),
            )
        }));
    })
}

#[tokio::test]
async fn wait_until_deployed_returns_the_deployed_job() {
    let server = MockServer::start_async().await;
    let mock = deployment_sequence(&server, &["UPLOADING", "BUILDING", "DEPLOYING", "DEPLOYED"]);
    let client = common::client(&server);
    let job = client
        .job(JOB)
        .wait_until_deployed()
        .poll_interval(fast_poll())
        .wait(Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(
        job.status,
        Some(blaxel_jobs::types::DeploymentStatus::Deployed)
    );
    assert_eq!(mock.calls(), 4);
}

#[tokio::test]
async fn wait_until_deployed_fails_on_failed() {
    let server = MockServer::start_async().await;
    let mock = deployment_sequence(&server, &["BUILDING", "FAILED"]);
    let client = common::client(&server);
    let err = client
        .job(JOB)
        .wait_until_deployed()
        .poll_interval(fast_poll())
        .wait(Duration::from_secs(10))
        .await
        .unwrap_err();
    match &err {
        Error::DeploymentFailed(d) => {
            assert_eq!(
                d.job().status,
                Some(blaxel_jobs::types::DeploymentStatus::Failed)
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    let shown = err.to_string();
    assert!(shown.contains(JOB) && shown.contains("FAILED"), "{shown}");
    // The last event's message explains it.
    assert!(shown.contains("serving 90% of traffic"), "{shown}");
    assert_eq!(mock.calls(), 2);
}

/// Virtual time, against a loopback server that always answers BUILDING:
/// the wait gives up at exactly `max_wait`.
#[tokio::test(start_paused = true)]
async fn wait_until_deployed_gives_up_after_max_wait() {
    let body = serde_json::to_string(&job_with_status(JOB, "BUILDING")).unwrap();
    let server = RawServer::start(move |_, _| Reply::json("200 OK", &body)).await;
    let client = common::builder_for(&server.url).build().unwrap();
    let err = client
        .job(JOB)
        .wait_until_deployed()
        .poll_interval(fast_poll())
        .wait(Duration::from_millis(100))
        .await
        .unwrap_err();
    match &err {
        Error::WaitTimeout(t) => {
            assert!(t.polls() >= 2);
            assert_eq!(t.polls() as usize, server.received().len());
            assert_eq!(t.last_status(), Some("BUILDING"));
            assert_eq!(t.elapsed(), Duration::from_millis(100));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn an_unknown_execution_status_does_not_break_decoding() {
    // A status the SDK does not know is kept as is in progress reports.
    let server = MockServer::start_async().await;
    let (_, _) = execution_sequence(&server, &["paused", "succeeded"]);
    let client = common::client(&server);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    client
        .job(JOB)
        .execution(EX)
        .wait_until_succeeded()
        .poll_interval(fast_poll())
        .on_progress(move |e| {
            let s = e.status.clone().unwrap();
            log.lock()
                .unwrap()
                .push((s.as_str().to_owned(), s.is_known()));
        })
        .wait(Duration::from_secs(30 * 60))
        .await
        .unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        [("paused".to_owned(), false), ("succeeded".to_owned(), true)]
    );
}

#[tokio::test]
async fn a_long_retry_after_while_polling_is_respected() {
    let server = MockServer::start_async().await;
    let mock = server.get_job_execution(|w, t| {
        w.job_id(JOB).execution_id(EX);
        t.too_many_requests(api_error(429, "rate_limited", "slow down"))
            .into_inner()
            .header("retry-after", "120");
    });
    let client = common::client(&server);
    let result = client
        .job(JOB)
        .execution(EX)
        .wait_until_succeeded()
        .poll_interval(fast_poll())
        .wait(Duration::from_millis(300))
        .await;
    assert!(result.is_err());
    // The server asked for 120 s, more than the whole wait: one request only.
    assert_eq!(mock.calls(), 1, "{result:?}");
}

/// Virtual time, against a server that never answers: the wait ends at
/// `max_wait` (200 ms) plus the grace a poll in flight gets (50 ms), not at
/// the poll's own 60 s timeout.
#[tokio::test(start_paused = true)]
async fn max_wait_bounds_a_slow_poll() {
    let server = RawServer::start(|_, _| Reply::Hang).await;
    let client = common::builder_for(&server.url).build().unwrap();
    let started = tokio::time::Instant::now();
    let err = client
        .job(JOB)
        .execution(EX)
        .wait_until_succeeded()
        .poll_interval(fast_poll())
        .wait(Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(started.elapsed(), Duration::from_millis(250));
    match &err {
        Error::WaitTimeout(t) => {
            assert_eq!(t.elapsed(), Duration::from_millis(250));
            assert_eq!(t.polls(), 1);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(server.received().len(), 1);
}

/// Virtual time: a poll answered 503 is one attempt (the client's own
/// retries are off for polls), and the next poll comes on the waiter's
/// schedule, after the server's `Retry-After`: retries do not nest. (Were
/// the transport to retry the poll, its second attempt would come 7 s after
/// the first and the wait would end at 9.5 s, not 10.25 s.)
#[tokio::test(start_paused = true)]
async fn a_failed_poll_is_sent_once_and_the_next_comes_on_schedule() {
    let running = execution_value(EX, "running").to_string();
    let done = execution_value(EX, "succeeded").to_string();
    let busy = api_error(503, "unavailable", "busy").to_string();
    let server = RawServer::start(move |n, _| match n {
        1 => Reply::http(
            "503 Service Unavailable",
            &[("content-type", "application/json"), ("retry-after", "7")],
            &busy,
        ),
        0 | 2 => Reply::json("200 OK", &running),
        _ => Reply::json("200 OK", &done),
    })
    .await;
    let client = common::builder_for(&server.url)
        .retry(blaxel_jobs::RetryConfig::default().with_max_attempts(3))
        .build()
        .unwrap();
    let started = tokio::time::Instant::now();
    let execution = client
        .job(JOB)
        .execution(EX)
        .wait_until_succeeded()
        .poll_interval(blaxel_jobs::PollInterval::new(
            Duration::from_secs(1),
            Duration::from_secs(10),
        ))
        .wait(Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(execution.status, Some(JobExecutionStatus::Succeeded));
    // Polls at 0, 1, 8 (after the 7 s asked for) and 10.25 s.
    assert_eq!(server.received().len(), 4);
    assert_eq!(started.elapsed(), Duration::from_millis(10_250));
}

/// Every final deployment status of the document (`x-blaxel-final`) other
/// than `DEPLOYED` ends the wait: `ARCHIVED` included, which a hand-written
/// list once missed.
#[tokio::test]
async fn wait_until_deployed_fails_on_every_other_final_status() {
    use blaxel_jobs::types::DeploymentStatus;
    for status in ["ARCHIVED", "DEACTIVATED", "TERMINATED", "DELETING"] {
        assert!(
            DeploymentStatus::from(status.to_owned()).is_terminal(),
            "{status}"
        );
        let server = MockServer::start_async().await;
        let statuses: &'static [&'static str] = match status {
            "ARCHIVED" => &["ARCHIVING", "ARCHIVED"],
            "DEACTIVATED" => &["DEACTIVATING", "DEACTIVATED"],
            "TERMINATED" => &["BUILDING", "TERMINATED"],
            _ => &["BUILDING", "DELETING"],
        };
        let mock = deployment_sequence(&server, statuses);
        let err = common::client(&server)
            .job(JOB)
            .wait_until_deployed()
            .poll_interval(fast_poll())
            .wait(Duration::from_secs(10))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::DeploymentFailed(_)), "{status}: {err}");
        assert_eq!(mock.calls(), 2, "{status}");
    }
}
