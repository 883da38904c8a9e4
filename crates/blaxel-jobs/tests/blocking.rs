//! The blocking client (feature `blocking`): the async API's operations run
//! from plain synchronous code, with the async client's errors. The tests
//! are plain `#[test]`s: no runtime of the caller's exists.

mod common;

use blaxel_jobs::Error;
use blaxel_jobs::blocking::Client;
use common::{JOB, builder_for, execution_value, job_page, job_value};
use httpmock::MockServer;
use serde_json::json;
use std::time::Duration;

fn client(server: &MockServer) -> Client {
    Client::from_builder(builder_for(&server.base_url())).unwrap()
}

#[test]
fn send_runs_a_request_to_completion() {
    let server = MockServer::start();
    let get = server.mock(|w, t| {
        w.method("GET").path(format!("/jobs/{JOB}"));
        t.status(200).json_body(job_value(JOB));
    });
    let client = client(&server);
    let job = client.send(client.job(JOB).get()).unwrap();
    assert_eq!(job.metadata.name, JOB);
    get.assert_calls(1);
}

#[test]
fn errors_are_the_async_clients() {
    let server = MockServer::start();
    server.mock(|w, t| {
        w.method("GET").path(format!("/jobs/{JOB}"));
        t.status(404)
            .json_body(json!({"code": 404, "error": "not_found", "message": "no such job"}));
    });
    let client = client(&server);
    let err = client.send(client.job(JOB).get()).unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(err.api().and_then(|a| a.message()), Some("no such job"));
}

#[test]
fn collect_follows_every_page() {
    let server = MockServer::start();
    let first = server.mock(|w, t| {
        w.method("GET").path("/jobs").query_param_missing("cursor");
        t.status(200)
            .json_body_obj(&job_page(&["a", "b"], Some("c2")));
    });
    let second = server.mock(|w, t| {
        w.method("GET").path("/jobs").query_param("cursor", "c2");
        t.status(200).json_body_obj(&job_page(&["c"], None));
    });
    let client = client(&server);
    let jobs = client.collect(client.jobs().list().limit(2)).unwrap();
    let names: Vec<_> = jobs.iter().map(|j| j.metadata.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    first.assert_calls(1);
    second.assert_calls(1);
}

#[test]
fn wait_polls_until_the_execution_ends() {
    let server = MockServer::start();
    let get = server.mock(|w, t| {
        w.method("GET")
            .path(format!("/jobs/{JOB}/executions/exec-1"));
        t.status(200).json_body(execution_value("exec-1", "failed"));
    });
    let client = client(&server);
    let waiter = client
        .job(JOB)
        .execution("exec-1")
        .wait_until_succeeded()
        .poll_interval(common::fast_poll());
    let err = client.wait(waiter, Duration::from_secs(60)).unwrap_err();
    assert!(matches!(err, Error::ExecutionEnded(_)), "{err}");
    get.assert_calls(1);
}

#[test]
fn a_window_of_log_lines_reads_from_synchronous_code() {
    let server = MockServer::start();
    let logs = server.mock(|w, t| {
        w.method("GET")
            .path("/observability/logs")
            .query_param("workloadIds", JOB)
            .query_param("executionId", "exec-1")
            .query_param("resourceType", "jobs");
        t.status(200)
            .json_body(json!({JOB: {"totalCount": 1, "logs": [
                {"timestamp": "2026-12-04T09:00:00.5Z", "message": "hello", "severity": 9}
            ]}}));
    });
    let client = client(&server);
    let start = chrono::DateTime::parse_from_rfc3339("2026-12-04T08:00:00Z").unwrap();
    let end = chrono::DateTime::parse_from_rfc3339("2026-12-04T10:00:00Z").unwrap();
    let read = client
        .job(JOB)
        .execution("exec-1")
        .logs()
        .read(start.to_utc(), end.to_utc());
    let lines = client.send(read).unwrap();
    assert_eq!(lines.lines.len(), 1);
    assert_eq!(lines.lines[0].message, "hello");
    logs.assert_calls(1);
}

#[test]
fn invalid_input_is_refused_before_sending() {
    let server = MockServer::start();
    let any = server.mock(|_, t| {
        t.status(200);
    });
    let client = client(&server);
    let err = client
        .send(client.job("").execution("e").cancel())
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err}");
    any.assert_calls(0);
}

