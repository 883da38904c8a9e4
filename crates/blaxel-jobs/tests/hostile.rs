//! The SDK against hostile servers on loopback: values that overflow
//! durations, redirects to other origins, bodies larger than memory,
//! servers that never answer. Nothing may panic, leak a request body, report
//! a false success, or hold more than the body limit in memory.

mod common;

use blaxel_jobs::{Client, Error, PollInterval, RetryConfig, TransportErrorKind};
use common::raw::{RawServer, Received, Reply};
use common::{CLIENT_ID, CLIENT_SECRET, JOB, SECRET_VALUE, TOKEN, WS, builder_for, job};
use serde_json::json;
use std::time::Duration;

fn job_body(name: &str) -> String {
    common::job_value(name).to_string()
}

fn execution_body(id: &str, status: &str) -> String {
    common::execution_value(id, status).to_string()
}

fn client(server: &RawServer) -> Client {
    builder_for(&server.url).build().expect("client")
}

// 1. Durations from outside never panic.

#[tokio::test]
async fn an_enormous_retry_after_ends_every_kind_of_call_with_the_error_that_carries_it() {
    for value in [
        "1e300",
        "18446744073709551616",
        "99999999999999999999999999",
    ] {
        let server = RawServer::start(move |_, _| {
            Reply::http(
                "503 Service Unavailable",
                &[("retry-after", value), ("content-type", "application/json")],
                r#"{"code":503,"error":"unavailable","message":"later"}"#,
            )
        })
        .await;
        let client = client(&server);
        let get = client.job(JOB).get().send().await.unwrap_err();
        let create = client.jobs().create(job(JOB)).send().await.unwrap_err();
        let start = client
            .job(JOB)
            .executions()
            .create()
            .send()
            .await
            .unwrap_err();
        let wait = client
            .job(JOB)
            .execution("exec-1")
            .wait_until_succeeded()
            .poll_interval(common::fast_poll())
            .wait(Duration::from_secs(5))
            .await
            .unwrap_err();
        for err in [get, create, start, wait] {
            let api = err.api().unwrap_or_else(|| panic!("{value}: {err}"));
            assert_eq!(api.status.as_u16(), 503, "{value}");
            assert_eq!(api.retry_after, Some(Duration::MAX), "{value}");
            assert_eq!(api.attempts, 1, "{value}: not retried");
        }
        assert_eq!(server.received().len(), 4, "{value}: one request per call");
    }
}

