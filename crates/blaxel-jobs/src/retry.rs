//! Automatic retries, and the rules that keep them from duplicating work.
//!
//! A failed attempt is retried, up to [`RetryConfig::max_attempts`] attempts
//! in all (3 by default), when the failure is transient **and** sending the
//! request again cannot do the work twice:
//!
//! Which operation is which comes from the document: each operation's
//! `x-blaxel-retry` class, generated into
//! [`Operation::retry`](blaxel_jobs_client::operations::Operation::retry).
//!
//! | failure | `idempotent`, `idempotent-with-client-token` | `not-idempotent` |
//! |---|---|---|
//! | connection not established | retried | retried |
//! | other transport failure, timeout | retried | never (the job may exist) |
//! | 408, 502, 504 | retried | never |
//! | 429 | retried | retried (the server did not process it) |
//! | 503 | retried | only with `Retry-After` |
//! | 500 | retried (idempotent) | never |
//! | 400, 401, 403, 404, 409, other 4xx | never | never |
//! | 3xx (see [`crate::Error::Redirect`]) | never | never |
//!
//! A connection that fails while a response body is being read is not
//! retried: the request has reached the server, and the error is returned.
//!
//! Retries never outlast the call's deadline
//! ([`ClientBuilder::operation_timeout`](crate::ClientBuilder::operation_timeout)):
//! an attempt that would end after it gets a shorter timeout, and a backoff
//! or `Retry-After` wait that would end after it is not started; the call
//! returns the last answer instead.
//!
//! An `idempotent-with-client-token` operation (CreateJobExecution) counts
//! as idempotent because the SDK always sends a client-generated token (its
//! `executionId`, and a message `id`), the same on every attempt: the
//! server returns the execution it already started instead of starting a
//! second one.
//!
//! Delays use exponential backoff with full jitter: a random wait between 0
//! and `min(max_backoff, initial_backoff × 2^(attempt-1))`. A `Retry-After`
//! header (seconds or an HTTP date) replaces that delay; when it asks for
//! more than [`RetryConfig::max_retry_after`], the SDK does not wait and
//! returns the error, which carries the value in [`crate::ApiError::retry_after`].

use crate::error::{ApiError, Error, TransportErrorKind};
use blaxel_jobs_client::operations::RetrySafety;
use reqwest::header::HeaderMap;
use std::time::{Duration, SystemTime};

/// Retry settings. [`RetryConfig::default`] makes 3 attempts in all.
///
/// Build one from the default with the `with_…` methods:
///
/// ```
/// use std::time::Duration;
/// let retry = blaxel_jobs::RetryConfig::default()
///     .with_max_attempts(5)
///     .with_max_backoff(Duration::from_secs(5));
/// assert_eq!(retry.max_attempts(), 5);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryConfig {
    /// Attempts in all, the first one included; 1 turns retries off.
    pub(crate) max_attempts: u32,
    /// The backoff ceiling of the first retry.
    pub(crate) initial_backoff: Duration,
    /// The largest backoff ceiling.
    pub(crate) max_backoff: Duration,
    /// The longest `Retry-After` the SDK will wait for.
    pub(crate) max_retry_after: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(20),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryConfig {
    /// No retries: every call makes exactly one attempt.
    pub fn disabled() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The same settings with another number of attempts (at least 1).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The same settings with another backoff ceiling for the first retry
    /// (default 250 ms).
    pub fn with_initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// The same settings with another largest backoff ceiling (default 20 s).
    pub fn with_max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// The same settings with another longest `Retry-After` to wait for
    /// (default 60 s); a longer one ends the call with the server's answer.
    pub fn with_max_retry_after(mut self, wait: Duration) -> Self {
        self.max_retry_after = wait;
        self
    }

    /// Attempts in all, the first one included; 1 means no retries.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The backoff ceiling of the first retry.
    pub fn initial_backoff(&self) -> Duration {
        self.initial_backoff
    }

    /// The largest backoff ceiling.
    pub fn max_backoff(&self) -> Duration {
        self.max_backoff
    }

    /// The longest `Retry-After` the SDK will wait for.
    pub fn max_retry_after(&self) -> Duration {
        self.max_retry_after
    }

    /// The full-jitter backoff before attempt `attempt + 1`.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(31);
        let ceiling = self
            .initial_backoff
            .saturating_mul(1u32 << exp)
            .min(self.max_backoff);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(fastrand::u64(0..=nanos))
    }

    /// Whether to retry after `failure` (one that [`may_retry`] allows) on
    /// attempt `attempt`, and after how long.
    pub(crate) fn decide(&self, failure: &Failure, attempt: u32) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        match failure {
            Failure::Status {
                retry_after: Some(wait),
                ..
            } => (*wait <= self.max_retry_after).then_some(*wait),
            _ => Some(self.backoff(attempt)),
        }
    }
}

