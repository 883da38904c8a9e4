//! The HTTP server: [`Emulator`], its accept loop and the request pipeline.
//!
//! The emulator runs its own accept loop with hyper's HTTP/1 connection
//! driver instead of `axum::serve`, because one fault needs what `axum::serve`
//! cannot do: close a connection without answering. Each request goes
//! through [`App::handle`]:
//!
//! 1. classify it into a [`Route`], count it and take its injected fault;
//! 2. read the body (at most `max_body_bytes`, else 413 once the rest of
//!    it has been read and thrown away; within `body_read_timeout`, else
//!    408 and the connection closes);
//! 3. apply faults that replace processing (status, HTML page, dropped
//!    connection);
//! 4. check credential, version and workspace, bring the workspace's
//!    simulation up to now in bounded steps (`Shared::catch_up`), then hand
//!    the request to the axum [`Router`](axum::Router) of [`crate::handlers`];
//! 5. apply faults that spoil the answer (dropped connection after
//!    processing, malformed or truncated body);
//! 6. add `x-request-id`.
//!
//! To drop a connection, the hyper service returns an error: hyper then
//! closes the connection without writing a response.

use crate::auth::TokenStore;
use crate::clock::Micros;
use crate::clock::{SimClock, micros};
use crate::config::EmulatorConfig;
use crate::context;
use crate::error::{ApiError, raw_response};
use crate::faults::{Fault, FaultBook, Route};
use crate::handlers;
use crate::local::TaskOutput;
use crate::state::{self, SimSettings, State, Workspace};
use crate::validate::Spec;
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use blaxel_jobs_client::types;
use bytes::{Bytes, BytesMut};
use http::{HeaderValue, Request, StatusCode, header};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::{Service, service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// The work (events plus tasks looked at) of one step of a catch-up: well
/// under a millisecond.
const CATCH_UP_STEP: u64 = 4096;

/// How long [`Emulator::shutdown`] waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// What every request handler shares.
pub(crate) struct Shared {
    pub(crate) config: EmulatorConfig,
    pub(crate) clock: SimClock,
    pub(crate) spec: &'static Spec,
    pub(crate) settings: SimSettings,
    pub(crate) faults: FaultBook,
    pub(crate) tokens: TokenStore,
    /// `http://127.0.0.1:<port>`.
    pub(crate) origin: String,
    state: State,
    request_prefix: String,
    request_counter: AtomicU64,
    /// This, for the runners of local executions.
    me: Weak<Shared>,
    /// The runtime the server (and the runners) run on.
    runtime: tokio::runtime::Handle,
    /// Bumped whenever a local execution records something.
    changes: watch::Sender<u64>,
    /// Set when the emulator stops: local processes are killed.
    stopping: watch::Sender<bool>,
    /// The runners of local executions.
    runners: Mutex<JoinSet<()>>,
    /// Execution data URL token → `{"tasks": [...]}`, while the processes run.
    task_data: Mutex<HashMap<String, Arc<str>>>,
    /// The process groups of tasks that run for real.
    pub(crate) groups: crate::groups::Groups,
}

impl Shared {
    /// Runs `f` on the workspace (created on first use), advanced to now,
    /// under the workspace's own lock.
    pub(crate) fn with_workspace<R>(
        &self,
        workspace: &str,
        f: impl FnOnce(&mut Workspace, Micros) -> R,
    ) -> R {
        let ws = self.state.workspace(workspace);
        let mut ws = state::lock(&ws);
        let now = self.clock.now();
        ws.advance_to(now, &self.settings, &self.clock);
        let out = f(&mut ws, now);
        let launches = ws.take_launches();
        drop(ws);
        self.launch(launches);
        out
    }

    /// Starts the runners of local executions that were admitted.
    fn launch(&self, launches: Vec<crate::local::Launch>) {
        if launches.is_empty() {
            return;
        }
        let Some(me) = self.me.upgrade() else { return };
        let mut runners = self.runners.lock().unwrap_or_else(|e| e.into_inner());
        // Forget the runners that are done.
        while runners.try_join_next().is_some() {}
        for l in launches {
            runners.spawn_on(crate::local::run(me.clone(), l), &self.runtime);
        }
    }

    /// Records something a local execution's processes did, at now.
    pub(crate) fn record<R>(
        &self,
        workspace: &str,
        seq: u64,
        f: impl FnOnce(&mut crate::sim::SimExecution, Micros) -> R,
    ) -> Option<R> {
        let out = self.with_workspace(workspace, |ws, now| {
            ws.execution_mut(seq).map(|e| f(e, now))
        });
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
        out
    }

    /// Records something task `index` of a local execution did, at now.
    pub(crate) fn record_task<R>(
        &self,
        launch: &crate::local::Launch,
        index: usize,
        f: impl FnOnce(&mut crate::local::LocalTask, Micros) -> R,
    ) -> Option<R> {
        self.record(&launch.workspace, launch.seq, |e, now| {
            e.local_task_mut(index, now).map(|t| f(t, now))
        })
        .flatten()
    }

    /// Records that the processes of a local execution are all over.
    pub(crate) fn finish_local(&self, workspace: &str, seq: u64) {
        self.with_workspace(workspace, |ws, now| {
            ws.finish_local(seq, now, &self.settings);
        });
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Tells when the emulator stops.
    pub(crate) fn stopping(&self) -> watch::Receiver<bool> {
        self.stopping.subscribe()
    }

    /// Serves `body` at `/_emulator/task-data/<token>`.
    pub(crate) fn serve_task_data(&self, token: &str, body: &str) {
        let mut map = self.task_data.lock().unwrap_or_else(|e| e.into_inner());
        map.insert(token.to_owned(), body.into());
    }

    /// Stops serving the execution data behind `token`.
    pub(crate) fn forget_task_data(&self, token: &str) {
        let mut map = self.task_data.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(token);
    }

    fn task_data(&self, path: &str) -> Option<Response> {
        let token = path.strip_prefix("/_emulator/task-data/")?;
        let map = self.task_data.lock().unwrap_or_else(|e| e.into_inner());
        let body = map.get(token).cloned();
        drop(map);
        Some(match body {
            Some(b) => raw_response(StatusCode::OK, "application/json", b.to_string()),
            None => ApiError::not_found("no execution data here (the execution is over)")
                .into_response(),
        })
    }

    /// Brings an existing workspace up to now in bounded steps, releasing
    /// its lock and yielding to the runtime between steps: a long catch-up
    /// (after a big jump of simulated time) never blocks a runtime thread,
    /// or other requests to the workspace, for long.
    pub(crate) async fn catch_up(&self, workspace: &str) {
        let Some(ws) = self.state.existing(workspace) else {
            return;
        };
        loop {
            let done = {
                let mut ws = state::lock(&ws);
                let now = self.clock.now();
                let done = ws.advance_by(now, &self.settings, &self.clock, CATCH_UP_STEP);
                let launches = ws.take_launches();
                drop(ws);
                self.launch(launches);
                done
            };
            if done {
                return;
            }
            tokio::task::yield_now().await;
        }
    }

    fn next_request_id(&self) -> String {
        let n = self.request_counter.fetch_add(1, Ordering::Relaxed);
        format!("{}-{n:06}", self.request_prefix)
    }
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("config", &self.config)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// A running emulator: a real HTTP server on 127.0.0.1 that speaks the
/// Blaxel Jobs API, with all its state in memory.
///
/// The server stops when the `Emulator` is dropped (or, waiting for
/// requests in flight, on [`Emulator::shutdown`]), and the processes of
/// tasks that run for real are killed, with everything they started.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use std::time::Duration;
/// use blaxel_jobs_client::operations::Operation;
/// use blaxel_jobs_emulator::{Clock, Emulator, EmulatorConfig, Fault};
///
/// let emu = Emulator::start_with(EmulatorConfig::default().clock(Clock::Manual)).await?;
/// // Point a client at it: BL_API_URL=<base_url>, BL_API_KEY=<api_key>, any workspace.
/// println!("{} {}", emu.base_url(), emu.api_key());
///
/// // The next two GetJob requests fail with 503.
/// emu.inject(Operation::GetJob, Fault::Status { status: 503, retry_after: Some("1".into()), body: None }, 2);
///
/// // ... create a job and an execution with the client, then let time pass:
/// emu.advance(Duration::from_secs(60));
/// for e in emu.executions("my-workspace", "my-job") {
///     println!("{:?}", e.status);
/// }
/// # Ok(()) }
/// ```
pub struct Emulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    base_url: String,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl fmt::Debug for Emulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Emulator")
            .field("base_url", &self.base_url)
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// Starts an emulator with [`EmulatorConfig::default`] on a free port.
    ///
    /// Must be called within a Tokio runtime; the server runs on it.
    pub async fn start() -> io::Result<Emulator> {
        Self::start_with(EmulatorConfig::default()).await
    }

    /// Starts an emulator on 127.0.0.1, on the configured port (0: a free one).
    ///
    /// Fails when the port cannot be bound, or with
    /// [`io::ErrorKind::InvalidInput`] for a [`Clock::Scaled`](crate::Clock::Scaled)
    /// speed that is negative, infinite or NaN.
    pub async fn start_with(mut config: EmulatorConfig) -> io::Result<Emulator> {
        if config.runs_commands() {
            // Nothing that reaches the emulator may run commands with a
            // credential everyone knows.
            if config.api_key == crate::config::DEFAULT_API_KEY {
                config.api_key = crate::state::random_id("emu-", 32);
            }
            if config.client_secret == crate::config::DEFAULT_CLIENT_SECRET {
                config.client_secret = crate::state::random_id("emu-", 32);
            }
        }
        SimClock::check_mode(config.clock)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let spec = Spec::embedded().map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        if let Some(r) =
            Route::all().find(|r| *r != Route::OAuthToken && !spec.has_operation(r.operation_id()))
        {
            let msg = format!(
                "the embedded API document lacks the operation {}",
                r.operation_id()
            );
            return Err(io::Error::new(io::ErrorKind::InvalidData, msg));
        }
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, config.port)).await?;
        let addr = listener.local_addr()?;
        let origin = format!("http://{addr}");
        let settings = SimSettings {
            deploy_delay: micros(config.deploy_delay),
            startup: micros(config.execution_startup),
            capacity: config.capacity,
            retention: micros(config.execution_retention),
            run_local_images: false,
            task_commands: Arc::default(),
            keep_masked_secrets: config.keep_masked_secrets,
        };
        let settings = SimSettings {
            run_local_images: config.run_local_images,
            task_commands: Arc::new(config.task_commands.clone()),
            ..settings
        };
        let runtime = tokio::runtime::Handle::current();
        let shared = Arc::new_cyclic(|me| Shared {
            me: me.clone(),
            runtime,
            changes: watch::channel(0).0,
            stopping: watch::channel(false).0,
            runners: Mutex::new(JoinSet::new()),
            task_data: Mutex::new(HashMap::new()),
            groups: crate::groups::Groups::default(),
            clock: SimClock::new(config.clock),
            config,
            spec,
            settings,
            faults: FaultBook::default(),
            tokens: TokenStore::default(),
            origin: origin.clone(),
            state: State::default(),
            request_prefix: crate::state::random_id("req-", 8),
            request_counter: AtomicU64::new(1),
        });
        let app = Arc::new(App {
            shared: shared.clone(),
            router: TowerToHyperService::new(handlers::router(shared.clone())),
        });
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, app, rx));
        tracing::info!(%addr, "blaxel-jobs emulator listening");
        Ok(Emulator {
            shared,
            addr,
            base_url: format!("{origin}/v0"),
            shutdown: tx,
            task: Some(task),
        })
    }

    /// The API's base URL, such as `http://127.0.0.1:41234/v0`.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// An API key the server accepts as a bearer credential.
    pub fn api_key(&self) -> &str {
        &self.shared.config.api_key
    }

    /// The OAuth client id that `POST /v0/oauth/token` accepts.
    pub fn client_id(&self) -> &str {
        &self.shared.config.client_id
    }

    /// The OAuth client secret that goes with [`Emulator::client_id`].
    pub fn client_secret(&self) -> &str {
        &self.shared.config.client_secret
    }

    /// A browser login for `workspace`, as `bl login` saves it in
    /// `~/.blaxel/config.yaml` once the user confirms in the browser: an
    /// access token valid for [`EmulatorConfig::token_ttl`], a refresh
    /// token, the token's lifetime and the device code. Write them into a
    /// config file to test a client as a user who logged in with `bl` does;
    /// `POST /v0/oauth/token` with `grant_type=refresh_token` exchanges the
    /// refresh token for new access tokens (see
    /// [`EmulatorConfig::rotate_refresh_tokens`]). The emulator, like an API
    /// key, accepts the access tokens in any workspace.
    pub fn device_login(&self, workspace: &str) -> crate::DeviceLogin {
        self.shared
            .tokens
            .device_login(workspace, self.shared.config.token_ttl)
    }

    /// Revokes a refresh token of a browser login (as logging out, or an
    /// administrator, would): the refresh grant refuses it from then on with
    /// 400 `invalid_grant`. Access tokens already issued stay valid until
    /// they expire. False if the token was not known.
    pub fn revoke_refresh_token(&self, refresh_token: &str) -> bool {
        self.shared.tokens.revoke_refresh_token(refresh_token)
    }

    /// Moves simulated time forward by `d`.
    ///
    /// With [`Clock::Manual`](crate::Clock::Manual) this is the only way time
    /// moves. With [`Clock::Scaled`](crate::Clock::Scaled) it jumps ahead on
    /// top of the scaled real time. Deployments, executions and tasks catch
    /// up on the next request (or call to [`Emulator::executions`]).
    pub fn advance(&self, d: Duration) {
        self.shared.clock.advance(d);
    }

    /// Makes the next `times` requests on `route` get `fault`, after any
    /// faults already waiting on that route.
    pub fn inject(&self, route: impl Into<Route>, fault: Fault, times: usize) {
        let route = route.into();
        self.shared.faults.inject(route, fault, times);
    }

    /// How many requests arrived on `route`, faulted ones included (and
    /// rejected ones: bad credentials, invalid bodies, ...).
    pub fn request_count(&self, route: impl Into<Route>) -> u64 {
        let route = route.into();
        self.shared.faults.count(route)
    }

    /// The names of the jobs stored in `workspace` (deleted ones excluded),
    /// sorted.
    pub fn job_names(&self, workspace: &str) -> Vec<String> {
        self.shared
            .state
            .existing(workspace)
            .map(|ws| state::lock(&ws).job_names())
            .unwrap_or_default()
    }

    /// The executions recorded under the job name `job` in `workspace`, as
    /// GetJobExecution would show them now, oldest first. Executions of a
    /// deleted job with the same name are included.
    pub fn executions(&self, workspace: &str, job: &str) -> Vec<types::JobExecution> {
        let shared = &self.shared;
        let Some(ws) = shared.state.existing(workspace) else {
            return Vec::new();
        };
        let mut ws = state::lock(&ws);
        let now = shared.clock.now();
        ws.advance_to(now, &shared.settings, &shared.clock);
        let out = ws
            .executions_named(job)
            .map(|e| e.render(now, &shared.clock))
            .collect();
        let launches = ws.take_launches();
        drop(ws);
        shared.launch(launches);
        out
    }

    /// What the process of task `task` (0-based) of execution
    /// `execution_id` wrote, for executions whose tasks run as local
    /// processes ([`EmulatorConfig::task_command`]); `None` for other
    /// executions, unknown ones and out-of-range tasks.
    pub fn task_output(
        &self,
        workspace: &str,
        job: &str,
        execution_id: &str,
        task: usize,
    ) -> Option<TaskOutput> {
        let ws = self.shared.state.existing(workspace)?;
        let ws = state::lock(&ws);
        ws.execution(job, execution_id)?
            .local
            .as_ref()?
            .output(task)
    }

    /// Waits until `done` holds. It is checked now and again after each
    /// thing a local task process does (start, line of output, exit), so it
    /// suits conditions on executions whose tasks run as local processes;
    /// simulated executions only change when time moves (see
    /// [`Emulator::advance`]), which does not wake this up.
    ///
    /// ```no_run
    /// # async fn demo(emu: blaxel_jobs_emulator::Emulator) {
    /// use blaxel_jobs_client::open_enum::JobExecutionStatus;
    /// emu.wait_until(|emu| {
    ///     emu.executions("ws", "job")
    ///         .iter()
    ///         .all(|e| e.status.as_ref().is_some_and(JobExecutionStatus::is_terminal))
    /// })
    /// .await;
    /// # }
    /// ```
    pub async fn wait_until(&self, mut done: impl FnMut(&Emulator) -> bool) {
        let mut changes = self.shared.changes.subscribe();
        loop {
            changes.borrow_and_update();
            if done(self) {
                return;
            }
            if changes.changed().await.is_err() {
                return;
            }
        }
    }

    /// Stops accepting connections, lets requests in flight finish (for up
    /// to 5 seconds) and stops the server; the processes of tasks that run
    /// for real are killed (and waited for, for up to 5 seconds more).
    /// Dropping the emulator also stops it, without waiting.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        let _ = self.shared.stopping.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        let mut runners = {
            let mut r = self
                .shared
                .runners
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            std::mem::take(&mut *r)
        };
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, async {
            while runners.join_next().await.is_some() {}
        })
        .await;
        self.shared.groups.kill_all();
    }
}

