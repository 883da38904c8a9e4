//! [`EmulatorConfig`] and [`Clock`]: how an [`Emulator`](crate::Emulator) is set up.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// How the emulator's simulated clock moves.
///
/// Deployments, executions and tasks all run in simulated time. Cursors
/// expire (after 24 simulated hours) by it too. OAuth access tokens are the
/// exception: they expire by tokio's clock, in real time like the
/// credentials of a real identity provider (or on a test's paused clock).
///
/// ```
/// use blaxel_jobs_emulator::Clock;
///
/// // Ten simulated seconds pass for every real second.
/// let fast = Clock::Scaled(10.0);
/// // Only `Emulator::advance` moves time: the choice for deterministic tests.
/// let manual = Clock::Manual;
/// assert_ne!(fast, manual);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Clock {
    /// Simulated seconds per real second. `1.0` is real time; `0.0` freezes
    /// time (but [`Emulator::advance`](crate::Emulator::advance) still moves
    /// it). Negative, infinite or NaN values make
    /// [`Emulator::start_with`](crate::Emulator::start_with) fail.
    Scaled(f64),
    /// Time stands still until [`Emulator::advance`](crate::Emulator::advance)
    /// moves it.
    Manual,
}

impl Default for Clock {
    /// Real time: `Clock::Scaled(1.0)`.
    fn default() -> Self {
        Clock::Scaled(1.0)
    }
}

/// How long a final execution is kept by default: one simulated day.
const DEFAULT_RETENTION: Duration = Duration::from_secs(24 * 3600);

/// The default API key: well known, so replaced by a random one where
/// tasks run for real (see [`EmulatorConfig::api_key`]).
pub(crate) const DEFAULT_API_KEY: &str = "emulator-api-key";

/// The default OAuth client secret: well known, so replaced like the key.
pub(crate) const DEFAULT_CLIENT_SECRET: &str = "emulator-secret";

/// The settings of an [`Emulator`](crate::Emulator), built in the builder style.
///
/// Every setter takes and returns the configuration by value, so settings
/// chain. The `Debug` output never shows the API key or the client secret.
///
/// ```
/// use std::time::Duration;
/// use blaxel_jobs_emulator::{Clock, EmulatorConfig};
///
/// let config = EmulatorConfig::default()
///     .api_key("test-key")
///     .clock(Clock::Manual)
///     .deploy_delay(Duration::from_secs(5))
///     .capacity(2);
/// assert!(!format!("{config:?}").contains("test-key"));
/// ```
#[derive(Clone)]
pub struct EmulatorConfig {
    pub(crate) api_key: String,
    pub(crate) member_api_key: Option<String>,
    pub(crate) keep_masked_secrets: bool,
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    pub(crate) token_ttl: Duration,
    pub(crate) rotate_refresh_tokens: bool,
    pub(crate) port: u16,
    pub(crate) clock: Clock,
    pub(crate) deploy_delay: Duration,
    pub(crate) execution_startup: Duration,
    pub(crate) capacity: usize,
    pub(crate) max_body_bytes: usize,
    pub(crate) tasks_apart_from: Option<usize>,
    pub(crate) count_limit: Option<usize>,
    pub(crate) body_read_timeout: Duration,
    pub(crate) execution_retention: Duration,
    pub(crate) run_local_images: bool,
    pub(crate) task_commands: BTreeMap<String, String>,
    pub(crate) allowed_hosts: Vec<String>,
    pub(crate) logs_cap: usize,
    pub(crate) logs_max_window: Option<Duration>,
}

