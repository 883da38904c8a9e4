//! Client configuration: the builder, and what it infers from Blaxel's
//! environment variables and `bl login`'s config file.
//!
//! Each setting is taken from the first place that has it:
//!
//! | setting | 1. builder | 2. environment | 3. `~/.blaxel/config.yaml` | default |
//! |---|---|---|---|---|
//! | credentials | [`ClientBuilder::api_key`], [`ClientBuilder::client_credentials`], [`ClientBuilder::device_login`] | `BL_API_KEY`, then `BL_CLIENT_CREDENTIALS` (base64 of `clientId:clientSecret`) | the workspace's `credentials.apiKey`, then `clientCredentials` / `client_credentials`, then a browser login's `access_token`, `refresh_token`, `expires_in`, `device_code` ([`DeviceLogin`]) | — (error) |
//! | workspace | [`ClientBuilder::workspace`] | `BL_WORKSPACE` | `context.workspace` | — (error) |
//! | API URL | [`ClientBuilder::base_url`], then [`ClientBuilder::environment`] | `BL_API_URL`, then `BL_ENV` | the workspace's `env` | production |
//! | API version | [`ClientBuilder::api_version`] | `BL_API_VERSION` | — | [`versions::DEFAULT`] |
//!
//! A browser login read from the file is renewed with its refresh token,
//! and the renewed tokens are written back to the file, as `bl` does (see
//! [`DeviceLogin`] and
//! [`ClientBuilder::save_refreshed_login`]).
//!
//! `BL_ENV` names one of the document's servers, an [`Environment`]
//! (`prod`, `dev` or `local`; each variant gives its URL).
//! Missing credentials or workspace are reported before any request is
//! sent, naming what to set. Credentials are never sent over plain HTTP,
//! except to a loopback address. A browser login that cannot be renewed
//! fails every call before any request, with
//! [`ConfigErrorKind::LoginExpired`], saying to run `bl login` again.
//!
//! # API versions
//!
//! Blaxel versions its API with the `Blaxel-Version` header (`YYYY-MM-DD`).
//! Without it a server uses its oldest version, whose lists are bare
//! arrays; an unknown version gets 400 `invalid_api_version`. The versions
//! this project knows, what each changes and the default are stated once,
//! in `openapi/jobs.yaml` (`info.x-blaxel-api-versions`, and `info.version`
//! for the default), and generated into [`versions`]: [`versions::KNOWN`],
//! [`versions::DEFAULT`], [`versions::NEWEST`], [`versions::UNVERSIONED`]
//! and [`versions::find`]. The SDK's default, the emulator's known versions
//! and the tests all read that table. Any known version can be selected
//! with [`ClientBuilder::api_version`] or `BL_API_VERSION`; the SDK does
//! not refuse others, since a server may know versions newer than this
//! SDK.
//!
//! The default, [`versions::DEFAULT`] (`2026-04-28`), is the version whose
//! behaviour for jobs is known, rather than the newest, `2026-09-22`, which
//! Blaxel's Python SDK sends since 0.4.24:
//!
//! - `2026-09-22` changes nothing for jobs so far: it changes the image
//!   catalog. Sending it gains a jobs client nothing.
//! - A server that does not know a version refuses every call made with
//!   it. `2026-04-28` introduced the paged lists the SDK is written for,
//!   and Blaxel's TypeScript SDK (`@blaxel/core` 0.3.21) still sends it, so
//!   every control plane that serves paged lists knows it; a newer default
//!   would trade that certainty for nothing.
//! - The SDK is tested against both: the end-to-end tests run the job
//!   lifecycle on every known version with paged lists (against the
//!   emulator), and the fields that came with the newest document
//!   (`taskCount`, `tasksRef`, `totalIsPartial`, `externalId`, the new
//!   statuses) are read whatever version is sent.
//!
//! The default moves (in the document's `info.version`) when a newer
//! version changes the Jobs API.

