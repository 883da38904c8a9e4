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
