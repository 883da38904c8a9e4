//! Routes, injected faults and request counts.
//!
//! Each [`Route`] has a first-in, first-out list of faults, each with a
//! number of remaining uses. Every request on a route takes the first fault
//! of its list (if any) and is counted, faulted or not.

use blaxel_jobs_client::operations::{BASE_PATH, Operation};
use http::Method;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

/// One operation of the API: the unit of fault injection and request counts.
///
/// Every route but [`Route::OAuthToken`] is an operation of the document;
/// its name, method and path come from the generated
/// [`Operation`] table (see [`Route::operation`]), and
/// the router serves exactly the operations of that table. The variants are
/// named after the `operationId`s, and the mapping to [`Operation`] is an
/// exhaustive match both ways, so an operation added to the document does
/// not compile here until the emulator serves it.
///
/// ```
/// use blaxel_jobs_emulator::Route;
/// use blaxel_jobs_client::operations::Operation;
///
/// assert_eq!(Route::CreateJobExecution.operation_id(), "CreateJobExecution");
/// assert_eq!(Route::CreateJobExecution.operation(), Some(Operation::CreateJobExecution));
/// assert_eq!(Route::OAuthToken.method(), "POST");
/// assert_eq!(Route::GetJob.path(), "/v0/jobs/{jobId}");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Route {
    /// [`Operation::ListJobs`].
    ListJobs,
    /// [`Operation::CreateJob`].
    CreateJob,
    /// [`Operation::GetJob`].
    GetJob,
    /// [`Operation::UpdateJob`].
    UpdateJob,
    /// [`Operation::DeleteJob`].
    DeleteJob,
    /// [`Operation::ListJobRevisions`].
    ListJobRevisions,
    /// [`Operation::ListJobExecutions`].
    ListJobExecutions,
    /// [`Operation::CreateJobExecution`].
    CreateJobExecution,
    /// [`Operation::GetJobExecution`].
    GetJobExecution,
    /// [`Operation::DeleteJobExecution`].
    DeleteJobExecution,
    /// [`Operation::ListJobExecutionTasks`].
    ListJobExecutionTasks,
    /// `POST /v0/oauth/token`, the OAuth token endpoint (not an operation of
    /// the document).
    OAuthToken,
}

/// The token endpoint's path, which the document does not list.
const OAUTH_TOKEN_PATH: &str = "/v0/oauth/token";

/// The full path templates of the operations, [`BASE_PATH`] included, in
/// the order of [`Operation::ALL`].
static OPERATION_PATHS: LazyLock<Vec<String>> = LazyLock::new(|| {
    Operation::ALL
        .iter()
        .map(|op| format!("{BASE_PATH}{}", op.path()))
        .collect()
});

impl Route {
    /// Every route: the operations of the document, in the order of
    /// [`Operation::ALL`], then [`Route::OAuthToken`].
    pub const ALL: [Route; Operation::ALL.len() + 1] = {
        let mut all = [Route::OAuthToken; Operation::ALL.len() + 1];
        let mut i = 0;
        while i < Operation::ALL.len() {
            all[i] = Route::from_operation(Operation::ALL[i]);
            i += 1;
        }
        all
    };

    /// The route that serves `op`.
    pub const fn from_operation(op: Operation) -> Route {
        match op {
            Operation::ListJobs => Route::ListJobs,
            Operation::CreateJob => Route::CreateJob,
            Operation::GetJob => Route::GetJob,
            Operation::UpdateJob => Route::UpdateJob,
            Operation::DeleteJob => Route::DeleteJob,
            Operation::ListJobRevisions => Route::ListJobRevisions,
            Operation::ListJobExecutions => Route::ListJobExecutions,
            Operation::CreateJobExecution => Route::CreateJobExecution,
            Operation::GetJobExecution => Route::GetJobExecution,
            Operation::DeleteJobExecution => Route::DeleteJobExecution,
            Operation::ListJobExecutionTasks => Route::ListJobExecutionTasks,
        }
    }