use crate::auth::{Credentials, DeviceLogin, SavedIn, Secret};
use crate::error::{ConfigError, ConfigErrorKind};
use crate::http_client::HttpClient;
use crate::retry::RetryConfig;
pub use blaxel_jobs_client::versions;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// The `Blaxel-Version` sent when none is configured: [`versions::DEFAULT`],
/// the document's `info.version` (see [API versions](self#api-versions)).
pub fn default_api_version() -> &'static str {
    versions::DEFAULT
}

/// A Blaxel environment: one of the API document's servers, selected by
/// `BL_ENV` (see [`Environment::parse`]).
pub use blaxel_jobs_client::servers::Environment;

/// Default connection timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default timeout of one attempt of one request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Default timeout of a whole call: every attempt and every wait between
/// them. With the defaults, a server that never answers ends a call after
/// 90 s (one 60 s attempt, then one that gets what remains), not after
/// three full attempts.
pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(90);
pub use crate::body::DEFAULT_MAX_RESPONSE_BODY;

/// The resolved configuration of a [`crate::Client`].
///
/// Its `Debug` output never shows the credential.
#[derive(Clone)]
pub struct Config {
    pub(crate) base_url: String,
    pub(crate) workspace: String,
    pub(crate) credentials: Credentials,
    pub(crate) api_version: String,
    pub(crate) connect_timeout: Duration,
    pub(crate) timeout: Duration,
    pub(crate) operation_timeout: Duration,
    pub(crate) max_response_body: u64,
    pub(crate) retry: RetryConfig,
    pub(crate) user_agent: String,
    /// An HTTP client the caller supplied ([`ClientBuilder::http_client`]).
    pub(crate) http: Option<HttpClient>,
}

impl Config {
    /// The control plane's base URL, such as `https://api.blaxel.ai/v0`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The workspace every request is made in.
    pub fn workspace(&self) -> &str {
        &self.workspace
    }

    /// The kind of credential in use (`API key`, `client credentials` or
    /// `browser login`).
    pub fn credentials_kind(&self) -> &'static str {
        self.credentials.kind()
    }

    /// The `Blaxel-Version` sent with every request.
    pub fn api_version(&self) -> &str {
        &self.api_version
    }

    /// The connection timeout.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// The timeout of one attempt of a request.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The timeout of a whole call, all attempts and waits included.
    pub fn operation_timeout(&self) -> Duration {
        self.operation_timeout
    }

    /// The largest response body the client reads, in bytes.
    pub fn max_response_body(&self) -> u64 {
        self.max_response_body
    }

    /// The retry settings.
    pub fn retry(&self) -> &RetryConfig {
        &self.retry
    }

    /// The `User-Agent` sent with every request.
    pub fn user_agent(&self) -> &str {
        &self.user_agent
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("base_url", &self.base_url)
            .field("workspace", &self.workspace)
            .field(
                "credentials",
                &format_args!("{} (***)", self.credentials.kind()),
            )
            .field("api_version", &self.api_version)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("operation_timeout", &self.operation_timeout)
            .field("max_response_body", &self.max_response_body)
            .field("retry", &self.retry)
            .field("user_http_client", &self.http.is_some())
            .finish()
    }
}

/// Where the builder reads environment variables from.
#[derive(Clone, Debug)]
enum EnvSource {
    Process,
    Map(HashMap<String, String>),
}

impl EnvSource {
    fn get(&self, name: &str) -> Option<String> {
        let value = match self {
            EnvSource::Process => std::env::var(name).ok(),
            EnvSource::Map(m) => m.get(name).cloned(),
        };
        value.filter(|v| !v.trim().is_empty())
    }
}

/// Where the builder reads `bl login`'s config file from.
#[derive(Clone, Debug)]
enum FileSource {
    Home,
    Path(PathBuf),
    None,
}

