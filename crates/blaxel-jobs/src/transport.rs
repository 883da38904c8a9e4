//! Sending a request on the wire: the attempts, each in its own tracing
//! span. An attempt ends when the response's status and headers arrive; a
//! failure while its body is read later (the request has reached the
//! server by then) is reported, not retried.
//!
//! Retries happen here, below the generated client, on copies of the built
//! `reqwest::Request` (see [`copy_request`]), which are much cheaper than
//! copies of the typed request it came from.
//!
//! Every response passes here, so this is also where its body gets its size
//! limit ([`crate::body`]), where a 3xx is stopped (it is never retried, and
//! the call turns it into [`crate::Error::Redirect`]), and where the
//! operation's deadline bounds each attempt and each backoff.

use crate::auth::Auth;
use crate::retry::{Failure, RetryConfig, may_retry, parse_retry_after};
use blaxel_jobs_client::operations::{Operation, RetrySafety};
use reqwest::header::HeaderValue;
use std::cell::RefCell;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Instrument as _;

scoped_tls::scoped_thread_local! {
    /// The SDK call being polled on this thread, if any (a call through
    /// `Client::raw` has none): set by [`InCall`] for the length of each poll
    /// of the call's future, and read by the transport, whose future only
    /// runs inside that poll.
    ///
    /// Why a thread-local: the SDK sends through the generated builders, whose
    /// `send()` ends in the generated client's exec hook with nothing but the
    /// built `reqwest::Request` and the operation's id. Nothing per call can
    /// ride along: the request's extension map is private to reqwest, a
    /// `reqwest::Error` cannot carry data back, and an error response is
    /// reduced to status, headers and body (`ResponseValue`) before the SDK
    /// sees it. The alternatives cost more: a generated client per call (its
    /// base URL copied, and the builder borrows it), a marker header, or
    /// re-implementing every operation's request building by hand.
    ///
    /// Why a scoped one and not a tokio task-local: a task-local moves its
    /// value into the thread-local slot and back out on every poll (a
    /// `CallContext` is ~200 bytes, polled several times a call), which cost
    /// ~2.4 k instructions per call; this sets and restores a pointer to the
    /// context, which stays where [`InCall`] holds it. The transport reads the
    /// plan once at the start of a call and writes its [`Outcome`] once at the
    /// end.
    static CALL: CallContext
}

/// Whether the current poll is inside an SDK call (rather than a call
/// through `Client::raw`).
pub(crate) fn in_sdk_call() -> bool {
    CALL.is_set()
}

pin_project_lite::pin_project! {
    /// An SDK call's future: the future `start` makes, made at the first
    /// poll and polled with `context` as the current call ([`CALL`]).
    /// Answers the future's output and how the attempts went.
    ///
    /// Made in place at the first poll rather than passed in: the generated
    /// future is large (over 1.5 KB), and each move of it into a struct and
    /// then into the caller's future is a copy.
    pub(crate) struct InCall<S, F> {
        context: CallContext,
        start: Option<S>,
        #[pin]
        future: Option<F>,
    }
}

impl<S, F> InCall<S, F> {
    /// The call that `context` describes, whose future `start` makes.
    pub(crate) fn new(context: CallContext, start: S) -> Self {
        InCall {
            context,
            start: Some(start),
            future: None,
        }
    }
}

impl<S, F> std::future::Future for InCall<S, F>
where
    S: FnOnce() -> F,
    F: std::future::Future,
{
    type Output = (F::Output, Outcome);

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let mut this = self.project();
        if let Some(start) = this.start.take() {
            this.future.set(Some(start()));
        }
        let Some(future) = this.future.as_mut().as_pin_mut() else {
            // Polled again after it answered (the future is dropped then):
            // an `async fn` would panic; this answers pending instead.
            return std::task::Poll::Pending;
        };
        let output = std::task::ready!(CALL.set(this.context, || future.poll(cx)));
        this.future.set(None);
        std::task::Poll::Ready((output, this.context.outcome.take()))
    }
}

