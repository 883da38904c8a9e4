//! Credentials and the bearer header sent with every request.
//!
//! An API key is sent as it is. Client credentials are exchanged at
//! `POST {base}/oauth/token` (`grant_type=client_credentials`, HTTP Basic
//! with `clientId:clientSecret`) for an access token, which is cached and
//! refreshed before it expires: when less than half its lifetime, or five
//! minutes, remains. Concurrent calls share one refresh. A browser login
//! ([`DeviceLogin`], what `bl login` saves) sends its access token and
//! renews it with its refresh token; see [`DeviceLogin`] for how, and for
//! what the SDK writes back to `~/.blaxel/config.yaml`.
//!
//! The token endpoint is server input like any other: its redirects are not
//! followed ([`Error::Redirect`]), its response is read up to
//! [`TOKEN_RESPONSE_LIMIT`](crate::body::TOKEN_RESPONSE_LIMIT) bytes, and an
//! `expires_in` of any size is trusted for at most a day.

mod device;
mod login;
mod login_file;

pub use login::DeviceLogin;
pub(crate) use login::SavedIn;

use crate::body::{ERROR_BODY_KEPT, TOKEN_RESPONSE_LIMIT, read_prefix};
use crate::error::{
    ApiError, ConfigError, ConfigErrorKind, DecodeError, Error, Redirect, ResponseTooLarge,
    TransportError,
};
use crate::retry::{Failure, RetryConfig, Verdict, classify};
use base64::Engine as _;
use reqwest::header::HeaderValue;
use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;
// Tokio's clock, like every other deadline in the SDK, so that token
// lifetimes can be tested on a paused clock.
use tokio::time::Instant;

/// A secret string. `Debug` and `Display` print `***`, never the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(Arc::from(value.into()))
    }

    /// The secret value itself. Take care not to log it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret::new(s)
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret::new(s)
    }
}

/// How the client authenticates.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Credentials {
    /// A workspace API key, sent as a bearer token.
    ApiKey(Secret),
    /// OAuth client credentials, exchanged for short-lived access tokens
    /// at `POST {base}/oauth/token` (`grant_type=client_credentials`, HTTP
    /// Basic with `clientId:clientSecret`). A token is cached, shared by
    /// every clone of the client, and renewed before it expires (when less
    /// than half its lifetime, or five minutes, remains), once for all the
    /// calls that find it due; an `expires_in` of any size is trusted for
    /// at most a day.
    ClientCredentials {
        /// The client id.
        client_id: String,
        /// The client secret.
        client_secret: Secret,
    },
    /// A browser login (`bl login`'s device mode): an access token, renewed
    /// with a refresh token.
    DeviceLogin(DeviceLogin),
}

impl Credentials {
    /// Client credentials from their encoded form: base64 of
    /// `clientId:clientSecret`, as in `BL_CLIENT_CREDENTIALS`.
    pub fn from_encoded_client_credentials(encoded: &str) -> Result<Self, ConfigError> {
        let invalid = || {
            ConfigError::new(
                ConfigErrorKind::InvalidValue,
                "client credentials must be base64 of `clientId:clientSecret`",
            )
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        match text.split_once(':') {
            Some((id, secret)) if !id.is_empty() && !secret.is_empty() => {
                Ok(Credentials::ClientCredentials {
                    client_id: id.to_owned(),
                    client_secret: Secret::new(secret),
                })
            }
            _ => Err(invalid()),
        }
    }

    /// A short description for messages: `API key`, `client credentials`
    /// or `browser login`.
    pub fn kind(&self) -> &'static str {
        match self {
            Credentials::ApiKey(_) => "API key",
            Credentials::ClientCredentials { .. } => "client credentials",
            Credentials::DeviceLogin(_) => "browser login",
        }
    }
}

