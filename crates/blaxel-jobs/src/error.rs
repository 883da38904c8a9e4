//! The one error type of the crate, and the parsing of API error bodies.
//!
//! Every fallible call returns [`Error`]. Match on its cases, or use the
//! predicates ([`Error::is_not_found`], [`Error::is_retryable`], …). Its
//! `Display` is a useful one-line message; no `{:#}` is needed.

use blaxel_jobs_client::headers;
use blaxel_jobs_client::types;
use blaxel_jobs_client::types::{ErrorCode, JobExecution};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use std::fmt;
use std::time::Duration;

pub use crate::body::ResponseTooLarge;
pub use crate::merge::refusal::{UpdateRefusal, UpdateRefused};

/// The errors of the Blaxel Jobs SDK.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client could not be configured: credentials or workspace missing,
    /// an invalid setting, an unreadable config file, or an insecure URL.
    /// Raised before any request is sent.
    #[error("configuration error: {0}")]
    Config(ConfigError),

    /// A value was rejected on the client side before anything was sent.
    #[error("invalid input: {0}")]
    InvalidInput(InvalidInput),

    /// The request did not complete: connection failure, timeout, or the
    /// connection closed before a full response arrived. Its `Display`
    /// says what failed; the underlying error is its
    /// [`source`](std::error::Error::source).
    #[error(transparent)]
    Transport(TransportError),

    /// A response body was larger than the client's limit (see
    /// [`crate::body`]); the rest of it was not read.
    #[error("{0}")]
    ResponseTooLarge(Box<ResponseTooLarge>),

    /// The API answered with a redirection (3xx). The Jobs API never
    /// redirects, so the SDK follows none: the request was sent nowhere
    /// else.
    #[error("{0}")]
    Redirect(Box<Redirect>),

    /// A retried CreateJobExecution was refused as a conflict (409), and
    /// the execution the SDK found under its `executionId` cannot be shown
    /// to be the one this request started.
    #[error("{0}")]
    ExecutionConflict(Box<ExecutionConflict>),

    /// A chunk of a batch could not be created: which chunk (its index,
    /// execution id and tasks), and why (the error it ended with, its
    /// [`source`](std::error::Error::source) and [`ChunkError::error`]).
    /// The chunks created before it stay; submitting the batch again
    /// resumes.
    #[error(transparent)]
    Chunk(Box<ChunkError>),

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

    /// [`JobRef::update_with`](crate::JobRef::update_with) wrote nothing:
    /// writing the job back would have sent something it could not read in
    /// full (masked secrets, trigger tasks stored apart) or moved unknown
    /// fields between list entries. See [`UpdateRefused`].
    #[error("{0}")]
    UpdateRefused(Box<UpdateRefused>),

    /// A call of the blocking client (`blocking::Client`, feature
    /// `blocking`) was made on a thread where a tokio runtime is current:
    /// in async code (blocking there would stall the runtime, and tokio
    /// refuses to start a runtime inside another), or in a closure run by
    /// `spawn_blocking`, which carries its runtime's context. Nothing was
    /// sent. Use the async client there (`.send().await`, or
    /// `Handle::current().block_on(..)` inside `spawn_blocking`), or make
    /// the call from a thread outside any runtime.
    #[error(
        "the blocking client was called on a thread where a tokio runtime is current (async \
         code or spawn_blocking), where it cannot block; nothing was sent. Use the async \
         client there (`.send().await`), or call from a thread outside the runtime"
    )]
    BlockingInAsync,
}

impl Error {
    /// The HTTP status, when the error came from a response.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Chunk(c) => c.error.status(),
            Error::Api(e) => Some(e.status),
            Error::Decode(e) => Some(e.status),
            Error::ResponseTooLarge(e) => Some(e.status),
            Error::Redirect(e) => Some(e.status),
            Error::ExecutionConflict(e) => Some(e.error.status),
            _ => None,
        }
    }

    /// The API error, when the API answered with an error status.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Chunk(c) => c.error.api(),
            Error::Api(e) => Some(e),
            Error::ExecutionConflict(e) => Some(&e.error),
            _ => None,
        }
    }

    /// The request id the server gave the failed request, if any.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Chunk(c) => c.error.request_id(),
            Error::Api(e) => e.request_id.as_deref(),
            Error::Decode(e) => e.request_id.as_deref(),
            Error::ResponseTooLarge(e) => e.request_id.as_deref(),
            Error::Redirect(e) => e.request_id.as_deref(),
            Error::ExecutionConflict(e) => e.error.request_id.as_deref(),
            _ => None,
        }
    }

    /// 404: the job or execution does not exist.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }

    /// 409: for example, a job with this name already exists, or an
    /// execution id is taken ([`Error::ExecutionConflict`]).
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
            Error::Chunk(c) => c.error.is_retryable(),
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

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::Config(e)
    }
}

