//! An HTTP client of the caller's (`ClientBuilder::http_client`, made with
//! `HttpClient::build`): the SDK's headers, per-attempt timeout, redirect
//! refusal and body limits hold whatever the caller configured.

mod common;

use blaxel_jobs::{Error, HttpClient};
use common::raw::{RawServer, Reply};
use common::{JOB, KEY, WS, builder_for};
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::json;
use std::time::Duration;

fn job_body(name: &str) -> String {
    json!({"metadata": {"name": name}, "spec": {}}).to_string()
}

/// The value of header `name` in a raw request head.
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[tokio::test]
async fn the_sdk_headers_replace_the_user_clients_and_its_others_are_kept() {
    let server = RawServer::start(|_, _| Reply::json("200 OK", &job_body(JOB))).await;
    let mut defaults = HeaderMap::new();
    defaults.insert("x-blaxel-workspace", HeaderValue::from_static("wrong-ws"));
    defaults.insert("authorization", HeaderValue::from_static("Bearer wrong"));
    defaults.insert("x-corp-trace", HeaderValue::from_static("abc"));
    let http =
        HttpClient::build(|b| b.default_headers(defaults).user_agent("corp-agent/1")).unwrap();
    let client = builder_for(&server.url).http_client(http).build().unwrap();
    let job = client.job(JOB).get().send().await.unwrap();
    assert_eq!(job.metadata.name, JOB);
    let received = server.received();
    assert_eq!(received.len(), 1);
    let head = &received[0].head;
    assert_eq!(header(head, "x-blaxel-workspace"), Some(WS));
    assert_eq!(
        header(head, "authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert!(
        header(head, "blaxel-version").is_some_and(|v| !v.is_empty()),
        "{head}"
    );
    assert!(
        header(head, "user-agent").is_some_and(|v| v.starts_with("blaxel-jobs-rust/")),
        "{head}"
    );
    assert_eq!(header(head, "x-corp-trace"), Some("abc"), "{head}");
    // One value each: the SDK's replaced the client's, not added to them.
    let count = |name: &str| {
        head.lines()
            .filter(|l| {
                l.split_once(':')
                    .is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            })
            .count()
    };
    assert_eq!(count("authorization"), 1, "{head}");
    assert_eq!(count("x-blaxel-workspace"), 1, "{head}");
}

/// A job whose definition holds a secret value, as an update sends it.
fn secret_job() -> blaxel_jobs::types::Job {
    serde_json::from_value(json!({
        "metadata": {"name": JOB},
        "spec": {"runtime": {"envs": [{"name": "DB_PASSWORD", "secret": true, "value": "hunter2"}]}}
    }))
    .unwrap()
}

#[tokio::test]
async fn a_user_client_set_to_follow_redirects_follows_none() {
    // The other origin answers like the API would, and redirects back to
    // the API (A -> B -> A): a client that followed would end in a success.
    let api_url = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let back = std::sync::Arc::clone(&api_url);
    let elsewhere = RawServer::start(move |_, _| {
        let to = format!("{}/v0/jobs/{JOB}", back.lock().unwrap());
        Reply::http("307 Temporary Redirect", &[("location", &to)], "")
    })
    .await;
    let target = format!("{}/v0/jobs/{JOB}", elsewhere.url);
    let location = target.clone();
    let api = RawServer::start(move |_, _| {
        Reply::http("307 Temporary Redirect", &[("location", &location)], "")
    })
    .await;
    *api_url.lock().unwrap() = api.url.clone();
    // reqwest's own default follows up to 10; the caller even asks for it.
    let http = HttpClient::build(|b| b.redirect(reqwest::redirect::Policy::limited(10))).unwrap();
    let client = builder_for(&api.url).http_client(http).build().unwrap();
    let err = client
        .job(JOB)
        .update(secret_job())
        .send()
        .await
        .unwrap_err();
    match &err {
        Error::Redirect(r) => {
            assert_eq!(r.status().as_u16(), 307, "{r}");
            assert_eq!(r.location(), Some(target.as_str()), "{r}");
            let text = r.to_string();
            assert!(text.contains("307") && text.contains(&target), "{text}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(api.received().len(), 1, "a redirect is not retried");
    assert_eq!(
        elsewhere.connections(),
        0,
        "nothing, least of all the body, goes to the Location"
    );
}

#[tokio::test]
async fn the_http_client_the_sdk_exposes_follows_no_redirect_either() {
    let elsewhere = RawServer::start(|_, _| Reply::json("200 OK", &job_body("elsewhere"))).await;
    let target = format!("{}/v0/jobs/{JOB}", elsewhere.url);
    let api = RawServer::start(move |_, _| {
        Reply::http("308 Permanent Redirect", &[("location", &target)], "")
    })
    .await;
    let http = HttpClient::build(|b| b.redirect(reqwest::redirect::Policy::limited(3))).unwrap();
    // The reqwest client behind it, used for a request of the caller's own.
    let response = http
        .as_reqwest()
        .put(format!("{}/v0/jobs/{JOB}", api.url))
        .body("{\"secret\": true}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 308);
    assert_eq!(elsewhere.connections(), 0);
    assert!(format!("{http:?}").contains("none"), "{http:?}");
}

#[tokio::test]
async fn a_user_clients_responses_are_bounded_like_the_sdks() {
    let big = format!(
        "{{\"metadata\":{{\"name\":\"{}\"}},\"spec\":{{}}}}",
        "a".repeat(4096)
    );
    let server = RawServer::start(move |_, _| Reply::json("200 OK", &big)).await;
    let client = builder_for(&server.url)
        .http_client(HttpClient::build(|b| b).unwrap())
        .max_response_body(1024)
        .build()
        .unwrap();
    let err = client.job(JOB).get().send().await.unwrap_err();
    match &err {
        Error::ResponseTooLarge(e) => assert_eq!(e.limit(), 1024),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_user_client_without_a_timeout_gets_the_sdks_attempt_timeout() {
    let silent = RawServer::silent().await;
    let client = builder_for(&silent.url)
        .http_client(HttpClient::build(|b| b).unwrap())
        .retry(blaxel_jobs::RetryConfig::disabled())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let err = client.job(JOB).get().send().await.unwrap_err();
    match &err {
        // The attempt's timeout ended it, not the whole call's 90 s deadline.
        Error::Transport(t) => {
            assert!(err.is_timeout(), "{err}");
            assert_eq!(t.deadline(), None, "{err}");
        }
        other => panic!("unexpected {other:?}"),
    }
}