/// The most lines one ListLogs answer carries by default: what Blaxel's CLI
/// asks for.
pub(crate) const DEFAULT_LOGS_CAP: usize = 1000;

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            api_key: DEFAULT_API_KEY.to_owned(),
            member_api_key: None,
            keep_masked_secrets: true,
            client_id: "emulator-client".to_owned(),
            client_secret: DEFAULT_CLIENT_SECRET.to_owned(),
            token_ttl: Duration::from_secs(3600),
            rotate_refresh_tokens: false,
            port: 0,
            clock: Clock::default(),
            deploy_delay: Duration::from_secs(2),
            execution_startup: Duration::from_millis(500),
            capacity: 100,
            max_body_bytes: 1024 * 1024,
            tasks_apart_from: None,
            count_limit: None,
            body_read_timeout: Duration::from_secs(30),
            execution_retention: DEFAULT_RETENTION,
            run_local_images: false,
            task_commands: BTreeMap::new(),
            allowed_hosts: Vec::new(),
            logs_cap: DEFAULT_LOGS_CAP,
            logs_max_window: None,
        }
    }
}

impl EmulatorConfig {
    /// The same as [`EmulatorConfig::default`].
    pub fn new() -> Self {
        Self::default()
    }

    /// The API key the server accepts as a bearer credential
    /// (default `"emulator-api-key"`).
    ///
    /// Where tasks run for real ([`task_command`](Self::task_command),
    /// [`run_local_images`](Self::run_local_images)), a well-known key
    /// would let anything that reaches the emulator run commands: the
    /// default key and the default client secret are then replaced, when
    /// the emulator starts, by random ones, which
    /// [`Emulator::api_key`](crate::Emulator::api_key) and
    /// [`Emulator::client_secret`](crate::Emulator::client_secret) tell
    /// (and the binary prints). A key set here is kept.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = key.into();
        self
    }

    /// A second API key, of a workspace member without the admin role: it
    /// may do everything the [`api_key`](Self::api_key) may, except read
    /// secret values in clear. Blaxel documents that GetJob's
    /// `show_secrets` needs the workspace admin role; asked with this key,
    /// it is refused with 403 `forbidden`. None by default (every
    /// credential is an admin's).
    pub fn member_api_key(mut self, key: impl Into<String>) -> Self {
        self.member_api_key = Some(key.into());
        self
    }

    /// What an UpdateJob that sends a secret environment value back as
    /// its mask (`***`, as GetJob answers it without `show_secrets`) does:
    /// keep the stored secret (`true`, the default), or store the mask as
    /// the new value (`false`). Blaxel does not document which it does;
    /// `false` models the worse case, for testing code that writes masked
    /// secrets back.
    pub fn keep_masked_secrets(mut self, keep: bool) -> Self {
        self.keep_masked_secrets = keep;
        self
    }

    /// The OAuth client credentials that `POST /v0/oauth/token` accepts
    /// (default `("emulator-client", "emulator-secret")`).
    pub fn client_credentials(mut self, id: impl Into<String>, secret: impl Into<String>) -> Self {
        self.client_id = id.into();
        self.client_secret = secret.into();
        self
    }

    /// How long an OAuth access token stays valid (default one hour), by
    /// tokio's clock: real time, or a test's paused clock. It applies to the
    /// tokens of client credentials and of browser logins
    /// ([`Emulator::device_login`](crate::Emulator::device_login) and the
    /// refresh grant). `Duration::ZERO` makes tokens that are already
    /// expired, which is handy to test token refresh.
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = ttl;
        self
    }

    /// Whether the refresh grant rotates refresh tokens (default false):
    /// each answer then carries a new refresh token that replaces the one
    /// sent, which is refused from then on. Off, the answer repeats the
    /// refresh token sent, which stays valid.
    pub fn rotate_refresh_tokens(mut self, rotate: bool) -> Self {
        self.rotate_refresh_tokens = rotate;
        self
    }

    /// The TCP port to listen on, on 127.0.0.1 (default 0: a free port).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// How simulated time moves (default [`Clock::Scaled(1.0)`](Clock::Scaled)).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Simulated time a job spends `DEPLOYING` after a create or an update
    /// before it is `DEPLOYED` (default 2 s).
    pub fn deploy_delay(mut self, delay: Duration) -> Self {
        self.deploy_delay = delay;
        self
    }

    /// Simulated time an execution spends `pending` once admitted, before
    /// its tasks start (default 0.5 s).
    pub fn execution_startup(mut self, startup: Duration) -> Self {
        self.execution_startup = startup;
        self
    }

    /// The most active (`pending`, `running` or `cancelling`) executions a
    /// workspace may have at once (default 100). Further executions are
    /// `queued`, or refused with 429 when the request says `allowQueue: false`.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// The largest request body accepted, in bytes (default 1 MiB). Bigger
    /// bodies get 413 with a JSON error body.
    pub fn max_body_bytes(mut self, max: usize) -> Self {
        self.max_body_bytes = max;
        self
    }

    /// Stores the task list of every execution with at least `min_tasks`
    /// tasks apart, as Blaxel may do for large executions: such an
    /// execution is answered with `spec.tasksRef` set and without `tasks`
    /// and `spec.tasks` (`spec.taskCount` and `stats` still count them);
    /// only ListJobExecutionTasks lists its tasks. `0` does this for every
    /// execution. Off by default: every execution carries its tasks.
    pub fn store_tasks_apart_from(mut self, min_tasks: usize) -> Self {
        self.tasks_apart_from = Some(min_tasks);
        self
    }

    /// Bounds counting in listings, as Blaxel does on very large
    /// workspaces: when a listing holds more than `limit` items, its
    /// `meta.total` is `limit` and `meta.totalIsPartial` is true. Unbounded
    /// by default (`totalIsPartial` is then always false).
    pub fn count_limit(mut self, limit: usize) -> Self {
        self.count_limit = Some(limit);
        self
    }

    /// How long, in real time, a client may take to send a request's body
    /// once its headers have arrived (default 30 s, the time it has to send
    /// the headers). A body not complete by then gets 408
    /// `request_timeout` and the connection is closed, so that clients that
    /// stop mid-body cannot hold connections open.
    pub fn body_read_timeout(mut self, timeout: Duration) -> Self {
        self.body_read_timeout = timeout;
        self
    }

    /// How long, in simulated time, a finished (succeeded, failed, timed
    /// out or cancelled) execution is kept before it is forgotten (default
    /// one day). After that, GetJobExecution answers 404, listings leave it
    /// out, and its `executionId` may be used again.
    ///
    /// Blaxel keeps execution history "for a limited time" without saying
    /// how long, so this period is the emulator's own choice; it keeps the
    /// emulator's memory bounded when it runs for a long time.
    pub fn execution_retention(mut self, retention: Duration) -> Self {
        self.execution_retention = retention;
        self
    }

    /// Makes the tasks of job `job` run for real: each task is a local
    /// process, `sh -c <command>`, instead of a simulated script (see
    /// [the crate documentation](crate#tasks-that-run-for-real)). Executions
    /// created after the job is deleted and created again under the same
    /// name run the command too.
    pub fn task_command(mut self, job: impl Into<String>, command: impl Into<String>) -> Self {
        self.task_commands.insert(job.into(), command.into());
        self
    }

    /// Whether jobs whose `spec.runtime.image` is `local:<command>` run
    /// their tasks for real, as `sh -c <command>` (default false: such an
    /// image is only a string, and tasks are simulated). Any client with
    /// the API key can then run commands as the emulator's user, so turn
    /// it on only where that is fine (the default key is then replaced by
    /// a random one: see [`api_key`](Self::api_key)).
    pub fn run_local_images(mut self, run: bool) -> Self {
        self.run_local_images = run;
        self
    }

    /// Also answers requests addressed (`Host`) to `host`, a name without
    /// a port. By default only loopback names and addresses are answered
    /// (`localhost`, `*.localhost`, `127.0.0.0/8`, `[::1]`), so that a web
    /// page cannot reach the emulator by rebinding its own domain to
    /// 127.0.0.1; other requests get 403 `host_not_allowed`.
    pub fn allowed_host(mut self, host: impl Into<String>) -> Self {
        self.allowed_hosts.push(host.into());
        self
    }

    /// The most lines one ListLogs answer carries (default 1,000, what
    /// Blaxel's CLI always asks for; at least 1): a larger `limit` is
    /// lowered to it, and a busier window answers its newest lines with a
    /// `totalCount` that says how many match. Whether Blaxel has a cap
    /// above 1,000 is unknown; this one lets code that splits busy
    /// windows be tested with few lines.
    pub fn logs_cap(mut self, cap: usize) -> Self {
        self.logs_cap = cap.max(1);
        self
    }

    /// The longest window ListLogs takes (by default any): a longer one
    /// (from `start` to `end`) gets 400. Whether Blaxel limits windows is
    /// unknown (its CLI keeps its own to 3 days); this lets code that
    /// splits long windows be tested.
    pub fn logs_max_window(mut self, max: Duration) -> Self {
        self.logs_max_window = Some(max);
        self
    }

    /// Whether any task may run for real.
    pub(crate) fn runs_commands(&self) -> bool {
        self.run_local_images || !self.task_commands.is_empty()
    }
}

