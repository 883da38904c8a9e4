//! What an answer means for sending the request again: the one classifier.

use crate::error::{ApiError, Error, TransportErrorKind};
use blaxel_jobs_client::operations::RetrySafety;
use std::time::Duration;

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
/// `failure` (the table of [the module](super)). A token-carrying request
/// counts as idempotent: the SDK always sends the token.
fn may_retry(safety: RetrySafety, failure: &Failure) -> bool {
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

/// What an answer says about sending the same request again: the one
/// classification of the SDK's retries (see [the module](super)).
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

/// The [`Verdict`] on one attempt's `failure` (what its status and
/// headers said, or how its exchange failed), for a request of retry class
/// `safety`: what the transport decides before reading any body.
pub(crate) fn classify(safety: RetrySafety, failure: &Failure) -> Verdict {
    match failure {
        // The server did not take the request: back-pressure, whatever the
        // operation.
        Failure::Status {
            status: 429,
            retry_after,
        } => Verdict::BackPressure {
            retry_after: *retry_after,
        },
        f if may_retry(safety, f) => Verdict::Transient {
            retry_after: match f {
                Failure::Status { retry_after, .. } => *retry_after,
                _ => None,
            },
        },
        _ => Verdict::Final,
    }
}

/// The [`Verdict`] on `err`, the error of a call of retry class `safety`,
/// with what the body said: [`classify`], and besides it, Blaxel's
/// back-pressure message (whatever the status), a platform error marked
/// `retryable` (idempotent requests only), and a success whose body could
/// not be read or decoded (idempotent requests only: sending the request
/// again answers the same work).
pub(crate) fn verdict(err: &Error, safety: RetrySafety) -> Verdict {
    match err {
        Error::Chunk(c) => return verdict(&c.error, safety),
        Error::Api(e) if is_back_pressure(e) => {
            return Verdict::BackPressure {
                retry_after: e.retry_after,
            };
        }
        Error::Api(e) if e.retryable == Some(true) && safety.is_idempotent() => {
            return Verdict::Transient {
                retry_after: e.retry_after,
            };
        }
        Error::Decode(e) if e.status.is_success() && safety.is_idempotent() => {
            return Verdict::Transient { retry_after: None };
        }
        _ => {}
    }
    Failure::of(err).map_or(Verdict::Final, |f| classify(safety, &f))
}

impl Error {
    /// Whether sending the request again might succeed, were it idempotent:
    /// connection and transport failures, 408, 429, 5xx, API errors the
    /// platform marks retryable, back-pressure, and success answers that
    /// could not be read. (Whether the SDK retries a call automatically also
    /// depends on its operation; see [`crate::retry`].)
    pub fn is_retryable(&self) -> bool {
        verdict(self, RetrySafety::Idempotent) != Verdict::Final
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::TransportError;
    use reqwest::StatusCode;
    use reqwest::header::HeaderMap;

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
    fn back_pressure_is_told_apart_and_every_safety_waits_for_it() {
        for safety in [
            RetrySafety::Idempotent,
            RetrySafety::IdempotentWithClientToken,
            RetrySafety::NotIdempotent,
        ] {
            assert_eq!(
                classify(safety, &api(429, Some("4"))),
                Verdict::BackPressure {
                    retry_after: Some(Duration::from_secs(4))
                }
            );
        }
        assert_eq!(
            classify(RetrySafety::NotIdempotent, &api(503, Some("1"))),
            Verdict::Transient {
                retry_after: Some(Duration::from_secs(1))
            }
        );
        assert_eq!(
            classify(RetrySafety::NotIdempotent, &api(503, None)),
            Verdict::Final
        );
        assert_eq!(
            classify(RetrySafety::Idempotent, &Failure::Redirect),
            Verdict::Final
        );
    }

    #[test]
    fn is_retryable_is_the_classifier_s_answer_for_an_idempotent_request() {
        let api = |status: u16, body: &str| -> Error {
            crate::error::ApiError::from_parts(
                StatusCode::from_u16(status).unwrap(),
                &HeaderMap::new(),
                bytes::Bytes::from(body.to_owned()),
            )
            .into()
        };
        // Blaxel's back-pressure message, whatever the status.
        let at_limit = r#"{"error": "Maximum parallel executions limit reached"}"#;
        assert!(api(400, at_limit).is_retryable());
        // A platform error marked retryable, whatever the status.
        let marked = r#"{"error": {"code": "X", "message": "m", "retryable": true}}"#;
        assert!(api(409, marked).is_retryable());
        assert!(!api(409, "{}").is_retryable());
        // A success whose body could not be read: the same request answers again.
        let unreadable: Error = crate::error::DecodeError::locate::<serde_json::Value>(
            StatusCode::OK,
            bytes::Bytes::from_static(b"<<not json"),
            "expected value".to_owned(),
        )
        .into();
        assert!(unreadable.is_retryable());
        for status in [408, 429, 500, 502, 503, 504] {
            assert!(api(status, "{}").is_retryable(), "{status}");
        }
        for status in [400, 401, 403, 404, 413, 422, 501] {
            assert!(!api(status, "{}").is_retryable(), "{status}");
        }
    }

    proptest::proptest! {
        /// Any status and `Retry-After`, for any retry class: a verdict,
        /// never a panic, and a final one for every status the table never
        /// retries.
        #[test]
        fn any_failure_is_classified(status in 100u16..1000, after in proptest::option::of(proptest::num::u64::ANY)) {
            let failure = Failure::Status { status, retry_after: after.map(Duration::from_secs) };
            for safety in [RetrySafety::Idempotent, RetrySafety::IdempotentWithClientToken, RetrySafety::NotIdempotent] {
                let v = classify(safety, &failure);
                if !matches!(status, 408 | 429 | 500 | 502 | 503 | 504) {
                    proptest::prop_assert_eq!(v, Verdict::Final);
                }
            }
        }
    }
}
