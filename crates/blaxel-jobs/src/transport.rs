//! One call, one way: a generated builder's request is built, sent in
//! attempts (each in its own tracing span, with the credential, the
//! deadline, the retry rules and the body limit), and the last answer is
//! decoded by the generated code, with the call's settings handed down as
//! ordinary arguments. Nothing calls back up.
//!
//! An attempt ends when the response's status and headers arrive; a failure
//! while its body is read later (the request has reached the server by
//! then) is reported, not retried. Retries send copies of the built
//! `reqwest::Request` (see [`copy_request`]), which are much cheaper than
//! copies of the typed request it came from.
//!
//! Every response passes here, so this is also where its body gets its size
//! limit ([`crate::body`]), where a 3xx is stopped (it is never retried, and
//! becomes [`crate::Error::Redirect`]), and where the call's deadline bounds
//! each attempt and each backoff.

use crate::Client;
use crate::body::{ERROR_BODY_KEPT, read_prefix, too_large_in};
use crate::error::{ApiError, DecodeError, Error, InvalidInput, Redirect, TransportError};
use crate::retry::{Failure, RetryConfig, Verdict, classify, parse_retry_after};
use blaxel_jobs_client::operations::{Operation, OperationBuilder, RetrySafety};
use blaxel_jobs_client::{ByteStream, ResponseValue};
use reqwest::StatusCode;
use reqwest::header::HeaderValue;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::time::{Duration, Instant};
use tracing::Instrument as _;

type GenError = blaxel_jobs_client::Error<ByteStream>;

/// A generated request builder that the SDK can send: it builds a
/// `reqwest::Request` and decodes the response, and its operation (name,
/// retry safety) comes from the table generated from the document
/// ([`blaxel_jobs_client::operations`]).
pub(crate) trait Sendable:
    OperationBuilder<Output = <Self as Sendable>::Decoded, ErrorBody = ByteStream>
{
    /// What a successful response decodes to.
    type Decoded: DeserializeOwned + Send;
}

impl<O> Sendable for O
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

/// Sends a generated builder's request: built here, then [`execute`]d and
/// decoded by the builder's own `decode`.
pub(crate) async fn send<O: Sendable>(
    client: &Client,
    settings: CallSettings,
    op: O,
) -> Result<O::Decoded, Error> {
    let request = op.build_request().map_err(build_error)?;
    execute::<O::Decoded, _, _, _>(client, O::OPERATION, settings, request, O::decode).await
}