/// What went wrong with one attempt, as the retry rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// No connection was made: the request never reached the server.
    Connect,
    /// The exchange failed after the request may have been sent (timeouts included).
    Transport,
    /// The server answered with an error status.
    Status {
        /// The status.
        status: u16,
        /// What `Retry-After` asked for.
        retry_after: Option<Duration>,
    },
    /// The server answered with a redirection, which is never followed.
    Redirect,
}

impl Failure {
    /// The failure of an error, when the retry rules have anything to say about it.
    pub(crate) fn of(err: &Error) -> Option<Failure> {
        match err {
            Error::Transport(t) if t.kind == TransportErrorKind::Connect => Some(Failure::Connect),
            Error::Transport(_) => Some(Failure::Transport),
            Error::Api(api) => Some(Failure::Status {
                status: api.status.as_u16(),
                retry_after: api.retry_after,
            }),
            _ => None,
        }
    }
}

/// Whether a request of this retry class may be sent again after
/// `failure` (the table at the top of this module). A token-carrying
/// request counts as idempotent: the SDK always sends the token.
pub(crate) fn may_retry(safety: RetrySafety, failure: &Failure) -> bool {
    match (safety.is_idempotent(), failure) {
        (_, Failure::Redirect) => false,
        (_, Failure::Connect) => true,
        (idempotent, Failure::Transport) => idempotent,
        (true, Failure::Status { status, .. }) => {
            matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
        }
        (
            false,
            Failure::Status {
                status,
                retry_after,
            },
        ) => *status == 429 || (*status == 503 && retry_after.is_some()),
    }
}

/// What a call's error says about sending the same request again, for a
/// layer that makes its own attempts with the transport's retries turned
/// off (a batch's creates): the rules of the table above, with
/// back-pressure told apart. Retries do not nest: a call classified here
/// was sent once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// "Not now": 429, or Blaxel's message for a workspace at its limit of
    /// parallel executions, whatever the status. Waiting helps, however
    /// long it takes.
    BackPressure {
        /// What `Retry-After` asked for.
        retry_after: Option<Duration>,
    },
    /// A failure that may pass, after which the request may be sent again:
    /// a connection or transport failure, a timeout, 408, 500, 502, 503 or
    /// 504 (as [`may_retry`] allows for the operation), or a success whose
    /// body could not be read or decoded (idempotent operations only: the
    /// request did its work, and sending it again answers the same).
    Transient {
        /// What `Retry-After` asked for.
        retry_after: Option<Duration>,
    },
    /// Sending it again cannot succeed: a client error (400, 401, 403, 404,
    /// 409, 413, ...), a redirect, a body over the size limit, or an error
    /// raised before sending.
    Final,
}

/// The [`Verdict`] on `err`, the error of a call of retry class `safety`.
pub(crate) fn verdict(err: &Error, safety: RetrySafety) -> Verdict {
    if let Error::Api(e) = err
        && is_back_pressure(e)
    {
        return Verdict::BackPressure {
            retry_after: e.retry_after,
        };
    }
    if let Error::Decode(e) = err
        && e.status.is_success()
        && safety.is_idempotent()
    {
        return Verdict::Transient { retry_after: None };
    }
    match Failure::of(err) {
        Some(failure) if may_retry(safety, &failure) => Verdict::Transient {
            retry_after: match failure {
                Failure::Status { retry_after, .. } => retry_after,
                _ => None,
            },
        },
        _ => Verdict::Final,
    }
}

