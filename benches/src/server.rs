//! A minimal fixed-response HTTP/1.1 server on hyper 1.x, standing in for
//! the Jobs API on loopback.
//!
//! | request | response |
//! |---|---|
//! | `GET /jobs/{id}` | the fixed job (about 1.2 KB) |
//! | `POST /jobs` | reads the whole body, then the fixed job |
//! | `GET /jobs` | the fixed page of 100 jobs (about 120 KB) |
//! | `GET /n/{N}/jobs?cursor=&limit=` | a generated page of a listing of `N` jobs: the cursor is the offset, `hasMore` until `N` |
//!
//! Anything else is a 404. Bodies are prepared once; a paging response is
//! assembled from a pre-serialized job template, so the server spends as
//! little CPU as possible per request.

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::fixtures;

const NAME_MARK: &str = "@@NAME@@";

/// The bodies the server answers with.
#[derive(Debug)]
pub struct Bodies {
    job: Bytes,
    list: Bytes,
    /// The compact JSON of a job, before and after its name.
    template: (String, String),
}

impl Bodies {
    /// The realistic fixtures of [`crate::fixtures`].
    pub fn realistic() -> Self {
        let template = serde_json::to_string(&fixtures::job_json(NAME_MARK))
            .expect("a JSON value always serializes");
        let (before, after) = template
            .split_once(NAME_MARK)
            .expect("the template holds the name mark");
        Bodies {
            job: fixtures::to_bytes(&fixtures::job_json(fixtures::JOB_NAME)).into(),
            list: fixtures::to_bytes(&fixtures::job_list_json(0, 100, None)).into(),
            template: (before.to_owned(), after.to_owned()),
        }
    }

    /// The size in bytes of the single job and of the 100-job page.
    pub fn sizes(&self) -> (usize, usize) {
        (self.job.len(), self.list.len())
    }

    /// A page of a listing of `total` jobs starting at `offset`.
    fn page(&self, total: u64, offset: u64, limit: u64) -> Bytes {
        let end = total.min(offset.saturating_add(limit));
        let (before, after) = &self.template;
        let count = end.saturating_sub(offset) as usize;
        let mut out = String::with_capacity(count * (before.len() + after.len() + 12) + 96);
        out.push_str("{\"data\":[");
        for i in offset..end {
            if i > offset {
                out.push(',');
            }
            out.push_str(before);
            out.push_str(&format!("job-{i:06}"));
            out.push_str(after);
        }
        let more = end < total;
        let next = if more { end.to_string() } else { String::new() };
        out.push_str(&format!(
            "],\"meta\":{{\"hasMore\":{more},\"nextCursor\":\"{next}\",\"total\":{total}}}}}"
        ));
        out.into()
    }
}

fn json(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

fn query_u64(query: &str, key: &str) -> Option<u64> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .and_then(|(_, v)| v.parse().ok())
}

async fn handle(
    request: Request<Incoming>,
    bodies: Arc<Bodies>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path();
    // An optional `/n/{N}` prefix selects a generated listing of N jobs.
    let (total, rest) = match path.strip_prefix("/n/").and_then(|p| p.split_once('/')) {
        Some((n, rest)) => (n.parse::<u64>().ok(), rest),
        None => (None, path.trim_start_matches('/')),
    };
    let response = match (request.method(), rest) {
        (&Method::GET, "jobs") => match total {
            Some(total) => {
                let query = request.uri().query().unwrap_or("");
                let offset = query_u64(query, "cursor").unwrap_or(0);
                let limit = query_u64(query, "limit").unwrap_or(50).clamp(1, 200);
                json(StatusCode::OK, bodies.page(total, offset, limit))
            }
            None => json(StatusCode::OK, bodies.list.clone()),
        },
        (&Method::GET, r) if r.starts_with("jobs/") => json(StatusCode::OK, bodies.job.clone()),
        (&Method::POST, "jobs") => {
            // Read the whole request, as a real server would, so that the
            // connection can be reused.
            match request.into_body().collect().await {
                Ok(_) => json(StatusCode::OK, bodies.job.clone()),
                Err(_) => json(StatusCode::BAD_REQUEST, Bytes::from_static(b"{}")),
            }
        }
        _ => json(
            StatusCode::NOT_FOUND,
            Bytes::from_static(b"{\"error\":\"not_found\",\"code\":404}"),
        ),
    };
    Ok(response)
}

/// Serves on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, bodies: Arc<Bodies>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let bodies = Arc::clone(&bodies);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| handle(req, Arc::clone(&bodies)));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Starts the server on `127.0.0.1` (any free port) on a thread of its own
/// with a single-threaded runtime, and returns its address. The thread runs
/// until the process ends.
pub fn start_on_thread() -> std::io::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let bodies = Arc::new(Bodies::realistic());
    std::thread::Builder::new()
        .name("bench-server".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime");
            runtime.block_on(async move {
                let listener =
                    tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
                serve(listener, bodies).await;
            });
        })?;
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_the_cursor_until_the_total() {
        let bodies = Bodies::realistic();
        let first: blaxel_jobs_client::types::JobList =
            serde_json::from_slice(&bodies.page(250, 0, 100)).unwrap();
        assert_eq!(first.data.len(), 100);
        assert_eq!(first.data[0].metadata.name, "job-000000");
        let meta = first.meta.unwrap();
        assert_eq!(
            (meta.has_more, meta.next_cursor.as_deref()),
            (Some(true), Some("100"))
        );
        let last: blaxel_jobs_client::types::JobList =
            serde_json::from_slice(&bodies.page(250, 200, 100)).unwrap();
        assert_eq!(last.data.len(), 50);
        assert_eq!(last.data[49].metadata.name, "job-000249");
        assert_eq!(last.meta.unwrap().has_more, Some(false));
    }

    #[test]
    fn query_values_are_found_by_key() {
        assert_eq!(query_u64("limit=100&cursor=300", "cursor"), Some(300));
        assert_eq!(query_u64("limit=100", "cursor"), None);
    }
}
