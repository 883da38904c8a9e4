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
//! To test code that uses the SDK, point a `blaxel_jobs::Client` at
//! [`Emulator::base_url`] with [`Emulator::api_key`] (the `blaxel-jobs`
//! crate's documentation shows how, under *Testing your code*).
//!
//! # The binary
//!
//! The emulator also runs on its own:
//! `cargo run -p blaxel-jobs-emulator -- --port 8080` prints the URL, an
//! API key and the variables that point the SDK at it, and serves until
//! Ctrl-C, SIGTERM or SIGHUP. `--help` lists its options; each is a setting
//! of [`EmulatorConfig`]:
//!
//! | option | setting |
//! |---|---|
//! | `--port N` | [`EmulatorConfig::port`] (default 0: a free port) |
//! | `--speed X` | [`EmulatorConfig::clock`] with [`Clock::Scaled`] |
//! | `--api-key KEY` | [`EmulatorConfig::api_key`] |
//! | `--client-credentials ID:SECRET` | [`EmulatorConfig::client_credentials`], for `POST /v0/oauth/token` |
//! | `--execution-retention SECS` | [`EmulatorConfig::execution_retention`] |
//! | `--task-command JOB=COMMAND` | [`EmulatorConfig::task_command`] |
//! | `--run-local-images` | [`EmulatorConfig::run_local_images`] |
//! | `--allowed-host HOST` | [`EmulatorConfig::allowed_host`] |
//! | `--tasks-apart-from N` | [`EmulatorConfig::store_tasks_apart_from`] |
//! | `--count-limit N` | [`EmulatorConfig::count_limit`] |
//! | `--token-ttl SECS` | [`EmulatorConfig::token_ttl`] |
//! | `--rotate-refresh-tokens` | [`EmulatorConfig::rotate_refresh_tokens`] |
//! | `--device-login WORKSPACE` | [`Emulator::device_login`], printed as one line of JSON |
//! | `--until-stdin-closes` | also stops when standard input ends, for programs that start it over a pipe |
//!
//! # What it emulates
//!
//! - **Authentication**: a bearer credential in `Authorization` or
//!   `X-Blaxel-Authorization`, either the API key or an unexpired access
//!   token from `POST /v0/oauth/token` (client credentials grant, with
//!   `Authorization: Basic`, whose answer also carries a single-use refresh
//!   token, as Blaxel's endpoint does; or the refresh grant, of those
//!   tokens or of a browser login made with [`Emulator::device_login`]).
//!   Failures get 401 with the platform's
//!   `{"error": {"code": "AUTHENTICATION_REQUIRED" | "AUTHENTICATION_FAILED",
//!   "origin": "platform", "timestamp": ..., ...}}` envelope and
//!   `X-Blaxel-Source: platform`, as Blaxel documents its platform errors.
//!   An unknown, revoked or replaced refresh token gets 400
//!   `{"error": "invalid_grant", "error_description": ...}`, OAuth 2.0's
//!   shape, which `bl` reads from the token endpoint. To test code that
//!   runs after a browser `bl login`, [`Emulator::device_login`] issues the
//!   four values `bl login` saves (`access_token`, `refresh_token`,
//!   `expires_in`, `device_code`) for a config file;
//!   [`EmulatorConfig::rotate_refresh_tokens`] makes the refresh grant
//!   replace refresh tokens, [`Emulator::revoke_refresh_token`] makes it
//!   refuse one, and [`EmulatorConfig::token_ttl`] shortens access tokens,
//!   which expire by tokio's clock (a test's paused clock too).
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
//!   values masked as `***` (except GetJob with `show_secrets=true`, which
//!   needs the admin role: a [`EmulatorConfig::member_api_key`] gets 403;
//!   a secret sent back as `***` keeps its stored value, or, with
//!   [`EmulatorConfig::keep_masked_secrets`]`(false)`, becomes `***`, as a
//!   server that does not keep it would); trigger ids and `http-async`
//!   callback secrets filled in; 409 on duplicate names; `DELETING` on
//!   delete, after which the job is gone and its name free.
//! - **Executions**: queued, pending, running, then succeeded, failed,
//!   timeout or cancelled, in simulated time, scripted by task parameters
//!   (see below), with retries, timeouts, parallelism, workspace capacity,
//!   `allowQueue: false` (429) and idempotent `executionId`s; or, for
//!   chosen jobs, as local processes in real time (see below). A `memory`
//!   above the job's `spec.runtime.memory` gets 400 (no check when the job
//!   sets none); a job with `spec.enabled: false` refuses new executions.
//! - **Logs**: ListLogs serves the lines of executions (see [Logs](#logs)).
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
//! # Tasks that run for real
//!
//! Instead of simulated scripts, the tasks of chosen jobs can run as local
//! processes: give the emulator a command per job
//! ([`EmulatorConfig::task_command`], `--task-command JOB=COMMAND`), or let
//! jobs whose `spec.runtime.image` is `local:<command>` run it
//! ([`EmulatorConfig::run_local_images`], `--run-local-images`; off by
//! default, since any client holding the API key could then run commands).
//! Each task is `sh -c <command>` with the environment a task gets on the
//! platform:
//!
//! | variable | value |
//! |---|---|
//! | `BL_EXECUTION_DATA_URL` | an emulator URL answering `{"tasks": [...]}` (every task's parameters) while the execution runs |
//! | `BL_TASK_KEY`, `TASK_INDEX` | `TASK_INDEX`, and the task's 0-based index |
//! | `BL_EXECUTION_KEY`, `BL_EXECUTION_ID` | `BL_EXECUTION_ID`, and the execution's id |
//! | the job's `spec.runtime.envs` | in clear, secrets included |
//! | the request's `env` | overriding the job's |
//!
//! on top of the emulator's own environment (for `PATH`). The job's
//! `maxConcurrentTasks` bounds the processes running at once (tasks start
//! in order); a process still running after `timeout` seconds is killed and
//! its task fails with `DeadlineExceeded`, without retry; a non-zero exit is
//! retried while `maxRetries` allows, and the last exit code is shown in
//! the task's condition. The execution ends `succeeded`, `failed` or
//! `timeout` as simulated ones do. Cancelling it (or deleting its job)
//! kills its processes; their tasks, like those that never started, are
//! `cancelled`.
//!
//! No process a task starts outlives the task or the emulator: on Unix
//! each task's process leads a process group, killed whole when the main
//! process ends (a container ends with its main process), on timeout or
//! cancel, on [`Emulator::shutdown`], when the `Emulator` is dropped
//! (before `drop` returns), and, when the emulator's process dies without
//! doing so (SIGKILL, a test process that exits with an emulator still
//! running), by a watchdog `sh` that holds the other end of a pipe from
//! the emulator and kills the groups still listed when the pipe closes. The binary stops the same way on SIGINT, SIGTERM and
//! SIGHUP.
//!
//! The job's and the execution's variables never replace the platform's
//! (every name of `blaxel_jobs_client::task_environment::ALL`, the log
//! prefixes `BL_TASK_PREFIX` and `BL_EXECUTION_PREFIX` included, which the
//! emulator leaves unset), nor `PATH`, the dynamic loader's (`LD_*`, `DYLD_*`) or the shells'
//! start-up, function and trace variables (`ENV`, `BASH_ENV`,
//! `BASH_FUNC_*`, `SHELLOPTS`, `BASHOPTS`, `PS4`, `IFS`): those keep the
//! emulator's own values (whoever holds the API key can set an
//! execution's variables, and must not make a configured command load
//! code of their choosing), and the task's output names each entry
//! ignored. Other variables reach the program as they would on the
//! platform, so a program that loads code from its environment (such as
//! `NODE_OPTIONS` or `PYTHONPATH`) does so here too. A name or value no
//! process environment can carry (an empty name, `=` in a name, a NUL)
//! stops the task, which says why.
//!
//! Where tasks run for real, the default API key and client secret, which
//! everyone knows, are replaced at start by random ones
//! ([`Emulator::api_key`], [`Emulator::client_secret`]). And whatever the
//! settings, the emulator answers only requests addressed (`Host`) to
//! `localhost`, a `*.localhost` name or a loopback address, or a name
//! given with [`EmulatorConfig::allowed_host`]: a web page that rebinds its
//! own domain to 127.0.0.1 gets 403 `host_not_allowed`. Each task's output, stdout and stderr line by line with the
//! attempt that wrote it, is kept (the last 1,000 lines and 256 KiB, lines
//! cut at 8 KiB) and read with [`Emulator::task_output`], or through the
//! API as log lines (see [Logs](#logs)); [`Emulator::wait_until`] wakes up
//! on each thing a process does.
//!
//! ```no_run
//! use blaxel_jobs_emulator::{Emulator, EmulatorConfig, OutputStream};
//!
//! # async fn demo() -> std::io::Result<()> {
//! let emulator = Emulator::start_with(
//!     EmulatorConfig::default().task_command("report", "echo task $TASK_INDEX"),
//! )
//! .await?;
//! // ... create the job "report" and an execution "run-1" in workspace
//! // "test" (with the SDK, or any HTTP client), then:
//! emulator
//!     .wait_until(|emu| {
//!         emu.executions("test", "report")
//!             .iter()
//!             .all(|e| e.status.as_ref().is_some_and(|s| s.is_terminal()))
//!     })
//!     .await;
//! let out = emulator.task_output("test", "report", "run-1", 0).unwrap();
//! assert_eq!(out.text(OutputStream::Stdout), "task 0");
//! # Ok(()) }
//! ```
//!
//! Processes run in real time, simulated time does not apply to them:
//! `timeout` is real seconds, and [`Emulator::advance`] neither speeds them
//! up nor ends them. What they do is stamped with the simulated clock's
//! time when it happens (under [`Clock::Manual`] the stamps only move when
//! the clock is advanced). They share the workspace's capacity and queue
//! with simulated executions.
//!
//! # Logs
//!
//! `GET /v0/observability/logs` (ListLogs) answers as Blaxel's logs
//! endpoint does, as far as that is known (`openapi/jobs.yaml` says what
//! is not): `{"<job>": {"logs": [...], "totalCount": n}}`, each line with
//! a nanosecond `timestamp`, its `message`, an integer `severity`, a
//! `trace_id` and its `labels`, newest first, at most
//! [`EmulatorConfig::logs_cap`] lines (1,000 by default), with
//! `totalCount` counting every line that matches.
//!
//! - **Lines of tasks that run for real**: one per line of output kept
//!   (the bounds above), stamped with the simulated time it was read. A
//!   line that is a JSON object with a string `message`, the format of
//!   `blaxel-jobs-task` and of Blaxel's task-side loggers, gives its
//!   `message`, `severity`, `trace_id` and labels; any other line is
//!   plain: severity `UNKNOWN` on standard output and `ERROR` on standard
//!   error.
//! - **Lines of simulated tasks**, written by the emulator itself: `task N
//!   started` (INFO) when it starts, `task N: attempt K failed; retrying
//!   (K of R retries)` (WARNING) for each retry (the first 10, then one
//!   line for the rest), and when it ends `task N succeeded` (INFO), `task
//!   N failed after K attempt(s)` or `task N timed out after S s
//!   (DeadlineExceeded)` (ERROR); `task N cancelled before it started`
//!   (WARNING). So code can be tested against logs without processes.
//! - **Severities** are answered as OpenTelemetry's severity numbers (1
//!   TRACE, 5 DEBUG, 9 INFO, 13 WARNING, 17 ERROR, 21 FATAL, 0 UNKNOWN):
//!   which numbers Blaxel answers is not published.
//! - **Labels**: `blaxel-task` (the task's index) and `blaxel-execution`
//!   (the last dash-separated part of the execution's id), or the line's
//!   own when it has them.
//! - **The query**: `resourceType=jobs` and `workloadIds` are required;
//!   `start` and `end` are read to the second and both seconds belong to
//!   the window; a start after the end, an unreadable time, a window longer
//!   than [`EmulatorConfig::logs_max_window`] (any by default), a `limit`
//!   below 1 and an unknown `severity` name get 400; a larger `limit` is
//!   lowered to the cap. `executionId` matches the full id or its last
//!   dash-separated part, `taskId` the task's index or label, `search` the
//!   message with case ignored. `offset`, `type` and `interval`, whose
//!   meaning is unknown, are ignored.
//! - **Memory**: nothing is kept for logs beyond each task's bounded
//!   output; simulated lines are made when asked for, and an execution's
//!   lines go when it is forgotten.
//!
//! # Time
//!
//! Deployments and executions run on a simulated [`Clock`]: scaled real
//! time by default, or [`Clock::Manual`], which only [`Emulator::advance`]
//! moves, for deterministic tests. State catches up lazily on each request,
//! from a time-ordered queue of what changes when: the work is in
//! proportion to the executions that start, finish or expire, not to the
//! time that passed or the number of tasks. A long catch-up is done in
//! short steps that give the runtime thread back in between, and each
//! workspace has its own lock, so one busy workspace never holds up
//! requests to another.
//!
//! # Retention and limits
//!
//! A finished execution is kept for
//! [`EmulatorConfig::execution_retention`] of simulated time (one day by
//! default), then forgotten: GetJobExecution answers 404 and its
//! `executionId` may be used again. Blaxel does not document how long it
//! keeps execution history, so this period is the emulator's own choice;
//! it keeps memory bounded in a long-running emulator.
//! Executions are stored compactly (about 7 KiB for one of 100 tasks).
//!
//! A request body must arrive within
//! [`EmulatorConfig::body_read_timeout`] (30 s by default) once the headers
//! have, else the answer is 408 `request_timeout` and the connection closes;
//! headers must arrive within 30 s and idle connections close after 30 s.
//!
//! # Not emulated
//!
//! The run plane (`metadata.url`, triggers firing, callbacks), logs of
//! anything but jobs, permissions and scopes (every valid credential may do everything;
//! the one role modelled is the admin role that `show_secrets` needs, see
//! [`EmulatorConfig::member_api_key`]), and rate limits other than capacity.
#![deny(missing_docs)]