#[tokio::test]
async fn a_retry_after_longer_than_the_operation_deadline_is_not_waited_for() {
    let server =
        RawServer::start(|_, _| Reply::http("429 Too Many Requests", &[("retry-after", "30")], ""))
            .await;
    let client = builder_for(&server.url)
        .retry(RetryConfig {
            max_retry_after: Duration::from_secs(3600),
            ..common::fast_retry()
        })
        .operation_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let err = client.job(JOB).get().send().await.unwrap_err();
    assert_eq!(
        err.api().unwrap().retry_after,
        Some(Duration::from_secs(30))
    );
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn a_token_lifetime_of_any_size_is_accepted_without_panicking() {
    for expires in ["18446744073709551615", "9223372036854775807"] {
        let server = RawServer::start(move |_, req: &Received| {
            if req.line().starts_with("POST /oauth/token") {
                Reply::json(
                    "200 OK",
                    &format!(r#"{{"access_token":"{TOKEN}","expires_in":{expires}}}"#),
                )
            } else {
                Reply::json("200 OK", &job_body(JOB))
            }
        })
        .await;
        let client = builder_for(&server.url)
            .client_credentials(CLIENT_ID, CLIENT_SECRET)
            .build()
            .unwrap();
        for _ in 0..2 {
            let found = client.job(JOB).get().send().await.unwrap();
            assert_eq!(found.metadata.name, JOB);
        }
        let token_requests = server
            .received()
            .iter()
            .filter(|r| r.line().starts_with("POST /oauth/token"))
            .count();
        assert_eq!(token_requests, 1, "{expires}: the token is cached");
    }
}

#[tokio::test]
async fn waiters_take_any_max_wait_and_poll_factor() {
    let server = RawServer::start(|n, _| {
        let status = if n < 3 { "running" } else { "succeeded" };
        Reply::json("200 OK", &execution_body("exec-1", status))
    })
    .await;
    let client = client(&server);
    for (max_wait, factor) in [
        (Duration::MAX, 1e300),
        (Duration::MAX, f64::INFINITY),
        (Duration::from_secs(u64::MAX), f64::NAN),
    ] {
        let done = client
            .job(JOB)
            .execution("exec-1")
            .wait_until_succeeded()
            .poll_interval(PollInterval {
                initial: Duration::from_millis(1),
                max: Duration::from_millis(3),
                factor,
            })
            .wait(max_wait)
            .await
            .unwrap();
        assert_eq!(done.metadata.id.as_deref(), Some("exec-1"));
    }
}

#[tokio::test]
async fn client_durations_of_any_size_build_and_call_without_panicking() {
    let server = RawServer::start(|_, _| Reply::json("200 OK", &job_body(JOB))).await;
    let client = builder_for(&server.url)
        .timeout(Duration::MAX)
        .connect_timeout(Duration::MAX)
        .operation_timeout(Duration::MAX)
        .retry(RetryConfig {
            max_attempts: u32::MAX,
            initial_backoff: Duration::MAX,
            max_backoff: Duration::MAX,
            max_retry_after: Duration::MAX,
        })
        .build()
        .unwrap();
    assert_eq!(
        client.job(JOB).get().send().await.unwrap().metadata.name,
        JOB
    );
    let per_call = client
        .job(JOB)
        .get()
        .timeout(Duration::MAX)
        .send()
        .await
        .unwrap();
    assert_eq!(per_call.metadata.name, JOB);
}

// 2. Redirects are never followed.

/// A server that redirects every request to `location` with `status`.
async fn redirecting(status: &'static str, location: String) -> RawServer {
    RawServer::start(move |_, _| Reply::http(status, &[("location", &location)], "")).await
}

#[tokio::test]
async fn a_307_or_308_never_carries_a_body_to_another_origin() {
    for status in ["307 Temporary Redirect", "308 Permanent Redirect"] {
        let elsewhere = RawServer::silent().await;
        let api = redirecting(status, format!("{}/steal", elsewhere.url)).await;
        let client = client(&api);
        let errors = [
            client
                .job(JOB)
                .executions()
                .create()
                .env("DB_PASSWORD", SECRET_VALUE)
                .send()
                .await
                .unwrap_err(),
            client.job(JOB).update(job(JOB)).send().await.unwrap_err(),
        ];
        for err in errors {
            match &err {
                Error::Redirect(r) => {
                    assert_eq!(r.status.as_u16(), status[..3].parse::<u16>().unwrap());
                    assert_eq!(
                        r.location.as_deref(),
                        Some(format!("{}/steal", elsewhere.url).as_str())
                    );
                }
                other => panic!("{status}: unexpected {other:?}"),
            }
            let shown = err.to_string();
            assert!(
                shown.contains(&status[..3]) && shown.contains("/steal"),
                "{shown}"
            );
            common::assert_clean("a redirect error", &format!("{err} {err:?}"));
        }
        assert_eq!(api.received().len(), 2, "{status}: one attempt per call");
        assert_eq!(
            elsewhere.connections(),
            0,
            "{status}: nothing was sent elsewhere"
        );
    }
}

#[tokio::test]
async fn a_redirect_to_plain_http_off_loopback_sends_nothing() {
    // 192.0.2.0/24 is reserved for documentation: if the SDK followed the
    // redirect, the connection attempt itself would be the failure.
    let api = redirecting("307 Temporary Redirect", "http://192.0.2.1/v0/jobs".into()).await;
    let err = client(&api)
        .job(JOB)
        .executions()
        .create()
        .env("DB_PASSWORD", SECRET_VALUE)
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Redirect(r) if r.location.as_deref() == Some("http://192.0.2.1/v0/jobs")),
        "{err}"
    );
    assert_eq!(api.received().len(), 1);
}

#[tokio::test]
async fn a_302_after_create_job_is_not_a_successful_create() {
    let elsewhere = RawServer::silent().await;
    let location = format!("{}/jobs/{JOB}", elsewhere.url);
    let api = redirecting("302 Found", location).await;
    let err = client(&api)
        .jobs()
        .create(job(JOB))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Redirect(r) if r.status.as_u16() == 302),
        "{err}"
    );
    assert_eq!(err.status().map(|s| s.as_u16()), Some(302));
    assert_eq!(api.received().len(), 1);
    assert_eq!(elsewhere.connections(), 0);
}

#[tokio::test]
async fn a_same_origin_redirect_loop_is_one_request() {
    let api = RawServer::start(|n, _| {
        Reply::http(
            "301 Moved Permanently",
            &[("location", &format!("/jobs/loop-{n}"))],
            "",
        )
    })
    .await;
    let err = client(&api).job(JOB).get().send().await.unwrap_err();
    assert!(matches!(err, Error::Redirect(_)), "{err}");
    assert!(!err.is_retryable());
    assert_eq!(api.received().len(), 1);
}