impl From<InvalidInput> for Error {
    fn from(e: InvalidInput) -> Self {
        Error::InvalidInput(e)
    }
}

impl From<TransportError> for Error {
    fn from(e: TransportError) -> Self {
        Error::Transport(e)
    }
}

impl From<ResponseTooLarge> for Error {
    fn from(e: ResponseTooLarge) -> Self {
        Error::ResponseTooLarge(Box::new(e))
    }
}

impl From<UpdateRefused> for Error {
    fn from(e: UpdateRefused) -> Self {
        Error::UpdateRefused(Box::new(e))
    }
}

impl From<Redirect> for Error {
    fn from(e: Redirect) -> Self {
        Error::Redirect(Box::new(e))
    }
}

/// Writes at most `.1` characters of `.0`, then `…` if it was longer: the
/// way every text a server sent is shown.
pub(crate) struct Clip<'a>(pub(crate) &'a str, pub(crate) usize);

impl fmt::Display for Clip<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.char_indices().nth(self.1) {
            None => f.write_str(self.0),
            Some((end, _)) => {
                f.write_str(&self.0[..end])?;
                f.write_str("…")
            }
        }
    }
}

impl fmt::Debug for Clip<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_string(), f)
    }
}

/// The longest server message, in characters, that `Display` shows.
pub(crate) const MESSAGE_SHOWN: usize = 300;
/// The longest server code, request id or header value `Display` shows.
pub(crate) const SHORT_SHOWN: usize = 128;

/// What kind of configuration problem occurred.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// No credentials were found.
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
    /// A browser login (`bl login`) has expired and cannot be renewed: its
    /// refresh token is missing or was refused. Run `bl login` again.
    LoginExpired,
}

/// A configuration problem, with what to set to fix it.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The kind of problem.
    pub(crate) kind: ConfigErrorKind,
    /// What is wrong and how to fix it; names the variable or file to set.
    pub(crate) message: String,
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
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidInput {
    /// The field, as a path in the request (`metadata.name`,
    /// `spec.triggers[0].configuration.schedule`, `memory`), when known.
    pub(crate) field: Option<String>,
    /// What is wrong.
    pub(crate) message: String,
}

impl InvalidInput {
    pub(crate) fn at_field(field: impl Into<String>, message: impl Into<String>) -> Self {
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
///
/// Its `Display` says what failed (and after how many attempts); the
/// underlying error (reqwest's, with the I/O error below it) is its
/// [`source`](std::error::Error::source), so that error reporters show each
/// cause once.
#[non_exhaustive]
#[derive(Debug)]
pub struct TransportError {
    /// The kind of failure.
    pub(crate) kind: TransportErrorKind,
    /// How many attempts were made.
    pub(crate) attempts: u32,
    /// The operation's deadline (see
    /// [`ClientBuilder::operation_timeout`](crate::ClientBuilder::operation_timeout)),
    /// when it is what ended the call.
    pub(crate) deadline: Option<Duration>,
    source: Option<reqwest::Error>,
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
            deadline: None,
            source: Some(e),
        }
    }

    /// The call's deadline passed (`operation_timeout` after it started).
    pub(crate) fn deadline_passed(operation_timeout: Duration) -> Self {
        Self {
            kind: TransportErrorKind::Timeout,
            attempts: 1,
            deadline: Some(operation_timeout),
            source: None,
        }
    }

    #[cfg(test)]
    pub(crate) fn timeout(_after: Duration) -> Self {
        Self {
            kind: TransportErrorKind::Timeout,
            attempts: 1,
            deadline: None,
            source: None,
        }
    }