pub(crate) fn bearer(token: &str) -> Result<HeaderValue, ConfigError> {
    let mut value = HeaderValue::try_from(format!("Bearer {token}")).map_err(|_| {
        ConfigError::new(
            ConfigErrorKind::InvalidValue,
            "the credential contains characters that cannot be sent in an HTTP header",
        )
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// Supplies the `Authorization` header of each request.
pub(crate) struct Auth {
    kind: AuthKind,
}

enum AuthKind {
    /// An API key: sent as a default header of the HTTP client.
    Static,
    OAuth(Box<OAuth>),
    Device(Box<device::Device>),
}

/// Client credentials, and the access token they were exchanged for.
struct OAuth {
    basic: HeaderValue,
    endpoint: TokenEndpoint,
    token: RwLock<Option<Token>>,
    refresh: tokio::sync::Mutex<()>,
}

#[derive(Clone)]
struct Token {
    header: HeaderValue,
    refresh_at: Instant,
}

#[derive(serde::Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            AuthKind::Static => f.write_str("Auth::ApiKey(***)"),
            AuthKind::OAuth(o) => {
                write!(f, "Auth::ClientCredentials(token_url: {})", o.endpoint.url)
            }
            AuthKind::Device(d) => write!(f, "Auth::DeviceLogin({d:?})"),
        }
    }
}

impl Auth {
    /// The credential of a client of `workspace` whose API is at `base_url`.
    pub(crate) fn new(
        credentials: &Credentials,
        base_url: &str,
        workspace: &str,
        http: reqwest::Client,
        retry: RetryConfig,
    ) -> Result<Self, ConfigError> {
        let endpoint = TokenEndpoint {
            url: format!("{base_url}{}", blaxel_jobs_client::servers::TOKEN_PATH),
            http,
            retry,
        };
        let kind = match credentials {
            Credentials::ApiKey(_) => AuthKind::Static,
            Credentials::ClientCredentials {
                client_id,
                client_secret,
            } => {
                let encoded = base64::engine::general_purpose::STANDARD
                    .encode(format!("{client_id}:{}", client_secret.expose_secret()));
                let mut basic =
                    HeaderValue::try_from(format!("Basic {encoded}")).map_err(|_| {
                        ConfigError::new(
                            ConfigErrorKind::InvalidValue,
                            "invalid client credentials",
                        )
                    })?;
                basic.set_sensitive(true);
                AuthKind::OAuth(Box::new(OAuth {
                    basic,
                    endpoint,
                    token: RwLock::new(None),
                    refresh: tokio::sync::Mutex::new(()),
                }))
            }
            Credentials::DeviceLogin(login) => {
                AuthKind::Device(Box::new(device::Device::new(login, workspace, endpoint)?))
            }
        };
        Ok(Auth { kind })
    }

    /// Forgets a cached access token (after the server refused it), so that
    /// the next request fetches a new one. (A browser login's token is
    /// renewed by [`reauthorize`](Self::reauthorize) instead.)
    pub(crate) fn invalidate(&self) {
        if let AuthKind::OAuth(o) = &self.kind
            && let Ok(mut slot) = o.token.write()
        {
            *slot = None;
        }
    }

    /// Why the credential cannot be used any more, when that is known: a
    /// browser login whose refresh token was refused, or that has none and
    /// whose access token expired. Said in place of the API's 401.
    pub(crate) fn login_error(&self) -> Option<Error> {
        match &self.kind {
            AuthKind::Device(d) => d.login_error().map(Error::Config),
            _ => None,
        }
    }

    /// Whether a request refused with 401 may be sent once more after
    /// [`reauthorize`](Self::reauthorize): for a browser login, whose access
    /// token (opaque, or revoked) may have expired without the SDK knowing.
    pub(crate) fn reauthorizes(&self) -> bool {
        matches!(self.kind, AuthKind::Device(_))
    }

    /// After the API refused `sent` with 401: the header to send the request
    /// with once more, if there is a better one (a token another call
    /// renewed meanwhile, or one renewed now), by `deadline`. `None`: answer
    /// the 401. At most one renewal a minute per refused token (see
    /// [`DeviceLogin`]), so a server that refuses every token cannot make
    /// the SDK loop.
    pub(crate) async fn reauthorize(
        &self,
        sent: Option<&HeaderValue>,
        deadline: Option<Instant>,
    ) -> Option<HeaderValue> {
        let AuthKind::Device(d) = &self.kind else {
            return None;
        };
        let renew = d.reauthorize(sent?, deadline);
        match deadline {
            None => renew.await,
            Some(at) => tokio::time::timeout_at(at, renew).await.ok().flatten(),
        }
    }