#[tokio::test]
async fn the_token_endpoint_s_redirects_are_not_followed_either() {
    let elsewhere = RawServer::silent().await;
    let location = format!("{}/oauth/token", elsewhere.url);
    let api = redirecting("307 Temporary Redirect", location).await;
    let err = builder_for(&api.url)
        .client_credentials(CLIENT_ID, CLIENT_SECRET)
        .build()
        .unwrap()
        .job(JOB)
        .get()
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Redirect(_)), "{err}");
    assert_eq!(api.received().len(), 1);
    assert_eq!(elsewhere.connections(), 0);
    common::assert_clean("a token redirect error", &format!("{err} {err:?}"));
}

// 3. Bodies are bounded.

fn streaming(prefix: &str, total: Option<u64>, declare: bool, status: &str) -> Reply {
    Reply::Stream {
        head: format!("HTTP/1.1 {status}\r\ncontent-type: application/json"),
        prefix: prefix.as_bytes().to_vec(),
        filler: b'a',
        total,
        declare,
    }
}

#[tokio::test]
async fn an_endless_body_ends_at_the_limit() {
    let server =
        RawServer::start(|_, _| streaming(r#"{"metadata":{"name":""#, None, false, "200 OK")).await;
    let client = builder_for(&server.url)
        .max_response_body(1024 * 1024)
        .build()
        .unwrap();
    let err = client.job(JOB).get().send().await.unwrap_err();
    match &err {
        Error::ResponseTooLarge(e) => {
            assert_eq!(e.limit, 1024 * 1024);
            assert_eq!(e.status.as_u16(), 200);
            assert_eq!(e.declared, None);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(server.received().len(), 1, "a body failure is not retried");
}

#[tokio::test]
async fn a_declared_length_over_the_limit_fails_before_reading() {
    let server =
        RawServer::start(|_, _| streaming(r#"{"data":["#, Some(2 << 30), true, "200 OK")).await;
    let err = client(&server).jobs().list().send().await.unwrap_err();
    match &err {
        Error::ResponseTooLarge(e) => {
            assert_eq!(e.declared, Some(2 << 30));
            assert_eq!(e.limit, blaxel_jobs::body::DEFAULT_MAX_RESPONSE_BODY);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn a_huge_error_body_is_cut_and_its_message_is_shown_short() {
    // A gigabyte of error body, streamed: only the start is read and kept.
    let server = RawServer::start(|_, _| {
        streaming(
            r#"{"error":"x","message":""#,
            Some(1 << 30),
            false,
            "400 Bad Request",
        )
    })
    .await;
    let err = client(&server).job(JOB).get().send().await.unwrap_err();
    let api = err.api().unwrap_or_else(|| panic!("{err}"));
    assert_eq!(api.status.as_u16(), 400);
    assert!(api.body_truncated);
    assert_eq!(api.body.len(), blaxel_jobs::body::ERROR_BODY_KEPT);
    assert!(err.to_string().len() < 1024, "{}", err.to_string().len());
    assert!(format!("{err:?}").len() < 2048);

    // A complete 10 MB message (under the body limit) is shown short too.
    let message = "m".repeat(10 << 20);
    let body = json!({"error": "big", "message": message}).to_string();
    let server = RawServer::start(move |_, _| Reply::json("422 Unprocessable Entity", &body)).await;
    let err = client(&server).job(JOB).get().send().await.unwrap_err();
    let shown = err.to_string();
    assert!(shown.len() < 1024, "{}", shown.len());
    assert!(shown.contains("API error 422"), "{shown}");
    assert!(format!("{err:?}").len() < 2048);
}

#[tokio::test]
async fn a_huge_token_response_is_refused() {
    let server =
        RawServer::start(|_, _| streaming(r#"{"access_token":""#, None, false, "200 OK")).await;
    let err = builder_for(&server.url)
        .client_credentials(CLIENT_ID, CLIENT_SECRET)
        .build()
        .unwrap()
        .job(JOB)
        .get()
        .send()
        .await
        .unwrap_err();
    match &err {
        Error::ResponseTooLarge(e) => {
            assert_eq!(e.limit, blaxel_jobs::body::TOKEN_RESPONSE_LIMIT);
        }
        other => panic!("unexpected {other:?}"),
    }
}

/// The environment variable that makes the memory test run its scenario.
const MEMORY_CHILD: &str = "BLAXEL_JOBS_MEMORY_CHILD";

/// The process's peak resident memory (`VmHWM`), in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

#[test]
fn a_two_gib_body_keeps_memory_bounded_by_the_limit() {
    if std::env::var_os(MEMORY_CHILD).is_some() {
        // The child: a server streaming 2 GiB of JSON (chunked, so that only
        // reading can find its size) and a client with the default limit.
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let outcome = rt.block_on(async {
            let server = RawServer::start(|_, _| {
                streaming(r#"{"metadata":{"name":""#, Some(2 << 30), false, "200 OK")
            })
            .await;
            match client(&server).job(JOB).get().send().await {
                Err(Error::ResponseTooLarge(e)) => format!("too-large limit={}", e.limit),
                other => format!("unexpected {other:?}"),
            }
        });
        println!("OUTCOME {outcome}");
        println!("PEAK_KIB {}", peak_rss_kib());
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args([
            "--exact",
            "a_two_gib_body_keeps_memory_bounded_by_the_limit",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(MEMORY_CHILD, "1")
        .output()
        .expect("run the child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = |key: &str| {
        stdout
            .lines()
            .find_map(|l| l.split_once(key).map(|(_, v)| v))
            .unwrap_or_else(|| panic!("no {key} in {stdout}"))
            .trim()
            .to_owned()
    };
    let limit = blaxel_jobs::body::DEFAULT_MAX_RESPONSE_BODY;
    assert_eq!(line("OUTCOME "), format!("too-large limit={limit}"));
    let peak: u64 = line("PEAK_KIB ").parse().unwrap();
    // The limit, plus a copy while collecting, plus the test binary itself:
    // far below the 2 GiB sent (reading it whole peaked at 4.1 GB).
    let bound_kib = 3 * limit / 1024 + 64 * 1024;
    assert!(peak < bound_kib, "peak {peak} KiB, bound {bound_kib} KiB");
    eprintln!("2 GiB body: peak resident memory {peak} KiB (bound {bound_kib} KiB)");
}

// 6. A deadline for the whole call.

/// On a paused clock (it jumps to the next timer whenever the runtime is
/// idle, and loopback connections complete inside the system call), with
/// the default timeouts: 60 s per attempt, 90 s for the call.
#[tokio::test(start_paused = true)]
async fn a_server_that_never_answers_is_given_up_on_at_the_operation_deadline() {
    let server = RawServer::start(|_, _| Reply::Hang).await;
    let client = builder_for(&server.url).build().unwrap();
    let started = tokio::time::Instant::now();
    let err = client.job(JOB).get().send().await.unwrap_err();
    let took = started.elapsed();
    match &err {
        Error::Transport(t) => {
            assert_eq!(t.kind, TransportErrorKind::Timeout, "{err}");
            // The first attempt used its 60 s; the second got what remained
            // of the 90 s, and no third was made.
            assert_eq!(t.attempts, 2, "{err}");
            assert_eq!(t.deadline, Some(Duration::from_secs(90)), "{err}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("deadline"), "{err}");
    assert_eq!(server.received().len(), 2);
    // Virtual time: the deadline, give or take the (millisecond) backoff.
    assert!(
        took >= Duration::from_secs(90) && took < Duration::from_secs(91),
        "{took:?}"
    );
}

#[tokio::test]
async fn the_operation_timeout_defaults_are_documented_values() {
    let client = builder_for("http://127.0.0.1:9").build().unwrap();
    assert_eq!(
        client.config().operation_timeout(),
        blaxel_jobs::config::DEFAULT_OPERATION_TIMEOUT
    );
    assert_eq!(
        client.config().max_response_body(),
        blaxel_jobs::body::DEFAULT_MAX_RESPONSE_BODY
    );
    assert!(client.config().operation_timeout() > client.config().timeout());
}

// 7. Each cause is printed once.

#[tokio::test]
async fn a_refused_connection_prints_each_cause_once() {
    let client = builder_for(&common::closed_port_url())
        .retry(RetryConfig::disabled())
        .build()
        .unwrap();
    let err = client.job(JOB).get().send().await.unwrap_err();
    let mut texts = vec![err.to_string()];
    let mut cause = std::error::Error::source(&err);
    while let Some(c) = cause {
        texts.push(c.to_string());
        cause = c.source();
    }
    assert!(texts.len() >= 2, "the cause is reachable: {texts:?}");
    for (i, outer) in texts.iter().enumerate() {
        for inner in &texts[i + 1..] {
            assert!(
                !outer.contains(inner.as_str()),
                "{outer:?} repeats its cause {inner:?}"
            );
        }
    }
    assert!(
        texts[0].starts_with("transport error: cannot connect"),
        "{texts:?}"
    );
}

#[test]
fn configuration_and_input_errors_have_no_cause_repeating_them() {
    let err = Client::builder()
        .ignore_environment()
        .workspace(WS)
        .build()
        .unwrap_err();
    assert!(std::error::Error::source(&err).is_none(), "{err}");
    assert!(
        err.to_string().starts_with("configuration error: "),
        "{err}"
    );
}
