//! Helpers shared by the integration tests: an emulator on a manual clock
//! and a reqwest client that sends what the SDK sends.

use blaxel_jobs_emulator::{Clock, Emulator, EmulatorConfig};
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use std::time::Duration;

/// The API version the SDK sends by default, which pages.
pub const V2: &str = blaxel_jobs_client::versions::DEFAULT;

/// An emulator plus an HTTP client aimed at one workspace.
pub struct H {
    pub emu: Emulator,
    pub http: reqwest::Client,
    pub ws: String,
}

/// A response, read to the end.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Resp {
    /// The body as JSON; panics (failing the test) when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}), status {}: {}", self.status, self.text))
    }

    /// The header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status and returns the JSON body.
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "body: {}", self.text);
        self.json()
    }

    /// Asserts an API `Error` body with this status and kind; returns its message.
    pub fn api_error(&self, status: u16, kind: &str) -> String {
        let body = self.expect(status);
        assert_eq!(body["code"], status, "{body}");
        assert_eq!(body["error"], kind, "{body}");
        assert!(
            self.header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "{:?}",
            self.headers
        );
        body["message"].as_str().unwrap_or_default().to_owned()
    }
}

impl H {
    /// An emulator on a manual clock.
    pub async fn manual() -> H {
        H::with(EmulatorConfig::default().clock(Clock::Manual)).await
    }

    /// An emulator with this configuration.
    pub async fn with(config: EmulatorConfig) -> H {
        let emu = Emulator::start_with(config).await.expect("emulator starts");
        H {
            emu,
            http: blaxel_jobs_client::tls::http_client_builder()
                .build()
                .expect("an HTTP client"),
            ws: "test-ws".to_owned(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.emu.base_url(), path)
    }

    /// A request with no headers of ours at all.
    pub fn bare(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, self.url(path))
    }

    /// A request with the API key, the workspace and no version header.
    pub fn v1(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.bare(method, path)
            .bearer_auth(self.emu.api_key())
            .header("X-Blaxel-Workspace", &self.ws)
    }

    /// A request as the SDK sends it: API key, workspace, the default Blaxel-Version.
    pub fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.v1(method, path).header("Blaxel-Version", V2)
    }

    pub async fn get(&self, path: &str) -> Resp {
        send(self.req(Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        send(self.req(Method::POST, path).json(&body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Resp {
        send(self.req(Method::PUT, path).json(&body)).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        send(self.req(Method::DELETE, path)).await
    }

    /// Creates a job with this spec; returns the answer.
    pub async fn create_job(&self, name: &str, spec: Value) -> Value {
        self.post("/jobs", json!({"metadata": {"name": name}, "spec": spec}))
            .await
            .expect(200)
    }

    /// Starts an execution; returns its id.
    pub async fn start(&self, job: &str, body: Value) -> String {
        let out = self
            .post(&format!("/jobs/{job}/executions"), body)
            .await
            .expect(200);
        out["executionId"]
            .as_str()
            .expect("executionId in the answer")
            .to_owned()
    }

    /// GetJobExecution.
    pub async fn execution(&self, job: &str, id: &str) -> Value {
        self.get(&format!("/jobs/{job}/executions/{id}"))
            .await
            .expect(200)
    }

    /// The status of an execution now.
    pub async fn status(&self, job: &str, id: &str) -> String {
        self.execution(job, id).await["status"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Moves the simulated clock.
    pub fn advance_ms(&self, ms: u64) {
        self.emu.advance(Duration::from_millis(ms));
    }
}

/// Sends a request and reads the whole answer.
pub async fn send(rb: reqwest::RequestBuilder) -> Resp {
    let r = rb.send().await.expect("the request gets an answer");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.expect("the body is readable");
    Resp {
        status,
        headers,
        text,
    }
}