impl Drop for Emulator {
    /// Stops the server without waiting, and kills the processes of tasks
    /// that run for real, with everything they started, before it returns.
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        let _ = self.shared.stopping.send(true);
        self.shared.groups.kill_all();
        if let Some(task) = self.task.take() {
            // Dropping the accept loop drops its connection tasks too.
            task.abort();
        }
    }
}

/// The error a service returns to make hyper close the connection without
/// a response.
#[derive(Debug)]
struct ConnectionDropped;

impl fmt::Display for ConnectionDropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection dropped on purpose (injected fault or broken request body)")
    }
}

impl std::error::Error for ConnectionDropped {}

async fn accept_loop(listener: TcpListener, app: Arc<App>, mut shutdown: watch::Receiver<bool>) {
    let conn_shutdown = shutdown.clone();
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    conns.spawn(serve_connection(stream, app.clone(), conn_shutdown.clone()));
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off a little.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while conns.join_next().await.is_some() {}
    })
    .await;
}

async fn serve_connection(stream: TcpStream, app: Arc<App>, mut shutdown: watch::Receiver<bool>) {
    let service = service_fn(move |req: Request<Incoming>| {
        let app = app.clone();
        async move { app.handle(req).await }
    });
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).keep_alive(true);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        res = conn.as_mut() => {
            if let Err(e) = res {
                tracing::debug!(error = %e, "connection ended");
            }
        }
        _ = shutdown.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.as_mut().await;
        }
    }
}