/// Every way in of the blocking client, from the current thread: each must
/// answer `Error::BlockingInAsync` without sending anything.
fn assert_every_call_refused(client: &Client) {
    for err in [
        client.send(client.job(JOB).get()).map(drop).unwrap_err(),
        client.collect(client.jobs().list()).map(drop).unwrap_err(),
        client
            .wait(
                client.job(JOB).execution("exec-1").wait_until_succeeded(),
                Duration::from_secs(1),
            )
            .map(drop)
            .unwrap_err(),
        client.block_on(async {}).unwrap_err(),
    ] {
        assert!(matches!(err, Error::BlockingInAsync), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("async client"), "{text}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn calls_inside_a_current_thread_runtime_are_refused_not_panics() {
    let server = MockServer::start_async().await;
    let any = server.mock(|_, t| {
        t.status(200).json_body(job_value(JOB));
    });
    let client = client(&server);
    assert_every_call_refused(&client);
    assert_eq!(any.calls_async().await, 0, "nothing was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_inside_a_multi_thread_runtime_are_refused_not_panics() {
    let server = MockServer::start_async().await;
    let any = server.mock(|_, t| {
        t.status(200).json_body(job_value(JOB));
    });
    let client = client(&server);
    assert_every_call_refused(&client);
    // A task on a worker thread too.
    let moved = client;
    let moved = tokio::spawn(async move {
        assert_every_call_refused(&moved);
        moved
    })
    .await
    .unwrap();
    // And a spawn_blocking closure, which carries the runtime's context:
    // the async client works there through the runtime's handle.
    let job = tokio::task::spawn_blocking(move || {
        assert_every_call_refused(&moved);
        tokio::runtime::Handle::current().block_on(moved.async_client().job(JOB).get().send())
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(job.metadata.name, JOB);
    assert_eq!(any.calls_async().await, 1, "only the async client's call");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_of_its_own_inside_async_code_can_use_it() {
    let server = MockServer::start_async().await;
    server.mock(|_, t| {
        t.status(200).json_body(job_value(JOB));
    });
    let client = client(&server);
    let job = std::thread::spawn(move || client.send(client.job(JOB).get()))
        .join()
        .unwrap()
        .unwrap();
    assert_eq!(job.metadata.name, JOB);
}

/// A server that answers every request with a job.
async fn job_server() -> MockServer {
    let server = MockServer::start_async().await;
    server.mock(|_, t| {
        t.status(200).json_body(job_value(JOB));
    });
    server
}

/// A client that made a call from a thread of its own (so that its runtime
/// holds a pooled connection's task), handed back to the caller.
fn used_client(server: &MockServer) -> Client {
    let used = client(server);
    std::thread::spawn(move || {
        used.send(used.job(JOB).get()).unwrap();
        used
    })
    .join()
    .unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn dropping_it_inside_a_current_thread_runtime_does_not_panic() {
    let server = job_server().await;
    // Made and dropped here, never used; then used, and dropped here.
    drop(client(&server));
    drop(used_client(&server));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_it_inside_a_multi_thread_runtime_or_task_does_not_panic() {
    let server = job_server().await;
    drop(client(&server));
    let used = used_client(&server);
    tokio::spawn(async move { drop(used) }).await.unwrap();
    let in_blocking = client(&server);
    tokio::task::spawn_blocking(move || drop(in_blocking))
        .await
        .unwrap();
}

#[test]
fn dropping_it_outside_any_runtime_still_waits_for_its_runtime() {
    // The ordinary case is unchanged: made, used and dropped in plain code.
    let server = MockServer::start();
    server.mock(|_, t| {
        t.status(200).json_body(job_value(JOB));
    });
    let client = client(&server);
    client.send(client.job(JOB).get()).unwrap();
    drop(client);
}