    /// Whether the request cannot have reached the server.
    pub fn is_connect(&self) -> bool {
        self.kind == TransportErrorKind::Connect
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            TransportErrorKind::Connect => "transport error: cannot connect to the API",
            TransportErrorKind::Timeout => "transport error: no response in time",
            TransportErrorKind::Other => "transport error: the exchange with the API failed",
        })?;
        if let Some(d) = self.deadline {
            write!(f, " (the operation's deadline of {d:?} passed)")?;
        }
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
///
/// Its `Debug` shows the body's size, never its bytes (a body may hold a
/// secret the server echoed); read them through [`ApiError::body`] or
/// [`ApiError::body_text`]. Its `Display` shows at most 300 characters of
/// the server's message.
#[derive(Clone)]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status.
    pub(crate) status: StatusCode,
    /// Blaxel's error code: `error` of the API's error object (such as
    /// `not_found`) or `error.code` of the platform envelope (such as
    /// `WORKSPACE_NOT_FOUND`).
    pub(crate) code: Option<ErrorCode>,
    /// The human-readable message.
    pub(crate) message: Option<String>,
    /// The request id from the response headers, for support requests.
    pub(crate) request_id: Option<String>,
    /// How long the server asked to wait before retrying (`Retry-After`).
    pub(crate) retry_after: Option<Duration>,
    /// Whether the platform marked the error retryable (envelope `retryable`).
    pub(crate) retryable: Option<bool>,
    /// The `X-Blaxel-Source` header (`platform` for gateway errors).
    pub(crate) blaxel_source: Option<String>,
    /// `error.origin` of the platform envelope: `platform` when Blaxel's
    /// platform produced the error (see [`ApiError::is_platform`]).
    pub(crate) origin: Option<String>,
    /// The raw response body, exactly as received (possibly empty or HTML),
    /// up to [`ERROR_BODY_KEPT`](crate::body::ERROR_BODY_KEPT) bytes: the
    /// rest of a longer body is not read.
    pub(crate) body: bytes::Bytes,
    /// Whether the body was longer than what [`body`](Self::body) holds.
    pub(crate) body_truncated: bool,
    /// How many attempts were made before giving up.
    pub(crate) attempts: u32,
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("status", &self.status)
            .field(
                "code",
                &self.code.as_ref().map(|c| Clip(c.as_str(), SHORT_SHOWN)),
            )
            .field(
                "message",
                &self.message.as_deref().map(|m| Clip(m, MESSAGE_SHOWN)),
            )
            .field(
                "request_id",
                &self.request_id.as_deref().map(|c| Clip(c, SHORT_SHOWN)),
            )
            .field("retry_after", &self.retry_after)
            .field("retryable", &self.retryable)
            .field(
                "blaxel_source",
                &self.blaxel_source.as_deref().map(|c| Clip(c, SHORT_SHOWN)),
            )
            .field("body", &BodySize(self.body.len(), self.body_truncated))
            .field("attempts", &self.attempts)
            .finish()
    }
}

/// A body in `Debug` output: its size only.
struct BodySize(usize, bool);

impl fmt::Debug for BodySize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} bytes", self.0)?;
        if self.1 {
            f.write_str(", truncated")?;
        }
        f.write_str(">")
    }
}

/// The shortest and longest names of the response headers that may carry
/// a request id ([`headers::REQUEST_ID`]), to rule out most of a
/// response's headers by length alone.
const REQUEST_ID_LENGTHS: (usize, usize) = {
    let names = headers::REQUEST_ID;
    let (mut min, mut max, mut i) = (usize::MAX, 0, 0);
    while i < names.len() {
        let n = names[i].len();
        if n < min {
            min = n;
        }
        if n > max {
            max = n;
        }
        i += 1;
    }
    (min, max)
};

