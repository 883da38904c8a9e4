//! The Rust SDK for the [Blaxel](https://blaxel.ai) Jobs API: define batch
//! jobs, start their executions, watch their tasks, and wait for results.
//!
//! This crate is a thin layer over the generated client
//! ([`blaxel_jobs_client`], re-exported as [`raw`]): it adds configuration
//! and authentication, retries that never duplicate work, auto-paging
//! streams, waiters, client-side checks and one error type. The request and
//! response types are the generated ones, re-exported in [`types`].
//!
//! # Quickstart
//!
//! ```no_run
//! use blaxel_jobs::{Client, JobBuilder};
//!
//! # async fn demo() -> Result<(), blaxel_jobs::Error> {
//! // BL_API_KEY and BL_WORKSPACE, or `bl login`, configure the client.
//! let client = Client::from_env()?;
//!
//! let job = JobBuilder::new("nightly-report")
//!     .image("registry.example.com/report:1.4")
//!     .memory(2048)
//!     .cron("0 3 * * *", [serde_json::json!({"day": "yesterday"})])
//!     .build()?;
//! client.jobs().create(job).send().await?;
//!
//! let job = client.job("nightly-report");
//! let started = job
//!     .executions()
//!     .create()
//!     .tasks([serde_json::json!({"shard": 0}), serde_json::json!({"shard": 1})])
//!     .send()
//!     .await?;
//! let id = started.execution_id.unwrap_or_default();
//! let done = job
//!     .execution(id)
//!     .wait_until_succeeded()
//!     .wait(std::time::Duration::from_secs(30 * 60))
//!     .await?; // Ok only if it succeeded
//! println!("{:?}", done.stats);
//! # Ok(()) }
//! ```
//!
//! `cargo run --example quickstart` runs a complete tour against a local
//! emulator when no credentials are set.
//!
//! # Shape of the API
//!
//! Every operation has one way in. Operations that create or find jobs are
//! on the collection, [`Client::jobs`] (CreateJob, ListJobs); those on a
//! job you can name are on its handle, [`Client::job`] (GetJob, UpdateJob,
//! DeleteJob, ListJobRevisions, and the deployment waiter). Executions
//! repeat the shape one level down: [`JobRef::executions`]
//! (CreateJobExecution, ListJobExecutions) and [`JobRef::execution`]
//! (GetJobExecution, DeleteJobExecution as `cancel`, ListJobExecutionTasks
//! as `tasks`, and the waiter). Each method returns a builder named after
//! its operation's `operationId` ([`CreateJobExecution`],
//! [`ListJobExecutionTasks`], …); set options on it, then `.send().await`.
//! Waiters are `wait_until_…()` builders ended by `.wait(max_wait).await`.
//!
//! The handles and builders are generated from the API document
//! (`openapi/jobs.yaml`) by `cargo xtask codegen`, with each parameter's
//! documentation and the checks its limits state: an operation Blaxel adds
//! reaches this crate by regeneration. What is not per-operation is written
//! by hand: configuration, authentication, the transport, errors, retries,
//! paging, waiters, and the extras built on the generated handles
//! ([`JobRef::update_with`], [`JobRef::batch`], [`JobBuilder`]). To send a
//! request built with the generated client itself, use
//! [`Client::execute`].
//!
//! # Configuration
//!
//! [`Client::from_env`] follows Blaxel's conventions: `BL_API_KEY` or
//! `BL_CLIENT_CREDENTIALS`, `BL_WORKSPACE`, `BL_ENV` / `BL_API_URL`,
//! `BL_API_VERSION`, then `~/.blaxel/config.yaml` as `bl login` writes it
//! (an API key, client credentials, or a browser login, [`DeviceLogin`],
//! whose tokens are renewed and written back).
//! [`Client::builder`] overrides any of them. A missing credential or
//! workspace is an [`Error::Config`] naming what to set, before any request.
//! Plain-HTTP URLs are refused except on loopback. See [`config`].
//!
//! # Retries
//!
//! Transient failures are retried (3 attempts in all by default) with
//! exponential backoff and full jitter, honouring `Retry-After`. Nothing is
//! ever done twice: CreateJob is retried only when the server cannot have
//! processed it, and CreateJobExecution always carries a client-generated
//! `executionId`, the same on every attempt. 400, 401, 403, 404 and 409 are
//! never retried. See [`retry`] for the full table.
//!
//! # Timeouts, limits and redirects
//!
//! A connection gets 10 s, an attempt 60 s, and a whole call, every attempt
//! and backoff included, 90 s ([`config::DEFAULT_OPERATION_TIMEOUT`]); each
//! can be set on [`ClientBuilder`]. A response body larger than 32 MiB
//! ([`body::DEFAULT_MAX_RESPONSE_BODY`], set with
//! [`ClientBuilder::max_response_body`]) ends the call with
//! [`Error::ResponseTooLarge`] without being read further, and error bodies
//! are kept up to 16 KiB. Redirects are never followed: a 3xx is
//! [`Error::Redirect`], and the request goes nowhere else. No value a
//! server sends (`Retry-After`, `expires_in`, bodies, headers) and no
//! duration a caller sets can make the SDK panic.
//!
//! # Errors
//!
//! Every call returns [`Error`]: configuration, invalid input (checked
//! before sending, naming the field), transport, API errors (with status,
//! Blaxel's code, message, request id, `Retry-After` and the raw body),
//! decode errors (with the serde path), and waiter outcomes. `Display`
//! says what failed, and the cause is [`std::error::Error::source`], so a
//! report prints each cause once; `Debug` shows the size of a body, never
//! its bytes.
//!
//! ```no_run
//! # async fn demo(client: blaxel_jobs::Client) -> Result<(), blaxel_jobs::Error> {
//! match client.job("missing").get().send().await {
//!     Err(e) if e.is_not_found() => println!("no such job ({e})"),
//!     Err(e) => return Err(e),
//!     Ok(job) => println!("{:?}", job.status),
//! }
//! # Ok(()) }
//! ```
//!
//! # Updating a job
//!
//! UpdateJob replaces the whole definition, and the generated types keep
//! only the fields this SDK knows, so reading a job into [`types::Job`] and
//! sending it back with [`JobRef::update`] deletes whatever else the
//! server stored (fields added by Blaxel later, or set by the console or
//! `bl`). [`JobRef::update_with`] reads the job, applies an edit to the
//! typed view, and writes back the server's own JSON with only that edit
//! applied: every byte outside the values the edit changed is the
//! server's, key spellings and whitespace included. It refuses, with
//! [`Error::UpdateRefused`] and nothing written, to send back what it could
//! not read: secret values read masked, trigger tasks stored apart, and
//! list entries it cannot tell apart (see the method's documentation).
//!
//! ```no_run
//! # async fn demo(client: blaxel_jobs::Client) -> Result<(), blaxel_jobs::Error> {
//! client
//!     .job("nightly-report")
//!     .update_with(|job| job.spec.enabled = false)
//!     .send()
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! # Client-side checks
//!
//! The server is the authority. Before sending, the SDK refuses a value
//! only where Blaxel's document states the limit (the name's characters
//! and length, the display name's and external id's, `diskPercent`, the
//! trigger timeout), so a check never blocks a request the server would
//! take; the limits are generated from the document
//! ([`raw::limits`]). Page sizes are clamped into the document's range, as
//! the server clamps them. Values that only look wrong (a cron schedule
//! that is not five fields, a cron trigger without a schedule, an empty env
//! name, a relative mount path, a memory of 0, a port outside 1-65535) are
//! `tracing` warnings with target `blaxel_jobs::validate`, and are sent.
//!
//! # Waiting
//!
//! [`ExecutionRef::wait_until_succeeded`] polls with backoff until the
//! execution ends or the maximum wait given to `.wait(max_wait)` passes, and
//! returns it only if it succeeded; `failed`, `cancelled` and `timeout` are
//! [`Error::ExecutionEnded`], and running out of time is
//! [`Error::WaitTimeout`]. [`JobRef::wait_until_deployed`] does the same for
//! a job's deployment. See [`wait`].
//!
//! # Paging
//!
//! Every list call returns one page with `send`, every page with
//! `into_pages()`, or every item with `into_stream()` (both consume the
//! builder), which follows `meta.nextCursor` and
//! holds one page at a time. See [`paginate`].
//!
//! # Blocking
//!
//! With the `blocking` feature, `blocking::Client` runs the same
//! operations from synchronous code, on a current-thread runtime it owns.
//! On a thread where a tokio runtime is current it refuses with
//! [`Error::BlockingInAsync`] instead of blocking, and dropping it there
//! never panics.
//!
//! # Fan-out
//!
//! [`JobRef::batch`] runs a job over any number of tasks (a million is
//! fine): read lazily, grouped into executions with ids derived from a
//! batch id, so that submitting again after a crash resumes without
//! creating any chunk twice; paced by the workspace's capacity; with
//! progress counts, one polling budget for the whole batch, and triage and
//! retry of failed tasks. See [`batch`].
//!
//! # Observability
//!
//! Each attempt of each request runs in a `tracing` span named
//! `blaxel_jobs.request` that records the operation, method, path, attempt,
//! status, duration and request id. Credentials never appear in spans,
//! logs, errors or `Debug` output.
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[rustfmt::skip]
mod api;
mod auth;
pub mod batch;
#[cfg(feature = "blocking")]
#[cfg_attr(docsrs, doc(cfg(feature = "blocking")))]
pub mod blocking;
pub mod body;
mod call;
mod client;
pub mod config;
mod definition;
mod error;
mod http_client;
mod json;
mod merge;
pub mod paginate;
mod reconcile;
pub mod retry;
mod transport;
mod update;
mod validate;
pub mod wait;

pub use api::*;
pub use auth::{Credentials, DeviceLogin, Secret};
pub use batch::{Batch, BatchRun, Progress};
pub use call::Request;
pub use client::Client;
pub use config::{ClientBuilder, Config, Environment};
pub use definition::{Format, JobBuilder, job_from_file, parse_job};
pub use error::{
    ApiError, ChunkError, ConfigError, ConfigErrorKind, DecodeError, DeploymentFailed, Error,
    ExecutionConflict, ExecutionEnded, InvalidInput, Redirect, ResponseTooLarge, Result,
    TransportError, TransportErrorKind, UpdateRefusal, UpdateRefused, WaitTimeout,
};
pub use http_client::HttpClient;
pub use retry::RetryConfig;
pub use update::UpdateJobWith;
pub use wait::{PollInterval, WaitUntilDeployed, WaitUntilSucceeded};

/// The request and response types, generated from `openapi/jobs.yaml`
/// ([`types::Job`], [`types::JobExecution`], the open enums such as
/// [`types::DeploymentStatus`] and [`types::ErrorCode`], …). They are
/// reachable only here: the crate root holds the SDK's own types.
pub use blaxel_jobs_client::types;

/// The generated client crate, for full control over requests.
pub use blaxel_jobs_client as raw;
