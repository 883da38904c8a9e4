//! Tracing: each attempt's span records the operation, method, path,
//! attempt, status and request id, and no credential ever appears in the
//! output (spans, events, the SDK's and its dependencies').
//!
//! These tests install a thread-local subscriber. tracing-core caches each
//! callsite's interest when it is first hit, racing with subscribers being
//! registered on other threads, so this binary holds only tracing tests and
//! runs them one at a time.

mod common;

use blaxel_jobs::Client;
use blaxel_jobs_httpmock::MockServerExt;
use common::{
    CLIENT_ID, CLIENT_SECRET, JOB, Recorder, TOKEN, WS, api_error, assert_clean, fast_retry, job,
    json_response,
};
use httpmock::MockServer;
use serde_json::json;
use std::future::Future;
use std::io::Write;
use std::sync::{Arc, Mutex};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::FmtSpan;

/// Runs one test at a time, on a current-thread runtime.
fn serial(test: impl Future<Output = ()>) {
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(test);
}

/// A `MakeWriter` that appends to a shared buffer.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Runs `f` with every tracing event and span of this thread written to a
/// buffer, at TRACE level, and returns the buffer's text.
async fn traced<F: Future<Output = ()>>(f: F) -> String {
    let buffer = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(buffer.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(FmtSpan::NEW | FmtSpan::CLOSE)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    f.await;
    buffer.text()
}

/// Whether a fmt line shows `name=value` (strings are quoted).
fn has_field(line: &str, name: &str, value: &str) -> bool {
    line.contains(&format!("{name}={value}")) || line.contains(&format!("{name}=\"{value}\""))
}

#[test]
fn tracing_output_records_the_request_and_never_the_key() {
    serial(records_the_request());
}

async fn records_the_request() {
    let server = MockServer::start_async().await;
    let rec = Recorder::new();
    server.get_job(|w, t| {
        w.job_id(JOB);
        t.into_inner().respond_with(rec.responder(|n, _| {
            if n == 0 {
                common::response(
                    503,
                    &[
                        ("content-type", "application/json"),
                        ("x-request-id", "req-first"),
                    ],
                    api_error(503, "unavailable", "busy").to_string(),
                )
            } else {
                json_response(200, &serde_json::to_value(job(JOB)).unwrap())
            }
        }));
    });
    server.get_job(|w, t| {
        w.job_id("missing");
        t.not_found(api_error(404, "not_found", "no such job"));
    });
    let client = common::client(&server);
    let out = traced(async {
        client.job(JOB).get().send().await.unwrap();
        client.job("missing").get().send().await.unwrap_err();
        // A request built with the generated client, sent by the SDK: one
        // attempt (404 is never retried), named the same way.
        let raw = client
            .execute(client.raw().get_job().job_id("missing"))
            .await;
        assert!(raw.unwrap_err().is_not_found());
    })
    .await;
    assert_clean("tracing output", &out);

    let spans: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("blaxel_jobs.request") && l.contains("close"))
        .collect();
    assert_eq!(spans.len(), 4, "one span per attempt:\n{out}");
    for line in &spans {
        assert!(has_field(line, "operation", "GetJob"), "{line}");
        assert!(has_field(line, "http.method", "GET"), "{line}");
        assert!(line.contains("duration_ms="), "{line}");
    }
    assert!(has_field(spans[0], "attempt", "1"), "{}", spans[0]);
    assert!(has_field(spans[0], "http.status", "503"), "{}", spans[0]);
    assert!(
        has_field(spans[0], "request_id", "req-first"),
        "{}",
        spans[0]
    );
    assert!(
        has_field(spans[0], "url.path", &format!("/jobs/{JOB}")),
        "{}",
        spans[0]
    );
    assert!(has_field(spans[1], "attempt", "2"), "{}", spans[1]);
    assert!(has_field(spans[1], "http.status", "200"), "{}", spans[1]);
    assert!(has_field(spans[2], "http.status", "404"), "{}", spans[2]);
    // The operationId, not the generated method's name (`get_job`).
    assert!(has_field(spans[3], "operation", "GetJob"), "{}", spans[3]);
    assert!(has_field(spans[3], "http.status", "404"), "{}", spans[3]);
    assert!(
        has_field(spans[2], "url.path", "/jobs/missing"),
        "{}",
        spans[2]
    );
    // The retry is logged, inside the span of the failed attempt.
    assert!(
        out.lines()
            .any(|l| l.contains("WARN") && l.contains("retrying") && l.contains("attempt=1")),
        "{out}"
    );
}

#[test]
fn tracing_output_never_shows_client_credentials_or_tokens() {
    serial(never_shows_client_credentials());
}

