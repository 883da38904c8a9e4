//! A success response whose body does not match the document.

use super::api::BodySize;
use super::text::Clip;
use super::text::{MESSAGE_SHOWN, SHORT_SHOWN};
use reqwest::StatusCode;
use std::fmt;

/// A success response whose body does not match the document.
///
/// Its `Debug` shows the body's size, never its bytes; read them through
/// [`DecodeError::body`].
#[non_exhaustive]
#[derive(Clone)]
pub struct DecodeError {
    /// The HTTP status of the response.
    pub(crate) status: StatusCode,
    /// Where in the body decoding failed, as a serde path (`data[3].status`).
    pub(crate) path: String,
    /// What serde said.
    pub(crate) message: String,
    /// The request id from the response headers, if known.
    pub(crate) request_id: Option<String>,
    /// The raw body, up to [`ERROR_BODY_KEPT`](crate::body::ERROR_BODY_KEPT)
    /// bytes.
    pub(crate) body: bytes::Bytes,
    /// The size of the whole body, of which [`body`](Self::body) is the start.
    pub(crate) body_len: usize,
}

impl fmt::Debug for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecodeError")
            .field("status", &self.status)
            .field("path", &Clip(&self.path, MESSAGE_SHOWN))
            .field("message", &Clip(&self.message, MESSAGE_SHOWN))
            .field(
                "request_id",
                &self.request_id.as_deref().map(|c| Clip(c, SHORT_SHOWN)),
            )
            .field(
                "body",
                &BodySize(self.body_len, self.body.len() < self.body_len),
            )
            .finish()
    }
}

impl DecodeError {
    /// Decodes `body` as `T` to find where it fails; `fallback` is used when
    /// it unexpectedly decodes.
    pub(crate) fn locate<T: serde::de::DeserializeOwned>(
        status: StatusCode,
        body: bytes::Bytes,
        fallback: String,
    ) -> Self {
        let de = &mut serde_json::Deserializer::from_slice(&body);
        let (path, message) = match serde_path_to_error::deserialize::<_, T>(de) {
            Ok(_) => (String::from("."), fallback),
            Err(e) => (e.path().to_string(), e.into_inner().to_string()),
        };
        let body_len = body.len();
        DecodeError {
            status,
            path,
            message,
            request_id: None,
            body: body.slice(..body_len.min(crate::body::ERROR_BODY_KEPT)),
            body_len,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot decode the {} response at `{}`: {} ({} bytes)",
            self.status,
            Clip(&self.path, MESSAGE_SHOWN),
            Clip(&self.message, MESSAGE_SHOWN),
            self.body_len
        )
    }
}

impl std::error::Error for DecodeError {}

impl DecodeError {
    /// The HTTP status of the response.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Where in the body decoding failed, as a serde path (`data[3].status`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What serde said.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The request id from the response headers, if known.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// The raw body, up to [`ERROR_BODY_KEPT`](crate::body::ERROR_BODY_KEPT)
    /// bytes.
    pub fn body(&self) -> &bytes::Bytes {
        &self.body
    }

    /// The size of the whole body, of which [`body`](Self::body) is the start.
    pub fn body_len(&self) -> usize {
        self.body_len
    }
}