/// Whether an answer only says "not now": 429, or Blaxel's message for a
/// workspace at its limit of parallel executions, whatever the status.
pub(crate) fn is_back_pressure(e: &ApiError) -> bool {
    e.status.as_u16() == 429
        || e.message
            .as_deref()
            .into_iter()
            .chain(e.code.as_ref().map(|c| c.as_str()))
            .any(|m| {
                m.to_ascii_lowercase()
                    .contains("maximum parallel executions")
            })
}

/// Reads `Retry-After` as seconds or as an HTTP date.
///
/// Any value a server sends gives a duration or `None`, never a panic: a
/// number of seconds too large for a [`Duration`] (`1e300`,
/// `18446744073709551616`) saturates to [`Duration::MAX`], which is longer
/// than any wait the SDK accepts, so the call ends with the error that
/// carries it.
pub fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    retry_after_value(value, SystemTime::now())
}

/// [`parse_retry_after`] of one header value, at time `now`.
pub(crate) fn retry_after_value(value: &str, now: SystemTime) -> Option<Duration> {
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if value.bytes().all(|b| b.is_ascii_digit()) && !value.is_empty() {
        // Digits only, yet not a u64: more seconds than a u64 holds.
        return Some(Duration::MAX);
    }
    if let Ok(secs) = value.parse::<f64>() {
        if secs.is_nan() || secs < 0.0 {
            return None;
        }
        return Some(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ApiError, TransportError};
    use reqwest::StatusCode;

    /// The failure of an API error with this status and `Retry-After`.
    fn api(status: u16, retry_after: Option<&str>) -> Failure {
        let mut headers = HeaderMap::new();
        if let Some(v) = retry_after {
            headers.insert(reqwest::header::RETRY_AFTER, v.parse().unwrap());
        }
        let err: Error = ApiError::from_parts(
            StatusCode::from_u16(status).unwrap(),
            &headers,
            bytes::Bytes::new(),
        )
        .into();
        Failure::of(&err).unwrap()
    }

    /// The failure of a transport error of this kind.
    fn transport(kind: TransportErrorKind) -> Failure {
        let mut e = TransportError::timeout(Duration::from_secs(1));
        e.kind = kind;
        Failure::of(&Error::Transport(e)).unwrap()
    }

    #[test]
    fn idempotent_operations_retry_transient_statuses_only() {
        for status in [408, 429, 500, 502, 503, 504] {
            assert!(
                may_retry(RetrySafety::Idempotent, &api(status, None)),
                "{status}"
            );
        }
        for status in [400, 401, 403, 404, 409, 413, 422, 501] {
            assert!(
                !may_retry(RetrySafety::Idempotent, &api(status, None)),
                "{status}"
            );
        }
        assert!(may_retry(
            RetrySafety::Idempotent,
            &transport(TransportErrorKind::Other)
        ));
        assert!(may_retry(
            RetrySafety::Idempotent,
            &transport(TransportErrorKind::Timeout)
        ));
    }

    #[test]
    fn a_client_token_makes_a_request_as_safe_to_retry_as_an_idempotent_one() {
        let failures = [
            api(408, None),
            api(500, None),
            api(503, None),
            transport(TransportErrorKind::Timeout),
            transport(TransportErrorKind::Other),
        ];
        for f in failures {
            assert!(
                may_retry(RetrySafety::IdempotentWithClientToken, &f),
                "{f:?}"
            );
            assert!(!may_retry(RetrySafety::NotIdempotent, &f), "{f:?}");
        }
    }

    #[test]
    fn create_job_retries_only_when_the_server_cannot_have_processed_it() {
        let s = RetrySafety::NotIdempotent;
        assert!(may_retry(s, &transport(TransportErrorKind::Connect)));
        assert!(!may_retry(s, &transport(TransportErrorKind::Timeout)));
        assert!(!may_retry(s, &transport(TransportErrorKind::Other)));
        assert!(may_retry(s, &api(429, None)));
        assert!(may_retry(s, &api(503, Some("1"))));
        assert!(!may_retry(s, &api(503, None)));
        for status in [400, 401, 403, 404, 408, 409, 500, 502, 504] {
            assert!(!may_retry(s, &api(status, None)), "{status}");
        }
    }

    #[test]
    fn a_batch_waits_out_back_pressure_retries_what_may_pass_and_stops_on_the_rest() {
        let api_err = |status: u16, retry_after: Option<&str>, body: &str| -> Error {
            let mut headers = HeaderMap::new();
            if let Some(v) = retry_after {
                headers.insert(reqwest::header::RETRY_AFTER, v.parse().unwrap());
            }
            ApiError::from_parts(
                StatusCode::from_u16(status).unwrap(),
                &headers,
                bytes::Bytes::from(body.to_owned()),
            )
            .into()
        };
        let token = RetrySafety::IdempotentWithClientToken;
        let secs = |s| Some(Duration::from_secs(s));
        assert_eq!(
            verdict(&api_err(429, Some("3"), "{}"), token),
            Verdict::BackPressure {
                retry_after: secs(3)
            }
        );
        let at_limit = r#"{"error": "Maximum parallel executions limit reached"}"#;
        assert_eq!(
            verdict(&api_err(400, None, at_limit), token),
            Verdict::BackPressure { retry_after: None }
        );
        for status in [408, 500, 502, 504] {
            assert_eq!(
                verdict(&api_err(status, None, "{}"), token),
                Verdict::Transient { retry_after: None },
                "{status}"
            );
        }
        assert_eq!(
            verdict(&api_err(503, Some("2"), "{}"), token),
            Verdict::Transient {
                retry_after: secs(2)
            }
        );
        for kind in [
            TransportErrorKind::Connect,
            TransportErrorKind::Timeout,
            TransportErrorKind::Other,
        ] {
            let mut e = TransportError::timeout(Duration::from_secs(1));
            e.kind = kind;
            assert_eq!(
                verdict(&Error::Transport(e), token),
                Verdict::Transient { retry_after: None },
                "{kind:?}"
            );
        }
        let unreadable: Error = crate::error::DecodeError::locate::<serde_json::Value>(
            StatusCode::OK,
            bytes::Bytes::from_static(b"<<not json"),
            "expected value".to_owned(),
        )
        .into();
        assert_eq!(
            verdict(&unreadable, token),
            Verdict::Transient { retry_after: None }
        );
        assert_eq!(
            verdict(&unreadable, RetrySafety::NotIdempotent),
            Verdict::Final
        );
        for status in [400, 401, 403, 404, 409, 413, 422] {
            assert_eq!(
                verdict(&api_err(status, None, "{}"), token),
                Verdict::Final,
                "{status}"
            );
        }
        let invalid: Error = crate::error::InvalidInput::at_field("x", "no").into();
        assert_eq!(verdict(&invalid, token), Verdict::Final);
    }

    #[test]
    fn attempts_are_capped_and_retry_after_is_honoured_up_to_the_cap() {
        let cfg = RetryConfig::default();
        assert!(cfg.decide(&api(503, None), 1).is_some());
        assert!(cfg.decide(&api(503, None), 3).is_none());
        assert_eq!(
            cfg.decide(&api(429, Some("7")), 1),
            Some(Duration::from_secs(7))
        );
        assert_eq!(cfg.decide(&api(429, Some("3600")), 1), None);
        let off = RetryConfig::disabled();
        assert!(off.decide(&api(503, None), 1).is_none());
    }

    #[test]
    fn backoff_is_full_jitter_below_an_exponential_ceiling() {
        let cfg = RetryConfig {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(350),
            ..RetryConfig::default()
        };
        for _ in 0..200 {
            assert!(cfg.backoff(1) <= Duration::from_millis(100));
            assert!(cfg.backoff(2) <= Duration::from_millis(200));
            assert!(cfg.backoff(10) <= Duration::from_millis(350));
        }
        // Full jitter spreads the delays: not all samples are equal.
        let samples: Vec<_> = (0..50).map(|_| cfg.backoff(3)).collect();
        assert!(samples.iter().any(|d| *d != samples[0]));
    }

    #[test]
    fn retry_after_parses_seconds_and_http_dates() {
        let mut h = HeaderMap::new();
        h.insert(reqwest::header::RETRY_AFTER, "12".parse().unwrap());
        assert_eq!(parse_retry_after(&h), Some(Duration::from_secs(12)));
        let later = SystemTime::now() + Duration::from_secs(30);
        h.insert(
            reqwest::header::RETRY_AFTER,
            httpdate::fmt_http_date(later).parse().unwrap(),
        );
        let d = parse_retry_after(&h).unwrap();
        assert!(
            d > Duration::from_secs(25) && d <= Duration::from_secs(30),
            "{d:?}"
        );
        h.insert(reqwest::header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(parse_retry_after(&h), None);
    }

    #[test]
    fn huge_retry_after_values_saturate_instead_of_panicking() {
        let now = SystemTime::now();
        for v in [
            "1e300",
            "18446744073709551616",
            "1e20",
            "inf",
            "999999999999999999999999",
        ] {
            assert_eq!(retry_after_value(v, now), Some(Duration::MAX), "{v}");
        }
        for v in ["-1", "NaN", "-inf", ""] {
            assert_eq!(retry_after_value(v, now), None, "{v}");
        }
        assert_eq!(
            retry_after_value("1.5", now),
            Some(Duration::from_millis(1500))
        );
        // Longer than any wait: the error is returned, not retried.
        let failure = Failure::Status {
            status: 503,
            retry_after: Some(Duration::MAX),
        };
        assert_eq!(RetryConfig::default().decide(&failure, 1), None);
    }

    proptest::proptest! {
        #[test]
        fn any_retry_after_header_parses_without_panicking(value in "\\PC*", secs in proptest::num::f64::ANY, n in proptest::num::u128::ANY) {
            let now = SystemTime::now();
            let _ = retry_after_value(&value, now);
            let _ = retry_after_value(&secs.to_string(), now);
            let _ = retry_after_value(&format!("{secs:e}"), now);
            proptest::prop_assert!(retry_after_value(&n.to_string(), now).is_some());
            if let Ok(v) = reqwest::header::HeaderValue::from_str(&value) {
                let mut h = HeaderMap::new();
                h.insert(reqwest::header::RETRY_AFTER, v);
                let _ = parse_retry_after(&h);
            }
        }

        #[test]
        fn any_retry_settings_and_failures_decide_without_panicking(
            attempts in proptest::num::u32::ANY,
            initial in proptest::num::u64::ANY,
            max in proptest::num::u64::ANY,
            max_after in proptest::num::u64::ANY,
            nanos in proptest::num::u32::ANY,
            after in proptest::option::of(proptest::num::u64::ANY),
            status in 100u16..1000,
            attempt in proptest::num::u32::ANY,
        ) {
            let cfg = RetryConfig {
                max_attempts: attempts,
                initial_backoff: Duration::new(initial, nanos % 1_000_000_000),
                max_backoff: Duration::new(max, nanos % 1_000_000_000),
                max_retry_after: Duration::from_secs(max_after),
            };
            let failure = Failure::Status { status, retry_after: after.map(Duration::from_secs) };
            if let Some(d) = cfg.decide(&failure, attempt) {
                proptest::prop_assert!(d <= cfg.max_retry_after.max(cfg.max_backoff));
            }
            let _ = cfg.decide(&Failure::Connect, attempt);
            for safety in [RetrySafety::Idempotent, RetrySafety::IdempotentWithClientToken, RetrySafety::NotIdempotent] {
                let _ = may_retry(safety, &failure);
            }
        }
    }
}
