//! Fixtures and helpers shared by the integration tests of `blaxel-jobs`:
//! realistic API documents (the client crate's fixtures), clients wired to an
//! httpmock server with fast retries, temporary files, and a raw TCP server
//! for transport failures.
#![allow(dead_code)]

pub mod raw;

use blaxel_jobs::{Client, ClientBuilder, PollInterval, RetryConfig, types};
use httpmock::{HttpMockRequest, HttpMockResponse, MockServer};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The API key of the test clients. Long and distinctive, so that a leak in
/// any output is found by a plain substring search.
pub const KEY: &str = "bl_live_k3y_9fQ2xZ7wLmP4vN8r";
/// OAuth client credentials and a token of the redaction tests.
pub const CLIENT_ID: &str = "client-7";
pub const CLIENT_SECRET: &str = "cl1ent-s3cret-VALUE-93kd";
pub const TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.access-t0ken-QWERTY";
pub const SECRET_VALUE: &str = "p4ssw0rd-DB-secret-value";

/// Every secret of the tests, and the Basic credential derived from the
/// client secret.
pub fn secrets() -> Vec<String> {
    use base64::Engine as _;
    vec![
        KEY.to_owned(),
        CLIENT_SECRET.to_owned(),
        TOKEN.to_owned(),
        SECRET_VALUE.to_owned(),
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}")),
    ]
}

/// Fails if `text` contains any secret of [`secrets`].
pub fn assert_clean(what: &str, text: &str) {
    for s in secrets() {
        assert!(!text.contains(&s), "{what} shows a secret ({s}): {text}");
    }
}

/// The workspace of the test clients.
pub const WS: &str = "acme-analytics";
/// The job most tests use.
pub const JOB: &str = "nightly-report";

/// `crates/blaxel-jobs-client/tests/fixtures/`.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../blaxel-jobs-client/tests/fixtures")
}

/// A fixture of the client crate as a JSON value.
pub fn fixture_value(name: &str) -> Value {
    let path = fixtures_dir().join(name);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: invalid JSON: {e}"))
}

/// A JSON value parsed into a generated type.
pub fn parse<T: DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).unwrap_or_else(|e| {
        panic!(
            "the test document does not parse as {}: {e}",
            std::any::type_name::<T>()
        )
    })
}

/// Retries as the default (3 attempts) but with millisecond backoffs.
pub fn fast_retry() -> RetryConfig {
    RetryConfig::default()
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(5))
}

/// Waiter polls every few milliseconds.
pub fn fast_poll() -> PollInterval {
    PollInterval::new(Duration::from_millis(1), Duration::from_millis(5))
}

/// A builder for `server` that reads no environment and no config file.
pub fn builder_for(base_url: &str) -> ClientBuilder {
    Client::builder()
        .ignore_environment()
        .base_url(base_url)
        .api_key(KEY)
        .workspace(WS)
        .retry(fast_retry())
}

/// A client of `server` with the test key, workspace and fast retries.
pub fn client(server: &MockServer) -> Client {
    builder_for(&server.base_url())
        .build()
        .expect("client for the mock server")
}

/// `job_full.json` (a complete, deployed job) under another name.
pub fn job_value(name: &str) -> Value {
    let mut v = fixture_value("job_full.json");
    v["metadata"]["name"] = json!(name);
    v
}

/// A complete deployed job.
pub fn job(name: &str) -> types::Job {
    parse(job_value(name))
}

/// A complete job in a given deployment status.
pub fn job_with_status(name: &str, status: &str) -> types::Job {
    let mut v = job_value(name);
    v["status"] = json!(status);
    parse(v)
}

/// `execution_running.json` with another id and status.
pub fn execution_value(id: &str, status: &str) -> Value {
    let mut v = fixture_value("execution_running.json");
    v["metadata"]["id"] = json!(id);
    v["status"] = json!(status);
    v
}

/// A realistic execution.
pub fn execution(id: &str, status: &str) -> types::JobExecution {
    parse(execution_value(id, status))
}

fn meta(next: Option<&str>) -> Value {
    json!({"hasMore": next.is_some(), "nextCursor": next.unwrap_or(""), "total": 42})
}

/// A page of jobs named `names`; `next` is the next cursor (and `hasMore`).
pub fn job_page(names: &[&str], next: Option<&str>) -> types::JobList {
    parse(json!({
        "data": names.iter().map(|n| job_value(n)).collect::<Vec<_>>(),
        "meta": meta(next),
    }))
}

/// A page of executions.
pub fn execution_page(ids: &[&str], next: Option<&str>) -> types::JobExecutionList {
    parse(json!({
        "data": ids.iter().map(|id| execution_value(id, "succeeded")).collect::<Vec<_>>(),
        "meta": meta(next),
    }))
}

