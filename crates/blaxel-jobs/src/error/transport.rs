//! A request that did not complete: connection, timeout, body read.

use std::fmt;
use std::time::Duration;

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
