//! Routes, injected faults and request counts.
//!
//! Each [`Route`] has a first-in, first-out list of faults, each with a
//! number of remaining uses. Every request on a route takes the first fault
//! of its list (if any) and is counted, faulted or not.

use blaxel_jobs_client::operations::{BASE_PATH, Operation};
use blaxel_jobs_client::servers::TOKEN_PATH;
use http::Method;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

/// Where a request goes: an operation of the document, named by the
/// generated [`Operation`] table, or the OAuth token endpoint, which the
/// document does not list as an operation. The unit of fault injection and
/// request counts.
///
/// Every place that takes a route takes an [`Operation`] too:
///
/// ```
/// use blaxel_jobs_emulator::Route;
/// use blaxel_jobs_client::operations::Operation;
///
/// let route = Route::from(Operation::CreateJobExecution);
/// assert_eq!(route.operation_id(), "CreateJobExecution");
/// assert_eq!(route.operation(), Some(Operation::CreateJobExecution));
/// assert_eq!(Route::OAuthToken.method(), "POST");
/// assert_eq!(Route::from(Operation::GetJob).path(), "/v0/jobs/{jobId}");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Route {
    /// An operation of the document.
    Operation(Operation),
    /// `POST /v0/oauth/token`, the OAuth token endpoint.
    OAuthToken,
}

impl From<Operation> for Route {
    fn from(op: Operation) -> Self {
        Route::Operation(op)
    }
}

/// The token endpoint's path, [`BASE_PATH`] included: the document names
/// it as its client credentials flow's `tokenUrl`, not as an operation.
static OAUTH_TOKEN_PATH: LazyLock<String> = LazyLock::new(|| format!("{BASE_PATH}{TOKEN_PATH}"));

/// The full path templates of the operations, [`BASE_PATH`] included, in
/// the order of [`Operation::ALL`].
static OPERATION_PATHS: LazyLock<Vec<String>> = LazyLock::new(|| {
    Operation::ALL
        .iter()
        .map(|op| format!("{BASE_PATH}{}", op.path()))
        .collect()
});

/// How many routes there are: every operation, and the token endpoint.
const ROUTES: usize = Operation::ALL.len() + 1;

impl Route {
    /// Every route: the operations of the document, in the order of
    /// [`Operation::ALL`], then [`Route::OAuthToken`].
    pub fn all() -> impl Iterator<Item = Route> {
        Operation::ALL
            .into_iter()
            .map(Route::Operation)
            .chain([Route::OAuthToken])
    }

    /// The operation of the document this route serves (`None` for the
    /// token endpoint).
    pub const fn operation(self) -> Option<Operation> {
        match self {
            Route::Operation(op) => Some(op),
            Route::OAuthToken => None,
        }
    }

    /// The `operationId` in the API document (`"OAuthToken"` for the token
    /// endpoint, which the document does not list as an operation).
    pub fn operation_id(self) -> &'static str {
        self.operation().map_or("OAuthToken", Operation::name)
    }

    /// The HTTP method.
    pub fn method(self) -> &'static str {
        self.operation().map_or("POST", Operation::method)
    }

    /// The path template, including the base path of the document's
    /// servers (`/v0`).
    pub fn path(self) -> &'static str {
        match self.operation() {
            Some(op) => OPERATION_PATHS
                .get(Self::operation_index(op))
                .map_or("", String::as_str),
            None => OAUTH_TOKEN_PATH.as_str(),
        }
    }

    fn operation_index(op: Operation) -> usize {
        Operation::ALL.iter().position(|o| *o == op).unwrap_or(0)
    }

    fn index(self) -> usize {
        match self.operation() {
            Some(op) => Self::operation_index(op),
            None => ROUTES - 1,
        }
    }

    /// The route a request goes to, from its method and raw path: the
    /// operation whose method and path template match (a `{parameter}`
    /// matches one non-empty segment). `HEAD` is treated as `GET`. `None`
    /// for anything the API does not have.
    pub(crate) fn classify(method: &Method, path: &str) -> Option<Route> {
        let method = if *method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        if path == *OAUTH_TOKEN_PATH {
            return (*method == Method::POST).then_some(Route::OAuthToken);
        }
        let rest = path.strip_prefix(BASE_PATH)?;
        let segs: Vec<&str> = rest.strip_prefix('/')?.split('/').collect();
        if segs.iter().any(|s| s.is_empty()) {
            return None;
        }
        Operation::ALL
            .into_iter()
            .find(|op| {
                op.method() == method.as_str() && {
                    let template = op.path().trim_start_matches('/').split('/');
                    template.clone().count() == segs.len()
                        && template
                            .zip(&segs)
                            .all(|(t, s)| (t.starts_with('{') && t.ends_with('}')) || t == *s)
                }
            })
            .map(Route::Operation)
    }
}