async fn never_shows_client_credentials() {
    let server = MockServer::start_async().await;
    let rec = Recorder::new();
    server.mock(|w, t| {
        w.method("POST").path("/oauth/token");
        t.respond_with(rec.responder(|n, _| {
            if n == 0 {
                json_response(503, &api_error(503, "unavailable", "busy"))
            } else {
                json_response(200, &json!({"access_token": TOKEN, "expires_in": 3600}))
            }
        }));
    });
    let get = server.get_job(|w, t| {
        w.job_id(JOB)
            .into_inner()
            .header("authorization", format!("Bearer {TOKEN}"));
        t.ok(&job(JOB));
    });
    let create = server.create_job_execution(|w, t| {
        w.job_id(JOB);
        t.server_error(500, json!({"code": 500, "error": "internal"}))
            .into_inner()
            .up_to_n_times(1);
    });
    server.create_job_execution(|w, t| {
        w.job_id(JOB);
        t.ok(&common::parse(json!({"executionId": "e-1"})));
    });
    let client = Client::builder()
        .ignore_environment()
        .base_url(server.base_url())
        .workspace(WS)
        .client_credentials(CLIENT_ID, CLIENT_SECRET)
        .retry(fast_retry())
        .build()
        .unwrap();
    let out = traced(async {
        client.job(JOB).get().send().await.unwrap();
        client
            .job(JOB)
            .executions()
            .create()
            .env("DB_PASSWORD_HINT", "none")
            .send()
            .await
            .unwrap();
    })
    .await;
    assert_eq!(get.calls(), 1);
    assert_eq!(create.calls(), 1);
    assert_clean("tracing output", &out);
    assert!(
        out.contains("retrying the access token request"),
        "the token retry is logged: {out}"
    );
    assert!(
        out.lines().any(|l| l.contains("blaxel_jobs.request")
            && has_field(l, "operation", "CreateJobExecution")
            && has_field(l, "attempt", "2")),
        "{out}"
    );
}

/// Values the SDK finds odd but the document allows are warned about, as
/// tracing events naming the field, and sent; page sizes that move into the
/// document's range are reported at debug level.
#[test]
fn doubtful_values_are_warnings_not_errors() {
    serial(async {
        let text = traced(async {
            let job = blaxel_jobs::JobBuilder::new("odd-")
                .memory(0)
                .env("", "x")
                .volume("v", "relative", 10)
                .cron("@hourly", [json!({})])
                .build()
                .expect("the document allows all of it");
            assert_eq!(job.metadata.name, "odd-");
            let client = Client::builder()
                .ignore_environment()
                .base_url("http://127.0.0.1:9")
                .api_key("k")
                .workspace(WS)
                .retry(fast_retry())
                .build()
                .unwrap();
            // Warned once, when it is sent (the connection is then refused).
            let _ = client.jobs().create(job).send().await;
            // Built, not sent: the clamp happens when the limit is set.
            let _ = client.jobs().list().limit(1000);
        })
        .await;
        let warnings: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("WARN") && l.contains("blaxel_jobs::validate"))
            .collect();
        for field in [
            "spec.runtime.memory",
            "spec.runtime.envs[0].name",
            "spec.volumes[0].mountPath",
            "spec.triggers[0].configuration.schedule",
        ] {
            assert!(
                warnings.iter().any(|l| has_field(l, "field", field)),
                "no warning for {field}: {text}"
            );
        }
        assert_eq!(warnings.len(), 4, "{text}");
        assert!(
            text.lines().any(|l| l.contains("DEBUG")
                && has_field(l, "asked", "1000")
                && has_field(l, "sent", "200")),
            "{text}"
        );
    });
}

/// A browser login renewed (the token endpoint first unavailable, then
/// answering) and a config file the SDK cannot write back into: the
/// output says what happened, and shows no token nor the device code.
#[test]
fn tracing_output_never_shows_a_browser_login() {
    serial(never_shows_a_browser_login());
}

async fn never_shows_a_browser_login() {
    let emu = blaxel_jobs_emulator::Emulator::start_with(
        blaxel_jobs_emulator::EmulatorConfig::default()
            .clock(blaxel_jobs_emulator::Clock::Manual)
            .rotate_refresh_tokens(true),
    )
    .await
    .unwrap();
    emu.inject(
        blaxel_jobs_emulator::Route::OAuthToken,
        blaxel_jobs_emulator::Fault::Status {
            status: 503,
            retry_after: None,
            body: None,
        },
        1,
    );
    let login = emu.device_login(WS);
    // An access token that has expired, in a flow-style entry (valid YAML
    // the SDK reads but does not edit).
    let expired = {
        use base64::Engine as _;
        let enc = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        format!(
            "{}.{}.{}",
            enc(b"{}"),
            enc(br#"{"iat":1,"exp":2}"#),
            enc(b"s")
        )
    };
    let home = common::TempPath::home_with_config(&format!(
        "workspaces: [{{name: {WS}, credentials: {{access_token: {expired}, refresh_token: {}, device_code: {}}}}}]\n",
        login.refresh_token, login.device_code
    ));
    let client = Client::builder()
        .env_vars([
            ("HOME", home.display()),
            ("BL_API_URL", emu.base_url()),
            ("BL_WORKSPACE", WS.to_owned()),
        ])
        .retry(fast_retry())
        .build()
        .unwrap();
    let out = traced(async {
        client.jobs().list().send().await.unwrap();
    })
    .await;
    assert_eq!(
        emu.request_count(blaxel_jobs_emulator::Route::OAuthToken),
        2
    );
    assert!(out.contains("retrying the access token request"), "{out}");
    assert!(
        out.contains("the renewed browser login was not saved to the config file"),
        "{out}"
    );
    for secret in [
        &login.access_token,
        &login.refresh_token,
        &login.device_code,
        &expired,
    ] {
        assert!(!out.contains(secret.as_str()), "a secret in:\n{out}");
    }
    // Nor the renewed token: the emulator's tokens all start with its JWT
    // header.
    assert!(
        !out.contains(&login.access_token[..20]),
        "a token in:\n{out}"
    );
    assert_clean("tracing output", &out);
}