/// The request pipeline.
struct App {
    shared: Arc<Shared>,
    router: TowerToHyperService<axum::Router>,
}

enum BodyError {
    TooLarge,
    Broken,
}

impl App {
    async fn handle(&self, req: Request<Incoming>) -> Result<Response, ConnectionDropped> {
        let request_id = self.shared.next_request_id();
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok());
        if !crate::host::allowed(host, &self.shared.config.allowed_hosts) {
            tracing::warn!(%request_id, host = ?host.map(|h| h.chars().take(100).collect::<String>()),
                "refused a request not addressed to a loopback name or address");
            return Ok(with_request_id(host_not_allowed(host), &request_id));
        }
        let route = Route::classify(req.method(), req.uri().path());
        let fault = route.and_then(|r| self.shared.faults.on_request(r));
        if let Some(Fault::Delay(d)) = &fault {
            tokio::time::sleep(*d).await;
        }
        let method = req.method().clone();
        let (parts, body) = req.into_parts();
        let content_length = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let max = self.shared.config.max_body_bytes;
        let deadline = self.shared.config.body_read_timeout;
        let mut oversized = false;
        let read = read_body(body, max, content_length, &mut oversized);
        let body = match tokio::time::timeout(deadline, read).await {
            Ok(Ok(b)) => Ok(b),
            Ok(Err(BodyError::TooLarge)) => Err(too_large(max)),
            Ok(Err(BodyError::Broken)) => return Err(ConnectionDropped),
            // Still draining an oversized body: it is 413 all the same.
            Err(_) if oversized => Err(too_large(max)),
            Err(_) => {
                tracing::debug!(%request_id, ?route, "the request body did not arrive in time");
                Err(body_timeout(deadline))
            }
        };
        let resp = match fault {
            Some(Fault::DropConnection {
                after_processing: false,
            }) => {
                tracing::debug!(%request_id, ?route, "fault: dropping the connection");
                return Err(ConnectionDropped);
            }
            Some(Fault::Status {
                status,
                retry_after,
                body,
            }) => status_fault(status, retry_after, body),
            Some(Fault::HtmlError { status }) => html_error(status),
            other => {
                let resp = match body {
                    Err(answer) => answer,
                    Ok(bytes) => {
                        self.process(Request::from_parts(parts, Body::from(bytes)), route)
                            .await
                    }
                };
                match other {
                    Some(Fault::DropConnection {
                        after_processing: true,
                    }) => {
                        tracing::debug!(%request_id, ?route, status = resp.status().as_u16(),
                            "fault: processed, now dropping the connection");
                        return Err(ConnectionDropped);
                    }
                    Some(Fault::MalformedBody) => raw_response(
                        StatusCode::OK,
                        "application/json",
                        "<<this is not JSON: the emulator injected a malformed body>>",
                    ),
                    Some(Fault::TruncatedBody) => truncated(resp).await,
                    _ => resp,
                }
            }
        };
        tracing::debug!(%request_id, %method, ?route, status = resp.status().as_u16(), "request");
        Ok(with_request_id(resp, &request_id))
    }

    async fn process(&self, mut req: Request<Body>, route: Option<Route>) -> Response {
        if route.is_none()
            && req.method() == http::Method::GET
            && let Some(resp) = self.shared.task_data(req.uri().path())
        {
            return resp;
        }
        if route.is_some_and(|r| r != Route::OAuthToken) {
            match context::resolve(&self.shared, req.headers(), req.uri().query()) {
                Ok(ctx) => {
                    self.shared.catch_up(&ctx.workspace).await;
                    req.extensions_mut().insert(ctx);
                }
                Err(e) => return e.into_response(),
            }
        }
        match self.router.call(req).await {
            Ok(resp) => resp,
            Err(never) => match never {},
        }
    }
}