/// Builds a [`crate::Client`]. Settings given here override the
/// environment and the config file (see the [module docs](self)).
///
/// ```no_run
/// # fn demo() -> Result<(), blaxel_jobs::Error> {
/// let client = blaxel_jobs::Client::builder()
///     .workspace("my-workspace")
///     .api_key("bl_live_...")
///     .timeout(std::time::Duration::from_secs(30))
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
#[must_use]
pub struct ClientBuilder {
    credentials: Option<Credentials>,
    workspace: Option<String>,
    environment: Option<Environment>,
    base_url: Option<String>,
    api_version: Option<String>,
    connect_timeout: Option<Duration>,
    timeout: Option<Duration>,
    operation_timeout: Option<Duration>,
    max_response_body: Option<u64>,
    retry: Option<RetryConfig>,
    http: Option<HttpClient>,
    env: EnvSource,
    file: FileSource,
    save_refreshed_login: bool,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("credentials", &self.credentials.as_ref().map(|c| c.kind()))
            .field("workspace", &self.workspace)
            .field("environment", &self.environment)
            .field("base_url", &self.base_url)
            .field("api_version", &self.api_version)
            .finish_non_exhaustive()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            credentials: None,
            workspace: None,
            environment: None,
            base_url: None,
            api_version: None,
            connect_timeout: None,
            timeout: None,
            operation_timeout: None,
            max_response_body: None,
            retry: None,
            http: None,
            env: EnvSource::Process,
            file: FileSource::Home,
            save_refreshed_login: true,
        }
    }
}

impl ClientBuilder {
    /// A builder that infers what it is not told from the process
    /// environment and `~/.blaxel/config.yaml`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Authenticate with a workspace API key.
    pub fn api_key(mut self, key: impl Into<Secret>) -> Self {
        self.credentials = Some(Credentials::ApiKey(key.into()));
        self
    }

    /// Authenticate with OAuth client credentials.
    pub fn client_credentials(
        mut self,
        client_id: impl Into<String>,
        client_secret: impl Into<Secret>,
    ) -> Self {
        self.credentials = Some(Credentials::ClientCredentials {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
        });
        self
    }

    /// Authenticate with a browser login's tokens, as `bl login` saves
    /// them (see [`DeviceLogin`]). A login given here is renewed in memory
    /// only.
    pub fn device_login(mut self, login: DeviceLogin) -> Self {
        self.credentials = Some(Credentials::DeviceLogin(login));
        self
    }

    /// Whether a browser login read from the config file is written back to
    /// it once renewed (default true), as `bl` does: with a server that
    /// rotates refresh tokens, the refresh token in the file stops working
    /// once the SDK has renewed the login, and `bl` (or the next run of
    /// this program) needs the new one. Turned off, renewed tokens stay in
    /// this client's memory; the file is still read before each renewal,
    /// to use tokens that `bl` saved there.
    pub fn save_refreshed_login(mut self, save: bool) -> Self {
        self.save_refreshed_login = save;
        self
    }

    /// Authenticate with these credentials.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// The workspace to work in.
    pub fn workspace(mut self, workspace: impl Into<String>) -> Self {
        self.workspace = Some(workspace.into());
        self
    }

    /// The Blaxel environment (production by default).
    pub fn environment(mut self, environment: Environment) -> Self {
        self.environment = Some(environment);
        self
    }