/// What the transport needs to know about the SDK call it serves, and what
/// it reports back.
pub(crate) struct CallContext {
    /// What the transport needs to make the attempts.
    pub(crate) plan: Plan,
    /// What happened, for the error the call may return (written once, when
    /// the transport is done).
    pub(crate) outcome: RefCell<Outcome>,
}

/// How to send one call's request.
#[derive(Clone)]
pub(crate) struct Plan {
    /// The operation: its `operationId` names the spans, and its retry
    /// safety (`x-blaxel-retry` in the document) says what may be retried.
    pub(crate) operation: Operation,
    /// The per-attempt timeout, when the call overrides the client's.
    pub(crate) timeout: Option<Duration>,
    /// The retry settings, when the call overrides the client's.
    pub(crate) retry: Option<Box<RetryConfig>>,
    /// When the whole call must end, attempts and backoff included (`None`:
    /// no deadline, or one too far away to represent).
    /// On tokio's clock, so that tests can run it paused.
    pub(crate) deadline: Option<tokio::time::Instant>,
    /// The access token the call checked before it started, for the first
    /// attempt (`None` for an API key, which is a default header). Later
    /// attempts read the cached token again: it may have been refreshed.
    pub(crate) token: Option<HeaderValue>,
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

impl CallContext {
    pub(crate) fn new(plan: Plan) -> Self {
        CallContext {
            plan,
            outcome: RefCell::new(Outcome::default()),
        }
    }
}

/// Sends requests for one client: the generated client's exec hook.
pub(crate) struct Transport {
    pub(crate) auth: Arc<Auth>,
    pub(crate) retry: RetryConfig,
    /// The client's per-attempt timeout.
    pub(crate) timeout: Duration,
    /// The size limit of response bodies.
    pub(crate) max_body: u64,
}

impl Transport {
    /// Sends `request`, retrying as the call's safety and the retry settings
    /// allow. Outside an SDK call (through `Client::raw`), one attempt.
    ///
    /// Not itself `async`: the future it answers is boxed by the exec hook
    /// and copied into its box whole, so it is the `attempts` future alone,
    /// with the outcome written back when it ends (still inside the call's
    /// poll: the generated future polls it, and `InCall` polls that).
    ///
    /// Keep that future under 1 KiB (984 bytes in a release build of
    /// 2026-12-01): glibc serves larger blocks from its slow path, which
    /// cost 3.4 k instructions a call when it was 2,192 bytes (README,
    /// "Request overhead"). Hence the boxed retry copy and timer below.
    pub(crate) fn send(
        self: Arc<Self>,
        http: reqwest::Client,
        request: reqwest::Request,
        operation: &'static str,
    ) -> impl std::future::Future<Output = reqwest::Result<reqwest::Response>> + Send + 'static
    {
        use futures_util::FutureExt as _;
        let in_call = CALL.is_set();
        let plan = if in_call {
            CALL.with(|c| c.plan.clone())
        } else {
            // `operation` is the generated client's method name; the span
            // names the operation by its operationId, as for SDK calls.
            // (Every generated method is in the table.)
            let operation = Operation::ALL
                .into_iter()
                .find(|o| o.method_name() == operation)
                .unwrap_or(Operation::GetJob);
            Plan {
                operation,
                timeout: None,
                retry: None,
                deadline: None,
                token: self.auth.token_header(),
            }
        };
        // A browser login's token may be renewed after a 401: those calls
        // go through a (boxed) wrapper, so that the others' futures do not
        // grow.
        let attempts = if self.auth.reauthorizes() {
            futures_util::future::Either::Right(Box::pin(
                self.attempts_reauthorizing(http, request, plan, in_call),
            ))
        } else {
            futures_util::future::Either::Left(self.attempts(http, request, plan, in_call))
        };
        attempts.map(move |(result, outcome)| {
            if in_call && CALL.is_set() {
                CALL.with(|c| *c.outcome.borrow_mut() = outcome);
            }
            result
        })
    }

