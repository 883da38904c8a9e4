//! Credentials and secret values never appear in `Debug` or `Display`
//! output, or in errors. (Tracing output is checked in `tracing.rs`.)

mod common;

use blaxel_jobs::{Client, Credentials, Error, JobBuilder, Secret};
use blaxel_jobs_httpmock::MockServerExt;
use common::{
    CLIENT_ID, CLIENT_SECRET, JOB, KEY, SECRET_VALUE, TOKEN, WS, assert_clean, builder_for,
    fast_retry, job,
};
use httpmock::MockServer;
use serde_json::json;

fn assert_clean_debug_and_display<T: std::fmt::Debug + std::fmt::Display>(what: &str, v: &T) {
    assert_clean(&format!("{what} Debug"), &format!("{v:?}"));
    assert_clean(&format!("{what} alternate Debug"), &format!("{v:#?}"));
    assert_clean(&format!("{what} Display"), &format!("{v}"));
}

#[test]
fn secrets_and_credentials_never_print() {
    let secret = Secret::new(KEY);
    assert_clean_debug_and_display("Secret", &secret);
    assert_eq!(secret.to_string(), "***");
    assert_eq!(secret.expose_secret(), KEY);

    let key = Credentials::ApiKey(KEY.into());
    assert_clean("Credentials::ApiKey", &format!("{key:?} {key:#?}"));
    let cc = Credentials::ClientCredentials {
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
    };
    let shown = format!("{cc:?}");
    assert_clean("Credentials::ClientCredentials", &shown);
    assert!(shown.contains(CLIENT_ID), "the id is not secret: {shown}");
}

#[test]
fn builders_configs_and_clients_never_print_credentials() {
    let with_key = builder_for("https://api.blaxel.ai/v0");
    let with_cc = Client::builder()
        .ignore_environment()
        .workspace(WS)
        .client_credentials(CLIENT_ID, CLIENT_SECRET);
    for b in [&with_key, &with_cc] {
        assert_clean("ClientBuilder", &format!("{b:?} {b:#?}"));
        let config = b.resolve().unwrap();
        let shown = format!("{config:?} {config:#?}");
        assert_clean("Config", &shown);
        assert!(shown.contains(WS), "{shown}");
        let client = b.clone().build().unwrap();
        let shown = format!("{client:?} {client:#?}");
        assert_clean("Client", &shown);
        assert!(shown.contains("***"), "{shown}");
    }
    // Credentials from the environment, too.
    let env = Client::builder().env_vars([
        ("BL_API_KEY", KEY),
        ("BL_WORKSPACE", WS),
        ("BL_API_VERSION", blaxel_jobs::config::versions::DEFAULT),
    ]);
    assert_clean("ClientBuilder from env", &format!("{env:?}"));
    assert_clean("Client from env", &format!("{:?}", env.build().unwrap()));
}

#[test]
fn a_job_with_a_secret_env_never_prints_the_value() {
    let builder = JobBuilder::new(JOB)
        .image("ghcr.io/acme/report:1")
        .env("LOG_LEVEL", "info")
        .secret_env("DB_PASSWORD", SECRET_VALUE);
    assert_clean("JobBuilder", &format!("{builder:?} {builder:#?}"));
    let job = builder.build().unwrap();
    let shown = format!("{job:?} {job:#?}");
    assert_clean("Job", &shown);
    assert!(
        shown.contains("DB_PASSWORD") && shown.contains("info"),
        "{shown}"
    );
    // The value is still sent.
    let sent = serde_json::to_value(&job).unwrap();
    assert_eq!(sent["spec"]["runtime"]["envs"][1]["value"], SECRET_VALUE);
    assert_eq!(sent["spec"]["runtime"]["envs"][1]["secret"], true);
}

#[tokio::test]
async fn errors_never_print_the_credential_that_was_sent() {
    let server = MockServer::start_async().await;
    let mock = server.get_job(|w, t| {
        w.job_id(JOB)
            .into_inner()
            .header("authorization", format!("Bearer {KEY}"));
        t.unauthorized(json!({"code": 401, "error": "unauthorized", "message": "invalid API key"}))
            .into_inner()
            .header("x-request-id", "req-401");
    });
    let client = common::client(&server);
    let err = client.job(JOB).get().send().await.unwrap_err();
    assert_eq!(mock.calls(), 1);
    assert!(err.is_unauthorized());
    assert_clean_debug_and_display("401 Error", &err);
    assert_clean_debug_and_display("401 ApiError", err.api().unwrap());

    // Transport and config errors.
    let closed = builder_for(&common::closed_port_url()).build().unwrap();
    let err = closed.job(JOB).get().send().await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)));
    assert_clean_debug_and_display("transport Error", &err);

    let err = Client::builder()
        .ignore_environment()
        .api_key(KEY)
        .workspace(WS)
        .base_url("http://api.example.com/v0")
        .build()
        .unwrap_err();
    assert_clean_debug_and_display("config Error", &err);
    let err = Client::builder()
        .env_vars([
            ("BL_WORKSPACE", WS),
            ("BL_CLIENT_CREDENTIALS", CLIENT_SECRET),
        ])
        .build()
        .unwrap_err();
    assert_clean_debug_and_display("invalid client credentials Error", &err);
}

