//! One API call: a generated builder's `send()`, with the credential
//! refreshed first, the call's context handed to the transport (which makes
//! the attempts), and progenitor's errors turned into [`Error`].

use crate::Client;
use crate::body::{ERROR_BODY_KEPT, read_prefix, too_large_in};
use crate::error::{ApiError, DecodeError, Error, InvalidInput, Redirect, TransportError};
use crate::retry::RetryConfig;
use crate::transport::{CallContext, InCall, Outcome, Plan};
use blaxel_jobs_client::operations::{Operation as Op, OperationBuilder};
use blaxel_jobs_client::{ByteStream, ResponseValue};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::time::Duration;

type GenError = blaxel_jobs_client::Error<ByteStream>;

/// A generated request builder that the SDK can send. Its operation (name,
/// retry safety) comes from the table generated from the document
/// ([`blaxel_jobs_client::operations`]); nothing about an operation is
/// restated here.
pub(crate) trait Operation:
    OperationBuilder<Output = <Self as Operation>::Decoded, ErrorBody = ByteStream>
{
    /// What a successful response decodes to.
    type Decoded: DeserializeOwned + Send;
}

impl<O> Operation for O
where
    O: OperationBuilder<ErrorBody = ByteStream>,
    O::Output: DeserializeOwned + Send,
{
    type Decoded = O::Output;
}

/// What one call may set for itself instead of taking the client's
/// settings: the builders' `timeout`, `operation_timeout` and `retry`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CallSettings {
    /// The timeout of each attempt ([`crate::ClientBuilder::timeout`]).
    pub(crate) timeout: Option<Duration>,
    /// The timeout of the whole call, attempts and waits included
    /// ([`crate::ClientBuilder::operation_timeout`]).
    pub(crate) operation_timeout: Option<Duration>,
    /// The retry settings ([`crate::ClientBuilder::retry`]); boxed, as the
    /// call's future carries these settings and is copied as it moves.
    pub(crate) retry: Option<Box<RetryConfig>>,
}

/// The public setters of a builder that holds a [`CallSettings`] in
/// `self.settings`: `timeout`, `operation_timeout` and `retry`, each
/// overriding the client's setting; `$scope` says what they apply to.
macro_rules! call_settings {
    ($scope:literal) => {
        #[doc = concat!("Overrides the client's per-attempt timeout ", $scope, ".")]
        pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
            self.settings.timeout = Some(timeout);
            self
        }

        #[doc = concat!(
            "Overrides the client's timeout of a whole call, every attempt and wait included, ",
            $scope,
            "."
        )]
        pub fn operation_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.settings.operation_timeout = Some(timeout);
            self
        }

        #[doc = concat!("Overrides the client's retry settings ", $scope, ".")]
        pub fn retry(mut self, retry: crate::RetryConfig) -> Self {
            self.settings.retry = Some(Box::new(retry));
            self
        }
    };
}
pub(crate) use call_settings;

/// Sends a request built by hand, for the calls whose bodies the generated
/// builders cannot carry as they are (the raw JSON of a read-modify-write):
/// the same credential, hooks, retries, deadline, body limit, spans and
/// error mapping as [`execute`]. Answers the body of a 200 as the server
/// sent it.
pub(crate) async fn execute_raw(
    client: &Client,
    operation: Op,
    settings: &CallSettings,
    request: reqwest::Request,
) -> Result<bytes::Bytes, Error> {
    use progenitor_client::{ClientHooks as _, OperationInfo};
    let send = || async move {
        let raw = client.raw();
        let info = OperationInfo {
            operation_id: operation.method_name(),
        };
        let mut request = request;
        raw.pre::<ByteStream>(&mut request, &info).await?;
        let result = raw.exec(request, &info).await;
        raw.post::<ByteStream>(&result, &info).await?;
        let response = result?;
        match response.status() {
            StatusCode::OK => response
                .bytes()
                .await
                .map_err(blaxel_jobs_client::Error::ResponseBodyError),
            s if s.is_success() => Err(blaxel_jobs_client::Error::UnexpectedResponse(response)),
            _ => Err(blaxel_jobs_client::Error::ErrorResponse(
                ResponseValue::stream(response),
            )),
        }
    };
    run::<serde_json::Value, _, _, _>(client, operation, settings.clone(), send, |body| body).await
}