/// A page of tasks.
pub fn task_page(names: &[&str], next: Option<&str>) -> types::JobExecutionTaskList {
    let template = fixture_value("task_list_page.json")["data"][0].clone();
    parse(json!({
        "data": names
            .iter()
            .map(|n| {
                let mut t = template.clone();
                t["metadata"]["name"] = json!(n);
                t
            })
            .collect::<Vec<_>>(),
        "meta": meta(next),
    }))
}

/// The API's own error object.
pub fn api_error(code: u16, error: &str, message: &str) -> Value {
    json!({"code": code, "error": error, "message": message})
}

/// A response for `respond_with`.
pub fn response(
    status: u16,
    headers: &[(&str, &str)],
    body: impl Into<String>,
) -> HttpMockResponse {
    let mut b = HttpMockResponse::builder().status(status);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(body.into()).build()
}

/// A JSON response for `respond_with`.
pub fn json_response(status: u16, body: &Value) -> HttpMockResponse {
    response(
        status,
        &[("content-type", "application/json")],
        body.to_string(),
    )
}

/// Records the body of every request it answers, and answers the `n`-th
/// request (0-based) with `answer(n, request)`.
#[derive(Clone, Default)]
pub struct Recorder {
    bodies: Arc<Mutex<Vec<String>>>,
    count: Arc<AtomicUsize>,
}

impl Recorder {
    pub fn new() -> Self {
        Self::default()
    }

    /// A `respond_with` function.
    pub fn responder(
        &self,
        answer: impl Fn(usize, &HttpMockRequest) -> HttpMockResponse + Send + Sync + 'static,
    ) -> impl Fn(&HttpMockRequest) -> HttpMockResponse + Send + Sync + 'static {
        let this = self.clone();
        move |req| {
            let n = this.count.fetch_add(1, Ordering::SeqCst);
            this.bodies.lock().unwrap().push(req.body_string());
            answer(n, req)
        }
    }

    pub fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    pub fn bodies(&self) -> Vec<String> {
        self.bodies.lock().unwrap().clone()
    }

    /// The bodies parsed as JSON.
    pub fn json_bodies(&self) -> Vec<Value> {
        self.bodies()
            .iter()
            .map(|b| serde_json::from_str(b).unwrap_or_else(|e| panic!("body {b:?}: {e}")))
            .collect()
    }
}

/// A path under the temporary directory that no other test uses.
pub fn temp_path(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    std::env::temp_dir().join(format!(
        "blaxel-jobs-test-{}-{n}-{}",
        std::process::id(),
        name
    ))
}

/// A temporary file or directory, removed when dropped.
pub struct TempPath(pub PathBuf);

impl TempPath {
    /// Writes `contents` to a new file named `name`.
    pub fn file(name: &str, contents: &str) -> Self {
        let path = temp_path(name);
        std::fs::write(&path, contents).expect("write temp file");
        TempPath(path)
    }

    /// A fake home directory holding `.blaxel/config.yaml`.
    pub fn home_with_config(contents: &str) -> Self {
        let home = temp_path("home");
        std::fs::create_dir_all(home.join(".blaxel")).expect("create fake home");
        std::fs::write(home.join(".blaxel").join("config.yaml"), contents)
            .expect("write config.yaml");
        TempPath(home)
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }

    pub fn display(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        if self.0.is_dir() {
            let _ = std::fs::remove_dir_all(&self.0);
        } else {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

/// A loopback URL where nothing listens (connections are refused).
pub fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// A raw TCP server on loopback that reads each request and closes the
/// connection without answering: the request reached the server, but no
/// response came back.
pub struct HangUpServer {
    pub url: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl HangUpServer {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { break };
                let log = Arc::clone(&log);
                std::thread::spawn(move || handle_hang_up(stream, log));
            }
        });
        HangUpServer { url, requests }
    }

    /// The request heads received so far (request line and headers).
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

fn handle_hang_up(mut stream: TcpStream, log: Arc<Mutex<Vec<String>>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    // Read the head, then the body announced by Content-Length.
    loop {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let length = content_length(&head);
            while buf.len() < end + 4 + length {
                match stream.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            log.lock().unwrap().push(head);
            let _ = stream.flush();
            let _ = stream.shutdown(std::net::Shutdown::Both);
            return;
        }
    }
}

/// The `Content-Length` of a request head (0 when absent or unreadable).
pub fn content_length(head: &str) -> usize {
    head.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())
                .flatten()
        })
        .unwrap_or(0)
}
