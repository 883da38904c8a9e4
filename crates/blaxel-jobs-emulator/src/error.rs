//! Error answers, and the helpers that build JSON responses.
//!
//! API errors use the document's `Error` shape,
//! `{"code": <status>, "error": "<kind>", "message": "..."}`. Authentication
//! errors and oversized bodies (413 `REQUEST_ENTITY_TOO_LARGE`) use the
//! gateway's `PlatformError` envelope instead,
//! `{"error": {"code": "AUTHENTICATION_REQUIRED", "origin": "platform",
//! "timestamp": "...", ...}}`, with the header `X-Blaxel-Source: platform`,
//! as Blaxel documents its platform errors. The token endpoint's answers to
//! the refresh grant use OAuth 2.0's shape (RFC 6749, section 5.2),
//! `{"error": "invalid_grant", "error_description": "..."}`, which is what
//! `bl` and Blaxel's TypeScript SDK read from it.

use crate::clock::wall_clock_timestamp;
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use blaxel_jobs_client::headers::BLAXEL_SOURCE;
use blaxel_jobs_client::types::{self, ErrorCode};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

/// The codes of the document's `ErrorCode` that the emulator answers, as
/// the generated enum spells them (statics, so that the spelling lives as
/// long as the program).
pub(crate) mod code {
    use blaxel_jobs_client::types::ErrorCode;

    /// An unknown `Blaxel-Version`.
    pub(crate) static INVALID_API_VERSION: ErrorCode = ErrorCode::InvalidApiVersion;
    /// No credential.
    pub(crate) static AUTHENTICATION_REQUIRED: ErrorCode = ErrorCode::AuthenticationRequired;
    /// A credential refused.
    pub(crate) static AUTHENTICATION_FAILED: ErrorCode = ErrorCode::AuthenticationFailed;
    /// A credential that may not do this.
    pub(crate) static FORBIDDEN: ErrorCode = ErrorCode::Forbidden;
    /// A body larger than the platform accepts.
    pub(crate) static REQUEST_ENTITY_TOO_LARGE: ErrorCode = ErrorCode::RequestEntityTooLarge;
}

/// The body shape of an [`ApiError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// The API's `Error` object.
    Api,
    /// The gateway's `PlatformError` envelope.
    Platform,
    /// OAuth 2.0's error object, `{"error", "error_description"}`.
    OAuth,
}

/// An error answer.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) kind: &'static str,
    pub(crate) message: String,
    pub(crate) retry_after: Option<String>,
    shape: Shape,
}

