//! The HTTP server: its accept loop and the request pipeline.
//!
//! The emulator runs its own accept loop with hyper's HTTP/1 connection
//! driver instead of `axum::serve`, because one fault needs what `axum::serve`
//! cannot do: close a connection without answering. Each request goes
//! through [`App::handle`]:
//!
//! 1. classify it into a [`Route`], count it and take its injected fault;
//! 2. read the body (at most `max_body_bytes`, else 413 once the rest of
//!    it has been read and thrown away; within `body_read_timeout`, else
//!    408 and the connection closes);
//! 3. apply faults that replace processing (status, HTML page, dropped
//!    connection);
//! 4. check credential, version and workspace, bring the workspace's
//!    simulation up to now in bounded steps ([`Shared::catch_up`]), then hand
//!    the request to the axum [`Router`](axum::Router) of [`crate::handlers`];
//! 5. apply faults that spoil the answer (dropped connection after
//!    processing, malformed or truncated body);
//! 6. add the request id, under the first of the names the document gives
//!    it (`x-request-id`).
//!
//! To drop a connection, the hyper service returns an error: hyper then
//! closes the connection without writing a response.
use crate::context;
use crate::error::{ApiError, raw_response};
use crate::faults::{Fault, Route};
use crate::handlers;
use crate::shared::{Shared, TASK_DATA_PATH};
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use blaxel_jobs_client::headers::REQUEST_ID;
use bytes::{Bytes, BytesMut};
use http::{HeaderValue, Request, StatusCode, header};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::{Service, service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How long a stopping server (and [`Emulator::shutdown`](crate::Emulator::shutdown))
/// waits for requests in flight.
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Serves the API on `listener` until `shutdown` turns true, then lets the
/// requests in flight finish (for up to [`SHUTDOWN_GRACE`]).
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: watch::Receiver<bool>,
) {
    let app = Arc::new(App {
        shared: shared.clone(),
        router: TowerToHyperService::new(handlers::router(shared)),
    });
    accept_loop(listener, app, shutdown).await;
}

/// The error a service returns to make hyper close the connection without
/// a response.
#[derive(Debug)]
struct ConnectionDropped;

impl fmt::Display for ConnectionDropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection dropped on purpose (injected fault or broken request body)")
    }
}

impl std::error::Error for ConnectionDropped {}

async fn accept_loop(listener: TcpListener, app: Arc<App>, mut shutdown: watch::Receiver<bool>) {
    let conn_shutdown = shutdown.clone();
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    conns.spawn(serve_connection(stream, app.clone(), conn_shutdown.clone()));
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off a little.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while conns.join_next().await.is_some() {}
    })
    .await;
}

async fn serve_connection(stream: TcpStream, app: Arc<App>, mut shutdown: watch::Receiver<bool>) {
    let service = service_fn(move |req: Request<Incoming>| {
        let app = app.clone();
        async move { app.handle(req).await }
    });
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).keep_alive(true);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        res = conn.as_mut() => {
            if let Err(e) = res {
                tracing::debug!(error = %e, "connection ended");
            }
        }
        _ = shutdown.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.as_mut().await;
        }
    }
}

/// The request pipeline.
struct App {
    shared: Arc<Shared>,
    router: TowerToHyperService<axum::Router>,
}

enum BodyError {
    TooLarge,
    Broken,
}

impl App {
    async fn handle(&self, req: Request<Incoming>) -> Result<Response, ConnectionDropped> {
        let request_id = self.shared.next_request_id();
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok());
        if !crate::host::allowed(host, &self.shared.config.allowed_hosts) {
            tracing::warn!(%request_id, host = ?host.map(|h| h.chars().take(100).collect::<String>()),
                "refused a request not addressed to a loopback name or address");
            return Ok(with_request_id(host_not_allowed(host), &request_id));
        }
        let route = Route::classify(req.method(), req.uri().path());
        let fault = route.and_then(|r| self.shared.faults.on_request(r));
        if let Some(Fault::Delay(d)) = &fault {
            tokio::time::sleep(*d).await;
        }
        let method = req.method().clone();
        let (parts, body) = req.into_parts();
        let content_length = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let max = self.shared.config.max_body_bytes;
        let deadline = self.shared.config.body_read_timeout;
        let mut oversized = false;
        let read = read_body(body, max, content_length, &mut oversized);
        let body = match tokio::time::timeout(deadline, read).await {
            Ok(Ok(b)) => Ok(b),
            Ok(Err(BodyError::TooLarge)) => Err(too_large(max)),
            Ok(Err(BodyError::Broken)) => return Err(ConnectionDropped),
            // Still draining an oversized body: it is 413 all the same.
            Err(_) if oversized => Err(too_large(max)),
            Err(_) => {
                tracing::debug!(%request_id, ?route, "the request body did not arrive in time");
                Err(body_timeout(deadline))
            }
        };
        let resp = match fault {
            Some(Fault::DropConnection {
                after_processing: false,
            }) => {
                tracing::debug!(%request_id, ?route, "fault: dropping the connection");
                return Err(ConnectionDropped);
            }
            Some(Fault::Status {
                status,
                retry_after,
                body,
            }) => status_fault(status, retry_after, body),
            Some(Fault::HtmlError { status }) => html_error(status),
            other => {
                let resp = match body {
                    Err(answer) => answer,
                    Ok(bytes) => {
                        self.process(Request::from_parts(parts, Body::from(bytes)), route)
                            .await
                    }
                };
                match other {
                    Some(Fault::DropConnection {
                        after_processing: true,
                    }) => {
                        tracing::debug!(%request_id, ?route, status = resp.status().as_u16(),
                            "fault: processed, now dropping the connection");
                        return Err(ConnectionDropped);
                    }
                    Some(Fault::MalformedBody) => raw_response(
                        StatusCode::OK,
                        "application/json",
                        "<<this is not JSON: the emulator injected a malformed body>>",
                    ),
                    Some(Fault::TruncatedBody) => truncated(resp).await,
                    _ => resp,
                }
            }
        };
        tracing::debug!(%request_id, %method, ?route, status = resp.status().as_u16(), "request");
        Ok(with_request_id(resp, &request_id))
    }

    async fn process(&self, mut req: Request<Body>, route: Option<Route>) -> Response {
        if route.is_none()
            && req.method() == http::Method::GET
            && let Some(resp) = task_data(&self.shared, req.uri().path())
        {
            return resp;
        }
        if route.is_some_and(|r| r != Route::OAuthToken) {
            match context::resolve(
                &self.shared.config,
                &self.shared.tokens,
                req.headers(),
                req.uri().query(),
            ) {
                Ok(ctx) => {
                    self.shared.catch_up(&ctx.workspace).await;
                    req.extensions_mut().insert(ctx);
                }
                Err(e) => return e.into_response(),
            }
        }
        match self.router.call(req).await {
            Ok(resp) => resp,
            Err(never) => match never {},
        }
    }
}

