//! The one error type of the crate, and the parsing of API error bodies.
//!
//! Every fallible call returns [`Error`]. Match on its cases, or use the
//! predicates ([`Error::is_not_found`], [`Error::is_retryable`], …). Its
//! `Display` is a useful one-line message; no `{:#}` is needed.

use blaxel_jobs_client::types;
use blaxel_jobs_client::types::JobExecution;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use std::fmt;
use std::time::Duration;

/// The errors of the Blaxel Jobs SDK.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client could not be configured: credentials or workspace missing,
    /// an invalid setting, an unreadable config file, or an insecure URL.
    /// Raised before any request is sent.
    #[error("configuration error: {0}")]
    Config(#[from] ConfigError),

    /// A value was rejected on the client side before anything was sent.
    #[error("invalid input: {0}")]
    InvalidInput(#[from] InvalidInput),

    /// The request did not complete: connection failure, timeout, or the
    /// connection closed before a full response arrived.
    #[error("transport error: {0}")]
    Transport(#[from] TransportError),

    /// The API answered with an error status.
    #[error("{0}")]
    Api(Box<ApiError>),

    /// The API answered with a success status but a body that does not match
    /// the document.
    #[error("{0}")]
    Decode(Box<DecodeError>),

    /// A waited-for execution ended without succeeding (`failed`, `cancelled`
    /// or `timeout`).
    #[error("{0}")]
    ExecutionEnded(Box<ExecutionEnded>),

    /// A waited-for job deployment ended without reaching `DEPLOYED`.
    #[error("{0}")]
    DeploymentFailed(Box<DeploymentFailed>),

    /// A waiter reached its maximum duration first.
    #[error("{0}")]
    WaitTimeout(WaitTimeout),

    /// A paginated listing misbehaved (for example, it returned a cursor it
    /// had already returned); the stream stops instead of looping.
    #[error("pagination error: {0}")]
    Pagination(String),
}

impl Error {
    /// The HTTP status, when the error came from a response.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api(e) => Some(e.status),
            Error::Decode(e) => Some(e.status),
            _ => None,
        }
    }

    /// The API error, when the API answered with an error status.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// The request id the server gave the failed request, if any.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api(e) => e.request_id.as_deref(),
            Error::Decode(e) => e.request_id.as_deref(),
            _ => None,
        }
    }

    /// 404: the job or execution does not exist.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }

    /// 409: for example, a job with this name already exists.
    pub fn is_conflict(&self) -> bool {
        self.status() == Some(StatusCode::CONFLICT)
    }

    /// 429: rate limited, or no capacity for an execution with `allowQueue: false`.
    pub fn is_rate_limited(&self) -> bool {
        self.status() == Some(StatusCode::TOO_MANY_REQUESTS)
    }

    /// 401: the credential is missing, invalid or expired.
    pub fn is_unauthorized(&self) -> bool {
        self.status() == Some(StatusCode::UNAUTHORIZED)
    }

    /// 403: the credential may not do this.
    pub fn is_forbidden(&self) -> bool {
        self.status() == Some(StatusCode::FORBIDDEN)
    }

    /// A timeout: of a request, or of a waiter.
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Transport(t) => t.kind == TransportErrorKind::Timeout,
            Error::WaitTimeout(_) => true,
            _ => false,
        }
    }

    /// Whether sending the same request again later may succeed: transport
    /// failures, 408, 429, 5xx, and API errors the platform marks retryable.
    /// (Whether the SDK retries automatically also depends on the operation;
    /// see [`crate::retry`].)
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport(_) => true,
            Error::Api(e) => {
                e.retryable == Some(true)
                    || matches!(e.status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
            }
            _ => false,
        }
    }
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Error::Api(Box::new(e))
    }
}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Self {
        Error::Decode(Box::new(e))
    }
}

/// What kind of configuration problem occurred.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// No API key or client credentials were found.
    MissingCredentials,
    /// No workspace was given.
    MissingWorkspace,
    /// A setting has a value that cannot be used.
    InvalidValue,
    /// The config file exists but cannot be read or parsed.
    ConfigFile,
    /// Credentials would be sent over plain HTTP to a non-loopback host.
    InsecureUrl,
    /// The HTTP client could not be built.
    HttpClient,
}