impl ApiError {
    /// An error with the API's `Error` body.
    pub(crate) fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            kind,
            message: message.into(),
            retry_after: None,
            shape: Shape::Api,
        }
    }

    /// 400 `bad_request`.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 400 `validation_error`: the request breaks the API document.
    pub(crate) fn validation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "validation_error", message)
    }

    /// 404 `not_found`.
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 409 `already_exists`.
    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "already_exists", message)
    }

    /// 500 `internal_error`: a bug in the emulator, never a panic.
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", message)
    }

    /// 401 with the platform envelope: [`code::AUTHENTICATION_REQUIRED`]
    /// or [`code::AUTHENTICATION_FAILED`].
    pub(crate) fn unauthorized(code: &'static ErrorCode, message: impl Into<String>) -> Self {
        Self::platform(StatusCode::UNAUTHORIZED, code.as_str(), message)
    }

    /// 413 `REQUEST_ENTITY_TOO_LARGE` with the platform envelope: Blaxel's
    /// gateway refuses an oversized body before the API sees it.
    pub(crate) fn too_large(message: impl Into<String>) -> Self {
        Self::platform(
            StatusCode::PAYLOAD_TOO_LARGE,
            code::REQUEST_ENTITY_TOO_LARGE.as_str(),
            message,
        )
    }

    fn platform(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            kind: code,
            message: message.into(),
            retry_after: None,
            shape: Shape::Platform,
        }
    }

    /// An error of the token endpoint, in OAuth 2.0's shape.
    pub(crate) fn oauth(
        status: StatusCode,
        kind: &'static str,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            kind,
            message: message.into(),
            retry_after: None,
            shape: Shape::OAuth,
        }
    }

    /// Adds a `Retry-After` header.
    pub(crate) fn with_retry_after(mut self, value: impl Into<String>) -> Self {
        self.retry_after = Some(value.into());
        self
    }

    /// The JSON body.
    fn body(&self) -> serde_json::Value {
        let status = i64::from(self.status.as_u16());
        let value = match self.shape {
            Shape::Api => serde_json::to_value(types::Error {
                code: Some(status),
                error: self.kind.into(),
                message: Some(self.message.clone()),
            }),
            Shape::Platform => serde_json::to_value(types::PlatformError {
                error: types::PlatformErrorDetail {
                    code: Some(self.kind.into()),
                    message: Some(self.message.clone()),
                    origin: Some("platform".to_owned()),
                    retryable: Some(false),
                    status: Some(status),
                    action: None,
                    do_not: None,
                    docs_url: None,
                    // Stamped by the gateway's clock, not the simulation's.
                    timestamp: Some(wall_clock_timestamp()),
                },
            }),
            Shape::OAuth => Ok(serde_json::json!({
                "error": self.kind,
                "error_description": self.message,
            })),
        };
        let mut value = value.unwrap_or(serde_json::Value::Null);
        // The code exactly as this server spells it: `ErrorCode` matches
        // known codes without regard to case (`bad_request` is
        // `BAD_REQUEST`), and would send the known spelling back.
        let code = match self.shape {
            Shape::Api | Shape::OAuth => value.get_mut("error"),
            Shape::Platform => value.pointer_mut("/error/code"),
        };
        if let Some(code) = code {
            *code = serde_json::Value::from(self.kind);
        }
        value
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.kind,
            self.message
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = json_response(self.status, &self.body());
        if self.shape == Shape::Platform {
            resp.headers_mut()
                .insert(BLAXEL_SOURCE[0], HeaderValue::from_static("platform"));
        }
        if let Some(v) = self
            .retry_after
            .as_deref()
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

/// A JSON response; a value that cannot be serialized becomes a 500.
pub(crate) fn json_response<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => raw_response(status, "application/json", bytes),
        Err(e) => raw_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "application/json",
            format!(
                r#"{{"code":500,"error":"internal_error","message":"could not serialize the answer: {}"}}"#,
                e.to_string().replace('"', "'")
            ),
        ),
    }
}

/// A response with the given content type and body.
pub(crate) fn raw_response(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Body>,
) -> Response {
    let mut resp = Response::new(body.into());
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_error_body_has_the_error_shape() {
        let e = ApiError::conflict("job a already exists");
        assert_eq!(
            e.body(),
            serde_json::json!({"code": 409, "error": "already_exists", "message": "job a already exists"})
        );
    }

    #[test]
    fn unauthorized_uses_the_platform_envelope() {
        let e = ApiError::unauthorized(&code::AUTHENTICATION_REQUIRED, "no credential");
        let b = e.body();
        assert_eq!(b["error"]["code"], "AUTHENTICATION_REQUIRED");
        assert_eq!(b["error"]["retryable"], false);
        assert_eq!(b["error"]["status"], 401);
        assert_eq!(b["error"]["origin"], "platform", "as Blaxel documents it");
        let ts = b["error"]["timestamp"].as_str().unwrap();
        assert!(
            ts.len() == 24 && ts.ends_with('Z') && ts.as_bytes()[10] == b'T',
            "an ISO 8601 UTC timestamp: {ts}"
        );
        let resp = e.into_response();
        assert_eq!(resp.headers()[BLAXEL_SOURCE[0]], "platform");
    }
}
