//! A redirection from the API, which the SDK never follows.

use super::api::request_id;
use super::text::MESSAGE_SHOWN;
use super::text::{Clip, SHORT_SHOWN};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use std::fmt;

/// A redirection (3xx) from the API, which the SDK never follows.
///
/// The Jobs API does not redirect; a 3xx comes from something between the
/// client and the API (a proxy, a misconfigured base URL). Following it
/// could carry a request body, which may hold secret values, to another
/// origin or over plain HTTP, or turn a POST into a GET whose answer looks
/// like a success, so the call ends here and nothing is sent anywhere else.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct Redirect {
    /// The 3xx status.
    pub(crate) status: StatusCode,
    /// The `Location` header, if any (at most 2 KiB of it).
    pub(crate) location: Option<String>,
    /// The request id from the response headers, if any.
    pub(crate) request_id: Option<String>,
}

impl Redirect {
    pub(crate) fn from_parts(status: StatusCode, headers: &HeaderMap) -> Self {
        let location = headers
            .get(reqwest::header::LOCATION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()))
            .map(|l| Clip(&l, 2048).to_string());
        Redirect {
            status,
            location,
            request_id: request_id(headers),
        }
    }
}

impl fmt::Display for Redirect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the API answered {} redirecting to {}; the SDK follows no redirect",
            self.status,
            match &self.location {
                Some(l) => Clip(l, MESSAGE_SHOWN).to_string(),
                None => "no Location".into(),
            }
        )?;
        if let Some(id) = &self.request_id {
            write!(f, " (request id {})", Clip(id, SHORT_SHOWN))?;
        }
        Ok(())
    }
}

impl std::error::Error for Redirect {}

impl Redirect {
    /// The 3xx status (every HTTP client the SDK sends with follows no
    /// redirect, so this is the status the API's address answered).
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The `Location` header, if any (at most 2 KiB of it).
    pub fn location(&self) -> Option<&str> {
        self.location.as_deref()
    }

    /// The request id from the response headers, if any.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }
}