/// One call of `operation`: the credential checked (once) against the
/// call's deadline, the attempts made, and the last answer decoded with
/// `decode` (a generated builder's, or one of a caller that wants the body
/// as it came). A failure becomes [`Error`] with the attempts, request id,
/// `Retry-After` and deadline the attempts saw. `L` is what a 200 decodes
/// to, for a decode error to say where the body departs from it; `T` is
/// what `decode` answers.
pub(crate) async fn execute<L, T, D, F>(
    client: &Client,
    operation: Operation,
    settings: CallSettings,
    mut request: reqwest::Request,
    decode: D,
) -> Result<T, Error>
where
    L: DeserializeOwned,
    D: FnOnce(reqwest::Response) -> F,
    F: Future<Output = Result<ResponseValue<T>, GenError>>,
{
    let config = client.config();
    let operation_timeout = settings
        .operation_timeout
        .unwrap_or_else(|| config.operation_timeout());
    let deadline = tokio::time::Instant::now().checked_add(operation_timeout);
    let token = client
        .auth()
        .fresh_header_by(deadline, operation_timeout)
        .await?;
    if let Some(headers) = client.per_request_headers() {
        // A client of the caller's: the SDK's headers and per-attempt
        // timeout go on each request instead of on the client.
        for (name, value) in headers {
            request.headers_mut().insert(name.clone(), value.clone());
        }
        request.timeout_mut().get_or_insert(config.timeout());
    }
    let plan = Plan {
        operation,
        timeout: settings.timeout,
        retry: settings.retry.as_deref().unwrap_or(config.retry()),
        deadline,
        token,
    };
    // A browser login's token may be renewed after a 401: those calls go
    // through a (boxed) wrapper, so that the others' futures do not grow.
    let (result, outcome) = if client.auth().reauthorizes() {
        Box::pin(attempts_reauthorizing(client, request, plan)).await
    } else {
        attempts(client, request, plan).await
    };
    let err = match result {
        Ok(response) => match decode(response).await {
            Ok(value) => return Ok(value.into_inner()),
            Err(e) => Box::pin(convert::<L>(e, &outcome)).await,
        },
        Err(e) => body_error(e),
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

/// How to send one call's request.
#[derive(Clone)]
struct Plan<'r> {
    /// The operation: its `operationId` names the spans, and its retry
    /// safety (`x-blaxel-retry` in the document) says what may be retried.
    operation: Operation,
    /// The per-attempt timeout, when the call overrides the client's.
    timeout: Option<Duration>,
    /// The retry settings.
    retry: &'r RetryConfig,
    /// When the whole call must end, attempts and backoff included (`None`:
    /// no deadline, or one too far away to represent). On tokio's clock,
    /// so that tests can run it paused.
    deadline: Option<tokio::time::Instant>,
    /// The access token the call checked before it started, for the first
    /// attempt (`None` for an API key, which is a default header). Later
    /// attempts read the cached token again: it may have been refreshed.
    token: Option<HeaderValue>,
}

/// How a call's attempts went.
#[derive(Debug, Default, Clone)]
pub(crate) struct Outcome {
    /// Attempts made.
    pub(crate) attempts: u32,
    /// The request-id header of the last response (a reference-counted
    /// view of the response's buffer: keeping it costs no allocation).
    pub(crate) request_id: Option<HeaderValue>,
    /// The last response's `Retry-After`, read once here (for the retry
    /// decision) and carried into [`crate::ApiError::retry_after`].
    pub(crate) retry_after: Option<Duration>,
    /// The last attempt's timeout was shortened to meet the deadline.
    pub(crate) deadline_bound: bool,
}

/// [`attempts`]; then, if the API refused the credential with 401 and it
/// could be renewed (a browser login's token; see
/// [`Auth::reauthorize`](crate::auth::Auth::reauthorize)), the attempts
/// once more with the renewed one. Once: a second 401 is the answer.
async fn attempts_reauthorizing(
    client: &Client,
    request: reqwest::Request,
    plan: Plan<'_>,
) -> (reqwest::Result<reqwest::Response>, Outcome) {
    let again = copy_request(&request);
    let mut second = plan.clone();
    let (result, first) = attempts(client, request, plan).await;
    let refused = matches!(&result, Ok(r) if r.status() == StatusCode::UNAUTHORIZED);
    let Some(again) = again.filter(|_| refused) else {
        return (result, first);
    };
    // The token of the attempt the API refused: the one the call checked,
    // or the cached one for a retry.
    let sent = match first.attempts {
        0 | 1 => second.token.take(),
        _ => client.auth().token_header(),
    };
    let Some(header) = client
        .auth()
        .reauthorize(sent.as_ref(), second.deadline)
        .await
    else {
        return (result, first);
    };
    drop(result);
    second.token = Some(header);
    let (result, mut outcome) = attempts(client, again, second).await;
    outcome.attempts = outcome.attempts.saturating_add(first.attempts);
    (result, outcome)
}

/// Makes the attempts of one call. Answers the last attempt's result and
/// how the attempts went.
async fn attempts(
    client: &Client,
    mut request: reqwest::Request,
    plan: Plan<'_>,
) -> (reqwest::Result<reqwest::Response>, Outcome) {
    let Plan {
        operation,
        timeout,
        retry,
        deadline,
        mut token,
    } = plan;
    let config = client.config();
    let http = client.http();
    let mut outcome = Outcome::default();
    let (name, safety) = (operation.name(), safety(operation));
    if let Some(t) = timeout {
        *request.timeout_mut() = Some(t);
    }
    let attempt_timeout = timeout.unwrap_or(config.timeout());
    let mut attempt: u32 = 1;
    loop {
        // The access token: the one the call checked for the first
        // attempt, the cached one (it may have been refreshed since) for
        // later ones. An API key is a default header of the client.
        if let Some(value) = token.take().or_else(|| {
            (attempt > 1)
                .then(|| client.auth().token_header())
                .flatten()
        }) {
            request
                .headers_mut()
                .insert(reqwest::header::AUTHORIZATION, value);
        }
        // An attempt ends by the deadline at the latest. Only an attempt
        // that would outlive it gets a timeout of its own (setting one
        // allocates the request's extension map).
        if let Some(deadline) = deadline {
            let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
            if remaining < attempt_timeout {
                *request.timeout_mut() = Some(remaining);
                outcome.deadline_bound = true;
            }
        }
        // Keep a copy for the next attempt, if there may be one.
        let next = if attempt < retry.max_attempts {
            copy_request(&request).map(Box::new)
        } else {
            None
        };
        // The attempt, in a block of its own: nothing in it (the response
        // above all) is kept while waiting to retry, so the wait's state
        // shares their room in this future.
        let (delay, again) = {
            let span = tracing::info_span!(
                "blaxel_jobs.request",
                operation = name,
                http.method = request.method().as_str(),
                url.path = request.url().path(),
                attempt,
                http.status = tracing::field::Empty,
                duration_ms = tracing::field::Empty,
                request_id = tracing::field::Empty,
            );
            // Timed only for a subscriber that listens.
            let started = (!span.is_disabled()).then(Instant::now);
            let result = http.execute(request).instrument(span.clone()).await;
            if let Some(started) = started {
                span.record(
                    "duration_ms",
                    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                );
            }
            outcome.attempts = attempt;
            let failure = assess(&result, &span, &mut outcome);
            let verdict = failure.map_or(Verdict::Final, |f| classify(safety, &f));
            let delay = retry.decide(verdict, attempt);
            // A wait that would end past the deadline is not started: the
            // call ends now with this attempt's answer (which carries any
            // `Retry-After`).
            let delay = delay.filter(|delay| {
                deadline.is_none_or(|d| {
                    *delay < d.saturating_duration_since(tokio::time::Instant::now())
                })
            });
            match (delay, next) {
                (Some(delay), Some(again)) => {
                    let why = match &result {
                        Ok(r) => r.status().to_string(),
                        Err(e) => crate::error::chain(e),
                    };
                    tracing::warn!(
                        parent: &span,
                        operation = name,
                        attempt,
                        delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                        error = %why,
                        "retrying"
                    );
                    (delay, again)
                }
                _ => {
                    return (
                        result.map(|r| crate::body::limit(r, config.max_response_body())),
                        outcome,
                    );
                }
            }
        };
        // Boxed: a retry is rare, and an inline timer would add its size
        // to every call's future.
        Box::pin(tokio::time::sleep(delay)).await;
        request = *again;
        attempt += 1;
    }
}

/// How safe it is to send a call's request again: the operation's class in
/// the document. A request with a client token counts as idempotent
/// because the SDK always sends one (the generated builders of such
/// operations fill it in, the same on every attempt).
fn safety(operation: Operation) -> RetrySafety {
    match operation.retry() {
        RetrySafety::IdempotentWithClientToken => RetrySafety::Idempotent,
        other => other,
    }
}

/// What went wrong with an attempt, if anything, recording on `span` and in
/// `outcome` what the response says (status, request id, `Retry-After`).
///
/// A 3xx is a failure that is never retried: every HTTP client the SDK
/// sends with follows no redirect ([`crate::HttpClient`]), so the 3xx
/// itself arrives here, and the call reports it with its `Location`.
fn assess(
    result: &reqwest::Result<reqwest::Response>,
    span: &tracing::Span,
    outcome: &mut Outcome,
) -> Option<Failure> {
    let response = match result {
        Ok(response) => response,
        Err(e) if e.is_connect() => return Some(Failure::Connect),
        Err(_) => return Some(Failure::Transport),
    };
    let status = response.status();
    span.record("http.status", status.as_u16());
    let id = crate::error::request_id_value(response.headers());
    if !span.is_disabled()
        && let Some(id) = id.and_then(|id| id.to_str().ok())
    {
        span.record("request_id", id);
    }
    outcome.request_id = id.cloned();
    outcome.retry_after = None;
    if status.is_redirection() {
        Some(Failure::Redirect)
    } else if status.is_success() {
        None
    } else {
        // Read once: the retry decision and the error share it.
        outcome.retry_after = parse_retry_after(response.headers());
        Some(Failure::Status {
            status: status.as_u16(),
            retry_after: outcome.retry_after,
        })
    }
}

/// A copy of `request` for another attempt, or `None` when its body is a
/// stream, which cannot be sent twice.
///
/// `reqwest::Request::try_clone` would do, but it also allocates the
/// request's extension map (three heap blocks) to copy a timeout that the
/// generated client never sets. This copies only what such a request holds:
/// method, URL, headers, version, timeout and a buffered (JSON) body. The
/// body's bytes are copied: sharing them through `try_clone` measured no
/// fewer instructions or large heap blocks per CreateJob.
fn copy_request(request: &reqwest::Request) -> Option<reqwest::Request> {
    let body = match request.body() {
        None => None,
        Some(body) => Some(reqwest::Body::from(bytes::Bytes::copy_from_slice(
            body.as_bytes()?,
        ))),
    };
    let mut copy = reqwest::Request::new(request.method().clone(), request.url().clone());
    *copy.headers_mut() = request.headers().clone();
    *copy.version_mut() = request.version();
    if let Some(timeout) = request.timeout() {
        *copy.timeout_mut() = Some(*timeout);
    }
    *copy.body_mut() = body;
    Some(copy)
}

/// The error of a request that could not be built (an invalid value the
/// checks let through, or one reqwest refuses).
pub(crate) fn build_error(err: GenError) -> Error {
    use blaxel_jobs_client::Error as G;
    match err {
        G::InvalidRequest(msg) | G::Custom(msg) => InvalidInput::general(msg).into(),
        G::CommunicationError(e) => InvalidInput::general(format!(
            "cannot build the request: {}",
            crate::error::chain(&e)
        ))
        .into(),
        other => InvalidInput::general(crate::error::chain(&other)).into(),
    }
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
        // Decoding loses the response headers; the attempts kept the id.
        Error::Decode(e) if e.request_id.is_none() => e.request_id = request_id(),
        Error::ResponseTooLarge(e) if e.request_id.is_none() => e.request_id = request_id(),
        _ => {}
    }
    err
}