    /// [`attempts`](Self::attempts); then, if the API refused the credential
    /// with 401 and it could be renewed (a browser login's token; see
    /// [`Auth::reauthorize`]), the attempts once more with the renewed one.
    /// Once: a second 401 is the answer.
    async fn attempts_reauthorizing(
        self: Arc<Self>,
        http: reqwest::Client,
        request: reqwest::Request,
        plan: Plan,
        in_call: bool,
    ) -> (reqwest::Result<reqwest::Response>, Outcome) {
        let again = copy_request(&request);
        let mut second = plan.clone();
        let (result, first) = Arc::clone(&self)
            .attempts(http.clone(), request, plan, in_call)
            .await;
        let refused = matches!(&result, Ok(r) if r.status() == reqwest::StatusCode::UNAUTHORIZED);
        let Some(again) = again.filter(|_| refused) else {
            return (result, first);
        };
        // The token of the attempt the API refused: the one the call
        // checked, or the cached one for a retry.
        let sent = match first.attempts {
            0 | 1 => second.token.take(),
            _ => self.auth.token_header(),
        };
        let Some(header) = self.auth.reauthorize(sent.as_ref(), second.deadline).await else {
            return (result, first);
        };
        drop(result);
        second.token = Some(header);
        let (result, mut outcome) = self.attempts(http, again, second, in_call).await;
        outcome.attempts = outcome.attempts.saturating_add(first.attempts);
        (result, outcome)
    }

    /// Makes the attempts of one call: with its retry settings inside an SDK
    /// call, a single attempt outside one. Answers the last attempt's result
    /// and how the attempts went.
    async fn attempts(
        self: Arc<Self>,
        http: reqwest::Client,
        mut request: reqwest::Request,
        plan: Plan,
        in_call: bool,
    ) -> (reqwest::Result<reqwest::Response>, Outcome) {
        let Plan {
            operation,
            timeout,
            deadline,
            mut token,
            retry,
        } = plan;
        let retry = match (in_call, retry.as_deref()) {
            (false, _) => &NO_RETRY,
            (true, Some(retry)) => retry,
            (true, None) => &self.retry,
        };
        let mut outcome = Outcome::default();
        let (name, safety) = (operation.name(), safety(operation));
        if let Some(t) = timeout {
            *request.timeout_mut() = Some(t);
        }
        let attempt_timeout = timeout.unwrap_or(self.timeout);
        let mut attempt: u32 = 1;
        loop {
            // The access token: the one the call checked for the first
            // attempt, the cached one (it may have been refreshed since) for
            // later ones. An API key is a default header of the client.
            if let Some(value) = token
                .take()
                .or_else(|| (attempt > 1).then(|| self.auth.token_header()).flatten())
            {
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
            // The attempt, in a block of its own: nothing in it (the
            // response above all) is kept while waiting to retry, so the
            // wait's state shares their room in this (boxed) future.
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
                let delay = failure
                    .filter(|f| may_retry(safety, f))
                    .and_then(|f| retry.decide(&f, attempt));
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
                            result.map(|r| crate::body::limit(r, self.max_body)),
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
}

/// One attempt: the retry settings of a call through `Client::raw`.
const NO_RETRY: RetryConfig = RetryConfig {
    max_attempts: 1,
    initial_backoff: Duration::ZERO,
    max_backoff: Duration::ZERO,
    max_retry_after: Duration::ZERO,
};

/// How safe it is to send an SDK call's request again: the operation's
/// class in the document. A request with a client token counts as
/// idempotent because the SDK always sends one (CreateJobExecution's
/// builder fills in `executionId`, the same on every attempt); calls
/// through `Client::raw`, which may carry none, are never retried.
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