    /// The control plane's base URL, overriding the environment. It must be
    /// `https`, or `http` to a loopback address (such as the emulator).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The `Blaxel-Version` to send (default [`default_api_version`]); any
    /// of [`versions::KNOWN`], or a newer one a server knows.
    pub fn api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = Some(version.into());
        self
    }

    /// How long to wait for a connection (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// How long one attempt of a request may take (default 60 s). Each
    /// call's builder can override it.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// How long a whole call may take, every attempt and every wait between
    /// attempts included (default [`DEFAULT_OPERATION_TIMEOUT`], 90 s). An
    /// attempt that would end later gets a shorter timeout, and a retry
    /// that would start later is not made: the call returns its last
    /// answer, or a [`TransportError`](crate::TransportError) naming the
    /// deadline. [`Duration::MAX`] means no deadline. Waiters have their
    /// own `max_wait`; each of their polls is one call.
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = Some(timeout);
        self
    }

    /// The largest response body to read, in bytes (default
    /// [`DEFAULT_MAX_RESPONSE_BODY`], 32 MiB). A larger body, whether
    /// announced by `Content-Length` or noticed while reading, ends the call
    /// with [`Error::ResponseTooLarge`](crate::Error::ResponseTooLarge), and
    /// what was read of it is dropped: memory stays bounded by the limit
    /// whatever a server sends. See [`crate::body`].
    pub fn max_response_body(mut self, bytes: u64) -> Self {
        self.max_response_body = Some(bytes);
        self
    }

    /// Retry settings (default: 3 attempts; see [`crate::retry`]).
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Send requests with this HTTP client instead of one the SDK
    /// builds: for a proxy, custom root certificates, client certificates,
    /// or pool and HTTP settings of your own. Make it with
    /// [`HttpClient::build`], which takes any `reqwest::ClientBuilder`
    /// setting except the redirect policy: it follows no redirect.
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let proxy = reqwest::Proxy::https("http://proxy.internal:3128")?;
    /// let http = blaxel_jobs::HttpClient::build(|b| b.proxy(proxy))?;
    /// let client = blaxel_jobs::Client::builder().http_client(http).build()?;
    /// # let _ = client; Ok(()) }
    /// ```
    ///
    /// What the SDK still does with it:
    ///
    /// - **Headers.** The SDK's headers are added to every request it
    ///   sends: the credential (`Authorization`), `X-Blaxel-Workspace`,
    ///   `Blaxel-Version` and `User-Agent`. A header of the same name set
    ///   as a default header of your client is replaced by the SDK's, so
    ///   the SDK's credential and workspace are the ones sent. Other
    ///   default headers of your client are sent as well.
    /// - **Timeouts.** Each attempt gets [`timeout`](Self::timeout) (60 s by
    ///   default) as its per-request timeout, and a whole call
    ///   [`operation_timeout`](Self::operation_timeout).
    /// - **Redirects.** None is followed, as with the SDK's own client: a
    ///   3xx ends the call with [`Error::Redirect`](crate::Error::Redirect)
    ///   (its status and `Location`), is not retried, and nothing is sent
    ///   to the `Location`.
    /// - **Body limits.** Response bodies are bounded by
    ///   [`max_response_body`](Self::max_response_body) and error bodies by
    ///   16 KiB, as with the SDK's own client.
    /// - **Retries, tracing and token refresh** work as with the SDK's own
    ///   client; the access token of client credentials is fetched with your
    ///   client too.
    ///
    /// What the SDK then does not set: the connect timeout
    /// ([`connect_timeout`](Self::connect_timeout) is ignored; your
    /// client's applies), TLS settings and the HTTP version, the proxy, and
    /// the pool's settings: they are your client's.
    pub fn http_client(mut self, http: HttpClient) -> Self {
        self.http = Some(http);
        self
    }

    /// Read environment variables from `vars` instead of the process
    /// environment (for tests and sandboxed programs). `HOME` in `vars`
    /// locates the config file.
    pub fn env_vars<K, V>(mut self, vars: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        self.env = EnvSource::Map(
            vars.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        );
        self
    }

    /// Read `bl login`'s settings from this file instead of
    /// `~/.blaxel/config.yaml`.
    pub fn config_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.file = FileSource::Path(path.into());
        self
    }

    /// Use neither environment variables nor the config file: only what the
    /// builder is told.
    pub fn ignore_environment(mut self) -> Self {
        self.env = EnvSource::Map(HashMap::new());
        self.file = FileSource::None;
        self
    }

    /// Resolves the configuration without building a client.
    pub fn resolve(&self) -> Result<Config, ConfigError> {
        let env = &self.env;
        // The file is read only when a setting must come from it, so that a
        // broken file cannot break a fully configured builder.
        let needs_file = (self.workspace.is_none() && env.get("BL_WORKSPACE").is_none())
            || (self.credentials.is_none()
                && env.get("BL_API_KEY").is_none()
                && env.get("BL_CLIENT_CREDENTIALS").is_none())
            || (self.base_url.is_none()
                && self.environment.is_none()
                && env.get("BL_API_URL").is_none()
                && env.get("BL_ENV").is_none());
        let file = if needs_file { self.read_file()? } else { None };

        let workspace = self
            .workspace
            .clone()
            .or_else(|| env.get("BL_WORKSPACE"))
            .or_else(|| file.as_ref().and_then(|f| f.context_workspace()))
            .map(|w| w.trim().to_owned())
            .filter(|w| !w.is_empty())
            .ok_or_else(|| {
                ConfigError::new(
                    ConfigErrorKind::MissingWorkspace,
                    "no workspace: set BL_WORKSPACE, call ClientBuilder::workspace, \
                     or run `bl login <workspace>` (which writes context.workspace \
                     to ~/.blaxel/config.yaml)",
                )
            })?;
        let profile = file.as_ref().and_then(|f| f.workspace(&workspace));
        let saved_in = |modified: Option<SystemTime>| SavedIn {
            path: self.file_path().unwrap_or_default(),
            workspace: workspace.clone(),
            write: self.save_refreshed_login,
            modified,
        };

        let credentials = match &self.credentials {
            Some(c) => c.clone(),
            None => {
                if let Some(key) = env.get("BL_API_KEY") {
                    Credentials::ApiKey(Secret::new(key.trim()))
                } else if let Some(cc) = env.get("BL_CLIENT_CREDENTIALS") {
                    Credentials::from_encoded_client_credentials(&cc).map_err(|e| {
                        ConfigError::new(e.kind, format!("BL_CLIENT_CREDENTIALS: {}", e.message))
                    })?
                } else if let Some(c) = profile
                    .and_then(|p| {
                        p.credentials(|| saved_in(file.as_ref().and_then(|f| f.modified)))
                    })
                    .transpose()?
                {
                    c
                } else {
                    return Err(ConfigError::new(
                        ConfigErrorKind::MissingCredentials,
                        format!(
                            "no credentials for workspace `{workspace}`: set BL_API_KEY (or \
                             BL_CLIENT_CREDENTIALS), call ClientBuilder::api_key, or run \
                             `bl login {workspace}` (which writes {})",
                            self.file_path()
                                .map(|p| p.display().to_string())
                                .unwrap_or_else(|| "~/.blaxel/config.yaml".into())
                        ),
                    ));
                }
            }
        };

        let base_url = if let Some(url) = &self.base_url {
            url.clone()
        } else if let Some(e) = self.environment {
            e.base_url().to_owned()
        } else if let Some(url) = env.get("BL_API_URL") {
            url
        } else if let Some(name) = env.get("BL_ENV") {
            Environment::parse(&name)
                .ok_or_else(|| {
                    ConfigError::new(
                        ConfigErrorKind::InvalidValue,
                        format!("BL_ENV is `{name}`; expected prod, dev or local"),
                    )
                })?
                .base_url()
                .to_owned()
        } else if let Some(name) = profile.and_then(|p| p.env.clone()) {
            Environment::parse(&name)
                .ok_or_else(|| {
                    ConfigError::new(
                        ConfigErrorKind::InvalidValue,
                        format!(
                            "workspace `{workspace}` in the config file has env `{name}`; \
                             expected prod, dev or local"
                        ),
                    )
                })?
                .base_url()
                .to_owned()
        } else {
            Environment::Prod.base_url().to_owned()
        };
        let base_url = check_base_url(&base_url)?;

        let api_version = self
            .api_version
            .clone()
            .or_else(|| env.get("BL_API_VERSION"))
            .unwrap_or_else(|| default_api_version().to_owned());
        if api_version.trim().is_empty() {
            return Err(ConfigError::new(
                ConfigErrorKind::InvalidValue,
                "the API version is empty; leave it unset for the default",
            ));
        }

        Ok(Config {
            base_url,
            workspace,
            credentials,
            api_version: api_version.trim().to_owned(),
            connect_timeout: self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT),
            timeout: self.timeout.unwrap_or(DEFAULT_TIMEOUT),
            operation_timeout: self.operation_timeout.unwrap_or(DEFAULT_OPERATION_TIMEOUT),
            max_response_body: self.max_response_body.unwrap_or(DEFAULT_MAX_RESPONSE_BODY),
            retry: self.retry.clone().unwrap_or_default(),
            http: self.http.clone(),
            user_agent: format!(
                "blaxel-jobs-rust/{} ({}/{})",
                env!("CARGO_PKG_VERSION"),
                std::env::consts::OS,
                std::env::consts::ARCH
            ),
        })
    }

    /// Resolves the configuration and builds the client.
    pub fn build(self) -> Result<crate::Client, crate::Error> {
        let config = self.resolve()?;
        crate::Client::from_config(config)
    }

    fn file_path(&self) -> Option<PathBuf> {
        match &self.file {
            FileSource::Path(p) => Some(p.clone()),
            FileSource::None => None,
            FileSource::Home => self
                .env
                .get("HOME")
                .or_else(|| self.env.get("USERPROFILE"))
                .map(|home| Path::new(&home).join(".blaxel").join("config.yaml")),
        }
    }

    fn read_file(&self) -> Result<Option<ConfigFile>, ConfigError> {
        let Some(path) = self.file_path() else {
            return Ok(None);
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            // No file is fine: `bl login` was never run.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(ConfigError::new(
                    ConfigErrorKind::ConfigFile,
                    format!("cannot read {}: {e}", path.display()),
                ));
            }
        };
        if text.trim().is_empty() {
            return Ok(None);
        }
        let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
        ConfigFile::parse(&text)
            .map(|file| Some(ConfigFile { modified, ..file }))
            .map_err(|e| {
                ConfigError::new(
                    ConfigErrorKind::ConfigFile,
                    format!(
                        "{} is not a valid Blaxel config file: {}",
                        path.display(),
                        crate::error::one_line(&e.to_string())
                    ),
                )
            })
    }
}

