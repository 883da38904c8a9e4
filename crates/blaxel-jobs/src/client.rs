//! The [`Client`]: configuration, the shared HTTP connection pool, and the
//! entry points to jobs and executions.

use crate::auth::{Auth, Credentials};
use crate::config::{ClientBuilder, Config};
use crate::error::{ConfigError, ConfigErrorKind, Error};
use crate::executions::Executions;
use crate::jobs::{JobRef, Jobs};
use crate::transport::Transport;
use blaxel_jobs_client::hooks::Hooks;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use std::fmt;
use std::sync::Arc;

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
/// let job = client.jobs().get("nightly-report").send().await?;
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
        let http = blaxel_jobs_client::tls::http_client_builder()
            .user_agent(config.user_agent.clone())
            .default_headers(headers)
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            // The Jobs API never redirects; a 3xx is an error (see
            // `Error::Redirect`), and nothing is sent to its `Location`.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                ConfigError::new(
                    ConfigErrorKind::HttpClient,
                    format!("cannot build the HTTP client: {}", crate::error::chain(&e)),
                )
            })?;
        let auth = Arc::new(Auth::new(
            &config.credentials,
            &config.base_url,
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
        let mut hooks = Hooks::new().with_exec(move |http, request, operation| {
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

    /// Operations on jobs: create, get, list, update, delete, revisions.
    pub fn jobs(&self) -> Jobs<'_> {
        Jobs::new(self)
    }

    /// A handle on one job, by name, for its executions and lifecycle.
    pub fn job(&self, name: impl Into<String>) -> JobRef<'_> {
        JobRef::new(self, name.into())
    }

    /// The executions of one job (same as `client.job(name).executions()`).
    pub fn executions(&self, job: impl Into<String>) -> Executions<'_> {
        Executions::new(self, job.into())
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
        send(&client.jobs().get("a").send());
        send(&client.jobs().list().into_stream());
        send(&client.job("a").executions().create().send());
        send(&client.job("a").executions().wait("e").send());
        send(&client.job("a").wait_until_deployed().send());
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