    /// The `Authorization` value of an API key, for the client's default
    /// headers (marked sensitive). Other credentials have none.
    pub(crate) fn bearer_value(credentials: &Credentials) -> Result<HeaderValue, ConfigError> {
        match credentials {
            Credentials::ApiKey(key) => bearer(key.expose_secret()),
            Credentials::ClientCredentials { .. } | Credentials::DeviceLogin(_) => {
                Err(ConfigError::new(
                    ConfigErrorKind::InvalidValue,
                    "only an API key has a fixed bearer value",
                ))
            }
        }
    }

    /// The header of the current access token, for credentials that are
    /// exchanged for tokens: the transport adds it to each attempt.
    pub(crate) fn token_header(&self) -> Option<HeaderValue> {
        match &self.kind {
            AuthKind::Static => None,
            AuthKind::OAuth(o) => o
                .token
                .read()
                .ok()
                .and_then(|t| t.as_ref().map(|t| t.header.clone())),
            AuthKind::Device(d) => d.token_header(),
        }
    }

    /// The header of a fresh access token, fetched first if the cached one
    /// is missing or due for refresh, giving up at `deadline` (the call's,
    /// which `operation_timeout` set). `None` for an API key, which is a
    /// default header of the HTTP client. One look at the cache when the
    /// token is fresh: a call checks its token once, here.
    pub(crate) async fn fresh_header_by(
        &self,
        deadline: Option<tokio::time::Instant>,
        operation_timeout: Duration,
    ) -> Result<Option<HeaderValue>, Error> {
        let renewed = match &self.kind {
            AuthKind::Static => return Ok(None),
            AuthKind::OAuth(o) => {
                if let Some(header) = o.fresh_header() {
                    return Ok(Some(header));
                }
                futures_util::future::Either::Left(o.renew(deadline))
            }
            AuthKind::Device(d) => {
                if let Some(header) = d.fresh_header() {
                    return Ok(Some(header));
                }
                futures_util::future::Either::Right(d.renew(deadline))
            }
        };
        let header = match deadline {
            None => renewed.await?,
            Some(at) => tokio::time::timeout_at(at, renewed)
                .await
                .map_err(|_| TransportError::deadline_passed(operation_timeout))??,
        };
        Ok(Some(header))
    }
}

impl OAuth {
    /// The cached token's header, if it is not yet due for refresh.
    fn fresh_header(&self) -> Option<HeaderValue> {
        self.token.read().ok().and_then(|t| {
            t.as_ref()
                .filter(|t| Instant::now() < t.refresh_at)
                .map(|t| t.header.clone())
        })
    }

    /// Fetches a new token, unless another caller did while this one waited.
    async fn renew(&self, deadline: Option<Instant>) -> Result<HeaderValue, Error> {
        let _guard = self.refresh.lock().await;
        if let Some(header) = self.fresh_header() {
            return Ok(header);
        }
        let body = serde_json::json!({ "grant_type": "client_credentials" });
        let (status, headers, body) = self
            .endpoint
            .post(&body, Some(&self.basic), &[], deadline)
            .await?;
        let token = token_from(status, &headers, &body, Instant::now())?;
        let header = token.header.clone();
        if let Ok(mut slot) = self.token.write() {
            *slot = Some(token);
        }
        Ok(header)
    }
}

/// A token endpoint's successful answer: status, headers and body.
pub(crate) type TokenAnswer = (
    reqwest::StatusCode,
    reqwest::header::HeaderMap,
    bytes::Bytes,
);

/// `POST {base}/oauth/token`: where access tokens come from.
pub(crate) struct TokenEndpoint {
    url: String,
    http: reqwest::Client,
    retry: RetryConfig,
}