/// The value of the preferred request-id header of a response, if any (the
/// document's names, [`headers::REQUEST_ID`], in order of preference).
pub(crate) fn request_id_value(headers: &HeaderMap) -> Option<&reqwest::header::HeaderValue> {
    let (shortest, longest) = REQUEST_ID_LENGTHS;
    let mut best: Option<(usize, &reqwest::header::HeaderValue)> = None;
    for (name, value) in headers {
        let name = name.as_str();
        if !(shortest..=longest).contains(&name.len()) {
            continue;
        }
        if let Some(rank) = headers::REQUEST_ID.iter().position(|h| *h == name)
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
    pub(crate) fn from_parts(status: StatusCode, headers: &HeaderMap, body: bytes::Bytes) -> Self {
        let retry_after = crate::retry::parse_retry_after(headers);
        Self::from_read(status, headers, body, request_id(headers), retry_after)
    }

    /// [`from_parts`](Self::from_parts), given the request id and
    /// `Retry-After` already read from the headers (by the transport).
    pub(crate) fn from_read(
        status: StatusCode,
        headers: &HeaderMap,
        body: bytes::Bytes,
        request_id: Option<String>,
        retry_after: Option<Duration>,
    ) -> Self {
        let ErrorFields {
            code,
            message,
            retryable,
            origin,
        } = ErrorFields::parse(&body);
        ApiError {
            status,
            code: code.filter(|c| !c.is_empty()).map(ErrorCode::from),
            message: message.filter(|m| !m.is_empty()),
            origin: origin.filter(|o| !o.is_empty()),
            request_id,
            retry_after,
            retryable,
            blaxel_source: headers
                .get(headers::BLAXEL_SOURCE[0])
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body,
            body_truncated: false,
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
        platform(&self.origin) || platform(&self.blaxel_source)
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
            // The API's `Error`, or OAuth 2.0's error object (the token
            // endpoint's), whose message is `error_description`.
            Some(Value::String(code)) => ErrorFields {
                code: Some(code.clone()),
                message: text(top.get("message")).or_else(|| text(top.get("error_description"))),
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
            write!(f, " [{}]", Clip(code.as_str(), SHORT_SHOWN))?;
        }
        match &self.message {
            Some(m) => write!(f, ": {}", Clip(m, MESSAGE_SHOWN))?,
            None if self.body.is_empty() => f.write_str(" (empty body)")?,
            None => {
                // The start of the body, its whitespace runs made single
                // spaces, without copying more than is shown.
                let text = String::from_utf8_lossy(&self.body[..self.body.len().min(1024)]);
                f.write_str(":")?;
                let mut shown = 0;
                for word in text.split_whitespace() {
                    if shown >= 120 {
                        f.write_str("…")?;
                        break;
                    }
                    let room = 120 - shown;
                    write!(f, " {}", Clip(word, room))?;
                    shown += word.chars().count().min(room) + 1;
                }
            }
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {})", Clip(id, SHORT_SHOWN))?;
        }
        if self.attempts > 1 {
            write!(f, " after {} attempts", self.attempts)?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// A success response whose body does not match the document.
///
/// Its `Debug` shows the body's size, never its bytes; read them through
/// [`DecodeError::body`].
#[non_exhaustive]
#[derive(Clone)]
pub struct DecodeError {
    /// The HTTP status of the response.
    pub(crate) status: StatusCode,
    /// Where in the body decoding failed, as a serde path (`data[3].status`).
    pub(crate) path: String,
    /// What serde said.
    pub(crate) message: String,
    /// The request id from the response headers, if known.
    pub(crate) request_id: Option<String>,
    /// The raw body, up to [`ERROR_BODY_KEPT`](crate::body::ERROR_BODY_KEPT)
    /// bytes.
    pub(crate) body: bytes::Bytes,
    /// The size of the whole body, of which [`body`](Self::body) is the start.
    pub(crate) body_len: usize,
}

impl fmt::Debug for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecodeError")
            .field("status", &self.status)
            .field("path", &Clip(&self.path, MESSAGE_SHOWN))
            .field("message", &Clip(&self.message, MESSAGE_SHOWN))
            .field(
                "request_id",
                &self.request_id.as_deref().map(|c| Clip(c, SHORT_SHOWN)),
            )
            .field(
                "body",
                &BodySize(self.body_len, self.body.len() < self.body_len),
            )
            .finish()
    }
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
        let body_len = body.len();
        DecodeError {
            status,
            path,
            message,
            request_id: None,
            body: body.slice(..body_len.min(crate::body::ERROR_BODY_KEPT)),
            body_len,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot decode the {} response at `{}`: {} ({} bytes)",
            self.status,
            Clip(&self.path, MESSAGE_SHOWN),
            Clip(&self.message, MESSAGE_SHOWN),
            self.body_len
        )
    }
}

impl std::error::Error for DecodeError {}

/// An execution that ended without succeeding.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct ExecutionEnded {
    /// The execution as last read; `status` is `failed`, `cancelled` or `timeout`.
    pub(crate) execution: JobExecution,
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
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct DeploymentFailed {
    /// The job as last read.
    pub(crate) job: types::Job,
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
            write!(f, " ({})", Clip(msg, MESSAGE_SHOWN))?;
        }
        Ok(())
    }
}

