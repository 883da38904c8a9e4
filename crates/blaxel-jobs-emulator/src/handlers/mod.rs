//! The axum router: one handler per API operation, in [`jobs`],
//! [`executions`] and [`logs`], the OAuth token endpoint ([`oauth`]), and
//! the answers to requests for no route.
//!
//! By the time a handler runs, the server pipeline has authenticated the
//! request and resolved its workspace and API version (a
//! [`Ctx`](crate::context::Ctx) in the request's extensions). Each handler
//! validates its parameters and body against the document, advances the
//! workspace's simulation to now, acts, and renders the generated API types
//! (the helpers shared by the handlers are in [`call`]).

mod call;
mod executions;
mod jobs;
mod logs;
mod oauth;

use crate::error::ApiError;
use crate::faults::Route;
use crate::shared::Shared;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{MethodFilter, MethodRouter, on, post};
use blaxel_jobs_client::operations::{BASE_PATH, Operation};
use http::{Method, StatusCode, Uri};
use std::sync::Arc;

/// The routes of the API: every operation of the generated table
/// ([`Operation::ALL`]), at its method and path under [`BASE_PATH`], and the
/// OAuth token endpoint.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let mut router = Router::new();
    for op in Operation::ALL {
        router = router.route(&format!("{BASE_PATH}{}", op.path()), handler(op));
    }
    router
        .route(Route::OAuthToken.path(), post(oauth::oauth_token))
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::disable())
        .with_state(shared)
}

/// The handler of `op`, at the operation's method. Exhaustive: an operation
/// added to the document does not compile until it has a handler.
fn handler(op: Operation) -> MethodRouter<Arc<Shared>> {
    let filter = Method::from_bytes(op.method().as_bytes())
        .ok()
        .and_then(|m| MethodFilter::try_from(m).ok())
        .unwrap_or(MethodFilter::GET);
    match op {
        Operation::ListJobs => on(filter, jobs::list_jobs),
        Operation::CreateJob => on(filter, jobs::create_job),
        Operation::GetJob => on(filter, jobs::get_job),
        Operation::UpdateJob => on(filter, jobs::update_job),
        Operation::DeleteJob => on(filter, jobs::delete_job),
        Operation::ListJobRevisions => on(filter, jobs::list_revisions),
        Operation::ListJobExecutions => on(filter, executions::list_executions),
        Operation::CreateJobExecution => on(filter, executions::create_execution),
        Operation::GetJobExecution => on(filter, executions::get_execution),
        Operation::DeleteJobExecution => on(filter, executions::cancel_execution),
        Operation::ListJobExecutionTasks => on(filter, executions::list_tasks),
        Operation::ListLogs => on(filter, logs::list_logs),
    }
}

async fn route_not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "route_not_found",
        format!(
            "no route for {method} {}; the Jobs API lives under {BASE_PATH} (e.g. {} {BASE_PATH}{})",
            uri.path(),
            Operation::ListJobs.method(),
            Operation::ListJobs.path()
        ),
    )
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed on {}", uri.path()),
    )
}
