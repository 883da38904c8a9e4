//! The three clients the overhead benchmark compares, doing the same
//! exchanges with the same headers:
//!
//! * [`RawReqwest`] (a): hand-written reqwest + serde_json into the
//!   generated types, the floor any client pays;
//! * [`Generated`] (b): the generated `blaxel_jobs_client::Client`, the
//!   headers set as the reqwest client's default headers;
//! * [`Sdk`] (c): `blaxel_jobs::Client` with its default configuration
//!   (retries on, tracing compiled in, no subscriber installed).
//!
//! Each exchange returns a small number derived from the decoded response,
//! so that nothing can be optimised away and a wrong answer is noticed.

use crate::fixtures::JOB_NAME;
use blaxel_jobs_client::types;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderName, HeaderValue, USER_AGENT};
use std::future::Future;
use std::time::Duration;

/// The outcome of one exchange: a checksum of the response, or why it failed.
pub type Outcome = Result<usize, String>;

/// The API key the clients send (the server ignores it).
pub const API_KEY: &str = "bl_bench_0123456789abcdef";
/// The workspace the clients send.
pub const WORKSPACE: &str = "acme-analytics";

/// The exchanges of the benchmark.
pub trait Exchange: Send + Sync + 'static {
    /// A short label for tables.
    const LABEL: &'static str;
    /// GET /jobs/{id}.
    fn get_job(&self) -> impl Future<Output = Outcome> + Send;
    /// POST /jobs with `job` as the body.
    fn create_job(&self, job: types::Job) -> impl Future<Output = Outcome> + Send;
    /// GET /jobs?limit=100: one page of 100 jobs.
    fn list_jobs(&self) -> impl Future<Output = Outcome> + Send;
}

fn job_sum(job: &types::Job) -> usize {
    job.metadata.name.len() + job.spec.runtime.as_ref().map_or(0, |r| r.envs.len())
}

fn list_sum(list: &types::JobList) -> usize {
    list.data.iter().map(job_sum).sum()
}

/// The headers every Blaxel request carries.
fn blaxel_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    let mut auth = HeaderValue::from_str(&format!("Bearer {API_KEY}")).expect("a valid header");
    auth.set_sensitive(true);
    headers.insert(AUTHORIZATION, auth);
    headers.insert(
        HeaderName::from_static("x-blaxel-workspace"),
        HeaderValue::from_static(WORKSPACE),
    );
    headers.insert(
        HeaderName::from_static("blaxel-version"),
        HeaderValue::from_static(blaxel_jobs::config::default_api_version()),
    );
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    // The SDK's own user agent, so that every client sends the same headers.
    let sdk = blaxel_jobs::Client::builder()
        .ignore_environment()
        .workspace(WORKSPACE)
        .api_key(API_KEY)
        .base_url("http://127.0.0.1:9")
        .build()
        .expect("an SDK client");
    headers.insert(
        USER_AGENT,
        HeaderValue::from_str(sdk.config().user_agent()).expect("a valid header"),
    );
    headers
}

fn http_client(timeout: Option<Duration>) -> reqwest::Client {
    // The TLS provider must be installed even for plain HTTP: reqwest builds
    // its TLS configuration when the client is built.
    let builder = blaxel_jobs_client::tls::http_client_builder().default_headers(blaxel_headers());
    match timeout {
        Some(t) => builder.timeout(t),
        None => builder,
    }
    .build()
    .expect("a reqwest client")
}

/// (a) Hand-written reqwest + serde_json into the generated types.
#[derive(Debug, Clone)]
pub struct RawReqwest {
    http: reqwest::Client,
    job_url: String,
    jobs_url: String,
    list_url: String,
}

impl RawReqwest {
    /// A client of the API at `base` (such as `http://127.0.0.1:8080`).
    pub fn new(base: &str) -> Self {
        Self::with_timeout(base, None)
    }