/// One call: the credential checked (once) against the call's deadline,
/// the call's plan handed to the transport for the attempts `send` makes,
/// and a failure turned into [`Error`] with the attempts, request id,
/// `Retry-After` and deadline the transport saw; a success goes through
/// `finish` (here rather than in a layer above, which would copy the value
/// once more). `D` is what a 200 decodes to, for a decode error to say
/// where the body departs from it.
async fn run<D: DeserializeOwned, T, U, F>(
    client: &Client,
    operation: Op,
    settings: CallSettings,
    send: impl FnOnce() -> F,
    finish: impl FnOnce(T) -> U,
) -> Result<U, Error>
where
    T: Send,
    F: Future<Output = Result<T, GenError>> + Send,
{
    let operation_timeout = settings
        .operation_timeout
        .unwrap_or_else(|| client.config().operation_timeout());
    let deadline = tokio::time::Instant::now().checked_add(operation_timeout);
    let token = client
        .auth()
        .fresh_header_by(deadline, operation_timeout)
        .await?;
    let context = CallContext::new(Plan {
        operation,
        timeout: settings.timeout,
        retry: settings.retry,
        deadline,
        token,
    });
    // Not boxed: a heap block of kilobytes per call (the generated future
    // holds the typed request and reqwest's future) costs more than the
    // copies it saves, once tasks move between runtime workers and the block
    // is freed on another thread than the one that allocated it.
    let (sent, outcome) = InCall::new(context, send).await;
    let err = match sent {
        Ok(value) => return Ok(finish(value)),
        Err(e) => Box::pin(convert::<D>(e, &outcome)).await,
    };
    if err.is_unauthorized() {
        // A refused access token may have been revoked: fetch a new one next
        // time. (401 itself is never retried.)
        client.auth().invalidate();
        // A browser login that cannot be renewed says so.
        if let Some(login) = client.auth().login_error() {
            return Err(login);
        }
    }
    Err(with_outcome(err, outcome, operation_timeout))
}

fn with_outcome(mut err: Error, outcome: Outcome, operation_timeout: Duration) -> Error {
    let attempts = outcome.attempts.max(1);
    let request_id = || outcome_request_id(&outcome);
    match &mut err {
        Error::Api(e) => e.attempts = attempts,
        Error::Transport(e) => {
            e.attempts = attempts;
            if outcome.deadline_bound && e.kind == crate::TransportErrorKind::Timeout {
                e.deadline = Some(operation_timeout);
            }
        }
        // Decoding loses the response headers; the transport kept the id.
        Error::Decode(e) if e.request_id.is_none() => e.request_id = request_id(),
        Error::ResponseTooLarge(e) if e.request_id.is_none() => e.request_id = request_id(),
        _ => {}
    }
    err
}

/// The request id the transport read from the last response.
fn outcome_request_id(outcome: &Outcome) -> Option<String> {
    outcome
        .request_id
        .as_ref()
        .and_then(|id| id.to_str().ok().map(str::to_owned))
}

/// An error response's [`ApiError`], with the request id and `Retry-After`
/// the transport already read from its headers.
fn api_error(
    status: StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: bytes::Bytes,
    truncated: bool,
    outcome: &Outcome,
) -> Error {
    let mut e = ApiError::from_read(
        status,
        headers,
        body,
        outcome_request_id(outcome),
        outcome.retry_after,
    );
    e.body_truncated = truncated;
    e.into()
}

