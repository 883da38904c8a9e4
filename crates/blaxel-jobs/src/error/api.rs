//! An error status from the API, and the parsing of its body.

use super::text::{Clip, MESSAGE_SHOWN, SHORT_SHOWN};
use blaxel_jobs_client::headers;
use blaxel_jobs_client::types::ErrorCode;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use std::fmt;
use std::time::Duration;

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
pub(super) struct BodySize(pub(super) usize, pub(super) bool);

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

#[cfg(test)]
mod hostile_input_tests {
    use super::*;
    use crate::error::{DecodeError, Redirect};
    use blaxel_jobs_client::types;
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