/// Reads a request body of at most `max` bytes. An oversized body is read
/// to its end and thrown away (in the time the caller allows) before the
/// answer, 413, is sent: a server that answers and closes while the client
/// is still sending makes the client's system reset the connection, and
/// the client may then see a network error instead of the 413 (as it did
/// with bodies of tens of MB). `oversized` is set as soon as the body is
/// known to be too large.
async fn read_body(
    mut body: Incoming,
    max: usize,
    content_length: Option<u64>,
    oversized: &mut bool,
) -> Result<Bytes, BodyError> {
    let max64 = u64::try_from(max).unwrap_or(u64::MAX);
    let mut buf = BytesMut::new();
    let mut seen: u64 = 0;
    *oversized = content_length.is_some_and(|n| n > max64);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| BodyError::Broken)?;
        if let Ok(data) = frame.into_data() {
            seen = seen.saturating_add(data.len() as u64);
            if *oversized || seen > max64 {
                *oversized = true;
                buf.clear();
                continue;
            }
            buf.extend_from_slice(&data);
        }
    }
    if *oversized {
        Err(BodyError::TooLarge)
    } else {
        Ok(buf.freeze())
    }
}

fn too_large(max: usize) -> Response {
    let mut resp =
        ApiError::too_large(format!("the request body is larger than {max} bytes")).into_response();
    resp.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

/// 403 for a request addressed to a name that is not loopback's nor
/// allowed (see [`crate::host`]); the connection closes after it.
fn host_not_allowed(host: Option<&str>) -> Response {
    let shown: String = host.unwrap_or("").chars().take(100).collect();
    let mut resp = ApiError::new(
        StatusCode::FORBIDDEN,
        "host_not_allowed",
        format!(
            "this emulator answers requests addressed to localhost or a loopback address, not              {shown:?}; to allow that name, start it with --allowed-host NAME              (EmulatorConfig::allowed_host)"
        ),
    )
    .into_response();
    resp.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

/// 408 for a body that did not arrive in time; the connection is closed
/// after it (the rest of the body is never read).
fn body_timeout(deadline: Duration) -> Response {
    let mut resp = ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "request_timeout",
        format!(
            "the request body did not arrive within {} s",
            deadline.as_secs_f64()
        ),
    )
    .into_response();
    resp.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

fn status_fault(status: u16, retry_after: Option<String>, body: Option<String>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = match body {
        Some(text) => {
            let is_json = serde_json::from_str::<serde_json::Value>(&text).is_ok();
            let ct = if is_json {
                "application/json"
            } else {
                "text/plain; charset=utf-8"
            };
            raw_response(status, ct, text)
        }
        None => {
            let kind = match status.as_u16() {
                429 => "rate_limited",
                500 => "internal_error",
                502 => "bad_gateway",
                503 => "service_unavailable",
                504 => "gateway_timeout",
                408 => "request_timeout",
                409 => "conflict",
                s if s >= 500 => "server_error",
                _ => "injected_fault",
            };
            ApiError::new(status, kind, "fault injected by the emulator").into_response()
        }
    };
    if let Some(v) = retry_after.and_then(|v| HeaderValue::from_str(&v).ok()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

fn html_error(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    let title = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error")
    );
    raw_response(
        status,
        "text/html; charset=utf-8",
        format!(
            "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n<hr><center>gateway</center>\r\n</body>\r\n</html>\r\n"
        ),
    )
}

async fn truncated(resp: Response) -> Response {
    let (mut parts, body) = resp.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let cut = bytes.slice(..bytes.len() / 2);
    parts.status = StatusCode::OK;
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(cut))
}

fn with_request_id(mut resp: Response, id: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(id) {
        resp.headers_mut().insert(REQUEST_ID[0], v);
    }
    resp
}

/// The execution data of a local execution, for a `GET` of
/// [`TASK_DATA_PATH`]`<token>`; `None` for other paths.
fn task_data(shared: &Shared, path: &str) -> Option<Response> {
    let token = path.strip_prefix(TASK_DATA_PATH)?;
    Some(match shared.task_data(token) {
        Some(b) => raw_response(StatusCode::OK, "application/json", b.to_string()),
        None => {
            ApiError::not_found("no execution data here (the execution is over)").into_response()
        }
    })
}