#[tokio::test]
async fn a_failed_token_request_never_prints_the_client_secret_or_token() {
    let server = MockServer::start_async().await;
    // A token response that does not decode: it holds a token anyway.
    server.mock(|w, t| {
        w.method("POST").path("/oauth/token");
        t.status(200)
            .json_body(json!({"access_token": TOKEN, "expires_in": "soon"}));
    });
    let client = Client::builder()
        .ignore_environment()
        .base_url(server.base_url())
        .workspace(WS)
        .client_credentials(CLIENT_ID, CLIENT_SECRET)
        .retry(fast_retry())
        .build()
        .unwrap();
    let err = client.job(JOB).get().send().await.unwrap_err();
    assert!(matches!(err, Error::Decode(_)), "{err:?}");
    assert_clean_debug_and_display("token decode Error", &err);
}

#[test]
fn a_job_with_a_callback_secret_never_prints_it() {
    let job = job(JOB); // job_full.json: an http-async trigger with a callbackSecret
    let secret = "whsec_5f0c2d9e8b7a41c3a6d2e19f0b8c7d6e";
    assert_eq!(
        serde_json::to_value(&job).unwrap()["spec"]["triggers"][2]["configuration"]["callbackSecret"],
        secret
    );
    assert!(!format!("{job:?}").contains(secret));
}

#[tokio::test]
async fn error_bodies_are_never_printed_by_debug_but_stay_readable() {
    // A server that echoes a secret back in an error body, and in a success
    // body that does not decode (as GetJob with `show_secrets` could).
    let server = MockServer::start_async().await;
    let echoed = json!({"error": "bad", "detail": {"env": {"DB_PASSWORD": SECRET_VALUE}}});
    server.mock(|when, then| {
        when.method("GET").path(format!("/jobs/{JOB}"));
        then.status(400).json_body(echoed.clone());
    });
    server.mock(|when, then| {
        when.method("GET").path("/jobs/undecodable");
        then.status(200)
            .json_body(json!({"metadata": {"name": 7}, "spec": {"env": {"A": SECRET_VALUE}}}));
    });
    let client = builder_for(&server.base_url()).build().unwrap();
    let api = client.job(JOB).get().send().await.unwrap_err();
    let decode = client.job("undecodable").get().send().await.unwrap_err();
    for err in [&api, &decode] {
        let debug = format!("{err:?} {err:#?}");
        assert_clean("an error's Debug", &debug);
        assert!(debug.contains("bytes"), "the body's size is shown: {debug}");
    }
    // `fn main() -> Result<(), Error>` prints the error's Debug.
    let from_main: Result<(), Error> = Err(api);
    assert_clean("main's report", &format!("{from_main:?}"));
    // The raw bytes are there for who asks.
    let Err(Error::Api(api)) = from_main else {
        unreachable!()
    };
    assert!(api.body_text().contains(SECRET_VALUE));
    match decode {
        Error::Decode(d) => assert!(String::from_utf8_lossy(d.body()).contains(SECRET_VALUE)),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn a_built_execution_request_never_prints_env_values() {
    let client = builder_for("http://127.0.0.1:9").build().unwrap();
    let built = client
        .job(JOB)
        .executions()
        .create()
        .env("DB_PASSWORD", SECRET_VALUE)
        .task(json!({"shard": 0}))
        .build()
        .unwrap();
    let shown = format!("{built:?} {built:#?}");
    assert_clean("CreateJobExecutionRequest Debug", &shown);
    assert!(shown.contains("DB_PASSWORD"), "names are shown: {shown}");
    // The values are sent, and reachable explicitly.
    assert_eq!(built.env["DB_PASSWORD"], SECRET_VALUE);
    assert_eq!(
        serde_json::to_value(&built).unwrap()["env"]["DB_PASSWORD"],
        SECRET_VALUE
    );
}
