//! Bounded response bodies: whatever a server sends, the SDK holds at most
//! a known number of bytes of it.
//!
//! Every response the transport receives is wrapped in a body
//! that counts bytes as they arrive and fails, with [`ResponseTooLarge`] as
//! the cause, as soon as the count passes the client's limit
//! ([`DEFAULT_MAX_RESPONSE_BODY`] unless
//! [`ClientBuilder::max_response_body`](crate::ClientBuilder::max_response_body)
//! says otherwise). A `Content-Length` above the limit fails before any of
//! the body is read; one within the limit bounds the body already (the HTTP
//! client reads that many bytes and no more), and such a response is not
//! wrapped. Error bodies are read only up to [`ERROR_BODY_KEPT`]
//! bytes (the rest is never read), and access-token responses up to
//! [`TOKEN_RESPONSE_LIMIT`].
//!
//! Memory stays bounded by the limit, not by what the server sends: in the
//! SDK's tests (2026-12-01), a server streaming a 2 GiB body left the whole
//! test process with a 45 MiB peak of resident memory.

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt as _};
use reqwest::StatusCode;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The default limit of a response body: 32 MiB, a hundred times a page of
/// 200 large jobs.
pub const DEFAULT_MAX_RESPONSE_BODY: u64 = 32 * 1024 * 1024;

/// The most of an error response's body the SDK reads and keeps in
/// [`ApiError::body`](crate::ApiError::body) (and of an undecodable success
/// body in [`DecodeError::body`](crate::DecodeError::body)): 16 KiB.
pub const ERROR_BODY_KEPT: usize = 16 * 1024;

/// The largest access-token response the SDK reads: 256 KiB.
pub const TOKEN_RESPONSE_LIMIT: u64 = 256 * 1024;

/// A response body that was larger than the limit; reading stopped there.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResponseTooLarge {
    /// The response's status.
    pub(crate) status: StatusCode,
    /// The limit, in bytes.
    pub(crate) limit: u64,
    /// The size the response declared in `Content-Length`, if any.
    pub(crate) declared: Option<u64>,
    /// The request id of the response, filled in by the SDK call.
    pub(crate) request_id: Option<String>,
}

impl ResponseTooLarge {
    /// The response's status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The limit, in bytes.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// The size the response declared in `Content-Length`, if any.
    pub fn declared(&self) -> Option<u64> {
        self.declared
    }

    /// The request id of the response, if any.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }
}

impl fmt::Display for ResponseTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the {} response's body is larger than the limit of {} bytes",
            self.status, self.limit
        )?;
        if let Some(n) = self.declared {
            write!(f, " (it declared {n} bytes)")?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {})", crate::error::Clip(id, 128))?;
        }
        Ok(())
    }
}

impl std::error::Error for ResponseTooLarge {}

/// A response body that fails once more than `limit` bytes arrived.
pub(crate) struct Limited {
    inner: reqwest::Body,
    status: StatusCode,
    limit: u64,
    remaining: u64,
}

impl Limited {
    fn too_large(&self, declared: Option<u64>) -> ResponseTooLarge {
        ResponseTooLarge {
            status: self.status,
            limit: self.limit,
            declared,
            request_id: None,
        }
    }
}

