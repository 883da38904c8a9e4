//! The one error type of the crate, and the parsing of API error bodies.
//!
//! Every fallible call returns [`Error`]. Match on its cases, or use the
//! predicates ([`Error::is_not_found`], [`Error::is_retryable`], …). Its
//! `Display` is a useful one-line message; no `{:#}` is needed.

mod api;
mod create;
mod decode;
mod ended;
#[cfg(test)]
mod envelope_tests;
mod input;
mod redirect;
mod text;
mod transport;

pub use api::ApiError;
pub(crate) use api::{request_id, request_id_value};
pub use create::{ChunkError, ExecutionConflict};
pub use decode::DecodeError;
pub use ended::{DeploymentFailed, ExecutionEnded, WaitTimeout};
pub use input::{ConfigError, ConfigErrorKind, InvalidInput};
pub use redirect::Redirect;
pub(crate) use text::{Clip, SHORT_SHOWN, chain, one_line};
pub use transport::{TransportError, TransportErrorKind};

use reqwest::StatusCode;

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

    /// Log lines may be missing from a stretch of time (see
    /// [`crate::logs`]): a [`FollowLogs`](crate::logs::FollowLogs) stream
    /// gives this as an item, and goes on.
    #[error("{0}")]
    LogsIncomplete(Box<crate::logs::LogGap>),

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

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