    /// The operation of the document this route serves (`None` for the
    /// token endpoint).
    pub const fn operation(self) -> Option<Operation> {
        Some(match self {
            Route::ListJobs => Operation::ListJobs,
            Route::CreateJob => Operation::CreateJob,
            Route::GetJob => Operation::GetJob,
            Route::UpdateJob => Operation::UpdateJob,
            Route::DeleteJob => Operation::DeleteJob,
            Route::ListJobRevisions => Operation::ListJobRevisions,
            Route::ListJobExecutions => Operation::ListJobExecutions,
            Route::CreateJobExecution => Operation::CreateJobExecution,
            Route::GetJobExecution => Operation::GetJobExecution,
            Route::DeleteJobExecution => Operation::DeleteJobExecution,
            Route::ListJobExecutionTasks => Operation::ListJobExecutionTasks,
            Route::OAuthToken => return None,
        })
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
            None => OAUTH_TOKEN_PATH,
        }
    }

    fn operation_index(op: Operation) -> usize {
        Operation::ALL.iter().position(|o| *o == op).unwrap_or(0)
    }

    fn index(self) -> usize {
        Route::ALL.iter().position(|r| *r == self).unwrap_or(0)
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
        if path == OAUTH_TOKEN_PATH {
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
            .map(Route::from_operation)
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
    counts: [AtomicU64; Route::ALL.len()],
}

impl FaultBook {
    /// Queues `fault` for the next `times` requests on `route` (after the
    /// faults already queued there).
    pub(crate) fn inject(&self, route: Route, fault: Fault, times: usize) {
        if times == 0 {
            return;
        }
        let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        if queues.len() < Route::ALL.len() {
            queues.resize_with(Route::ALL.len(), VecDeque::new);
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
        let cases = [
            ("GET", "/v0/jobs", Some(Route::ListJobs)),
            ("HEAD", "/v0/jobs", Some(Route::ListJobs)),
            ("POST", "/v0/jobs", Some(Route::CreateJob)),
            ("GET", "/v0/jobs/a", Some(Route::GetJob)),
            ("PUT", "/v0/jobs/a", Some(Route::UpdateJob)),
            ("DELETE", "/v0/jobs/a", Some(Route::DeleteJob)),
            ("GET", "/v0/jobs/a/revisions", Some(Route::ListJobRevisions)),
            (
                "GET",
                "/v0/jobs/a/executions",
                Some(Route::ListJobExecutions),
            ),
            (
                "POST",
                "/v0/jobs/a/executions",
                Some(Route::CreateJobExecution),
            ),
            (
                "GET",
                "/v0/jobs/a/executions/e",
                Some(Route::GetJobExecution),
            ),
            (
                "DELETE",
                "/v0/jobs/a/executions/e",
                Some(Route::DeleteJobExecution),
            ),
            (
                "GET",
                "/v0/jobs/a/executions/e/tasks",
                Some(Route::ListJobExecutionTasks),
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
        for r in Route::ALL {
            let concrete = r
                .path()
                .replace("{jobId}", "j")
                .replace("{executionId}", "e");
            let m: Method = r.method().parse().unwrap();
            assert_eq!(Route::classify(&m, &concrete), Some(r));
        }
    }

    #[test]
    fn routes_come_from_the_operations_table() {
        assert_eq!(Route::ALL.len(), Operation::ALL.len() + 1);
        for op in Operation::ALL {
            let route = Route::from_operation(op);
            assert_eq!(route.operation(), Some(op));
            assert_eq!(route.operation_id(), op.name());
            assert_eq!(route.method(), op.method());
            assert_eq!(route.path(), format!("/v0{}", op.path()));
            // The router can serve the operation's method.
            let method: Method = op.method().parse().unwrap();
            assert!(
                axum::routing::MethodFilter::try_from(method).is_ok(),
                "{op}"
            );
        }
        assert_eq!(Route::OAuthToken.operation(), None);
        assert_eq!(Route::ALL.last(), Some(&Route::OAuthToken));
    }

    #[test]
    fn faults_are_used_in_order_and_counted() {
        let book = FaultBook::default();
        book.inject(Route::GetJob, Fault::MalformedBody, 2);
        book.inject(Route::GetJob, Fault::TruncatedBody, 1);
        book.inject(Route::GetJob, Fault::TruncatedBody, 0);
        assert_eq!(book.on_request(Route::ListJobs), None);
        assert_eq!(book.on_request(Route::GetJob), Some(Fault::MalformedBody));
        assert_eq!(book.on_request(Route::GetJob), Some(Fault::MalformedBody));
        assert_eq!(book.on_request(Route::GetJob), Some(Fault::TruncatedBody));
        assert_eq!(book.on_request(Route::GetJob), None);
        assert_eq!(book.count(Route::GetJob), 4);
        assert_eq!(book.count(Route::ListJobs), 1);
        assert_eq!(book.count(Route::DeleteJob), 0);
    }
}
