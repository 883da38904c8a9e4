//! One GET of the execution data over hyper's HTTP/1 client: a bounded
//! body within a timeout, following a few redirects.

use std::time::Duration;

use bytes::Bytes;
use http::{StatusCode, Uri, header};
use http_body_util::{BodyExt as _, Empty};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::error::FetchError;
use crate::retry::parse_retry_after;

/// Redirects followed before giving up.
const MAX_REDIRECTS: usize = 5;

#[cfg(feature = "rustls")]
type Connector = hyper_rustls::HttpsConnector<HttpConnector>;
#[cfg(not(feature = "rustls"))]
type Connector = HttpConnector;

/// The HTTP client for the data URL.
pub(crate) type Client = HyperClient<Connector, Empty<Bytes>>;

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

fn network(e: impl std::error::Error + Send + Sync + 'static) -> Failed {
    Failed::from(FetchError::Network(Box::new(e)))
}

/// The HTTP client for the data URL: HTTP/1.1, and with the `rustls`
/// feature HTTPS through rustls with `ring` and the platform's verifier.
pub(crate) fn client() -> Result<Client, FetchError> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    #[cfg(feature = "rustls")]
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_platform_verifier(rustls::crypto::ring::default_provider())
        .map_err(|e| FetchError::Network(Box::new(e)))?
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    #[cfg(not(feature = "rustls"))]
    let connector = http;
    Ok(HyperClient::builder(TokioExecutor::new()).build(connector))
}

/// GETs `uri` and reads at most `max_body` bytes of a successful answer,
/// all within `timeout`.
pub(crate) async fn get(
    client: &Client,
    uri: &Uri,
    timeout: Duration,
    max_body: u64,
) -> Result<Vec<u8>, Failed> {
    match tokio::time::timeout(timeout, get_body(client, uri, max_body)).await {
        Ok(result) => result,
        Err(_) => Err(FetchError::Timeout(timeout).into()),
    }
}

async fn get_body(client: &Client, uri: &Uri, max_body: u64) -> Result<Vec<u8>, Failed> {
    let mut uri = uri.clone();
    let mut redirects = 0;
    let response = loop {
        let request = http::Request::get(uri.clone())
            .header(
                header::USER_AGENT,
                concat!("blaxel-jobs-task/", env!("CARGO_PKG_VERSION")),
            )
            .body(Empty::new())
            .map_err(network)?;
        let response = client.request(request).await.map_err(network)?;
        let status = response.status();
        if !is_redirect(status) {
            break response;
        }
        redirects += 1;
        if redirects > MAX_REDIRECTS {
            return Err(FetchError::Redirect("too many redirects").into());
        }
        uri = response
            .headers()
            .get(header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .and_then(|l| resolve(&uri, l))
            .ok_or(FetchError::Redirect(
                "a redirect without a usable http(s) location",
            ))?;
    };
    let status = response.status();
    if !status.is_success() {
        return Err(Failed {
            error: FetchError::Status {
                status: status.as_u16(),
            },
            retry_after: response
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| parse_retry_after(v.as_bytes())),
        });
    }
    let too_large = || Failed::from(FetchError::TooLarge { limit: max_body });
    let declared = response
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > max_body) {
        return Err(too_large());
    }
    // Reserve what the server declared (bounded above), grow past it only
    // as bytes arrive.
    let reserve = declared.unwrap_or(0).min(max_body).min(16 << 20);
    let mut body = Vec::with_capacity(usize::try_from(reserve).unwrap_or(0));
    let mut incoming = response.into_body();
    while let Some(frame) = incoming.frame().await {
        let Ok(data) = frame.map_err(network)?.into_data() else {
            continue; // trailers
        };
        let len = u64::try_from(body.len().saturating_add(data.len())).unwrap_or(u64::MAX);
        if len > max_body {
            return Err(too_large());
        }
        body.extend_from_slice(&data);
    }
    Ok(body)
}

fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// The target of a `Location`: an absolute http(s) URL, or a path on the
/// same scheme and authority.
pub(crate) fn resolve(base: &Uri, location: &str) -> Option<Uri> {
    let location = location.trim();
    let uri = if location.starts_with('/') && !location.starts_with("//") {
        let mut parts = base.clone().into_parts();
        parts.path_and_query = Some(location.parse().ok()?);
        Uri::from_parts(parts).ok()?
    } else {
        location.parse::<Uri>().ok()?
    };
    matches!(uri.scheme_str(), Some("http" | "https"))
        .then_some(())
        .and(uri.host())
        .map(|_| uri.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn locations_resolve_against_the_request() {
        let base: Uri = "https://data.example/e/1?sig=a".parse().unwrap();
        assert_eq!(
            resolve(&base, "/e/2?sig=b").unwrap().to_string(),
            "https://data.example/e/2?sig=b"
        );
        assert_eq!(
            resolve(&base, "http://127.0.0.1:9/x").unwrap().to_string(),
            "http://127.0.0.1:9/x"
        );
        for bad in [
            "",
            "relative/path",
            "//evil.example/x",
            "ftp://h/x",
            "http://",
            "/\u{1}",
        ] {
            assert_eq!(resolve(&base, bad), None, "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn any_location_resolves_to_http_with_a_host_or_nothing(location in ".*") {
            let base: Uri = "http://127.0.0.1:8080/data".parse().unwrap();
            if let Some(uri) = resolve(&base, &location) {
                prop_assert!(matches!(uri.scheme_str(), Some("http" | "https")));
                prop_assert!(uri.host().is_some());
            }
        }
    }
}
