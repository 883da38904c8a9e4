//! One API call: the attempts of a generated builder's `send()`, with the
//! credential refreshed, a tracing span per attempt, retries under
//! [`crate::retry`]'s rules, and progenitor's errors turned into [`Error`].

use crate::Client;
use crate::error::{ApiError, DecodeError, Error, InvalidInput, TransportError};
use crate::retry::Safety;
use blaxel_jobs_client::{ByteStream, ResponseValue, builder, types};
use futures_util::TryStreamExt as _;
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::time::{Duration, Instant};
use tracing::Instrument as _;

type GenError = blaxel_jobs_client::Error<ByteStream>;

tokio::task_local! {
    /// The request id of the response the current attempt received.
    static RESPONSE_REQUEST_ID: std::cell::RefCell<Option<String>>;
}

/// The generated client's response hook: records the status and request id
/// in the attempt's span, and keeps the request id for errors that lose the
/// response headers (decode errors).
pub(crate) fn note_response(result: &reqwest::Result<reqwest::Response>) {
    let Ok(response) = result else { return };
    let span = tracing::Span::current();
    span.record("http.status", response.status().as_u16());
    if let Some(id) = crate::error::request_id(response.headers()) {
        span.record("request_id", id.as_str());
        let _ = RESPONSE_REQUEST_ID.try_with(|cell| *cell.borrow_mut() = Some(id));
    }
}

/// A generated request builder that the SDK can send (and send again).
pub(crate) trait Operation: Clone + Send {
    /// What a successful response decodes to.
    type Output: DeserializeOwned + Send;
    /// The operationId, for spans and errors.
    const NAME: &'static str;
    /// Whether the request may be sent twice.
    const SAFETY: Safety;
    /// Sends one attempt.
    fn send_once(
        self,
    ) -> impl Future<Output = Result<ResponseValue<Self::Output>, GenError>> + Send;
}

macro_rules! operation {
    ($builder:ident, $output:ty, $safety:ident) => {
        impl<'a> Operation for builder::$builder<'a> {
            type Output = $output;
            const NAME: &'static str = stringify!($builder);
            const SAFETY: Safety = Safety::$safety;
            fn send_once(
                self,
            ) -> impl Future<Output = Result<ResponseValue<Self::Output>, GenError>> + Send {
                self.send()
            }
        }
    };
}

operation!(ListJobs, types::JobList, Idempotent);
operation!(CreateJob, types::Job, NotIdempotent);
operation!(GetJob, types::Job, Idempotent);
operation!(UpdateJob, types::Job, Idempotent);
operation!(DeleteJob, types::Job, Idempotent);
operation!(ListJobRevisions, Vec<types::RevisionMetadata>, Idempotent);
operation!(ListJobExecutions, types::JobExecutionList, Idempotent);
// Idempotent because the SDK always sends a client-generated executionId.
operation!(
    CreateJobExecution,
    types::CreateJobExecutionOutput,
    Idempotent
);
operation!(GetJobExecution, types::JobExecution, Idempotent);
operation!(DeleteJobExecution, types::JobExecution, Idempotent);
operation!(
    ListJobExecutionTasks,
    types::JobExecutionTaskList,
    Idempotent
);

