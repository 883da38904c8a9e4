//! [`Emulator`]: starting, driving and stopping an emulator, the crate's
//! public handle on its server and state.

use crate::auth::DeviceLogin;
use crate::clock::SimClock;
use crate::config::{DEFAULT_API_KEY, DEFAULT_CLIENT_SECRET, EmulatorConfig};
use crate::document::Spec;
use crate::execution::TaskOutput;
use crate::faults::{Fault, Route};
use crate::ids::random_id;
use crate::runner;
use crate::server::{self, SHUTDOWN_GRACE};
use crate::shared::Shared;
use blaxel_jobs_client::operations::BASE_PATH;
use blaxel_jobs_client::types;
use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

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
    /// The server's accept loop.
    task: Option<JoinHandle<()>>,
    /// The runner of local executions.
    runner: Option<JoinHandle<()>>,
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
            if config.api_key == DEFAULT_API_KEY {
                config.api_key = random_id("emu-", 32);
            }
            if config.client_secret == DEFAULT_CLIENT_SECRET {
                config.client_secret = random_id("emu-", 32);
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
        let (shared, admitted) = Shared::new(config, spec, origin.clone());
        let runner = tokio::spawn(runner::supervise(shared.clone(), admitted));
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(server::serve(listener, shared.clone(), rx));
        tracing::info!(%addr, "blaxel-jobs emulator listening");
        Ok(Emulator {
            shared,
            addr,
            base_url: format!("{origin}{BASE_PATH}"),
            shutdown: tx,
            task: Some(task),
            runner: Some(runner),
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
    pub fn device_login(&self, workspace: &str) -> DeviceLogin {
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
        self.shared.job_names(workspace)
    }

    /// The executions recorded under the job name `job` in `workspace`, as
    /// GetJobExecution would show them now, oldest first. Executions of a
    /// deleted job with the same name are included.
    pub fn executions(&self, workspace: &str, job: &str) -> Vec<types::JobExecution> {
        self.shared.executions(workspace, job)
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
        self.shared.task_output(workspace, job, execution_id, task)
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
        let mut changes = self.shared.changes();
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
        self.shared.stop();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        if let Some(runner) = self.runner.take() {
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, runner).await;
        }
        self.shared.groups.kill_all();
    }
}

impl Drop for Emulator {
    /// Stops the server without waiting, and kills the processes of tasks
    /// that run for real, with everything they started, before it returns.
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        self.shared.stop();
        self.shared.groups.kill_all();
        if let Some(task) = self.task.take() {
            // Dropping the accept loop drops its connection tasks too.
            task.abort();
        }
    }
}