/// A waiter that reached its maximum duration.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct WaitTimeout {
    /// What was waited for, such as `execution exec-1 of job nightly`.
    pub(crate) what: String,
    /// How long the waiter waited.
    pub(crate) elapsed: Duration,
    /// How many times it polled.
    pub(crate) polls: u32,
    /// The last status seen, if any.
    pub(crate) last_status: Option<String>,
}

impl fmt::Display for WaitTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "gave up waiting for {} after {:.1?} and {} polls",
            self.what, self.elapsed, self.polls
        )?;
        if let Some(s) = &self.last_status {
            write!(f, " (last status {})", Clip(s, SHORT_SHOWN))?;
        }
        Ok(())
    }
}

/// A redirection (3xx) from the API, which the SDK never follows.
///
/// The Jobs API does not redirect; a 3xx comes from something between the
/// client and the API (a proxy, a misconfigured base URL). Following it
/// could carry a request body, which may hold secret values, to another
/// origin or over plain HTTP, or turn a POST into a GET whose answer looks
/// like a success, so the call ends here and nothing is sent anywhere else.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct Redirect {
    /// The 3xx status.
    pub(crate) status: StatusCode,
    /// The `Location` header, if any (at most 2 KiB of it).
    pub(crate) location: Option<String>,
    /// The request id from the response headers, if any.
    pub(crate) request_id: Option<String>,
}

impl Redirect {
    pub(crate) fn from_parts(status: StatusCode, headers: &HeaderMap) -> Self {
        let location = headers
            .get(reqwest::header::LOCATION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()))
            .map(|l| Clip(&l, 2048).to_string());
        Redirect {
            status,
            location,
            request_id: request_id(headers),
        }
    }
}

impl fmt::Display for Redirect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the API answered {} redirecting to {}; the SDK follows no redirect",
            self.status,
            match &self.location {
                Some(l) => Clip(l, MESSAGE_SHOWN).to_string(),
                None => "no Location".into(),
            }
        )?;
        if let Some(id) = &self.request_id {
            write!(f, " (request id {})", Clip(id, SHORT_SHOWN))?;
        }
        Ok(())
    }
}

impl std::error::Error for Redirect {}

/// A CreateJobExecution retry that the server refused as a conflict, when
/// the execution found under the same `executionId` cannot be shown to be
/// this request's (it may belong to an earlier job of the same name).
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct ExecutionConflict {
    /// The execution id the request carried.
    pub(crate) execution_id: String,
    /// The conflict the server answered.
    pub(crate) error: ApiError,
    /// The execution found under that id, if any.
    pub(crate) found: Option<JobExecution>,
    /// Why the execution found is not taken as this request's.
    pub(crate) reason: String,
}

impl fmt::Display for ExecutionConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "execution {} conflicts with an execution this request did not start: {} ({})",
            Clip(&self.execution_id, SHORT_SHOWN),
            self.reason,
            self.error
        )
    }
}

impl std::error::Error for ExecutionConflict {}

/// A chunk of a batch that could not be created ([`Error::Chunk`]): which
/// one, and the error it ended with (its
/// [`source`](std::error::Error::source)).
#[non_exhaustive]
#[derive(Debug)]
pub struct ChunkError {
    pub(crate) batch_id: String,
    pub(crate) chunk: u64,
    pub(crate) execution_id: String,
    pub(crate) first_task: u64,
    pub(crate) tasks: u64,
    pub(crate) attempts: u32,
    pub(crate) error: Error,
}

impl fmt::Display for ChunkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "chunk {} of batch {} (execution {}, ",
            self.chunk,
            Clip(&self.batch_id, SHORT_SHOWN),
            Clip(&self.execution_id, SHORT_SHOWN),
        )?;
        match self.tasks {
            0 | 1 => write!(f, "task {}", self.first_task)?,
            n => write!(
                f,
                "tasks {} to {}",
                self.first_task,
                self.first_task.saturating_add(n - 1)
            )?,
        }
        let plural = if self.attempts == 1 { "" } else { "s" };
        write!(
            f,
            ") was not created after {} attempt{plural}",
            self.attempts
        )
    }
}