/// Checks and normalises a base URL.
fn check_base_url(url: &str) -> Result<String, ConfigError> {
    let trimmed = url.trim().trim_end_matches('/');
    let parsed = reqwest::Url::parse(trimmed).map_err(|e| {
        ConfigError::new(
            ConfigErrorKind::InvalidValue,
            format!("the API URL `{trimmed}` is not a valid URL: {e}"),
        )
    })?;
    match parsed.scheme() {
        "https" => {}
        "http" if is_loopback(&parsed) => {}
        "http" => {
            return Err(ConfigError::new(
                ConfigErrorKind::InsecureUrl,
                format!(
                    "refusing to send credentials over plain HTTP to `{}`; use https \
                     (plain http is allowed only for loopback addresses)",
                    parsed.host_str().unwrap_or("")
                ),
            ));
        }
        other => {
            return Err(ConfigError::new(
                ConfigErrorKind::InvalidValue,
                format!("the API URL must use https, not `{other}`"),
            ));
        }
    }
    Ok(trimmed.to_owned())
}

fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `~/.blaxel/config.yaml` as `bl login` writes it.
#[derive(serde::Deserialize, Default)]
pub(crate) struct ConfigFile {
    #[serde(default)]
    context: Option<FileContext>,
    #[serde(default)]
    workspaces: Vec<FileWorkspace>,
    /// When the file was last written.
    #[serde(skip)]
    modified: Option<SystemTime>,
}

