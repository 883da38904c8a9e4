//! The Rust SDK for the [Blaxel](https://blaxel.ai) Jobs API: define batch
//! jobs, start their executions, watch their tasks, and wait for results.
//!
//! Its handles and request builders are generated from the API document,
//! over the generated client ([`blaxel_jobs_client`], re-exported as
//! [`raw`]); by hand it adds configuration and authentication, retries that
//! never duplicate work, auto-paging streams, waiters, client-side checks,
//! one error type, and the extras below (read-modify-write, fan-out). The
//! request and response types are the generated ones, re-exported in
//! [`types`].
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
//! as `tasks`, and the waiter). ListLogs, whose path is not the job's,
//! is placed on both handles as `logs` (and on
//! [`Client::observability`], its own path's). Each method returns a builder named after
//! its operation's `operationId` ([`CreateJobExecution`],
//! [`ListJobExecutionTasks`], …); set options on it, then `.send().await`.
//! Every builder also takes `timeout`, `operation_timeout` and `retry`,
//! overriding the client's settings for that call. Waiters are
//! `wait_until_…()` builders ended by `.wait(max_wait).await`.
//!
//! The handles and builders are generated from the API document
//! (`openapi/jobs.yaml`) by `cargo xtask codegen`, with each parameter's
//! documentation and the checks its limits state: an operation Blaxel adds
//! reaches this crate by regeneration. What is not per-operation is written
//! by hand: configuration, authentication, the transport, errors, retries,
//! paging, waiters, and the extras built on the generated handles
//! ([`JobRef::update_with`], [`JobRef::batch`], [`JobBuilder`]).
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
//! Plain-HTTP URLs are refused except on loopback. See [`config`] for where
//! each setting comes from, and for the `Blaxel-Version` the SDK sends.
//!
//! Every request carries the bearer credential (marked sensitive),
//! `X-Blaxel-Workspace`, `Blaxel-Version` and a `User-Agent` (see
//! [`Client`]). Client credentials are exchanged for access tokens, which
//! are cached and renewed before they expire (see
//! [`Credentials::ClientCredentials`]); so is a browser login's access
//! token, and one whose expiry cannot be known is renewed when the API
//! first refuses it, the request then sent once more.
//!
//! # Retries
//!
//! Transient failures are retried (3 attempts in all by default) with
//! exponential backoff and full jitter, honouring `Retry-After`. Nothing is
//! ever done twice: CreateJob is retried only when the server cannot have
//! processed it, and CreateJobExecution always carries a client-generated
//! `executionId`, the same on every attempt; a 409 to a retry of it counts as
//! a success only when the execution found is shown to be this request's.
//! 400, 401, 403, 404, 409 and 413 are never retried. See [`retry`] for the
//! full table.
//!
//! # Limits
//!
//! Whatever a server sends, and whatever a caller passes, the SDK neither
//! panics nor holds more memory than these limits allow. Tests run it
//! against raw TCP servers that misbehave on purpose, and property tests
//! feed every parser of server input arbitrary values.
//!
//! | what | limit | when it is reached |
//! |---|---|---|
//! | response body | 32 MiB ([`body::DEFAULT_MAX_RESPONSE_BODY`], [`ClientBuilder::max_response_body`]) | [`Error::ResponseTooLarge`], from `Content-Length` before reading, or while reading; memory stays bounded by the limit (see [`body`]) |
//! | error body kept in [`ApiError::body`] | 16 KiB ([`body::ERROR_BODY_KEPT`]) | the rest is not read; [`ApiError::body_truncated`] is true; `Display` shows at most 300 characters of the server's message |
//! | access-token response | 256 KiB ([`body::TOKEN_RESPONSE_LIMIT`]); `expires_in` trusted for at most a day | [`Error::ResponseTooLarge`] |
//! | redirects | none followed, from the API or the token endpoint | [`Error::Redirect`] with the status and `Location`; nothing is sent elsewhere |
//! | connection | 10 s ([`ClientBuilder::connect_timeout`]) | [`TransportError`], kind [`Connect`](TransportErrorKind::Connect) |
//! | one attempt | 60 s ([`ClientBuilder::timeout`], or per call) | [`TransportError`], kind [`Timeout`](TransportErrorKind::Timeout); retried when safe |
//! | whole call, all attempts and backoff | 90 s ([`ClientBuilder::operation_timeout`], or per call) | the last attempt is cut short, with [`TransportError::deadline`] set; no retry starts past it |
//! | `Retry-After` | 60 s ([`RetryConfig::max_retry_after`]), and what remains of the call's deadline | the error is returned at once, carrying the value; any value (`1e300` included) saturates instead of panicking |
//! | nesting of a caller's value (a task's parameters, a cron trigger's tasks) | 127 levels of arrays and objects in a request body: 125 for an execution's task, its own object included, 121 for a trigger's | [`Error::InvalidInput`] naming the task, before any deeper level is serialized: no stack overflow on any thread (10,000 and 100,000 levels tested on a tokio worker and on the main thread); serde_json, which the emulator and the task crate parse with, refuses a 128th level |
//! | a batch | chunks of at most [`batch::MAX_CHUNK_SIZE`] tasks; [`Batch::patience`] with failures that may pass | see [`batch`] |
//!
//! Every duration a caller sets (timeouts, retry settings, a waiter's
//! maximum wait and poll interval) may be anything up to `Duration::MAX`.
//!
//! # Errors
//!
//! Every call returns [`Error`]: configuration, invalid input (checked
//! before sending, naming the field), transport, API errors (with status,
//! Blaxel's code, message, request id, `Retry-After` and the raw body),
//! decode errors (with the serde path), and waiter outcomes. `Display`
//! says what failed, and the cause is [`std::error::Error::source`], so a
//! report (anyhow, eyre) prints each cause once; `Debug` shows the size of a
//! body, never its bytes.
//!
//! An error body is parsed from the API's error object, from the
//! platform's `{"error": {...}}` envelope, or from OAuth 2.0's
//! `{"error", "error_description"}` (the token endpoint's), and kept raw when
//! it is HTML or empty. Blaxel documents the envelope with
//! `"origin": "platform"` and a `timestamp`, and tells clients to branch on
//! the origin: [`ApiError::is_platform`] does, and also accepts the
//! `X-Blaxel-Source: platform` header alone. Any other `origin` still
//! parses, and each field of an error body is read on its own, so a field
//! of an unexpected type loses only itself.
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
//! and length: lowercase letters, digits and hyphens, at most 49
//! characters; the display name's and external id's; `diskPercent`,
//! 10-95; the trigger timeout, at most 900 s; the executions' page size,
//! 1-100), so a check never blocks a request the server would take; the
//! limits are generated from the document ([`raw::limits`]). The page sizes
//! the document marks `x-blaxel-clamp` (jobs and tasks, 1-200) are clamped,
//! as the server clamps them. Values that only look wrong (a cron schedule
//! that is not five fields, such as `@hourly`; a cron trigger without a
//! schedule; an empty env name; a relative mount path; a memory of 0; a
//! port outside 1-65535) are `tracing` warnings with target
//! `blaxel_jobs::validate`, and are sent: the server decides. A refused
//! value is [`Error::InvalidInput`], naming the field as a path in the
//! request body, such as `spec.triggers[0].configuration.timeout`. Job
//! definitions load from JSON or YAML in the API's own shape
//! ([`job_from_file`], [`parse_job`]).
//!
//! # Reading answers
//!
//! `null` in any optional field of an answer (`"envs": null`, as a Go
//! server sends an unset list) reads as absent, as in Blaxel's Python and
//! TypeScript SDKs; the generated types get this from `cargo xtask codegen`,
//! for every field it concerns. Blaxel may store a large execution's task
//! list apart (`spec.tasksRef`) and leave `tasks` out of the execution:
//! nothing in the SDK relies on an execution's `tasks` (waiters and errors
//! use `status` and `stats`), and [`ExecutionRef::tasks`]
//! (ListJobExecutionTasks) lists every task.
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
//! # Logs
//!
//! [`ExecutionRef::logs`] and [`JobRef::logs`] read what tasks wrote:
//! one request with `send`, a whole window with [`ListLogs::read`] (split
//! and merged, oldest first, saying where lines may be missing), new
//! lines as they come with [`ListLogs::follow`]. Blaxel does not document
//! this endpoint; [`logs`] says what is known of it and what is not.
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
//! # Your own HTTP client, and the generated one
//!
//! [`ClientBuilder::http_client`] sends requests with an HTTP client of
//! your configuration (a proxy, roots, client certificates, pool), made with
//! [`HttpClient::build`]; the SDK's headers, timeouts, body limits and
//! refusal of redirects still apply.
//!
//! Every builder of this crate holds one of the generated client's
//! builders. [`Client::raw`] gives the generated client underneath, with
//! this client's base URL and HTTP client, and [`Client::execute`] sends
//! any of its builders the SDK's way (credential, timeouts, retries,
//! limits, errors). A generated builder's own `send()` makes one plain
//! attempt, with no retries and no access token: only the default headers
//! of the SDK's own HTTP client go with it (an API key is one of them),
//! and with an HTTP client of yours, none of the SDK's headers.
//!
//! ```no_run
//! # async fn demo(client: blaxel_jobs::Client) -> Result<(), blaxel_jobs::Error> {
//! let job = client.execute(client.raw().get_job().job_id("nightly-report")).await?;
//! # let _ = job; Ok(()) }
//! ```
//!
//! # Testing your code
//!
//! The `blaxel-jobs-emulator` crate is a local, in-memory server of the Jobs
//! API, with simulated time and fault injection; point a client at it:
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let emulator = blaxel_jobs_emulator::Emulator::start().await?;
//! let client = blaxel_jobs::Client::builder()
//!     .ignore_environment()
//!     .base_url(emulator.base_url())
//!     .api_key(emulator.api_key())
//!     .workspace("test")
//!     .build()?;
//! # let _ = client; Ok(()) }
//! ```
//!
//! For unit tests at the HTTP level, `blaxel-jobs-httpmock` has a typed
//! httpmock mock for every operation.
//!
//! # Observability
//!
//! Each attempt of each request runs in a `tracing` span named
//! `blaxel_jobs.request` that records the operation, method, path, attempt,
//! status, duration and request id. Credentials never appear in spans,
//! logs, errors or `Debug` output. The `Debug` of an error shows a body's
//! size, never its bytes (read them with [`ApiError::body`]), and the
//! `Debug` of an execution request ([`CreateJobExecution::build`]) or of an
//! execution's spec names the environment overrides without their values
//! (the document marks them `x-blaxel-sensitive`).
//!
//! # Cargo features
//!
//! | feature | default | what it does |
//! |---|---|---|
//! | `rustls` | yes | HTTPS with rustls and the `ring` provider |
//! | `rustls-aws-lc-rs` | no | rustls with `aws-lc-rs` (builds a C library) |
//! | `native-tls` | no | the platform's TLS library |
//! | `http2` | no | HTTP/2 over TLS |
//! | `lean-idna` | yes | `url`'s IDNA through unicode-rs instead of ICU4X: same behaviour, about 20 fewer crates to build |
//! | `blocking` | no | `blocking::Client`, the same operations from synchronous code |
//!
//! The default `rustls` feature builds reqwest without a crypto provider of
//! its own and installs `ring` when the first SDK client is made, which
//! saves a third of a clean build. If your program builds reqwest clients of
//! its own and nothing in it enables reqwest's own TLS, call
//! [`raw::tls::ensure_crypto_provider`] at the start of `main` (reqwest
//! otherwise panics, saying no provider is configured), or use the
//! `rustls-aws-lc-rs` feature (see [`raw::tls`]).
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
pub mod logs;
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
pub use logs::{FollowLogs, LogLine, Logs, ReadLogs};
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