// The modules, in layers: each imports only from the layers above it in
// this list (and from its own layer where it says so).
//
// Facts and plumbing, importing nothing else of the crate (`clock` reads
// `config`'s `Clock`, `error` the clock's timestamps):
mod clock; // simulated time and RFC 3339 timestamps
mod config; // EmulatorConfig and Clock
mod document; // the embedded API document
mod error; // error answers and JSON responses
mod faults; // routes, injected faults, request counts
mod groups; // the process groups of tasks that run for real
mod host; // which Host a request may be addressed to
mod ids; // random ids
mod task_env; // what a task process's environment may hold
mod urlencoded; // form decoding of queries and token requests
// Requests: credentials, context, validation, paging.
mod auth; // API key, OAuth clients, browser logins, tokens
mod context; // credential, workspace and version of a request
mod paginate; // cursors and pages
mod validate; // requests checked against the document
// The model: executions (simulated, or records of processes) and the
// store of workspaces, jobs and executions.
mod execution;
mod store;
// What the handlers, the runner and the Emulator share.
mod shared;
// Serving (the Emulator starts the runner and the server, the server
// routes to the handlers):
mod emulator; // Emulator: start, drive, stop
mod handlers; // the router and one handler per operation
mod runner; // runs the tasks of local executions as processes
mod server; // accept loop and request pipeline

pub use auth::DeviceLogin;
pub use config::{Clock, EmulatorConfig};
pub use context::API_VERSIONS;
pub use emulator::Emulator;
pub use execution::{OutputLine, OutputStream, TaskOutput};
pub use faults::{Fault, Route};

/// The OpenAPI document the emulator validates requests against, as JSON
/// (generated from `openapi/jobs.yaml`).
pub const OPENAPI_JSON: &str = document::OPENAPI_JSON;