#[derive(serde::Deserialize, Default)]
struct FileContext {
    #[serde(default)]
    workspace: Option<String>,
}

#[derive(serde::Deserialize)]
pub(crate) struct FileWorkspace {
    name: String,
    #[serde(default)]
    pub(crate) credentials: Option<FileCredentials>,
    #[serde(default)]
    env: Option<String>,
}

/// Blaxel's SDKs disagree on the spelling of the client credentials key:
/// the Go CLI writes `client_credentials`, TypeScript and Python read
/// `clientCredentials`. Both are accepted. A browser login's keys are
/// spelled alike everywhere (`bl` writes them, both SDKs read them).
#[derive(serde::Deserialize, Default)]
pub(crate) struct FileCredentials {
    #[serde(default, rename = "apiKey", alias = "api_key")]
    api_key: Option<String>,
    #[serde(default, rename = "clientCredentials", alias = "client_credentials")]
    client_credentials: Option<String>,
    #[serde(default)]
    pub(crate) access_token: Option<String>,
    #[serde(default)]
    pub(crate) refresh_token: Option<String>,
    #[serde(default)]
    pub(crate) device_code: Option<String>,
    /// Any YAML value: a value that is not a number of seconds is ignored
    /// rather than making the whole file unreadable.
    #[serde(default)]
    expires_in: Option<serde_yaml_ng::Value>,
}