/// A configuration problem, with what to set to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The kind of problem.
    pub kind: ConfigErrorKind,
    /// What is wrong and how to fix it; names the variable or file to set.
    pub message: String,
}

impl ConfigError {
    pub(crate) fn new(kind: ConfigErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

/// A value rejected before sending, with the field it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidInput {
    /// The field, as a path in the request (`metadata.name`,
    /// `spec.triggers[0].configuration.schedule`, `memory`), when known.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl InvalidInput {
    pub(crate) fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// The same problem, at another field.
    pub(crate) fn at(self, field: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            ..self
        }
    }

    pub(crate) fn general(message: impl Into<String>) -> Self {
        Self {
            field: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{field}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for InvalidInput {}

/// The kind of transport failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The connection could not be made; the request never reached the server.
    Connect,
    /// The request or its response took too long.
    Timeout,
    /// The connection failed after the request may have been sent.
    Other,
}

/// A request that did not complete.
#[derive(Debug)]
pub struct TransportError {
    /// The kind of failure.
    pub kind: TransportErrorKind,
    /// How many attempts were made.
    pub attempts: u32,
    source: Option<reqwest::Error>,
    message: String,
}

impl TransportError {
    pub(crate) fn from_reqwest(e: reqwest::Error) -> Self {
        let kind = if e.is_connect() {
            TransportErrorKind::Connect
        } else if e.is_timeout() {
            TransportErrorKind::Timeout
        } else {
            TransportErrorKind::Other
        };
        Self {
            kind,
            attempts: 1,
            message: chain(&e),
            source: Some(e),
        }
    }

    #[cfg(test)]
    pub(crate) fn timeout(after: Duration) -> Self {
        Self {
            kind: TransportErrorKind::Timeout,
            attempts: 1,
            source: None,
            message: format!("no response within {after:?}"),
        }
    }

    /// Whether the request cannot have reached the server.
    pub fn is_connect(&self) -> bool {
        self.kind == TransportErrorKind::Connect
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if self.attempts > 1 {
            write!(f, " (after {} attempts)", self.attempts)?;
        }
        Ok(())
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// The first meaningful line of a message (parsers such as the YAML one
/// add multi-line source snippets).
pub(crate) fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default()
        .to_owned()
}

/// An error's message followed by its causes, on one line.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}

/// An error status from the API, with everything the response said.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// Blaxel's error code: `error` of the API's error object (such as
    /// `not_found`) or `error.code` of the platform envelope (such as
    /// `WORKSPACE_NOT_FOUND`).
    pub code: Option<String>,
    /// The human-readable message.
    pub message: Option<String>,
    /// The request id from the response headers, for support requests.
    pub request_id: Option<String>,
    /// How long the server asked to wait before retrying (`Retry-After`).
    pub retry_after: Option<Duration>,
    /// Whether the platform marked the error retryable (envelope `retryable`).
    pub retryable: Option<bool>,
    /// The `X-Blaxel-Source` header (`platform` for gateway errors).
    pub source: Option<String>,
    /// `error.origin` of the platform envelope: `platform` when Blaxel's
    /// platform produced the error (see [`ApiError::is_platform`]).
    pub origin: Option<String>,
    /// The raw response body, exactly as received (possibly empty or HTML).
    pub body: bytes::Bytes,
    /// How many attempts were made before giving up.
    pub attempts: u32,
}

/// Response headers that may carry a request id, in order of preference.
const REQUEST_ID_HEADERS: [&str; 5] = [
    "x-request-id",
    "x-blaxel-request-id",
    "x-amzn-requestid",
    "x-amz-apigw-id",
    "cf-ray",
];

/// The value of the preferred request-id header of a response, if any.
///
/// One pass over the response's headers (a handful), comparing names: no
/// hashing of the five candidate names, and no allocation.
pub(crate) fn request_id_value(headers: &HeaderMap) -> Option<&reqwest::header::HeaderValue> {
    let mut best: Option<(usize, &reqwest::header::HeaderValue)> = None;
    for (name, value) in headers {
        let name = name.as_str();
        // Header names are short; rule most of them out by length first.
        if !(6..=19).contains(&name.len()) {
            continue;
        }
        if let Some(rank) = REQUEST_ID_HEADERS.iter().position(|h| *h == name)
            && value.to_str().is_ok()
            && best.is_none_or(|(r, _)| rank < r)
        {
            best = Some((rank, value));
        }
    }
    best.map(|(_, value)| value)
}

/// The request id of a response, if it sent one (see [`request_id_value`]).
pub(crate) fn request_id(headers: &HeaderMap) -> Option<String> {
    request_id_value(headers).and_then(|v| v.to_str().ok().map(str::to_owned))
}

impl ApiError {
    /// Builds an error from a response's parts, parsing the body as the API's
    /// `Error` object or the platform's `{"error": {...}}` envelope when it is
    /// JSON; any other body is kept raw.
    pub fn from_parts(status: StatusCode, headers: &HeaderMap, body: bytes::Bytes) -> Self {
        let ErrorFields {
            code,
            message,
            retryable,
            origin,
        } = ErrorFields::parse(&body);
        ApiError {
            status,
            code: code.filter(|c| !c.is_empty()),
            message: message.filter(|m| !m.is_empty()),
            origin: origin.filter(|o| !o.is_empty()),
            request_id: request_id(headers),
            retry_after: crate::retry::parse_retry_after(headers),
            retryable,
            source: headers
                .get("x-blaxel-source")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body,
            attempts: 1,
        }
    }

    /// The body as text (lossy for non-UTF-8 bytes).
    pub fn body_text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    /// Whether Blaxel's platform (its gateway) produced the error rather
    /// than the Jobs API itself: the envelope's `origin` is `platform`, or
    /// the response carries `X-Blaxel-Source: platform`. Blaxel documents
    /// both as the way to tell the two apart.
    pub fn is_platform(&self) -> bool {
        let platform = |v: &Option<String>| {
            v.as_deref()
                .is_some_and(|s| s.trim().eq_ignore_ascii_case("platform"))
        };
        platform(&self.origin) || platform(&self.source)
    }
}

/// The fields of an error body that the SDK reads, from the API's `Error`
/// object (`{"error": "<code>", "message": ...}`) or the platform's
/// envelope (`{"error": {"code", "message", "retryable", "origin", ...}}`,
/// [`types::PlatformError`]). Each field is read on its own, so a field of
/// an unexpected type (a numeric `timestamp`, a textual `status`, an
/// `origin` other than `platform`) loses only itself, never the rest.
#[derive(Debug, Default, PartialEq)]
struct ErrorFields {
    code: Option<String>,
    message: Option<String>,
    retryable: Option<bool>,
    origin: Option<String>,
}

impl ErrorFields {
    fn parse(body: &[u8]) -> Self {
        use serde_json::Value;
        let Ok(Value::Object(top)) = serde_json::from_slice::<Value>(body) else {
            return Self::default();
        };
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        match top.get("error") {
            Some(Value::String(code)) => ErrorFields {
                code: Some(code.clone()),
                message: text(top.get("message")),
                ..Self::default()
            },
            Some(Value::Object(inner)) => ErrorFields {
                code: text(inner.get("code")),
                message: text(inner.get("message")).or_else(|| text(top.get("message"))),
                retryable: inner.get("retryable").and_then(Value::as_bool),
                origin: text(inner.get("origin")),
            },
            _ => ErrorFields {
                message: text(top.get("message")),
                ..Self::default()
            },
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "API error {}", self.status)?;
        if let Some(code) = &self.code {
            write!(f, " [{code}]")?;
        }
        match &self.message {
            Some(m) => write!(f, ": {m}")?,
            None if self.body.is_empty() => f.write_str(" (empty body)")?,
            None => {
                let text = self.body_text();
                let snippet: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
                let snippet: String = snippet.chars().take(120).collect();
                write!(f, ": {snippet}")?;
            }
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        if self.attempts > 1 {
            write!(f, " after {} attempts", self.attempts)?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// A success response whose body does not match the document.
#[derive(Debug, Clone)]
pub struct DecodeError {
    /// The HTTP status of the response.
    pub status: StatusCode,
    /// Where in the body decoding failed, as a serde path (`data[3].status`).
    pub path: String,
    /// What serde said.
    pub message: String,
    /// The request id from the response headers, if known.
    pub request_id: Option<String>,
    /// The raw body.
    pub body: bytes::Bytes,
}

impl DecodeError {
    /// Decodes `body` as `T` to find where it fails; `fallback` is used when
    /// it unexpectedly decodes.
    pub(crate) fn locate<T: serde::de::DeserializeOwned>(
        status: StatusCode,
        body: bytes::Bytes,
        fallback: String,
    ) -> Self {
        let de = &mut serde_json::Deserializer::from_slice(&body);
        let (path, message) = match serde_path_to_error::deserialize::<_, T>(de) {
            Ok(_) => (String::from("."), fallback),
            Err(e) => (e.path().to_string(), e.into_inner().to_string()),
        };
        DecodeError {
            status,
            path,
            message,
            request_id: None,
            body,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot decode the {} response at `{}`: {} ({} bytes)",
            self.status,
            self.path,
            self.message,
            self.body.len()
        )
    }
}

impl std::error::Error for DecodeError {}

/// An execution that ended without succeeding.
#[derive(Debug, Clone)]
pub struct ExecutionEnded {
    /// The execution as last read; `status` is `failed`, `cancelled` or `timeout`.
    pub execution: JobExecution,
}

impl ExecutionEnded {
    /// The final status.
    pub fn status(&self) -> Option<&blaxel_jobs_client::open_enum::JobExecutionStatus> {
        self.execution.status.as_ref()
    }
}

impl fmt::Display for ExecutionEnded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = self.execution.metadata.id.as_deref().unwrap_or("?");
        let status = self.status().map(|s| s.as_str()).unwrap_or("unknown");
        write!(f, "execution {id} ended with status {status}")?;
        if let Some(stats) = &self.execution.stats {
            write!(
                f,
                " ({} of {} tasks succeeded, {} failed, {} cancelled)",
                stats.success.unwrap_or(0),
                stats.total.unwrap_or(0),
                stats.failure.unwrap_or(0),
                stats.cancelled.unwrap_or(0)
            )?;
        }
        Ok(())
    }
}

/// A deployment that ended without reaching `DEPLOYED`.
#[derive(Debug, Clone)]
pub struct DeploymentFailed {
    /// The job as last read.
    pub job: types::Job,
}

impl fmt::Display for DeploymentFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self
            .job
            .status
            .as_ref()
            .map(|s| s.as_str())
            .unwrap_or("unknown");
        write!(
            f,
            "job {} did not deploy: status {status}",
            self.job.metadata.name
        )?;
        if let Some(msg) = self
            .job
            .events
            .as_ref()
            .and_then(|e| e.last())
            .and_then(|e| e.message.as_deref())
        {
            write!(f, " ({msg})")?;
        }
        Ok(())
    }
}

/// A waiter that reached its maximum duration.
#[derive(Debug, Clone)]
pub struct WaitTimeout {
    /// What was waited for, such as `execution exec-1 of job nightly`.
    pub what: String,
    /// How long the waiter waited.
    pub elapsed: Duration,
    /// How many times it polled.
    pub polls: u32,
    /// The last status seen, if any.
    pub last_status: Option<String>,
}

impl fmt::Display for WaitTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "gave up waiting for {} after {:.1?} and {} polls",
            self.what, self.elapsed, self.polls
        )?;
        if let Some(s) = &self.last_status {
            write!(f, " (last status {s})")?;
        }
        Ok(())
    }
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod request_id_tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &[u8])]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_bytes(value).unwrap());
        }
        map
    }

    #[test]
    fn the_preferred_request_id_header_wins_whatever_the_order() {
        let map = headers(&[
            ("cf-ray", b"ray-1"),
            ("content-type", b"application/json"),
            ("x-blaxel-request-id", b"gw-2"),
            ("x-request-id", b"req-3"),
        ]);
        assert_eq!(request_id(&map).as_deref(), Some("req-3"));
        let map = headers(&[("cf-ray", b"ray-1"), ("x-amz-apigw-id", b"apigw-4")]);
        assert_eq!(request_id(&map).as_deref(), Some("apigw-4"));
    }

    #[test]
    fn unreadable_or_missing_request_ids_are_skipped() {
        let map = headers(&[("x-request-id", b"\xff\xfe"), ("cf-ray", b"ray-1")]);
        assert_eq!(request_id(&map).as_deref(), Some("ray-1"));
        let map = headers(&[("content-length", b"12"), ("x-request-idx", b"no")]);
        assert_eq!(request_id(&map), None);
    }
}