impl std::error::Error for ChunkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl ChunkError {
    /// The batch id.
    pub fn batch_id(&self) -> &str {
        &self.batch_id
    }

    /// The chunk's index in the batch, from 0.
    pub fn chunk(&self) -> u64 {
        self.chunk
    }

    /// The chunk's execution id, `<batch id>-<chunk>`.
    pub fn execution_id(&self) -> &str {
        &self.execution_id
    }

    /// The index in the batch of the chunk's first task.
    pub fn first_task(&self) -> u64 {
        self.first_task
    }

    /// The number of tasks in the chunk.
    pub fn tasks(&self) -> u64 {
        self.tasks
    }

    /// How many times the chunk was sent.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The error the chunk ended with: the server's answer (a 413 when the
    /// chunk's body is larger than the server takes), the last of a run
    /// of failures that lasted longer than the batch's
    /// [`patience`](crate::Batch::patience), or
    /// [`Error::ExecutionConflict`].
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// The error the chunk ended with, by value.
    pub fn into_error(self) -> Error {
        self.error
    }
}

// Accessors. The error structs are `#[non_exhaustive]` with private fields,
// so that a field can be added, or its representation changed, without
// breaking callers.

impl ConfigError {
    /// The kind of problem.
    pub fn kind(&self) -> ConfigErrorKind {
        self.kind
    }

    /// What is wrong and how to fix it; names the variable or file to set.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl InvalidInput {
    /// The field, as a path in the request (`metadata.name`,
    /// `spec.triggers[0].configuration.schedule`, `memory`), when known.
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// What is wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl TransportError {
    /// The kind of failure.
    pub fn kind(&self) -> TransportErrorKind {
        self.kind
    }

    /// How many attempts were made.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The operation's deadline (see
    /// [`ClientBuilder::operation_timeout`](crate::ClientBuilder::operation_timeout)),
    /// when it is what ended the call.
    pub fn deadline(&self) -> Option<Duration> {
        self.deadline
    }
}

impl ApiError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Blaxel's error code: `error` of the API's error object or
    /// `error.code` of the platform envelope, as an open enum. Match on the
    /// codes Blaxel documents; any other code is
    /// [`ErrorCode::Unknown`], kept as sent.
    ///
    /// ```
    /// # fn demo(e: &blaxel_jobs::ApiError) {
    /// use blaxel_jobs::types::ErrorCode;
    /// match e.code() {
    ///     Some(ErrorCode::WorkspaceNotFound) => eprintln!("check BL_WORKSPACE"),
    ///     Some(ErrorCode::UsageLimitExceeded) => eprintln!("raise the workspace's quota"),
    ///     Some(other) => eprintln!("error code {other}"),
    ///     None => eprintln!("no code"),
    /// }
    /// # }
    /// ```
    pub fn code(&self) -> Option<&ErrorCode> {
        self.code.as_ref()
    }

    /// The human-readable message, if the body had one.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// The request id from the response headers, for support requests.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// How long the server asked to wait before retrying (`Retry-After`).
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// Whether the platform marked the error retryable (envelope `retryable`).
    pub fn retryable(&self) -> Option<bool> {
        self.retryable
    }

    /// The `X-Blaxel-Source` response header (`platform` for gateway errors).
    pub fn blaxel_source(&self) -> Option<&str> {
        self.blaxel_source.as_deref()
    }

    /// `error.origin` of the platform envelope: `platform` when Blaxel's
    /// platform produced the error (see [`ApiError::is_platform`]).
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    /// The raw response body, exactly as received (possibly empty or
    /// HTML), up to [`ERROR_BODY_KEPT`](crate::body::ERROR_BODY_KEPT) bytes:
    /// the rest of a longer body is not read.
    pub fn body(&self) -> &bytes::Bytes {
        &self.body
    }

    /// Whether the body was longer than what [`body`](Self::body) holds.
    pub fn body_truncated(&self) -> bool {
        self.body_truncated
    }

    /// How many attempts were made before giving up.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
}

