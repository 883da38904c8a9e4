//! A `reqwest::Client` of the caller's (`ClientBuilder::http_client`): the
//! SDK's headers, per-attempt timeout, redirect refusal and body limits hold
//! whatever that client does.

mod common;

use blaxel_jobs::Error;
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
    let http = blaxel_jobs::raw::tls::http_client_builder()
        .default_headers(defaults)
        .user_agent("corp-agent/1")
        .build()
        .unwrap();
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

#[tokio::test]
async fn a_user_client_that_follows_redirects_still_gets_a_redirect_error() {
    // The other origin answers like the API would: a success the SDK must
    // not take for this request's answer.
    let elsewhere = RawServer::start(|_, _| Reply::json("200 OK", &job_body("elsewhere"))).await;
    let target = format!("{}/v0/jobs/{JOB}", elsewhere.url);
    let api = RawServer::start(move |_, _| {
        Reply::http("307 Temporary Redirect", &[("location", &target)], "")
    })
    .await;
    // reqwest's default policy follows up to 10 redirects.
    let http = blaxel_jobs::raw::tls::http_client_builder()
        .build()
        .unwrap();
    let client = builder_for(&api.url).http_client(http).build().unwrap();
    let err = client.job(JOB).get().send().await.unwrap_err();
    match &err {
        Error::Redirect(r) => assert_eq!(r.status().as_u16(), 200, "{r}"),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(api.received().len(), 1, "a redirect is not retried");
    // The followed request left the SDK's hands, but not its credential:
    // reqwest drops Authorization when the host changes (here the port).
    let followed = elsewhere.received();
    assert_eq!(followed.len(), 1);
    assert_eq!(header(&followed[0].head, "authorization"), None);
}

#[tokio::test]
async fn a_user_clients_responses_are_bounded_like_the_sdks() {
    let big = format!(
        "{{\"metadata\":{{\"name\":\"{}\"}},\"spec\":{{}}}}",
        "a".repeat(4096)
    );
    let server = RawServer::start(move |_, _| Reply::json("200 OK", &big)).await;
    let client = builder_for(&server.url)
        .http_client(
            blaxel_jobs::raw::tls::http_client_builder()
                .build()
                .unwrap(),
        )
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
        .http_client(
            blaxel_jobs::raw::tls::http_client_builder()
                .build()
                .unwrap(),
        )
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