/// Sends `op`, retrying as the client's retry settings and the operation's
/// safety allow. `timeout` overrides the client's per-attempt timeout.
pub(crate) async fn execute<O: Operation>(
    client: &Client,
    op: O,
    timeout: Option<Duration>,
) -> Result<O::Output, Error> {
    let retry = &client.config().retry;
    let mut attempt: u32 = 1;
    loop {
        client.auth().ensure_fresh().await?;
        let span = tracing::info_span!(
            "blaxel_jobs.request",
            operation = O::NAME,
            http.method = tracing::field::Empty,
            url.path = tracing::field::Empty,
            attempt,
            http.status = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
            request_id = tracing::field::Empty,
        );
        let started = Instant::now();
        let result = attempt_once(op.clone(), timeout)
            .instrument(span.clone())
            .await;
        span.record("duration_ms", started.elapsed().as_millis() as u64);
        let err = match result {
            Ok(value) => return Ok(value.into_inner()),
            Err(err) => err,
        };
        if err.is_unauthorized() {
            // A refused access token may have been revoked: fetch a new one
            // next time. (401 itself is never retried.)
            client.auth().invalidate();
        }
        match retry.decide(O::SAFETY, &err, attempt) {
            Some(delay) => {
                tracing::warn!(
                    parent: &span,
                    operation = O::NAME,
                    attempt,
                    delay_ms = delay.as_millis() as u64,
                    error = %err,
                    "retrying"
                );
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
            None => return Err(with_attempts(err, attempt)),
        }
    }
}

async fn attempt_once<O: Operation>(
    op: O,
    timeout: Option<Duration>,
) -> Result<ResponseValue<O::Output>, Error> {
    let attempt = async move {
        let sent = match timeout {
            Some(t) => tokio::time::timeout(t, op.send_once())
                .await
                .map_err(|_| Error::Transport(TransportError::timeout(t)))?,
            None => op.send_once().await,
        };
        match sent {
            Ok(v) => Ok(v),
            Err(e) => {
                let mut err = convert::<O::Output>(e).await;
                if let Error::Decode(d) = &mut err
                    && d.request_id.is_none()
                {
                    d.request_id = RESPONSE_REQUEST_ID.with(|c| c.borrow().clone());
                }
                Err(err)
            }
        }
    };
    RESPONSE_REQUEST_ID
        .scope(std::cell::RefCell::new(None), attempt)
        .await
}

fn with_attempts(mut err: Error, attempts: u32) -> Error {
    match &mut err {
        Error::Api(e) => e.attempts = attempts,
        Error::Transport(e) => e.attempts = attempts,
        _ => {}
    }
    err
}

/// Turns a generated client's error into the SDK's, reading error bodies.
pub(crate) async fn convert<T: DeserializeOwned>(err: GenError) -> Error {
    use blaxel_jobs_client::Error as G;
    match err {
        G::InvalidRequest(msg) | G::Custom(msg) => InvalidInput::general(msg).into(),
        G::CommunicationError(e) if e.is_builder() => {
            InvalidInput::general(crate::error::chain(&e)).into()
        }
        G::CommunicationError(e) | G::ResponseBodyError(e) | G::InvalidUpgrade(e) => {
            TransportError::from_reqwest(e).into()
        }
        G::ErrorResponse(rv) => {
            let status = rv.status();
            let headers = rv.headers().clone();
            match rv.into_inner().into_inner().try_collect::<Vec<_>>().await {
                Ok(chunks) => ApiError::from_parts(status, &headers, chunks.concat().into()).into(),
                Err(e) => TransportError::from_reqwest(e).into(),
            }
        }
        G::UnexpectedResponse(response) => {
            let status = response.status();
            let headers = response.headers().clone();
            let body = match response.bytes().await {
                Ok(b) => b,
                Err(e) => return TransportError::from_reqwest(e).into(),
            };
            if status.is_success() {
                let mut e = DecodeError::locate::<T>(
                    status,
                    body,
                    format!("the document does not list status {status} for this operation"),
                );
                e.request_id = crate::error::request_id(&headers);
                e.into()
            } else {
                ApiError::from_parts(status, &headers, body).into()
            }
        }
        // Only the documented 200 response is decoded, so the status was 200.
        G::InvalidResponsePayload(body, e) => {
            DecodeError::locate::<T>(StatusCode::OK, body, e.to_string()).into()
        }
    }
}

/// The state every fluent builder shares: the client, the generated builder
/// being filled in, a per-call timeout, and the first invalid value given.
#[derive(Debug, Clone)]
pub(crate) struct Call<'a, O> {
    pub(crate) client: &'a Client,
    pub(crate) op: O,
    timeout: Option<Duration>,
    invalid: Option<InvalidInput>,
}

impl<'a, O: Operation> Call<'a, O> {
    pub(crate) fn new(client: &'a Client, op: O) -> Self {
        Call {
            client,
            op,
            timeout: None,
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
        self.timeout = Some(timeout);
        self
    }

    pub(crate) async fn send(self) -> Result<O::Output, Error> {
        if let Some(e) = self.invalid {
            return Err(e.into());
        }
        execute(self.client, self.op, self.timeout).await
    }
}
