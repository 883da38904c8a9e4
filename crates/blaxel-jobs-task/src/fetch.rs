//! One GET of the execution data: a bounded body within a timeout.

use std::time::Duration;

use crate::error::FetchError;
use crate::retry::parse_retry_after;

/// A failed attempt and the server's `Retry-After`, if it sent one.
pub(crate) struct Failed {
    pub(crate) error: FetchError,
    pub(crate) retry_after: Option<Duration>,
}

impl From<FetchError> for Failed {
    fn from(error: FetchError) -> Failed {
        Failed {
            error,
            retry_after: None,
        }
    }
}

/// Makes sure rustls has a crypto provider (reqwest is built without one).
fn ensure_crypto_provider() {
    #[cfg(feature = "rustls")]
    {
        static INSTALLED: std::sync::Once = std::sync::Once::new();
        INSTALLED.call_once(|| {
            if rustls::crypto::CryptoProvider::get_default().is_none() {
                // Losing a race with another installer is fine: some provider is set.
                let _ = rustls::crypto::ring::default_provider().install_default();
            }
        });
    }
}

/// The HTTP client for the data URL.
pub(crate) fn client() -> Result<reqwest::Client, FetchError> {
    ensure_crypto_provider();
    reqwest::Client::builder()
        .user_agent(concat!("blaxel-jobs-task/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| FetchError::Network(e.without_url()))
}

/// GETs `url` and reads at most `max_body` bytes of a successful answer,
/// all within `timeout`.
pub(crate) async fn get(
    client: &reqwest::Client,
    url: &reqwest::Url,
    timeout: Duration,
    max_body: u64,
) -> Result<Vec<u8>, Failed> {
    match tokio::time::timeout(timeout, get_body(client, url, max_body)).await {
        Ok(result) => result,
        Err(_) => Err(FetchError::Timeout(timeout).into()),
    }
}

async fn get_body(
    client: &reqwest::Client,
    url: &reqwest::Url,
    max_body: u64,
) -> Result<Vec<u8>, Failed> {
    // reqwest errors show the URL, which may carry a token: strip it.
    let network = |e: reqwest::Error| Failed::from(FetchError::Network(e.without_url()));
    let mut response = client.get(url.clone()).send().await.map_err(network)?;
    let status = response.status();
    if !status.is_success() {
        return Err(Failed {
            error: FetchError::Status {
                status: status.as_u16(),
            },
            retry_after: response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| parse_retry_after(v.as_bytes())),
        });
    }
    let too_large = || Failed::from(FetchError::TooLarge { limit: max_body });
    let declared = response.content_length();
    if declared.is_some_and(|n| n > max_body) {
        return Err(too_large());
    }
    // Reserve what the server declared (bounded above), grow past it only
    // as bytes arrive.
    let reserve = declared.unwrap_or(0).min(max_body).min(16 << 20);
    let mut body = Vec::with_capacity(usize::try_from(reserve).unwrap_or(0));
    while let Some(chunk) = response.chunk().await.map_err(network)? {
        let len = u64::try_from(body.len().saturating_add(chunk.len())).unwrap_or(u64::MAX);
        if len > max_body {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
