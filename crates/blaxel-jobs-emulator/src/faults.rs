//! Routes, injected faults and request counts.
//!
//! Each [`Route`] has a first-in, first-out list of faults, each with a
//! number of remaining uses. Every request on a route takes the first fault
//! of its list (if any) and is counted, faulted or not.

use http::Method;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// One operation of the API: the unit of fault injection and request counts.
///
/// ```
/// use blaxel_jobs_emulator::Route;
///
/// assert_eq!(Route::CreateJobExecution.operation_id(), "CreateJobExecution");
/// assert_eq!(Route::OAuthToken.method(), "POST");
/// assert_eq!(Route::GetJob.path(), "/v0/jobs/{jobId}");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Route {
    /// `GET /v0/jobs`
    ListJobs,
    /// `POST /v0/jobs`
    CreateJob,
    /// `GET /v0/jobs/{jobId}`
    GetJob,
    /// `PUT /v0/jobs/{jobId}`
    UpdateJob,
    /// `DELETE /v0/jobs/{jobId}`
    DeleteJob,
    /// `GET /v0/jobs/{jobId}/revisions`
    ListJobRevisions,
    /// `GET /v0/jobs/{jobId}/executions`
    ListJobExecutions,
    /// `POST /v0/jobs/{jobId}/executions`
    CreateJobExecution,
    /// `GET /v0/jobs/{jobId}/executions/{executionId}`
    GetJobExecution,
    /// `DELETE /v0/jobs/{jobId}/executions/{executionId}`
    DeleteJobExecution,
    /// `GET /v0/jobs/{jobId}/executions/{executionId}/tasks`
    ListJobExecutionTasks,
    /// `POST /v0/oauth/token`, the OAuth token endpoint.
    OAuthToken,
}

impl Route {
    /// Every route.
    pub const ALL: [Route; 12] = [
        Route::ListJobs,
        Route::CreateJob,
        Route::GetJob,
        Route::UpdateJob,
        Route::DeleteJob,
        Route::ListJobRevisions,
        Route::ListJobExecutions,
        Route::CreateJobExecution,
        Route::GetJobExecution,
        Route::DeleteJobExecution,
        Route::ListJobExecutionTasks,
        Route::OAuthToken,
    ];

    /// The `operationId` in the API document (`"OAuthToken"` for the token
    /// endpoint, which the document does not list as an operation).
    pub fn operation_id(self) -> &'static str {
        match self {
            Route::ListJobs => "ListJobs",
            Route::CreateJob => "CreateJob",
            Route::GetJob => "GetJob",
            Route::UpdateJob => "UpdateJob",
            Route::DeleteJob => "DeleteJob",
            Route::ListJobRevisions => "ListJobRevisions",
            Route::ListJobExecutions => "ListJobExecutions",
            Route::CreateJobExecution => "CreateJobExecution",
            Route::GetJobExecution => "GetJobExecution",
            Route::DeleteJobExecution => "DeleteJobExecution",
            Route::ListJobExecutionTasks => "ListJobExecutionTasks",
            Route::OAuthToken => "OAuthToken",
        }
    }

    /// The HTTP method.
    pub fn method(self) -> &'static str {
        match self {
            Route::CreateJob | Route::CreateJobExecution | Route::OAuthToken => "POST",
            Route::UpdateJob => "PUT",
            Route::DeleteJob | Route::DeleteJobExecution => "DELETE",
            _ => "GET",
        }
    }

    /// The path template, including the `/v0` prefix.
    pub fn path(self) -> &'static str {
        match self {
            Route::ListJobs | Route::CreateJob => "/v0/jobs",
            Route::GetJob | Route::UpdateJob | Route::DeleteJob => "/v0/jobs/{jobId}",
            Route::ListJobRevisions => "/v0/jobs/{jobId}/revisions",
            Route::ListJobExecutions | Route::CreateJobExecution => "/v0/jobs/{jobId}/executions",
            Route::GetJobExecution | Route::DeleteJobExecution => {
                "/v0/jobs/{jobId}/executions/{executionId}"
            }
            Route::ListJobExecutionTasks => "/v0/jobs/{jobId}/executions/{executionId}/tasks",
            Route::OAuthToken => "/v0/oauth/token",
        }
    }

    fn index(self) -> usize {
        Route::ALL.iter().position(|r| *r == self).unwrap_or(0)
    }

    /// The route a request goes to, from its method and raw path. `HEAD` is
    /// treated as `GET`. `None` for anything the API does not have.
    pub(crate) fn classify(method: &Method, path: &str) -> Option<Route> {
        let rest = path.strip_prefix("/v0/")?;
        let segs: Vec<&str> = rest.split('/').collect();
        if segs.iter().any(|s| s.is_empty()) {
            return None;
        }
        let get = *method == Method::GET || *method == Method::HEAD;
        let post = *method == Method::POST;
        let put = *method == Method::PUT;
        let delete = *method == Method::DELETE;
        match segs.as_slice() {
            ["oauth", "token"] if post => Some(Route::OAuthToken),
            ["jobs"] if get => Some(Route::ListJobs),
            ["jobs"] if post => Some(Route::CreateJob),
            ["jobs", _] if get => Some(Route::GetJob),
            ["jobs", _] if put => Some(Route::UpdateJob),
            ["jobs", _] if delete => Some(Route::DeleteJob),
            ["jobs", _, "revisions"] if get => Some(Route::ListJobRevisions),
            ["jobs", _, "executions"] if get => Some(Route::ListJobExecutions),
            ["jobs", _, "executions"] if post => Some(Route::CreateJobExecution),
            ["jobs", _, "executions", _] if get => Some(Route::GetJobExecution),
            ["jobs", _, "executions", _] if delete => Some(Route::DeleteJobExecution),
            ["jobs", _, "executions", _, "tasks"] if get => Some(Route::ListJobExecutionTasks),
            _ => None,
        }
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