    /// The same, with a total timeout on each request (as the SDK sets).
    pub fn with_timeout(base: &str, timeout: Option<Duration>) -> Self {
        RawReqwest {
            http: http_client(timeout),
            job_url: format!("{base}/jobs/{JOB_NAME}"),
            jobs_url: format!("{base}/jobs"),
            list_url: format!("{base}/jobs?limit=100"),
        }
    }

    async fn decode<T: serde::de::DeserializeOwned>(
        request: reqwest::RequestBuilder,
    ) -> Result<T, String> {
        let response = request.send().await.map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("status {}", response.status()));
        }
        let body = response.bytes().await.map_err(|e| e.to_string())?;
        serde_json::from_slice(&body).map_err(|e| e.to_string())
    }
}

impl Exchange for RawReqwest {
    const LABEL: &'static str = "a raw reqwest";

    async fn get_job(&self) -> Outcome {
        let job: types::Job = Self::decode(self.http.get(&self.job_url)).await?;
        Ok(job_sum(&job))
    }

    async fn create_job(&self, job: types::Job) -> Outcome {
        let job: types::Job = Self::decode(self.http.post(&self.jobs_url).json(&job)).await?;
        Ok(job_sum(&job))
    }

    async fn list_jobs(&self) -> Outcome {
        let list: types::JobList = Self::decode(self.http.get(&self.list_url)).await?;
        Ok(list_sum(&list))
    }
}

/// (b) The generated client, with the Blaxel headers as default headers.
#[derive(Debug, Clone)]
pub struct Generated {
    client: blaxel_jobs_client::Client,
}

impl Generated {
    /// A client of the API at `base`.
    pub fn new(base: &str) -> Self {
        Self::with_timeout(base, None)
    }

    /// The same, with a total timeout on each request (as the SDK sets).
    pub fn with_timeout(base: &str, timeout: Option<Duration>) -> Self {
        Generated {
            client: blaxel_jobs_client::Client::new_with_client(
                base,
                http_client(timeout),
                blaxel_jobs_client::hooks::Hooks::new(),
            ),
        }
    }
}

impl Exchange for Generated {
    const LABEL: &'static str = "b generated";

    async fn get_job(&self) -> Outcome {
        let job = self.client.get_job().job_id(JOB_NAME).send().await;
        Ok(job_sum(&job.map_err(|e| e.to_string())?.into_inner()))
    }

    async fn create_job(&self, job: types::Job) -> Outcome {
        let job = self.client.create_job().body(job).send().await;
        Ok(job_sum(&job.map_err(|e| e.to_string())?.into_inner()))
    }

    async fn list_jobs(&self) -> Outcome {
        let list = self.client.list_jobs().limit(100).send().await;
        Ok(list_sum(&list.map_err(|e| e.to_string())?.into_inner()))
    }
}

/// (c) The SDK with its default configuration.
#[derive(Debug, Clone)]
pub struct Sdk {
    client: blaxel_jobs::Client,
}

impl Sdk {
    /// A client of the API at `base`, configured only by what is given here.
    pub fn new(base: &str) -> Self {
        Sdk {
            client: blaxel_jobs::Client::builder()
                .ignore_environment()
                .workspace(WORKSPACE)
                .api_key(API_KEY)
                .base_url(base)
                .build()
                .expect("an SDK client"),
        }
    }

    /// The SDK client itself.
    pub fn client(&self) -> &blaxel_jobs::Client {
        &self.client
    }
}

impl Exchange for Sdk {
    const LABEL: &'static str = "c blaxel-jobs";

    async fn get_job(&self) -> Outcome {
        let job = self.client.job(JOB_NAME).get().send().await;
        Ok(job_sum(&job.map_err(|e| e.to_string())?))
    }

    async fn create_job(&self, job: types::Job) -> Outcome {
        let job = self.client.jobs().create(job).send().await;
        Ok(job_sum(&job.map_err(|e| e.to_string())?))
    }

    async fn list_jobs(&self) -> Outcome {
        let list = self.client.jobs().list().limit(100).send().await;
        Ok(list_sum(&list.map_err(|e| e.to_string())?))
    }
}
