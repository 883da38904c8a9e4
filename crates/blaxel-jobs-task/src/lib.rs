//! The task side of a [Blaxel](https://blaxel.ai) job, in Rust: the
//! program inside the job's container that reads its parameters, does
//! the work and reports.
//!
//! A job's image runs once per task of an execution. This crate gives
//! that program
//!
//! - **typed parameters**: a [`Task<T>`] with this task's parameters
//!   (any `T: Deserialize`), its index, the number of tasks and the
//!   execution id. On the platform they come from the execution data at
//!   `BL_EXECUTION_DATA_URL`, indexed by the variable that `BL_TASK_KEY`
//!   names (`TASK_INDEX` by default); in a local run, from `--key value`
//!   arguments. Parameters that do not match `T` are an error naming the
//!   field, never the value. See [`Loader`].
//! - **an entry point that behaves**: [`run`] and [`run_blocking`] exit 0
//!   on success and non-zero, with the error and its causes on standard
//!   error, on failure, so that the platform's retries and statuses work.
//! - **logs the platform can filter**: a `tracing` layer, [`TaskLayer`],
//!   that writes Blaxel's JSON log lines labelled with the task and the
//!   execution when `BL_LOGGER=json`. See [`log`].
//!
//! It does not depend on the control-plane client (`blaxel-jobs`), so a
//! job image stays cheap to build.
//!
//! # Example
//!
//! ```no_run
//! use serde::Deserialize;
//!
//! #[derive(Deserialize)]
//! struct Params {
//!     table: String,
//!     #[serde(default)]
//!     limit: Option<u32>,
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     blaxel_jobs_task::run(|task: blaxel_jobs_task::Task<Params>| async move {
//!         let p = task.params();
//!         tracing::info!(table = %p.table, index = task.index(), "exporting");
//!         if p.limit == Some(0) {
//!             return Err("a limit of 0 exports nothing".into());
//!         }
//!         Ok::<(), blaxel_jobs_task::BoxError>(())
//!     })
//! }
//! ```
//!
//! Locally: `cargo run -- --table users --limit 10`. On the platform, the
//! same binary reads `{"tasks": [{"table": "users"}, ...]}` from the data
//! URL.
//!
//! # Execution data
//!
//! The data URL is fetched once per attempt, with a timeout, retries on
//! network errors, truncated bodies, 408, 429 (honouring `Retry-After`)
//! and 5xx, and a limit on the body's size. A body whose JSON ends before
//! the value does counts as truncated, and is retried, even when the body
//! arrived whole: without a declared length, a cut connection and a server
//! that stopped writing look the same. Other malformed JSON is not
//! retried. Only `tasks[index]` is
//! deserialized; the other tasks are skipped over without being built,
//! which matters for executions of thousands of tasks. An index past the
//! end of the list gives the parameters `{}`, as Blaxel's own helpers do.
//!
//! # Features
//!
//! - `rustls` (default): HTTPS for the data URL, with rustls, `ring` and
//!   the platform's certificate verifier (the system's root
//!   certificates). Without it only `http://` URLs (a local emulator)
//!   work.
//!
//! The one GET goes through hyper's HTTP/1 client rather than reqwest,
//! which would add about 24 crates (URL parsing with IDNA, tower, form
//! encoding) to every job image. Redirects (up to 5) are followed.

#![deny(missing_docs)]

mod args;
pub mod data;
mod environment;
mod error;
mod fetch;
pub mod log;
/// The variables the platform sets in a task's environment, generated from
/// the API document (`info.x-blaxel-task-environment`).
#[rustfmt::skip]
pub mod platform;
mod redact;
mod retry;
mod run;
mod task;

pub use environment::{
    DATA_URL_VAR, DEFAULT_EXECUTION_ID_VAR, DEFAULT_TASK_INDEX_VAR, EXECUTION_KEY_VAR, Environment,
    TASK_KEY_VAR,
};
pub use error::{Error, FetchError, Source};
pub use log::{LogFormat, TaskLayer};
pub use retry::RetryPolicy;
pub use run::{BoxError, EXIT_NO_PARAMETERS, EXIT_TASK_FAILED, run, run_blocking};
pub use task::{Loader, Task};