impl DecodeError {
    /// The HTTP status of the response.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Where in the body decoding failed, as a serde path (`data[3].status`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What serde said.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The request id from the response headers, if known.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// The raw body, up to [`ERROR_BODY_KEPT`](crate::body::ERROR_BODY_KEPT)
    /// bytes.
    pub fn body(&self) -> &bytes::Bytes {
        &self.body
    }

    /// The size of the whole body, of which [`body`](Self::body) is the start.
    pub fn body_len(&self) -> usize {
        self.body_len
    }
}

impl ExecutionEnded {
    /// The execution as last read; its `status` is `failed`, `cancelled` or
    /// `timeout`.
    pub fn execution(&self) -> &JobExecution {
        &self.execution
    }

    /// The execution as last read, owned.
    pub fn into_execution(self) -> JobExecution {
        self.execution
    }
}

impl DeploymentFailed {
    /// The job as last read.
    pub fn job(&self) -> &types::Job {
        &self.job
    }

    /// The job as last read, owned.
    pub fn into_job(self) -> types::Job {
        self.job
    }
}

impl WaitTimeout {
    /// What was waited for, such as `execution exec-1 of job nightly`.
    pub fn what(&self) -> &str {
        &self.what
    }

    /// How long the waiter waited.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// How many times it polled.
    pub fn polls(&self) -> u32 {
        self.polls
    }

    /// The last status seen, if any.
    pub fn last_status(&self) -> Option<&str> {
        self.last_status.as_deref()
    }
}

impl Redirect {
    /// The 3xx status (every HTTP client the SDK sends with follows no
    /// redirect, so this is the status the API's address answered).
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The `Location` header, if any (at most 2 KiB of it).
    pub fn location(&self) -> Option<&str> {
        self.location.as_deref()
    }

    /// The request id from the response headers, if any.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }
}

impl ExecutionConflict {
    /// The execution id the request carried.
    pub fn execution_id(&self) -> &str {
        &self.execution_id
    }

    /// The conflict the server answered.
    pub fn error(&self) -> &ApiError {
        &self.error
    }

    /// The execution found under that id, if any.
    pub fn found(&self) -> Option<&JobExecution> {
        self.found.as_ref()
    }

    /// Why the execution found is not taken as this request's.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod hostile_input_tests {
    use super::*;
    use proptest::prelude::*;

    fn header_map(pairs: &[(String, Vec<u8>)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            if let (Ok(n), Ok(v)) = (
                reqwest::header::HeaderName::from_bytes(name.as_bytes()),
                reqwest::header::HeaderValue::from_bytes(value),
            ) {
                map.append(n, v);
            }
        }
        map
    }

    fn names() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("retry-after".to_owned()),
            Just("x-request-id".to_owned()),
            Just("cf-ray".to_owned()),
            Just("x-blaxel-source".to_owned()),
            Just("location".to_owned()),
            "[a-z-]{1,20}",
        ]
    }

    proptest! {
        /// Any status, headers and body make an error whose `Display` and
        /// `Debug` are short, whatever their size.
        #[test]
        fn any_error_response_makes_a_short_error(
            status in 100u16..1000,
            headers in proptest::collection::vec((names(), proptest::collection::vec(any::<u8>(), 0..3000)), 0..6),
            body in proptest::collection::vec(any::<u8>(), 0..4000),
            message in "\\PC{0,3000}",
            code in "\\PC{0,500}",
        ) {
            let status = StatusCode::from_u16(status).unwrap();
            let headers = header_map(&headers);
            let shaped = serde_json::json!({"error": code, "message": message}).to_string();
            let envelope = serde_json::json!({"error": {"code": code, "message": message, "retryable": true}}).to_string();
            for body in [body, shaped.into_bytes(), envelope.into_bytes()] {
                let e = ApiError::from_parts(status, &headers, bytes::Bytes::from(body));
                let shown = e.to_string();
                prop_assert!(shown.len() < 2500, "{}", shown.len());
                let debug_len = format!("{e:?}").len();
                prop_assert!(debug_len < 4000);
                let r = Redirect::from_parts(status, &headers);
                prop_assert!(r.to_string().len() < 2500);
                let d = DecodeError::locate::<types::Job>(status, e.body.clone(), String::new());
                prop_assert!(d.body.len() <= crate::body::ERROR_BODY_KEPT);
                let debug_len = format!("{d:?}").len();
                prop_assert!(debug_len < 4000);
            }
        }
    }
}

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
