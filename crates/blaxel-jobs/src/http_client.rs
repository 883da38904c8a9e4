//! [`HttpClient`]: the HTTP client the SDK sends with, configured by you if
//! you wish, and never following a redirect.

use crate::error::{ConfigError, ConfigErrorKind, Error};
use std::fmt;

/// An HTTP client for [`ClientBuilder::http_client`](crate::ClientBuilder::http_client):
/// a `reqwest::Client` with your settings (a proxy, root or client
/// certificates, timeouts, pool and HTTP settings) that follows no
/// redirect.
///
/// The only way to make one is [`HttpClient::build`], which applies your
/// settings and then turns redirects off, whatever the settings said. The
/// Jobs API never redirects; a client that followed a 3xx would send the
/// request again, body and all (a job definition may hold secret values),
/// to wherever the `Location` points, and could even take the answer from
/// there for the API's. With an `HttpClient`, a 3xx ends the call with
/// [`Error::Redirect`](crate::Error::Redirect), naming the status and the
/// `Location`, and nothing is sent anywhere else.
///
/// ```no_run
/// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let proxy = reqwest::Proxy::https("http://proxy.internal:3128")?;
/// let http = blaxel_jobs::HttpClient::build(|b| {
///     b.proxy(proxy).pool_idle_timeout(std::time::Duration::from_secs(30))
/// })?;
/// let client = blaxel_jobs::Client::builder().http_client(http).build()?;
/// # let _ = client; Ok(()) }
/// ```
#[derive(Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
}

impl HttpClient {
    /// Builds a client: `configure` receives a `reqwest::ClientBuilder`
    /// whose TLS back end is ready (see
    /// [`tls`](crate::raw::tls)), sets what you need on it and returns it;
    /// then redirects are turned off (a `redirect` policy that `configure`
    /// set is replaced) and the client is built.
    ///
    /// Fails with [`ConfigErrorKind::HttpClient`](crate::ConfigErrorKind::HttpClient)
    /// when reqwest cannot build the client (for example, a TLS back end
    /// that cannot load the system's certificates).
    pub fn build(
        configure: impl FnOnce(reqwest::ClientBuilder) -> reqwest::ClientBuilder,
    ) -> Result<Self, Error> {
        Self::finish(configure(blaxel_jobs_client::tls::http_client_builder()))
    }

    /// Turns redirects off on `builder`, last, and builds it.
    pub(crate) fn finish(builder: reqwest::ClientBuilder) -> Result<Self, Error> {
        let inner = builder
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                ConfigError::new(
                    ConfigErrorKind::HttpClient,
                    format!("cannot build the HTTP client: {}", crate::error::chain(&e)),
                )
            })?;
        Ok(HttpClient { inner })
    }

    /// The `reqwest::Client` itself (it follows no redirect), for requests
    /// of your own that should share its connection pool.
    pub fn as_reqwest(&self) -> &reqwest::Client {
        &self.inner
    }

    pub(crate) fn into_reqwest(self) -> reqwest::Client {
        self.inner
    }
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("redirects", &"none")
            .finish_non_exhaustive()
    }
}