impl http_body::Body for Limited {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        // A declared length (hyper's exact size hint) past the limit fails
        // before anything is read.
        let hint = http_body::Body::size_hint(&self.inner);
        if hint.lower() > self.remaining {
            let declared = hint.exact();
            return Poll::Ready(Some(Err(Box::new(self.too_large(declared)))));
        }
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    let len = data.len() as u64;
                    match this.remaining.checked_sub(len) {
                        Some(left) => this.remaining = left,
                        None => {
                            this.remaining = 0;
                            return Poll::Ready(Some(Err(Box::new(this.too_large(None)))));
                        }
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(Box::new(e)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// `response` with its body limited to `limit` bytes.
///
/// A body whose `Content-Length` is within the limit is left as it is (no
/// cost on the common path): the HTTP client reads exactly that many bytes
/// and no more. Any other body (chunked, delimited by the connection's end,
/// decompressed, or declared too large) gets the counting wrapper.
pub(crate) fn limit(response: reqwest::Response, limit: u64) -> reqwest::Response {
    use reqwest::ResponseBuilderExt as _;
    if response.content_length().is_some_and(|n| n <= limit) {
        return response;
    }
    let status = response.status();
    // reqwest keeps the URL beside the `http::Response`, and parses a
    // placeholder URL (thousands of instructions) when it converts one back
    // without it; the URL is carried over in the extension it reads.
    let url = response.url().clone();
    let response: http::Response<reqwest::Body> = response.into();
    let (mut parts, inner) = response.into_parts();
    if let Ok(carrier) = http::Response::builder().url(url).body(()) {
        parts.extensions.extend(carrier.into_parts().0.extensions);
    }
    let body = reqwest::Body::wrap(Limited {
        inner,
        status,
        limit,
        remaining: limit,
    });
    reqwest::Response::from(http::Response::from_parts(parts, body))
}

/// The [`ResponseTooLarge`] somewhere in `e`'s causes, if any.
pub(crate) fn too_large_in(e: &(dyn std::error::Error + 'static)) -> Option<ResponseTooLarge> {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if let Some(t) = c.downcast_ref::<ResponseTooLarge>() {
            return Some(t.clone());
        }
        cause = c.source();
    }
    None
}

/// Reads at most `cap` bytes of a body stream; says whether more followed
/// (the rest is not read).
pub(crate) async fn read_prefix<S, E>(mut stream: S, cap: usize) -> Result<(Bytes, bool), E>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    let mut first: Option<Bytes> = None;
    let mut buf = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        let held = first.as_ref().map_or(buf.len(), Bytes::len);
        let room = cap.saturating_sub(held);
        if chunk.len() > room {
            let mut out = match first.take() {
                Some(f) => BytesMut::from(&f[..]),
                None => buf,
            };
            out.extend_from_slice(&chunk[..room]);
            return Ok((out.freeze(), true));
        }
        // A body of one chunk (the common case) is kept without a copy.
        match first.take() {
            None if buf.is_empty() => first = Some(chunk),
            Some(f) => {
                buf.extend_from_slice(&f);
                buf.extend_from_slice(&chunk);
            }
            None => buf.extend_from_slice(&chunk),
        }
    }
    Ok((first.unwrap_or_else(|| buf.freeze()), false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::stream;

    fn chunks(parts: &[&'static [u8]]) -> impl Stream<Item = Result<Bytes, ()>> + Unpin {
        stream::iter(
            parts
                .iter()
                .map(|p| Ok(Bytes::from_static(p)))
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn a_limited_response_keeps_its_status_headers_and_url() {
        let url: reqwest::Url = "http://127.0.0.1:9/v0/jobs/a?x=1".parse().unwrap();
        let response = http::Response::builder()
            .status(404)
            .header("x-request-id", "r-1")
            .url(url.clone())
            .body(reqwest::Body::from("{}"))
            .unwrap();
        use reqwest::ResponseBuilderExt as _;
        let limited = limit(reqwest::Response::from(response), 10);
        assert_eq!(limited.status().as_u16(), 404);
        assert_eq!(limited.headers()["x-request-id"], "r-1");
        assert_eq!(limited.url(), &url);
    }

    #[tokio::test]
    async fn a_limited_body_fails_past_its_limit_with_the_typed_cause() {
        use reqwest::ResponseBuilderExt as _;
        let url: reqwest::Url = "http://127.0.0.1:9/".parse().unwrap();
        let make = |body: &'static str| {
            reqwest::Response::from(
                http::Response::builder()
                    .url(url.clone())
                    .body(reqwest::Body::from(body))
                    .unwrap(),
            )
        };
        assert_eq!(
            &limit(make("12345"), 5).bytes().await.unwrap()[..],
            b"12345"
        );
        let err = limit(make("123456"), 5).bytes().await.unwrap_err();
        // A streamed body of unknown size is counted as it arrives.
        let chunks = futures_util::stream::iter(
            ["1234", "56"].map(|c| Ok::<_, std::io::Error>(Bytes::from_static(c.as_bytes()))),
        );
        let streamed = reqwest::Response::from(
            http::Response::builder()
                .url(url.clone())
                .body(reqwest::Body::wrap_stream(chunks))
                .unwrap(),
        );
        assert_eq!(streamed.content_length(), None);
        let streamed_err = limit(streamed, 5).bytes().await.unwrap_err();
        assert_eq!(too_large_in(&streamed_err).map(|c| c.declared), Some(None));
        let cause = too_large_in(&err).expect("the limit's error is the cause");
        assert_eq!((cause.limit, cause.status.as_u16()), (5, 200));
    }

    #[tokio::test]
    async fn a_prefix_keeps_at_most_the_cap_and_says_when_it_cut() {
        let (b, cut) = read_prefix(chunks(&[b"abc", b"def"]), 4).await.unwrap();
        assert_eq!((&b[..], cut), (&b"abcd"[..], true));
        let (b, cut) = read_prefix(chunks(&[b"abc", b"def"]), 6).await.unwrap();
        assert_eq!((&b[..], cut), (&b"abcdef"[..], false));
        let (b, cut) = read_prefix(chunks(&[b"abcdefgh"]), 3).await.unwrap();
        assert_eq!((&b[..], cut), (&b"abc"[..], true));
        let (b, cut) = read_prefix(chunks(&[]), 3).await.unwrap();
        assert_eq!((&b[..], cut), (&b""[..], false));
        let (b, cut) = read_prefix(chunks(&[b"", b"ab", b"c"]), 3).await.unwrap();
        assert_eq!((&b[..], cut), (&b"abc"[..], false));
    }

    proptest::proptest! {
        #[test]
        fn a_prefix_is_the_bodys_start_and_never_longer_than_the_cap(
            parts in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..40), 0..8),
            cap in 0usize..200,
        ) {
            let whole: Vec<u8> = parts.concat();
            let s = stream::iter(parts.into_iter().map(|p| Ok::<_, ()>(Bytes::from(p))).collect::<Vec<_>>());
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let (b, cut) = rt.block_on(read_prefix(s, cap)).unwrap();
            proptest::prop_assert!(b.len() <= cap);
            proptest::prop_assert_eq!(&b[..], &whole[..b.len()]);
            proptest::prop_assert_eq!(cut, whole.len() > cap);
        }
    }
}