impl TokenEndpoint {
    /// Posts `body` as JSON (with `basic` as `Authorization`, when given),
    /// retrying what may be retried until `deadline`, and answers a success's
    /// status, headers and body (at most [`TOKEN_RESPONSE_LIMIT`] bytes).
    /// In an error's body, each of `secrets` (what was sent) is replaced by
    /// `***`, in case the server repeats it.
    pub(crate) async fn post(
        &self,
        body: &serde_json::Value,
        basic: Option<&HeaderValue>,
        secrets: &[&str],
        deadline: Option<Instant>,
    ) -> Result<TokenAnswer, Error> {
        let mut attempt = 1;
        loop {
            let err = match self.post_once(body, basic, secrets).await {
                Ok(answer) => return Ok(answer),
                Err(err) => err,
            };
            // Fetching a token twice is harmless: retried like an
            // idempotent operation.
            let verdict = Failure::of(&err).map_or(Verdict::Final, |f| {
                classify(blaxel_jobs_client::operations::RetrySafety::Idempotent, &f)
            });
            let delay = self.retry.decide(verdict, attempt).filter(|delay| {
                deadline.is_none_or(|d| *delay < d.saturating_duration_since(Instant::now()))
            });
            match delay {
                Some(delay) => {
                    tracing::warn!(attempt, error = %err, "retrying the access token request");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                None => return Err(err),
            }
        }
    }

    async fn post_once(
        &self,
        body: &serde_json::Value,
        basic: Option<&HeaderValue>,
        secrets: &[&str],
    ) -> Result<TokenAnswer, Error> {
        let mut request = self.http.post(&self.url).json(body);
        if let Some(basic) = basic {
            request = request.header(reqwest::header::AUTHORIZATION, basic.clone());
        }
        let response = request.send().await.map_err(TransportError::from_reqwest)?;
        let status = response.status();
        let headers = response.headers().clone();
        if status.is_redirection() {
            return Err(Redirect::from_parts(status, &headers).into());
        }
        let cap = if status.is_success() {
            usize::try_from(TOKEN_RESPONSE_LIMIT).unwrap_or(usize::MAX)
        } else {
            ERROR_BODY_KEPT
        };
        let (body, truncated) = read_prefix(Box::pin(response.bytes_stream()), cap)
            .await
            .map_err(TransportError::from_reqwest)?;
        if !status.is_success() {
            let mut e = ApiError::from_parts(status, &headers, scrub(body, secrets));
            e.body_truncated = truncated;
            return Err(e.into());
        }
        if truncated {
            return Err(ResponseTooLarge {
                status,
                limit: TOKEN_RESPONSE_LIMIT,
                declared: response_length(&headers),
                request_id: crate::error::request_id(&headers),
            }
            .into());
        }
        Ok((status, headers, body))
    }
}

/// `body` with every occurrence of each of `secrets` replaced by `***`.
fn scrub(body: bytes::Bytes, secrets: &[&str]) -> bytes::Bytes {
    let mut out = body.to_vec();
    let mut changed = false;
    for secret in secrets
        .iter()
        .map(|s| s.as_bytes())
        .filter(|s| !s.is_empty())
    {
        let mut i = 0;
        while i + secret.len() <= out.len() {
            if out[i..].starts_with(secret) {
                out.splice(i..i + secret.len(), *b"***");
                i += 3;
                changed = true;
            } else {
                i += 1;
            }
        }
    }
    if changed { out.into() } else { body }
}

/// The `Content-Length` a response declared, if readable.
fn response_length(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    headers
        .get(reqwest::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// The longest lifetime an access token is trusted for, whatever its
/// `expires_in` says.
pub(crate) const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// A successful token response, decoded. The body holds a token: the
/// error keeps it, and serde's message (which may quote a value), out.
pub(crate) fn decode_token_response<T: serde::de::DeserializeOwned>(
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
) -> Result<T, Error> {
    let decode_error = |message: String| DecodeError {
        status,
        path: "access token response".into(),
        message,
        request_id: crate::error::request_id(headers),
        body: bytes::Bytes::new(),
        body_len: body.len(),
    };
    serde_json::from_slice(body).map_err(|e| {
        decode_error(format!(
            "{:?} error at line {} column {}",
            e.classify(),
            e.line(),
            e.column()
        ))
        .into()
    })
}

/// The token of a successful token response read at `now`.
fn token_from(
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
    now: Instant,
) -> Result<Token, Error> {
    let parsed: TokenResponse = decode_token_response(status, headers, body)?;
    let lifetime =
        Duration::from_secs(parsed.expires_in.unwrap_or(300).max(1)).min(MAX_TOKEN_LIFETIME);
    let margin = (lifetime / 2).min(Duration::from_secs(300));
    let header = bearer(&parsed.access_token).map_err(Error::Config)?;
    Ok(Token {
        header,
        // Cannot overflow for any real clock; if it did, refresh now.
        refresh_at: now.checked_add(lifetime - margin).unwrap_or(now),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("sk-live-123");
        assert_eq!(format!("{s}"), "***");
        assert!(!format!("{s:?}").contains("sk-live"));
        let c = Credentials::ClientCredentials {
            client_id: "id".into(),
            client_secret: "hunter2".into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn encoded_client_credentials_are_decoded_or_rejected() {
        let enc = base64::engine::general_purpose::STANDARD.encode("my-id:my-secret");
        match Credentials::from_encoded_client_credentials(&enc).unwrap() {
            Credentials::ClientCredentials {
                client_id,
                client_secret,
            } => {
                assert_eq!(client_id, "my-id");
                assert_eq!(client_secret.expose_secret(), "my-secret");
            }
            other => panic!("unexpected {other:?}"),
        }
        for bad in ["not base64!", "bm9jb2xvbg==" /* "nocolon" */, ""] {
            let err = Credentials::from_encoded_client_credentials(bad).unwrap_err();
            assert_eq!(err.kind, ConfigErrorKind::InvalidValue, "{bad}");
            assert!(!err.message.contains(bad) || bad.is_empty());
        }
    }

    #[test]
    fn huge_token_lifetimes_are_capped_instead_of_panicking() {
        let now = Instant::now();
        let headers = reqwest::header::HeaderMap::new();
        for expires in ["18446744073709551615", "9223372036854775807", "0"] {
            let body = format!(r#"{{"access_token":"t","expires_in":{expires}}}"#);
            let token = token_from(reqwest::StatusCode::OK, &headers, body.as_bytes(), now)
                .expect("a valid token response");
            assert!(token.refresh_at <= now + MAX_TOKEN_LIFETIME, "{expires}");
        }
        for bad in [
            r#"{"access_token":"t","expires_in":-1}"#,
            r#"{"access_token":"t","expires_in":1e300}"#,
            "{}",
            "",
            "null",
        ] {
            let Err(err) = token_from(reqwest::StatusCode::OK, &headers, bad.as_bytes(), now)
            else {
                panic!("{bad} was accepted");
            };
            assert!(matches!(err, Error::Decode(_)), "{bad}: {err}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_token_response_parses_or_fails_without_panicking(
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..200),
            token in "\\PC{0,40}",
            expires in proptest::num::u64::ANY,
            float in proptest::num::f64::ANY,
        ) {
            let now = Instant::now();
            let headers = reqwest::header::HeaderMap::new();
            let _ = token_from(reqwest::StatusCode::OK, &headers, &body, now);
            let json = serde_json::json!({"access_token": token, "expires_in": expires}).to_string();
            if let Ok(t) = token_from(reqwest::StatusCode::OK, &headers, json.as_bytes(), now) {
                proptest::prop_assert!(t.refresh_at <= now + MAX_TOKEN_LIFETIME);
                proptest::prop_assert!(t.header.is_sensitive());
            }
            let json = format!(r#"{{"access_token":"x","expires_in":{float}}}"#);
            let _ = token_from(reqwest::StatusCode::OK, &headers, json.as_bytes(), now);
        }
    }

    #[test]
    fn bearer_headers_are_sensitive() {
        let h = bearer("abc").unwrap();
        assert!(h.is_sensitive());
        assert!(!format!("{h:?}").contains("abc"));
    }
}