impl fmt::Debug for EmulatorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmulatorConfig")
            .field("api_key", &"<redacted>")
            .field(
                "member_api_key",
                &self.member_api_key.as_ref().map(|_| "<redacted>"),
            )
            .field("keep_masked_secrets", &self.keep_masked_secrets)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("token_ttl", &self.token_ttl)
            .field("rotate_refresh_tokens", &self.rotate_refresh_tokens)
            .field("port", &self.port)
            .field("clock", &self.clock)
            .field("deploy_delay", &self.deploy_delay)
            .field("execution_startup", &self.execution_startup)
            .field("capacity", &self.capacity)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("tasks_apart_from", &self.tasks_apart_from)
            .field("count_limit", &self.count_limit)
            .field("body_read_timeout", &self.body_read_timeout)
            .field("execution_retention", &self.execution_retention)
            .field("run_local_images", &self.run_local_images)
            .field("task_commands", &self.task_commands)
            .field("allowed_hosts", &self.allowed_hosts)
            .field("logs_cap", &self.logs_cap)
            .field("logs_max_window", &self.logs_max_window)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_documented_values() {
        let c = EmulatorConfig::default();
        assert_eq!(c.api_key, "emulator-api-key");
        assert_eq!(c.client_id, "emulator-client");
        assert_eq!(c.client_secret, "emulator-secret");
        assert_eq!(c.token_ttl, Duration::from_secs(3600));
        assert!(!c.rotate_refresh_tokens);
        assert_eq!(c.port, 0);
        assert_eq!(c.clock, Clock::Scaled(1.0));
        assert_eq!(c.deploy_delay, Duration::from_secs(2));
        assert_eq!(c.capacity, 100);
        assert_eq!(c.max_body_bytes, 1 << 20);
        assert_eq!(c.tasks_apart_from, None);
        assert_eq!(c.count_limit, None);
        assert_eq!(c.body_read_timeout, Duration::from_secs(30));
        assert_eq!(c.execution_retention, Duration::from_secs(86_400));
        assert_eq!(c.logs_cap, 1000);
        assert_eq!(c.logs_max_window, None);
        assert_eq!(EmulatorConfig::default().logs_cap(0).logs_cap, 1);
    }

    #[test]
    fn debug_redacts_secrets() {
        let c = EmulatorConfig::default()
            .api_key("sk-very-secret")
            .client_credentials("my-client", "client-very-secret");
        let s = format!("{c:?}");
        assert!(!s.contains("sk-very-secret"), "{s}");
        assert!(!s.contains("client-very-secret"), "{s}");
        assert!(s.contains("my-client"), "{s}");
    }
}