/// A misbehaviour to inject, with [`Emulator::inject`](crate::Emulator::inject).
///
/// ```
/// use std::time::Duration;
/// use blaxel_jobs_emulator::Fault;
///
/// // A 503 that asks the client to come back in 2 seconds.
/// let unavailable = Fault::Status { status: 503, retry_after: Some("2".into()), body: None };
/// // The execution is created, but the client never hears about it.
/// let lost_answer = Fault::DropConnection { after_processing: true };
/// let slow = Fault::Delay(Duration::from_millis(200));
/// # let _ = (unavailable, lost_answer, slow);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this status instead of processing the request. The body is
    /// `body` when given (sent as JSON when it parses as JSON, else as plain
    /// text), else a JSON `Error` object. A status outside 100..=999 is
    /// answered as 500. `retry_after` becomes the `Retry-After` header.
    Status {
        /// The HTTP status.
        status: u16,
        /// The `Retry-After` header value, such as `"2"` or an HTTP date.
        retry_after: Option<String>,
        /// The body, instead of the default JSON `Error` object.
        body: Option<String>,
    },
    /// Close the TCP connection without any response. With
    /// `after_processing`, the request is applied to the state first (so an
    /// execution, say, really is created) and then the connection is dropped.
    DropConnection {
        /// Whether the request is processed before the connection drops.
        after_processing: bool,
    },
    /// Wait this long (real time) before processing normally.
    Delay(Duration),
    /// Process normally, then answer 200 with a body that is not JSON (the
    /// content type still says JSON).
    MalformedBody,
    /// Process normally, then answer 200 with the first half of the real body.
    TruncatedBody,
    /// Answer with an HTML error page (`text/html`), as a gateway does,
    /// without processing the request. A status outside 100..=999 is
    /// answered as 502.
    HtmlError {
        /// The HTTP status.
        status: u16,
    },
}

/// The faults waiting on each route, and the request counts.
#[derive(Debug, Default)]
pub(crate) struct FaultBook {
    queues: Mutex<Vec<VecDeque<(Fault, usize)>>>,
    counts: [AtomicU64; ROUTES],
}

impl FaultBook {
    /// Queues `fault` for the next `times` requests on `route` (after the
    /// faults already queued there).
    pub(crate) fn inject(&self, route: Route, fault: Fault, times: usize) {
        if times == 0 {
            return;
        }
        let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        if queues.len() < ROUTES {
            queues.resize_with(ROUTES, VecDeque::new);
        }
        queues[route.index()].push_back((fault, times));
    }

    /// Counts a request on `route` and takes the fault it should get.
    pub(crate) fn on_request(&self, route: Route) -> Option<Fault> {
        self.counts[route.index()].fetch_add(1, Ordering::SeqCst);
        let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        let queue = queues.get_mut(route.index())?;
        let (fault, remaining) = queue.front_mut()?;
        let fault = fault.clone();
        *remaining -= 1;
        if *remaining == 0 {
            queue.pop_front();
        }
        Some(fault)
    }

