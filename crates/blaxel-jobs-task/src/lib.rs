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
//! job image stays cheap to build (the repository's `docs/performance.md`
//! measures it).
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
//!         tracing::info!(table = %p.table, index = task.index(), of = ?task.count(), "exporting");
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
//! [`run`] starts a current-thread tokio runtime; [`run_blocking`] takes an
//! ordinary function; a program with its own runtime calls
//! `Loader::new().load::<Params>().await` and handles the result itself.
//! `examples/primes.rs` in this crate is a complete task (it counts the
//! primes in a range):
//! `cargo run -p blaxel-jobs-task --example primes -- --start 0 --end 1000000`.
//!
//! # Where the parameters come from
//!
//! On the platform, `BL_EXECUTION_DATA_URL` points at the execution data,
//! `{"tasks": [{...}, {...}]}`, and the task's index is in the variable that
//! `BL_TASK_KEY` names (`TASK_INDEX` by default; unset or empty means 0).
//! The execution id is in the variable that `BL_EXECUTION_KEY` names
//! (`BL_EXECUTION_ID` by default). Without a data URL (a local run), the
//! parameters come from `--key value` arguments: `--key=value` works too, a
//! `--flag` with no value is `true`, values are read as the field's type
//! needs (`--count 3` fills a `u32`, `--name 3` a `String`), and fields that
//! are lists, maps or structs take JSON (`--regions '["eu","us"]'`). The
//! [`Task`] has the parameters, the index, the task count (`None` for a local
//! run) and the execution id. The variables' names are generated from the
//! API document ([`platform`]).
//!
//! # Execution data
//!
//! The data URL is fetched with one GET per attempt over hyper's HTTP/1
//! client (HTTPS with rustls, `ring` and the system's certificates; plain
//! HTTP for a local emulator), following up to 5 redirects. Each attempt has
//! a 30 s timeout for the whole answer, body included
//! ([`Loader::DEFAULT_TIMEOUT`]). Network errors, timeouts, truncated
//! bodies, 408, 429 and 5xx are retried 3 times, after 1, 2 and 4 s, each
//! scaled by a random 0.5–1 so that thousands of tasks do not retry in step,
//! or after `Retry-After` seconds when the server asks for longer, capped at
//! 30 s ([`RetryPolicy`]). A body counts as truncated whenever its JSON ends
//! before the value does, even when the body itself arrived whole (its
//! `Content-Length` met): a body without a length ends when the connection
//! closes, so a cut connection and a server that stopped writing look the
//! same. Other malformed JSON (a wrong character, a value of the wrong
//! shape), other statuses and oversized bodies are not retried. The body is
//! limited to 64 MiB ([`Loader::DEFAULT_MAX_BODY_BYTES`]): refused from its
//! `Content-Length` before reading, or as soon as it passes the limit. All
//! of these are settings of [`Loader`].
//!
//! Only `tasks[index]` is deserialized; the other tasks are skipped over
//! without being built, which matters for executions of thousands of tasks
//! (the repository's `docs/performance.md` measures it at 10,000 tasks). An
//! index past the end of the list gives the parameters `{}`, as Blaxel's own
//! helpers do.
//!
//! # Errors and exit codes
//!
//! Errors say what failed and where, never a secret: a data URL failure
//! names the variable and the URL's host (not its path or query, which may
//! hold a signature), the number of attempts and the last cause; a mismatch
//! names the field's path and the kind of value (``at `options.retries`:
//! invalid type: string, expected u32``), never the value itself.
//!
//! The entry points return a `std::process::ExitCode`:
//!
//! | code | when |
//! |---:|---|
//! | 0 | the task function returned `Ok` |
//! | 1 | it returned an error ([`EXIT_TASK_FAILED`]) |
//! | 2 | the task could not start: bad index variable, data URL failure, parameters that do not match, bad arguments, or the runtime could not start ([`EXIT_NO_PARAMETERS`]) |
//! | 101 | it panicked (Rust's own code) |
//!
//! A failure is written to standard error with its chain of causes
//! (`error: ...` then `  caused by: ...` lines), or as one JSON line of
//! severity `ERROR` when JSON logs are on.
//!
//! # Logs
//!
//! The entry points install [`TaskLayer`] as the `tracing` subscriber
//! (unless the program set one first). With `BL_LOGGER=json` each event is
//! one JSON line on standard error, in the shape Blaxel's helpers write and
//! `bl logs` filters on (see [`log`] for the line and its labels); `LOG_LEVEL`
//! (default `INFO`) sets the level. Without `BL_LOGGER=json` the lines are
//! plain `LEVEL message`. [`TaskLayer`] is an ordinary
//! `tracing_subscriber::Layer`, for programs that compose their own
//! subscriber.
//!
//! # The whole loop, offline
//!
//! `cargo run --example task_loop`, in the repository, runs a task program
//! through the emulator with the SDK, without an account or a network (Unix:
//! the emulator starts task processes with `sh`):
//!
//! - `examples/collatz_task.rs` is the task program, a binary of the
//!   examples package: for its range `{"start": 1, "end": 10001}` it follows
//!   each number's Collatz chain to 1 with [`run_blocking`], logs with
//!   `tracing`, prints one JSON line with the longest chain and the total of
//!   steps, and fails (exit code 1) on a bad range or a chain longer than
//!   `COLLATZ_MAX_STEPS` (a job variable).
//! - `examples/task_loop.rs` is the driver: it builds the program with the
//!   `cargo` that runs it (Cargo does not build a package's binaries for its
//!   examples) and takes the path from Cargo's report, starts the emulator
//!   with `EmulatorConfig::task_command` for the job, creates the job (4
//!   tasks at a time, `BL_LOGGER=json`), starts an execution of 100 tasks
//!   over 1 to 1,000,000 plus one task given an empty range, which fails on
//!   purpose, waits with the SDK's waiter while streaming the execution's
//!   warning and error lines (`on_log_line`), then reads each task's output
//!   with `Emulator::task_output`, prints the totals (837799 has the longest
//!   chain, 524 steps) and one task's JSON log lines, and prints the failed
//!   task's last lines read through the SDK (`logs().task_id(..).read(..)`).
//!   It exits with an error if any other task failed. It takes 5 to 7 s on
//!   a busy 2-core machine once built.
//! - `examples/tests/task_program.rs` runs the same program through the
//!   emulator in tests: results and JSON log lines checked against a
//!   reference computation, a failing task retried then failed, a task
//!   stopped at the job's timeout without retry, a cancelled execution, and
//!   the job's variables overridden by the execution's.
//!
//! # Differences from Blaxel's helpers
//!
//! On purpose, against Blaxel's TypeScript and Python helpers: the fetch is
//! retried (the Python helper does not retry) with jitter and `Retry-After`;
//! the body is bounded; a `TASK_INDEX` that is not a non-negative integer is
//! an error rather than a silent `{}`; parameters are checked against a
//! type.
//!
//! # Features
//!
//! - `rustls` (default): HTTPS for the data URL, with rustls, `ring` and
//!   the platform's certificate verifier (the system's root
//!   certificates). Without it only `http://` URLs (a local emulator)
//!   work.
//!
//! The one GET goes through hyper's HTTP/1 client rather than reqwest,
//! which would add 23 packages (URL parsing with IDNA, tower, form
//! encoding) to every job image: see the repository's
//! `docs/dependencies.md`.

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
