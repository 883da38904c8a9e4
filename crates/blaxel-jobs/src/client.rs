//! The [`Client`]: configuration, the shared HTTP connection pool, and the
//! entry points to jobs and executions.

use crate::auth::{Auth, Credentials};
use crate::config::{ClientBuilder, Config};
use crate::error::{ConfigError, ConfigErrorKind, Error};
use crate::http_client::HttpClient;
use blaxel_jobs_client::headers;
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
    http: reqwest::Client,
    config: Config,
    auth: Auth,
    per_request: Option<HeaderMap>,
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
            header(headers::BLAXEL_WORKSPACE, &config.workspace, "workspace")?,
            header(headers::BLAXEL_VERSION, &config.api_version, "API version")?,
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
        let per_request = config.http.is_some().then(|| headers.clone());
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
        let auth = Auth::new(
            &config.credentials,
            &config.base_url,
            &config.workspace,
            http.clone(),
            config.retry.clone(),
        )?;
        // The generated client builds requests (base URL, paths, queries,
        // bodies); the SDK sends them (see `crate::transport`), so it has
        // no hooks.
        let api = blaxel_jobs_client::Client::new_with_client(
            &config.base_url,
            http.clone(),
            Hooks::new(),
        );
        Ok(Client {
            inner: Arc::new(Inner {
                api,
                http,
                config,
                auth,
                per_request,
            }),
        })
    }

    /// The resolved configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The generated client underneath, with this client's base URL and
    /// HTTP client (and so its default headers), for requests that need
    /// full control. Send its builders with [`execute`](Self::execute) to
    /// get the SDK's credentials, retries, limits and errors; a builder's
    /// own `send()` makes one plain attempt, with no access token.
    pub fn raw(&self) -> &blaxel_jobs_client::Client {
        &self.inner.api
    }

    pub(crate) fn auth(&self) -> &Auth {
        &self.inner.auth
    }

    /// The HTTP client requests are sent with.
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// The SDK's headers, when the HTTP client is the caller's and they
    /// must go on each request (`None` with the SDK's own client, which
    /// sends them as default headers).
    pub(crate) fn per_request_headers(&self) -> Option<&HeaderMap> {
        self.inner.per_request.as_ref()
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
