//! The [`Client`]: configuration, the shared HTTP connection pool, and the
//! entry points to jobs and executions.

use crate::auth::{Auth, Credentials};
use crate::config::{ClientBuilder, Config};
use crate::error::{ConfigError, ConfigErrorKind, Error};
use crate::http_client::HttpClient;
use crate::jobs::{JobRef, Jobs};
use crate::transport::Transport;
use blaxel_jobs_client::hooks::Hooks;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// A client of the Blaxel Jobs API.
///
/// Cheap to clone (one `Arc`), `Send + Sync`, and every clone shares one
/// connection pool and one cached access token. Every request carries the
/// bearer credential, `X-Blaxel-Workspace`, `Blaxel-Version` and a
/// `User-Agent` of the form `blaxel-jobs-rust/<version> (<os>/<arch>)`.
///
/// ```no_run
/// # async fn demo() -> Result<(), blaxel_jobs::Error> {
/// let client = blaxel_jobs::Client::from_env()?;
/// let job = client.job("nightly-report").get().send().await?;
/// println!("{} is {:?}", job.metadata.name, job.status);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    api: blaxel_jobs_client::Client,
    config: Config,
    auth: Arc<Auth>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.inner.config)
            .finish()
    }
}

fn header(
    name: &'static str,
    value: &str,
    what: &str,
) -> Result<(HeaderName, HeaderValue), ConfigError> {
    let value = HeaderValue::try_from(value).map_err(|_| {
        ConfigError::new(
            ConfigErrorKind::InvalidValue,
            format!("the {what} `{value}` cannot be sent in an HTTP header"),
        )
    })?;
    Ok((HeaderName::from_static(name), value))
}

/// Sets the SDK's headers (replacing any of the same name) and, unless the
/// call set one, the per-attempt timeout on a request sent with a client
/// of the caller's (see [`ClientBuilder::http_client`]).
fn with_sdk_settings(request: &mut reqwest::Request, headers: &HeaderMap, timeout: Duration) {
    for (name, value) in headers {
        request.headers_mut().insert(name.clone(), value.clone());
    }
    request.timeout_mut().get_or_insert(timeout);
}

impl Client {
    /// A client configured from Blaxel's environment variables and
    /// `~/.blaxel/config.yaml` (see [`crate::config`]).
    pub fn from_env() -> Result<Self, Error> {
        ClientBuilder::new().build()
    }

    /// A builder for explicit configuration.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A client for a resolved configuration.
    pub fn from_config(config: Config) -> Result<Self, Error> {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            header("x-blaxel-workspace", &config.workspace, "workspace")?,
            header("blaxel-version", &config.api_version, "API version")?,
        ] {
            headers.insert(name, value);
        }
        if let Credentials::ApiKey(_) = &config.credentials {
            // Sensitive, so that it never shows in Debug output.
            let value = Auth::bearer_value(&config.credentials)?;
            headers.insert(reqwest::header::AUTHORIZATION, value);
        }
        headers.insert(
            reqwest::header::USER_AGENT,
            header("user-agent", &config.user_agent, "user agent")?.1,
        );
        // With a client of the caller's, the SDK's headers and per-attempt
        // timeout are set on each request instead of on the client.
        let per_request = config.http.is_some().then(|| Arc::new(headers.clone()));
        let http = match &config.http {
            Some(http) => http.clone(),
            // The Jobs API never redirects; a 3xx is an error (see
            // `Error::Redirect`), and nothing is sent to its `Location`.
            None => HttpClient::finish(
                blaxel_jobs_client::tls::http_client_builder()
                    .default_headers(headers)
                    .connect_timeout(config.connect_timeout)
                    .timeout(config.timeout),
            )?,
        }
        .into_reqwest();
        let auth = Arc::new(Auth::new(
            &config.credentials,
            &config.base_url,
            &config.workspace,
            http.clone(),
            config.retry.clone(),
        )?);
        // The transport adds the credential to every attempt.
        let transport = Arc::new(Transport {
            auth: Arc::clone(&auth),
            retry: config.retry.clone(),
            timeout: config.timeout,
            max_body: config.max_response_body,
        });
        let attempt_timeout = config.timeout;
        let mut hooks = Hooks::new().with_exec(move |http, mut request, operation| {
            if let Some(headers) = &per_request {
                with_sdk_settings(&mut request, headers, attempt_timeout);
            }
            Arc::clone(&transport).send(http, request, operation)
        });
        if auth.refreshes() {
            // Calls through `raw()` get a fresh token too. The SDK's own
            // calls have checked theirs already (with the call's deadline
            // and a typed error), so they skip this.
            let prepare_auth = Arc::clone(&auth);
            hooks = hooks.with_prepare(move || {
                let auth = Arc::clone(&prepare_auth);
                async move {
                    if crate::transport::in_sdk_call() {
                        return Ok(());
                    }
                    auth.ensure_fresh().await.map_err(|e| e.to_string())
                }
            });
        }
        let api = blaxel_jobs_client::Client::new_with_client(&config.base_url, http, hooks);
        Ok(Client {
            inner: Arc::new(Inner { api, config, auth }),
        })
    }

    /// The resolved configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The workspace's jobs, as a collection: CreateJob and ListJobs.
    ///
    /// Every operation has one way in. Operations that make or find jobs
    /// are on the collection, `client.jobs()`; those that act on a job you
    /// can name are on its handle, [`job`](Self::job). Executions follow
    /// the same shape one level down: `client.job(name).executions()`
    /// (create, list) and `client.job(name).execution(id)` (get, cancel,
    /// tasks, wait).
    pub fn jobs(&self) -> Jobs<'_> {
        Jobs::new(self)
    }

    /// A handle on one job, by name: GetJob, UpdateJob, DeleteJob,
    /// ListJobRevisions, its executions, and its deployment waiter. Making
    /// a handle sends nothing.
    pub fn job(&self, name: impl Into<String>) -> JobRef<'_> {
        JobRef::new(self, name.into())
    }

    /// The generated client underneath, with this client's credentials
    /// (access tokens are fetched and refreshed as needed) and headers, for
    /// calls that need full control. It does not retry, and its errors are
    /// the generated client's.
    pub fn raw(&self) -> &blaxel_jobs_client::Client {
        &self.inner.api
    }

    pub(crate) fn auth(&self) -> &Auth {
        &self.inner.auth
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shareable<T: Clone + Send + Sync + 'static>() {}
    fn send<T: Send>(_: &T) {}

    #[test]
    fn clients_errors_and_futures_can_cross_threads() {
        shareable::<Client>();
        fn error_is_send_sync<T: Send + Sync + 'static>() {}
        error_is_send_sync::<Error>();

        let client = Client::builder()
            .ignore_environment()
            .base_url("http://127.0.0.1:9")
            .api_key("k")
            .workspace("w")
            .build()
            .unwrap();
        // The futures are only built, never polled: this checks they are Send.
        send(&client.job("a").get().send());
        send(&client.jobs().list().into_stream());
        send(&client.job("a").executions().create().send());
        send(
            &client
                .job("a")
                .execution("e")
                .wait_until_succeeded()
                .wait(std::time::Duration::from_secs(1)),
        );
        send(
            &client
                .job("a")
                .wait_until_deployed()
                .wait(std::time::Duration::from_secs(1)),
        );
        send(
            &client
                .job("a")
                .update_with(|job| job.spec.enabled = false)
                .send(),
        );
        // Clones share one pool and one credential.
        let clone = client.clone();
        assert!(Arc::ptr_eq(&client.inner, &clone.inner));
    }
}