/// Turns a generated client's error into the SDK's, reading error bodies.
///
/// The request id and `Retry-After` come from `outcome`: the transport read
/// them when the response arrived, and they are not read again here.
pub(crate) async fn convert<T: DeserializeOwned>(err: GenError, outcome: &Outcome) -> Error {
    use blaxel_jobs_client::Error as G;
    match err {
        G::InvalidRequest(msg) | G::Custom(msg) => InvalidInput::general(msg).into(),
        G::CommunicationError(e) if e.is_builder() => {
            InvalidInput::general(crate::error::chain(&e)).into()
        }
        G::CommunicationError(e) | G::ResponseBodyError(e) | G::InvalidUpgrade(e) => body_error(e),
        G::ErrorResponse(rv) => {
            let status = rv.status();
            let headers = rv.headers().clone();
            if status.is_redirection() {
                return Redirect::from_parts(status, &headers).into();
            }
            match read_prefix(rv.into_inner().into_inner(), ERROR_BODY_KEPT).await {
                Ok((body, truncated)) => api_error(status, &headers, body, truncated, outcome),
                Err(e) => body_error(e),
            }
        }
        G::UnexpectedResponse(response) => {
            let status = response.status();
            let headers = response.headers().clone();
            if status.is_redirection() {
                return Redirect::from_parts(status, &headers).into();
            }
            if status.is_success() {
                // Decoded only to say where it fails; the body limit holds.
                let body = match response.bytes().await {
                    Ok(b) => b,
                    Err(e) => return body_error(e),
                };
                let mut e = DecodeError::locate::<T>(
                    status,
                    body,
                    format!("the document does not list status {status} for this operation"),
                );
                e.request_id = outcome_request_id(outcome);
                e.into()
            } else {
                match read_prefix(Box::pin(response.bytes_stream()), ERROR_BODY_KEPT).await {
                    Ok((body, truncated)) => api_error(status, &headers, body, truncated, outcome),
                    Err(e) => body_error(e),
                }
            }
        }
        // Only the documented 200 response is decoded, so the status was 200.
        G::InvalidResponsePayload(body, e) => {
            DecodeError::locate::<T>(StatusCode::OK, body, e.to_string()).into()
        }
    }
}

/// The error of a failed exchange or body read: the body limit's own error
/// when that is what stopped it.
fn body_error(e: reqwest::Error) -> Error {
    match too_large_in(&e) {
        Some(t) => t.into(),
        None => TransportError::from_reqwest(e).into(),
    }
}

/// The state every fluent builder shares: the client, the generated builder
/// being filled in, the call's own settings, and the first invalid value
/// given.
#[derive(Debug, Clone)]
pub(crate) struct Call<'a, O> {
    pub(crate) client: &'a Client,
    pub(crate) op: O,
    pub(crate) settings: CallSettings,
    invalid: Option<InvalidInput>,
}

impl<'a, O: Operation> Call<'a, O> {
    pub(crate) fn new(client: &'a Client, op: O) -> Self {
        Call {
            client,
            op,
            settings: CallSettings::default(),
            invalid: None,
        }
    }

    /// Applies a setter of the generated builder.
    pub(crate) fn map(mut self, f: impl FnOnce(O) -> O) -> Self {
        self.op = f(self.op);
        self
    }

    /// Records a check's failure; the first one is reported by `send`.
    pub(crate) fn check(mut self, result: Result<(), InvalidInput>) -> Self {
        if let (None, Err(e)) = (&self.invalid, result) {
            self.invalid = Some(e);
        }
        self
    }

    pub(crate) fn timeout(mut self, timeout: Duration) -> Self {
        self.settings.timeout = Some(timeout);
        self
    }

    pub(crate) fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.settings.operation_timeout = Some(timeout);
        self
    }

    pub(crate) fn retry(mut self, retry: RetryConfig) -> Self {
        self.settings.retry = Some(Box::new(retry));
        self
    }

    /// Sends `op`, unless a check failed. The transport below the generated
    /// client retries as the retry settings and the operation's safety allow
    /// (see [`crate::transport`]); `settings` override the client's for this
    /// call.
    ///
    /// Not `async`, and neither are the public builders' `send`: [`run`] is
    /// the only `async` layer above the generated future, because each
    /// layer keeps its own copy of what it was given in the call's future,
    /// which is copied whole as it moves.
    pub(crate) fn send(self) -> impl Future<Output = Result<O::Decoded, Error>> + Send + 'a
    where
        O: Send + 'a,
    {
        use futures_util::future::{Either, ready};
        let Call {
            client,
            op,
            settings,
            invalid,
        } = self;
        match invalid {
            Some(e) => Either::Left(ready(Err(e.into()))),
            None => Either::Right(run::<O::Decoded, _, _, _>(
                client,
                O::OPERATION,
                settings,
                move || op.send_request(),
                ResponseValue::into_inner,
            )),
        }
    }
}