impl FileCredentials {
    /// `expires_in`, when it is a whole number of seconds.
    pub(crate) fn expires_in(&self) -> Option<u64> {
        self.expires_in
            .as_ref()
            .and_then(serde_yaml_ng::Value::as_u64)
    }
}

impl ConfigFile {
    /// Parses the file's text.
    pub(crate) fn parse(text: &str) -> Result<ConfigFile, serde_yaml_ng::Error> {
        serde_yaml_ng::from_str(text)
    }

    fn context_workspace(&self) -> Option<String> {
        self.context.as_ref().and_then(|c| c.workspace.clone())
    }

    pub(crate) fn workspace(&self, name: &str) -> Option<&FileWorkspace> {
        self.workspaces.iter().find(|w| w.name == name)
    }
}

/// A non-blank value, trimmed.
fn non_blank(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

impl FileWorkspace {
    /// The workspace's credentials: an API key, else client credentials,
    /// else a browser login (`saved_in` says where it was read from).
    fn credentials(
        &self,
        saved_in: impl FnOnce() -> SavedIn,
    ) -> Option<Result<Credentials, ConfigError>> {
        let c = self.credentials.as_ref()?;
        if let Some(key) = non_blank(c.api_key.as_deref()) {
            return Some(Ok(Credentials::ApiKey(Secret::new(key))));
        }
        let Some(cc) = non_blank(c.client_credentials.as_deref()) else {
            return c
                .device_login(saved_in())
                .map(|l| Ok(Credentials::DeviceLogin(l)));
        };
        Some(
            Credentials::from_encoded_client_credentials(cc).map_err(|e| {
                ConfigError::new(
                    e.kind,
                    format!(
                        "the config file's client credentials for workspace `{}`: {}",
                        self.name, e.message
                    ),
                )
            }),
        )
    }
}

impl FileCredentials {
    /// The browser login these credentials hold, if they hold one (an
    /// access token or a refresh token).
    pub(crate) fn device_login(&self, saved_in: SavedIn) -> Option<DeviceLogin> {
        let secret = |v: &Option<String>| non_blank(v.as_deref()).map(Secret::new);
        let access_token = secret(&self.access_token);
        let refresh_token = secret(&self.refresh_token);
        if access_token.is_none() && refresh_token.is_none() {
            return None;
        }
        // `expires_in` is the token's lifetime when it was saved.
        let expires_at = self
            .expires_in()
            .zip(saved_in.modified)
            .and_then(|(secs, at)| at.checked_add(Duration::from_secs(secs)));
        Some(DeviceLogin {
            access_token,
            refresh_token,
            device_code: secret(&self.device_code),
            expires_at,
            lifetime: self.expires_in().map(Duration::from_secs),
            saved_in: Some(saved_in),
        })
    }
}