    /// Requests received on `route`.
    pub(crate) fn count(&self, route: Route) -> u64 {
        self.counts[route.index()].load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_every_route_and_nothing_else() {
        use Operation as O;
        let op = |o| Some(Route::Operation(o));
        let cases = [
            ("GET", "/v0/jobs", op(O::ListJobs)),
            ("HEAD", "/v0/jobs", op(O::ListJobs)),
            ("POST", "/v0/jobs", op(O::CreateJob)),
            ("GET", "/v0/jobs/a", op(O::GetJob)),
            ("PUT", "/v0/jobs/a", op(O::UpdateJob)),
            ("DELETE", "/v0/jobs/a", op(O::DeleteJob)),
            ("GET", "/v0/jobs/a/revisions", op(O::ListJobRevisions)),
            ("GET", "/v0/jobs/a/executions", op(O::ListJobExecutions)),
            ("POST", "/v0/jobs/a/executions", op(O::CreateJobExecution)),
            ("GET", "/v0/jobs/a/executions/e", op(O::GetJobExecution)),
            (
                "DELETE",
                "/v0/jobs/a/executions/e",
                op(O::DeleteJobExecution),
            ),
            (
                "GET",
                "/v0/jobs/a/executions/e/tasks",
                op(O::ListJobExecutionTasks),
            ),
            ("POST", "/v0/oauth/token", Some(Route::OAuthToken)),
            ("PATCH", "/v0/jobs/a", None),
            ("GET", "/v0/jobs/", None),
            ("GET", "/jobs", None),
            ("GET", "/v0/jobs//executions", None),
            ("GET", "/v0/oauth/token", None),
        ];
        for (m, p, want) in cases {
            let m: Method = m.parse().unwrap();
            assert_eq!(Route::classify(&m, p), want, "{m} {p}");
        }
        for r in Route::all() {
            // Any path parameter: one segment.
            let concrete: String = r
                .path()
                .split('/')
                .map(|s| if s.starts_with('{') { "x" } else { s })
                .collect::<Vec<_>>()
                .join("/");
            let m: Method = r.method().parse().unwrap();
            assert_eq!(Route::classify(&m, &concrete), Some(r));
        }
    }

    #[test]
    fn routes_come_from_the_operations_table() {
        assert_eq!(Route::all().count(), Operation::ALL.len() + 1);
        let mut indexes: Vec<usize> = Route::all().map(Route::index).collect();
        indexes.dedup();
        assert_eq!(indexes, (0..ROUTES).collect::<Vec<_>>());
        for op in Operation::ALL {
            let route = Route::from(op);
            assert_eq!(route.operation(), Some(op));
            assert_eq!(route.operation_id(), op.name());
            assert_eq!(route.method(), op.method());
            assert_eq!(route.path(), format!("{BASE_PATH}{}", op.path()));
            // The router can serve the operation's method.
            let method: Method = op.method().parse().unwrap();
            assert!(
                axum::routing::MethodFilter::try_from(method).is_ok(),
                "{op}"
            );
        }
        assert_eq!(Route::OAuthToken.operation(), None);
        assert_eq!(Route::all().last(), Some(Route::OAuthToken));
    }

    #[test]
    fn faults_are_used_in_order_and_counted() {
        let book = FaultBook::default();
        let get = Route::from(Operation::GetJob);
        let list = Route::from(Operation::ListJobs);
        book.inject(get, Fault::MalformedBody, 2);
        book.inject(get, Fault::TruncatedBody, 1);
        book.inject(get, Fault::TruncatedBody, 0);
        assert_eq!(book.on_request(list), None);
        assert_eq!(book.on_request(get), Some(Fault::MalformedBody));
        assert_eq!(book.on_request(get), Some(Fault::MalformedBody));
        assert_eq!(book.on_request(get), Some(Fault::TruncatedBody));
        assert_eq!(book.on_request(get), None);
        assert_eq!(book.on_request(Route::OAuthToken), None);
        assert_eq!(book.count(get), 4);
        assert_eq!(book.count(list), 1);
        assert_eq!(book.count(Route::OAuthToken), 1);
        assert_eq!(book.count(Operation::DeleteJob.into()), 0);
    }
}
