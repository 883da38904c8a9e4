//! A local, in-memory server that speaks the Blaxel Jobs API.
//!
//! The emulator is a real HTTP server on 127.0.0.1. It serves the job
//! operations of `openapi/jobs.yaml` under `/v0`, plus the OAuth token
//! endpoint, so that the SDK's quickstart, its end-to-end tests and your own
//! tests run offline, against the same wire protocol as Blaxel's control
//! plane. Every request is validated against the API document, which is
//! embedded in the crate.
//!
//! ```
//! use blaxel_jobs_emulator::{Clock, Emulator, EmulatorConfig};
//! use std::time::Duration;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let emu = Emulator::start_with(EmulatorConfig::default().clock(Clock::Manual)).await?;
//! // (`http_client_builder` makes sure rustls has a crypto provider.)
//! let http = blaxel_jobs_client::tls::http_client_builder().build().unwrap();
//! let call = |method, path: &str| {
//!     http.request(method, format!("{}{path}", emu.base_url())) // http://127.0.0.1:<port>/v0
//!         .bearer_auth(emu.api_key())
//!         .header("X-Blaxel-Workspace", "my-workspace")
//!         .header("Blaxel-Version", blaxel_jobs_client::versions::DEFAULT)
//! };
//! let job = serde_json::json!({"metadata": {"name": "report"}, "spec": {}});
//! call(reqwest::Method::POST, "/jobs").json(&job).send().await.unwrap();
//! let run = serde_json::json!({"executionId": "run-1", "tasks": [{"durationSeconds": 5}]});
//! call(reqwest::Method::POST, "/jobs/report/executions").json(&run).send().await.unwrap();
//!
//! emu.advance(Duration::from_secs(10)); // let simulated time pass
//! let runs = emu.executions("my-workspace", "report");
//! assert_eq!(runs[0].status.as_ref().map(|s| s.as_str()), Some("succeeded"));
//! # Ok::<(), std::io::Error>(()) }).unwrap();
//! ```
//!
//! # What it emulates
//!
//! - **Authentication**: a bearer credential in `Authorization` or
//!   `X-Blaxel-Authorization`, either the API key or an unexpired access
//!   token from `POST /v0/oauth/token` (client credentials grant, with
//!   `Authorization: Basic`). Failures get 401 with the platform's
//!   `{"error": {"code": "AUTHENTICATION_REQUIRED" | "AUTHENTICATION_FAILED",
//!   "origin": "platform", "timestamp": ..., ...}}` envelope and
//!   `X-Blaxel-Source: platform`, as Blaxel documents its platform errors.
//! - **Workspaces**: the `X-Blaxel-Workspace` header or the `workspace`
//!   query parameter (required); any name works and workspaces are isolated.
//! - **Versions**: `Blaxel-Version` is one of [`API_VERSIONS`], the
//!   versions of the API document (`blaxel_jobs_client::versions`), each
//!   behaving as the document says: without the header (the oldest
//!   version) list operations answer bare arrays; versions with paged lists
//!   answer `{data, meta}` pages with opaque cursors (the document states
//!   what each version changes). Any other version gets 400
//!   `invalid_api_version`.
//! - **Newer fields**: executions carry `spec.taskCount`; pages carry
//!   `meta.totalIsPartial` (true only past
//!   [`EmulatorConfig::count_limit`]); ListJobs filters by `externalId`.
//!   With [`EmulatorConfig::store_tasks_apart_from`], large executions are
//!   answered without their tasks and with `spec.tasksRef`, as Blaxel may
//!   answer them; only ListJobExecutionTasks then lists their tasks.
//! - **Validation**: bodies, path and query parameters are checked against
//!   the document with OpenAPI 3.0 semantics (`readOnly` properties are
//!   accepted and ignored in requests, `null` needs `nullable`, unknown
//!   properties are ignored); violations get 400 naming the field, such as
//!   `metadata.name: must match ...` or `query limit: must be at most 100`.
//!   Page sizes the document marks `x-blaxel-clamp` are clamped, not refused.
//! - **Jobs**: `DEPLOYING` then `DEPLOYED` after
//!   [`EmulatorConfig::deploy_delay`]; a revision per create or update
//!   (ListJobRevisions answers newest first); events; secret environment
//!   values masked as `***` (except GetJob with `show_secrets=true`; a secret
//!   sent back as `***` keeps its stored value); trigger ids and `http-async`
//!   callback secrets filled in; 409 on duplicate names; `DELETING` on
//!   delete, after which the job is gone and its name free.
//! - **Executions**: queued, pending, running, then succeeded, failed,
//!   timeout or cancelled, in simulated time, scripted by task parameters
//!   (see below), with retries, timeouts, parallelism, workspace capacity,
//!   `allowQueue: false` (429) and idempotent `executionId`s. A `memory`
//!   above the job's `spec.runtime.memory` gets 400 (no check when the job
//!   sets none); a job with `spec.enabled: false` refuses new executions.
//! - **Faults**: [`Emulator::inject`] makes chosen requests fail in the ways
//!   real networks and gateways do ([`Fault`]).
//!
//! # Task scripts
//!
//! Each entry of a CreateJobExecution request's `tasks` scripts one task:
//!
//! | parameter | type | effect |
//! |---|---|---|
//! | `durationSeconds` | number ≥ 0, default 1 | simulated seconds each attempt runs |
//! | `fail` | boolean, default false | every attempt fails |
//! | `failAttempts` | integer ≥ 0, default 0 | the first N attempts fail, then one succeeds |
//!
//! A failed attempt is retried while the job's `spec.runtime.maxRetries`
//! allows (`stats.retried` counts retries). An attempt longer than the job's
//! `spec.runtime.timeout` seconds is stopped at the timeout and its task
//! fails with a `DeadlineExceeded` condition; the execution then ends
//! `timeout`. Any other failed task makes it `failed`. `tasks: []` runs one
//! task with `{}`. Other parameters are kept and ignored.
//!
//! ```text
//! POST /v0/jobs/report/executions
//! {"tasks": [{"durationSeconds": 5}, {"durationSeconds": 2, "failAttempts": 1}]}
//! ```
//!
//! # Time
//!
//! Deployments and executions run on a simulated [`Clock`]: scaled real
//! time by default, or [`Clock::Manual`], which only [`Emulator::advance`]
//! moves, for deterministic tests. State catches up lazily on each request.
//!
//! # Not emulated
//!
//! The run plane (`metadata.url`, triggers firing, callbacks), logs,
//! permissions and scopes (every valid credential may do everything,
//! including `show_secrets`), rate limits other than capacity, and expiry of
//! execution records.
#![deny(missing_docs)]

mod auth;
mod clock;
mod config;
mod context;
mod error;
mod faults;
mod handlers;
mod paginate;
mod server;
mod sim;
mod state;
mod urlencoded;
mod validate;

pub use config::{Clock, EmulatorConfig};
pub use context::API_VERSIONS;
pub use faults::{Fault, Route};
pub use server::Emulator;

/// The OpenAPI document the emulator validates requests against, as JSON
/// (generated from `openapi/jobs.yaml`).
pub const OPENAPI_JSON: &str = validate::OPENAPI_JSON;