/// The request id read from the last response.
fn outcome_request_id(outcome: &Outcome) -> Option<String> {
    outcome
        .request_id
        .as_ref()
        .and_then(|id| id.to_str().ok().map(str::to_owned))
}

/// An error response's [`ApiError`], with the request id and `Retry-After`
/// already read from its headers.
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

/// Turns a generated decoder's error into the SDK's, reading error bodies.
///
/// The request id and `Retry-After` come from `outcome`: the attempts read
/// them when the response arrived, and they are not read again here.
async fn convert<T: DeserializeOwned>(err: GenError, outcome: &Outcome) -> Error {
    use blaxel_jobs_client::Error as G;
    match err {
        G::InvalidRequest(msg) | G::Custom(msg) => InvalidInput::general(msg).into(),
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

/// The body of a 200 as the server sent it, and any other answer as the
/// generated `decode` reads it (an error response, or a status the
/// document does not list): for the calls that keep the server's own JSON
/// text (a read-modify-write).
pub(crate) async fn raw_body<T, F>(
    response: reqwest::Response,
    decode: impl FnOnce(reqwest::Response) -> F,
) -> Result<ResponseValue<bytes::Bytes>, GenError>
where
    F: Future<Output = Result<ResponseValue<T>, GenError>>,
{
    if response.status() != StatusCode::OK {
        // Only 200 is documented as a success: this is an error.
        let err = match decode(response).await {
            Err(e) => e,
            Ok(_) => blaxel_jobs_client::Error::InvalidRequest(
                "a status other than 200 decoded as a success".into(),
            ),
        };
        return Err(err);
    }
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .bytes()
        .await
        .map_err(blaxel_jobs_client::Error::ResponseBodyError)?;
    Ok(ResponseValue::new(body, status, headers))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(body: Option<reqwest::Body>) -> reqwest::Request {
        let mut request = reqwest::Request::new(
            reqwest::Method::POST,
            "http://127.0.0.1:9/v0/jobs?limit=5".parse().unwrap(),
        );
        request
            .headers_mut()
            .insert("x-blaxel-workspace", "acme".parse().unwrap());
        *request.body_mut() = body;
        request
    }

    #[test]
    fn a_copy_keeps_method_url_headers_timeout_and_body() {
        let mut original = request(Some(reqwest::Body::from(r#"{"a":1}"#)));
        *original.timeout_mut() = Some(Duration::from_secs(7));
        let copy = copy_request(&original).expect("a buffered body can be copied");
        assert_eq!(copy.method(), original.method());
        assert_eq!(copy.url(), original.url());
        assert_eq!(copy.headers(), original.headers());
        assert_eq!(copy.version(), original.version());
        assert_eq!(copy.timeout(), Some(&Duration::from_secs(7)));
        let body = copy.body().and_then(|b| b.as_bytes());
        assert_eq!(body, Some(&br#"{"a":1}"#[..]));
    }

    #[test]
    fn a_bodiless_request_copies_without_a_timeout() {
        let copy = copy_request(&request(None)).expect("no body to refuse");
        assert!(copy.body().is_none());
        assert_eq!(copy.timeout(), None);
    }
}