/// Reads a request body of at most `max` bytes. An oversized body is read
/// to its end and thrown away (in the time the caller allows) before the
/// answer, 413, is sent: a server that answers and closes while the client
/// is still sending makes the client's system reset the connection, and
/// the client may then see a network error instead of the 413 (as it did
/// with bodies of tens of MB). `oversized` is set as soon as the body is
/// known to be too large.
async fn read_body(
    mut body: Incoming,
    max: usize,
    content_length: Option<u64>,
    oversized: &mut bool,
) -> Result<Bytes, BodyError> {
    let max64 = u64::try_from(max).unwrap_or(u64::MAX);
    let mut buf = BytesMut::new();
    let mut seen: u64 = 0;
    *oversized = content_length.is_some_and(|n| n > max64);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| BodyError::Broken)?;
        if let Ok(data) = frame.into_data() {
            seen = seen.saturating_add(data.len() as u64);
            if *oversized || seen > max64 {
                *oversized = true;
                buf.clear();
                continue;
            }
            buf.extend_from_slice(&data);
        }
    }
    if *oversized {
        Err(BodyError::TooLarge)
    } else {
        Ok(buf.freeze())
    }
}

fn too_large(max: usize) -> Response {
    let mut resp =
        ApiError::too_large(format!("the request body is larger than {max} bytes")).into_response();
    resp.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

/// 403 for a request addressed to a name that is not loopback's nor
/// allowed (see [`crate::host`]); the connection closes after it.
fn host_not_allowed(host: Option<&str>) -> Response {
    let shown: String = host.unwrap_or("").chars().take(100).collect();
    let mut resp = ApiError::new(
        StatusCode::FORBIDDEN,
        "host_not_allowed",
        format!(
            "this emulator answers requests addressed to localhost or a loopback address, not              {shown:?}; to allow that name, start it with --allowed-host NAME              (EmulatorConfig::allowed_host)"
        ),
    )
    .into_response();
    resp.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

/// 408 for a body that did not arrive in time; the connection is closed
/// after it (the rest of the body is never read).
fn body_timeout(deadline: Duration) -> Response {
    let mut resp = ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "request_timeout",
        format!(
            "the request body did not arrive within {} s",
            deadline.as_secs_f64()
        ),
    )
    .into_response();
    resp.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

fn status_fault(status: u16, retry_after: Option<String>, body: Option<String>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = match body {
        Some(text) => {
            let is_json = serde_json::from_str::<serde_json::Value>(&text).is_ok();
            let ct = if is_json {
                "application/json"
            } else {
                "text/plain; charset=utf-8"
            };
            raw_response(status, ct, text)
        }
        None => {
            let kind = match status.as_u16() {
                429 => "rate_limited",
                500 => "internal_error",
                502 => "bad_gateway",
                503 => "service_unavailable",
                504 => "gateway_timeout",
                408 => "request_timeout",
                409 => "conflict",
                s if s >= 500 => "server_error",
                _ => "injected_fault",
            };
            ApiError::new(status, kind, "fault injected by the emulator").into_response()
        }
    };
    if let Some(v) = retry_after.and_then(|v| HeaderValue::from_str(&v).ok()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

fn html_error(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    let title = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error")
    );
    raw_response(
        status,
        "text/html; charset=utf-8",
        format!(
            "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n<hr><center>gateway</center>\r\n</body>\r\n</html>\r\n"
        ),
    )
}

async fn truncated(resp: Response) -> Response {
    let (mut parts, body) = resp.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let cut = bytes.slice(..bytes.len() / 2);
    parts.status = StatusCode::OK;
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(cut))
}

fn with_request_id(mut resp: Response, id: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Clock;
    use crate::state::{ExecutionRequest, Mutation};
    use std::sync::atomic::AtomicBool;

    /// Fills workspace `w` with `n` executions of 20 tasks of 1 to 60
    /// simulated seconds, one task at a time.
    fn fill(shared: &Shared, workspace: &str, n: usize) {
        shared.with_workspace(workspace, |ws, now| {
            let ctx = Mutation {
                now,
                principal: "me",
                origin: &shared.origin,
                clock: &shared.clock,
                settings: &shared.settings,
            };
            let job: types::Job = serde_json::from_value(serde_json::json!({
                "metadata": {"name": "job"},
                "spec": {"runtime": {"maxConcurrentTasks": 1}}
            }))
            .unwrap();
            ws.create_job(job, &ctx).unwrap();
            for i in 0..n {
                let tasks = (0..20)
                    .map(|k| {
                        let p = serde_json::json!({"durationSeconds": 1 + (i + k * 7) % 60});
                        p.as_object().unwrap().clone()
                    })
                    .collect();
                let req = ExecutionRequest {
                    execution_id: None,
                    message_id: None,
                    tasks,
                    env: Default::default(),
                    memory: None,
                    allow_queue: true,
                };
                ws.create_execution("job", req, &ctx).unwrap();
            }
        });
    }

    async fn emulator() -> Emulator {
        Emulator::start_with(
            EmulatorConfig::default()
                .clock(Clock::Manual)
                .capacity(10_000),
        )
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn a_locked_workspace_does_not_hold_up_another() {
        let emu = emulator().await;
        let shared = &emu.shared;
        fill(shared, "a", 1);
        let a = shared.state.workspace("a");
        let _held = state::lock(&a);
        // With one lock for every workspace, this would wait for `_held`
        // forever (on this very thread).
        let names = shared.with_workspace("b", |ws, _| {
            assert!(ws.job_names().is_empty());
            ws.job_names()
        });
        assert!(names.is_empty());
        assert!(a.try_lock().is_err(), "a is still locked");
        let b = shared.state.workspace("b");
        assert!(!Arc::ptr_eq(&a, &b));
        assert!(Arc::ptr_eq(&b, &shared.state.workspace("b")));
    }

    #[tokio::test]
    async fn a_long_catch_up_yields_to_the_runtime_between_steps() {
        let emu = emulator().await;
        let shared = emu.shared.clone();
        fill(&shared, "w", 2_000);
        emu.advance(Duration::from_secs(6 * 3600));
        // On this single-threaded runtime, the spawned task only runs if
        // the catch-up gives the thread back before it is done.
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        let other = tokio::spawn(async move { flag.store(true, Ordering::SeqCst) });
        shared.catch_up("w").await;
        assert!(ran.load(Ordering::SeqCst), "the catch-up never yielded");
        other.await.unwrap();
        // And it is complete: every execution is over.
        let statuses = emu.executions("w", "job");
        assert_eq!(statuses.len(), 2_000);
        assert!(
            statuses
                .iter()
                .all(|e| e.status.as_ref().is_some_and(|s| s.is_terminal()))
        );
    }

    #[tokio::test]
    async fn a_short_catch_up_does_not_yield() {
        let emu = emulator().await;
        let shared = emu.shared.clone();
        fill(&shared, "w", 2);
        emu.advance(Duration::from_secs(6 * 3600));
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        let other = tokio::spawn(async move { flag.store(true, Ordering::SeqCst) });
        shared.catch_up("w").await;
        assert!(!ran.load(Ordering::SeqCst));
        other.await.unwrap();
        assert!(ran.load(Ordering::SeqCst));
    }
}
