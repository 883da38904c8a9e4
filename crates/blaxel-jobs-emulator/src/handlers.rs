//! The axum router and one handler per API operation.
//!
//! By the time a handler runs, the server pipeline has authenticated the
//! request and resolved its workspace and API version (a [`Ctx`] in the
//! request's extensions). Each handler validates its parameters and body
//! against the document, advances the workspace's simulation to now, acts,
//! and renders the generated API types.

use crate::auth;
use crate::clock::Micros;
use crate::context::Ctx;
use crate::error::{ApiError, json_response};
use crate::faults::Route;
use crate::paginate::{Entry, Page, PageRequest, fingerprint, normalize_q, paginate};
use crate::server::Shared;
use crate::state::{ExecutionRequest, Mutation, Workspace, execution_not_found, job_not_found};
use crate::urlencoded;
use crate::validate::{Params, describe};
use axum::Router;
use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{DefaultBodyLimit, Extension, RawPathParams, RawQuery, State};
use axum::response::Response;
use axum::routing::{MethodFilter, MethodRouter, on, post};
use blaxel_jobs_client::open_enum::DeploymentStatus;
use blaxel_jobs_client::operations::{BASE_PATH, Operation};
use blaxel_jobs_client::types::{self, ListSort};
use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode, Uri};
use serde::Serialize;
use serde_json::Value;
use std::str::FromStr;
use std::sync::Arc;

type Shr = State<Arc<Shared>>;
type PathParams = Result<RawPathParams, RawPathParamsRejection>;
type Answer = Result<Response, ApiError>;

/// The routes of the API: every operation of the generated table
/// ([`Operation::ALL`]), at its method and path under [`BASE_PATH`], and the
/// OAuth token endpoint.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let mut router = Router::new();
    for op in Operation::ALL {
        router = router.route(&format!("{BASE_PATH}{}", op.path()), handler(op));
    }
    router
        .route(Route::OAuthToken.path(), post(oauth_token))
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
        Operation::ListJobs => on(filter, list_jobs),
        Operation::CreateJob => on(filter, create_job),
        Operation::GetJob => on(filter, get_job),
        Operation::UpdateJob => on(filter, update_job),
        Operation::DeleteJob => on(filter, delete_job),
        Operation::ListJobRevisions => on(filter, list_revisions),
        Operation::ListJobExecutions => on(filter, list_executions),
        Operation::CreateJobExecution => on(filter, create_execution),
        Operation::GetJobExecution => on(filter, get_execution),
        Operation::DeleteJobExecution => on(filter, cancel_execution),
        Operation::ListJobExecutionTasks => on(filter, list_tasks),
    }
}

/// A request after the common checks.
struct Call {
    ctx: Ctx,
    params: Params,
}

impl Call {
    fn new(
        shared: &Shared,
        ctx: Option<Extension<Ctx>>,
        path: Vec<(String, String)>,
        query: Option<String>,
        operation: &str,
    ) -> Result<Call, ApiError> {
        let Some(Extension(ctx)) = ctx else {
            return Err(ApiError::internal("the request context is missing"));
        };
        let query = urlencoded::parse(query.as_deref().unwrap_or(""))
            .map_err(|e| ApiError::validation(format!("query: {e}")))?;
        let params = shared
            .spec
            .validate_params(operation, &path, &query)
            .map_err(|v| ApiError::validation(describe(&v)))?;
        Ok(Call { ctx, params })
    }

    fn path(&self, name: &str) -> Result<String, ApiError> {
        self.params
            .str(name)
            .map(str::to_owned)
            .ok_or_else(|| ApiError::validation(format!("path {name}: is required")))
    }
}

fn path_params(path: PathParams) -> Result<Vec<(String, String)>, ApiError> {
    match path {
        Ok(p) => Ok(p
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()),
        Err(_) => Err(ApiError::validation(
            "path: a path parameter is not valid UTF-8 once percent-decoded",
        )),
    }
}

/// Parses and validates a JSON body, returning it without readOnly fields.
fn json_body(shared: &Shared, operation: &str, body: &Bytes) -> Result<Value, ApiError> {
    let value = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(
            serde_json::from_slice::<Value>(body)
                .map_err(|e| ApiError::bad_request(format!("body: not valid JSON: {e}")))?,
        )
    };
    shared
        .spec
        .validate_body(operation, value.as_ref())
        .map_err(|v| ApiError::validation(describe(&v)))
}

fn typed<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_json::from_value(value).map_err(|e| ApiError::validation(format!("body: {e}")))
}

/// Runs `f` on the workspace, advanced to now, under the workspace's lock.
fn with_workspace<R>(
    shared: &Shared,
    workspace: &str,
    f: impl FnOnce(&mut Workspace, Micros) -> R,
) -> R {
    shared.with_workspace(workspace, f)
}

fn mutation<'a>(shared: &'a Shared, ctx: &'a Ctx, now: Micros) -> Mutation<'a> {
    Mutation {
        now,
        principal: &ctx.principal,
        origin: &shared.origin,
        clock: &shared.clock,
        settings: &shared.settings,
    }
}

fn ok<T: Serialize + ?Sized>(value: &T) -> Answer {
    Ok(json_response(StatusCode::OK, value))
}

/// A `{data, meta}` page; `data` is always present, even when empty.
fn page_body<T: Serialize>(items: Vec<T>, page_meta: types::PaginationMeta) -> Answer {
    let mut body = serde_json::Map::new();
    let data = serde_json::to_value(items).map_err(|e| ApiError::internal(e.to_string()))?;
    body.insert("data".to_owned(), data);
    let meta = serde_json::to_value(page_meta).map_err(|e| ApiError::internal(e.to_string()))?;
    body.insert("meta".to_owned(), meta);
    ok(&Value::Object(body))
}

/// The page request of a listing, with its cursor fingerprint.
fn page_request(params: &Params, fp_parts: &[&str], now: Micros) -> Result<PageRequest, ApiError> {
    let sort_raw = params.str("sort").unwrap_or("createdAt:desc");
    let sort = ListSort::from_str(sort_raw)
        .map_err(|_| ApiError::validation(format!("query sort: unknown sort {sort_raw:?}")))?;
    let limit = params.i64("limit").unwrap_or(50).max(1);
    let mut parts: Vec<&str> = fp_parts.to_vec();
    parts.push(sort_raw);
    Ok(PageRequest {
        limit: usize::try_from(limit).unwrap_or(usize::MAX),
        sort,
        anchor_end: params.str("anchor") == Some("end"),
        cursor: params
            .str("cursor")
            .filter(|c| !c.is_empty())
            .map(str::to_owned),
        fingerprint: fingerprint(&parts),
        now,
    })
}

/// The `status` filter of ListJobs: comma-separated, case-insensitive.
fn status_filter(raw: Option<&str>) -> Result<Option<Vec<DeploymentStatus>>, ApiError> {
    let Some(raw) = raw else { return Ok(None) };
    let mut out = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let s = DeploymentStatus::from(part);
        if !s.is_known() {
            return Err(ApiError::validation(format!(
                "query status: unknown status {part:?}; expected a comma-separated list of {}",
                DeploymentStatus::KNOWN.join(", ")
            )));
        }
        out.push(s);
    }
    out.sort();
    out.dedup();
    Ok((!out.is_empty()).then_some(out))
}

// ---------------------------------------------------------------- jobs

async fn list_jobs(State(s): Shr, ctx: Option<Extension<Ctx>>, RawQuery(q): RawQuery) -> Answer {
    let call = Call::new(&s, ctx, Vec::new(), q, "ListJobs")?;
    let statuses = status_filter(call.params.str("status"))?;
    let external_id = call.params.str("externalId").map(str::to_owned);
    let ctx = &call.ctx;
    with_workspace(&s, &ctx.workspace, |ws, now| {
        if !ctx.version.paginated() {
            let mut jobs: Vec<_> = ws.jobs().collect();
            jobs.sort_by_key(|j| std::cmp::Reverse(j.seq));
            let all: Vec<types::Job> = jobs.iter().map(|j| j.render(false)).collect();
            return ok(&all);
        }
        let q = normalize_q(call.params.str("q"));
        let status_key = statuses
            .as_ref()
            .map(|v| {
                v.iter()
                    .map(DeploymentStatus::as_str)
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default();
        let req = page_request(
            &call.params,
            &[
                &ctx.workspace,
                "ListJobs",
                q.as_deref().unwrap_or(""),
                &status_key,
                external_id.as_deref().unwrap_or(""),
            ],
            now,
        )?;
        let total = ws.jobs().count();
        let entries = ws
            .jobs()
            .filter(|j| q.as_deref().is_none_or(|q| j.matches(q)))
            .filter(|j| statuses.as_ref().is_none_or(|st| st.contains(&j.status())))
            .filter(|j| {
                external_id
                    .as_deref()
                    .is_none_or(|x| j.external_id() == Some(x))
            })
            .map(|j| Entry {
                created: j.seq,
                seq: j.seq,
                name: j.name().to_owned(),
                item: j,
            })
            .collect();
        let page: Page<_> = paginate(entries, &req)?;
        let meta = page.meta(total, s.config.count_limit);
        page_body(page.items.iter().map(|j| j.render(false)).collect(), meta)
    })
}

async fn create_job(
    State(s): Shr,
    ctx: Option<Extension<Ctx>>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Answer {
    let call = Call::new(&s, ctx, Vec::new(), q, "CreateJob")?;
    let job: types::Job = typed(json_body(&s, "CreateJob", &body)?)?;
    with_workspace(&s, &call.ctx.workspace, |ws, now| {
        let stored = ws.create_job(job, &mutation(&s, &call.ctx, now))?;
        ok(&stored.render(false))
    })
}

async fn get_job(
    State(s): Shr,
    ctx: Option<Extension<Ctx>>,
    path: PathParams,
    RawQuery(q): RawQuery,
) -> Answer {
    let call = Call::new(&s, ctx, path_params(path)?, q, "GetJob")?;
    let name = call.path("jobId")?;
    let show = call.params.bool("show_secrets").unwrap_or(false);
    if show && !call.ctx.admin {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "show_secrets needs the workspace admin role; read without it (secret values come back masked)",
        ));
    }
    with_workspace(&s, &call.ctx.workspace, |ws, _| {
        let job = ws
            .job(&name)
            .ok_or_else(|| job_not_found(&name, &call.ctx.workspace))?;
        ok(&job.render(show))
    })
}

async fn update_job(
    State(s): Shr,
    ctx: Option<Extension<Ctx>>,
    path: PathParams,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Answer {
    let call = Call::new(&s, ctx, path_params(path)?, q, "UpdateJob")?;
    let name = call.path("jobId")?;
    let job: types::Job = typed(json_body(&s, "UpdateJob", &body)?)?;
    with_workspace(&s, &call.ctx.workspace, |ws, now| {
        let stored = ws.update_job(&name, job, &mutation(&s, &call.ctx, now))?;
        ok(&stored.render(false))
    })
}

async fn delete_job(
    State(s): Shr,
    ctx: Option<Extension<Ctx>>,
    path: PathParams,
    RawQuery(q): RawQuery,
) -> Answer {
    let call = Call::new(&s, ctx, path_params(path)?, q, "DeleteJob")?;
    let name = call.path("jobId")?;
    with_workspace(&s, &call.ctx.workspace, |ws, now| {
        let deleted = ws.delete_job(&name, &mutation(&s, &call.ctx, now))?;
        ok(&deleted.render(false))
    })
}

async fn list_revisions(
    State(s): Shr,
    ctx: Option<Extension<Ctx>>,
    path: PathParams,
    RawQuery(q): RawQuery,
) -> Answer {
    let call = Call::new(&s, ctx, path_params(path)?, q, "ListJobRevisions")?;
    let name = call.path("jobId")?;
    with_workspace(&s, &call.ctx.workspace, |ws, _| {
        let job = ws
            .job(&name)
            .ok_or_else(|| job_not_found(&name, &call.ctx.workspace))?;
        ok(&job.revisions())
    })
}

// ---------------------------------------------------------------- executions

/// An execution as answered when its task list is stored apart (see
/// `EmulatorConfig::store_tasks_apart_from`): `spec.tasksRef` names where,
/// and neither `tasks` nor `spec.tasks` is in the body; `spec.taskCount`
/// and `stats` still count the tasks. Smaller executions are unchanged.
fn stored_apart(s: &Shared, mut exec: types::JobExecution) -> types::JobExecution {
    let Some(min) = s.config.tasks_apart_from else {
        return exec;
    };
    let count = exec
        .spec
        .task_count
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(exec.tasks.len());
    if count >= min {
        exec.spec.tasks_ref = Some(format!(
            "/v0/jobs/{}/executions/{}/tasks",
            exec.metadata.job.as_deref().unwrap_or_default(),
            exec.metadata.id.as_deref().unwrap_or_default()
        ));
        exec.spec.tasks = Vec::new();
        exec.tasks = Vec::new();
    }
    exec
}

async fn list_executions(
    State(s): Shr,
    ctx: Option<Extension<Ctx>>,
    path: PathParams,
    RawQuery(q): RawQuery,
) -> Answer {
    let call = Call::new(&s, ctx, path_params(path)?, q, "ListJobExecutions")?;
    let name = call.path("jobId")?;
    let ctx = &call.ctx;
    let clock = &s.clock;
    with_workspace(&s, &ctx.workspace, |ws, now| {
        let job = ws
            .job(&name)
            .ok_or_else(|| job_not_found(&name, &ctx.workspace))?;
        let mut execs: Vec<_> = ws.executions_of(job).collect();
        if !ctx.version.paginated() {
            // The legacy contract: newest first, an offset/limit slice.
            execs.sort_by_key(|e| std::cmp::Reverse(e.seq));
            let offset =
                usize::try_from(call.params.i64("offset").unwrap_or(0)).unwrap_or(usize::MAX);
            let limit = usize::try_from(call.params.i64("limit").unwrap_or(20)).unwrap_or(20);
            let slice: Vec<types::JobExecution> = execs
                .iter()
                .skip(offset)
                .take(limit)
                .map(|e| stored_apart(&s, e.render(now, clock)))
                .collect();
            return ok(&slice);
        }
        let q = normalize_q(call.params.str("q"));
        let req = page_request(
            &call.params,
            &[
                &ctx.workspace,
                "ListJobExecutions",
                &name,
                q.as_deref().unwrap_or(""),
            ],
            now,
        )?;
        let total = execs.len();
        let entries = execs
            .into_iter()
            .filter(|e| q.as_deref().is_none_or(|q| e.id.to_lowercase().contains(q)))
            .map(|e| Entry {
                created: e.seq,
                seq: e.seq,
                name: e.id.clone(),
                item: e,
            })
            .collect();
        let page = paginate(entries, &req)?;
        let meta = page.meta(total, s.config.count_limit);
        page_body(
            page.items
                .iter()
                .map(|e| stored_apart(&s, e.render(now, clock)))
                .collect(),
            meta,
        )
    })
}

async fn create_execution(
    State(s): Shr,
    ctx: Option<Extension<Ctx>>,
    path: PathParams,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Answer {
    let call = Call::new(&s, ctx, path_params(path)?, q, "CreateJobExecution")?;
    let name = call.path("jobId")?;
    let body: types::CreateJobExecutionRequest =
        typed(json_body(&s, "CreateJobExecution", &body)?)?;
    if body.job_id.as_deref().is_some_and(|j| j != name) {
        return Err(ApiError::validation(format!(
            "jobId: must be the job name in the path ({name:?}) when given"
        )));
    }
    if body
        .workspace_id
        .as_deref()
        .is_some_and(|w| w != call.ctx.workspace)
    {
        return Err(ApiError::validation(format!(
            "workspaceId: must be the request's workspace ({:?}) when given",
            call.ctx.workspace
        )));
    }
    if body
        .execution_id
        .as_deref()
        .is_some_and(|id| id.trim().is_empty())
    {
        return Err(ApiError::validation("executionId: must not be empty"));
    }
    let req = ExecutionRequest {
        execution_id: body.execution_id,
        message_id: body.id,
        tasks: body.tasks,
        env: body.env,
        memory: body.memory,
        allow_queue: body.allow_queue.unwrap_or(true),
    };
    with_workspace(&s, &call.ctx.workspace, |ws, now| {
        let exec = ws.create_execution(&name, req, &mutation(&s, &call.ctx, now))?;
        ok(&exec.output())
    })
}

async fn get_execution(
    State(s): Shr,
    ctx: Option<Extension<Ctx>>,
    path: PathParams,
    RawQuery(q): RawQuery,
) -> Answer {
    let call = Call::new(&s, ctx, path_params(path)?, q, "GetJobExecution")?;
    let (job, id) = (call.path("jobId")?, call.path("executionId")?);
    with_workspace(&s, &call.ctx.workspace, |ws, now| {
        let exec = ws
            .execution(&job, &id)
            .ok_or_else(|| execution_not_found(&job, &id))?;
        ok(&stored_apart(&s, exec.render(now, &s.clock)))
    })
}

async fn cancel_execution(
    State(s): Shr,
    ctx: Option<Extension<Ctx>>,
    path: PathParams,
    RawQuery(q): RawQuery,
) -> Answer {
    let call = Call::new(&s, ctx, path_params(path)?, q, "DeleteJobExecution")?;
    let (job, id) = (call.path("jobId")?, call.path("executionId")?);
    with_workspace(&s, &call.ctx.workspace, |ws, now| {
        let exec = ws.cancel_execution(&job, &id, now)?;
        ok(&stored_apart(&s, exec.render(now, &s.clock)))
    })
}

async fn list_tasks(
    State(s): Shr,
    ctx: Option<Extension<Ctx>>,
    path: PathParams,
    RawQuery(q): RawQuery,
) -> Answer {
    let call = Call::new(&s, ctx, path_params(path)?, q, "ListJobExecutionTasks")?;
    let (job, id) = (call.path("jobId")?, call.path("executionId")?);
    let ctx = &call.ctx;
    with_workspace(&s, &ctx.workspace, |ws, now| {
        let exec = ws
            .execution(&job, &id)
            .ok_or_else(|| execution_not_found(&job, &id))?;
        let tasks = exec.render_tasks(now, &s.clock);
        if !ctx.version.paginated() {
            return ok(&tasks);
        }
        let q = normalize_q(call.params.str("q"));
        let req = page_request(
            &call.params,
            &[
                &ctx.workspace,
                "ListJobExecutionTasks",
                &job,
                &id,
                q.as_deref().unwrap_or(""),
            ],
            now,
        )?;
        let total = tasks.len();
        let entries = exec
            .task_names()
            .zip(tasks)
            .enumerate()
            .filter(|(_, (n, _))| q.as_deref().is_none_or(|q| n.to_lowercase().contains(q)))
            .map(|(i, (n, t))| Entry {
                // Created together: only the submission order tells them apart.
                created: 0,
                seq: i as u64,
                name: n.to_owned(),
                item: t,
            })
            .collect();
        let page = paginate(entries, &req)?;
        let meta = page.meta(total, s.config.count_limit);
        page_body(page.items, meta)
    })
}

// ---------------------------------------------------------------- OAuth

#[derive(Serialize)]
struct TokenAnswer {
    access_token: String,
    refresh_token: String,
    token_type: &'static str,
    expires_in: u64,
}

/// The answer to a browser login's refresh grant. It has exactly these
/// four fields: Blaxel's Python SDK builds its response object from them
/// and fails on any other.
#[derive(Serialize)]
struct RefreshAnswer {
    access_token: String,
    refresh_token: String,
    expires_in: u64,
    token_type: &'static str,
}

/// `POST /v0/oauth/token`: the `client_credentials` grant (client
/// credentials in `Authorization: Basic`, or `client_id` and
/// `client_secret` in the body), whose answer carries a refresh token too,
/// and the `refresh_token` grant, of those tokens (used up by the exchange;
/// client credentials, when sent, must be the token's client's) or of a
/// browser login (with its device code when sent; kept, or rotated when
/// the emulator is told to). Client credentials that are sent must be right,
/// whatever the grant. Bodies are JSON or form-encoded.
async fn oauth_token(State(s): Shr, headers: HeaderMap, body: Bytes) -> Answer {
    let is_json = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("json"))
        || body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let fields: Vec<(String, String)> = if is_json {
        let v: Value = serde_json::from_slice(&body).map_err(|e| {
            oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &format!("body: not valid JSON: {e}"),
            )
        })?;
        v.as_object()
            .ok_or_else(|| {
                oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "body: must be a JSON object",
                )
            })?
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
            .collect()
    } else {
        let text = std::str::from_utf8(&body).map_err(|_| {
            oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "body: not UTF-8",
            )
        })?;
        urlencoded::parse(text)
            .map_err(|e| oauth_error(StatusCode::BAD_REQUEST, "invalid_request", &e))?
    };
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let cfg = &s.config;
    let creds =
        auth::basic(&headers).or_else(|| Some((field("client_id")?, field("client_secret")?)));
    let client = match creds {
        Some((id, secret)) => {
            let good = auth::constant_time_eq(id.as_bytes(), cfg.client_id.as_bytes())
                & auth::constant_time_eq(secret.as_bytes(), cfg.client_secret.as_bytes());
            if !good {
                return Err(oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "the client credentials are not valid",
                ));
            }
            Some(id)
        }
        None => None,
    };
    match field("grant_type").as_deref() {
        Some("client_credentials") => {
            let id = client.ok_or_else(|| {
                oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "client credentials are required: send Authorization: Basic base64(client_id:client_secret)",
                )
            })?;
            let issued = s.tokens.issue_for_client(&id, cfg.token_ttl);
            ok(&TokenAnswer {
                access_token: issued.access_token,
                refresh_token: issued.refresh_token,
                token_type: "Bearer",
                expires_in: cfg.token_ttl.as_secs(),
            })
        }
        Some("refresh_token") => {
            let Some(refresh_token) = field("refresh_token").filter(|t| !t.is_empty()) else {
                return Err(ApiError::oauth(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "refresh_token is required with grant_type refresh_token",
                ));
            };
            let device_code = field("device_code").filter(|c| !c.is_empty());
            let refreshed = s
                .tokens
                .refresh(
                    &refresh_token,
                    device_code.as_deref(),
                    client.as_deref(),
                    cfg.token_ttl,
                    cfg.rotate_refresh_tokens,
                )
                .map_err(|why| ApiError::oauth(StatusCode::BAD_REQUEST, "invalid_grant", why))?;
            match refreshed {
                auth::Refreshed::Login {
                    access_token,
                    refresh_token,
                } => ok(&RefreshAnswer {
                    access_token,
                    refresh_token,
                    expires_in: cfg.token_ttl.as_secs(),
                    token_type: "Bearer",
                }),
                auth::Refreshed::Client(issued) => ok(&TokenAnswer {
                    access_token: issued.access_token,
                    refresh_token: issued.refresh_token,
                    token_type: "Bearer",
                    expires_in: cfg.token_ttl.as_secs(),
                }),
            }
        }
        Some(other) => Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            &format!(
                "grant_type {other:?} is not supported; use client_credentials or refresh_token"
            ),
        )),
        None => Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "grant_type is required (client_credentials or refresh_token)",
        )),
    }
}

fn oauth_error(status: StatusCode, kind: &'static str, message: &str) -> ApiError {
    ApiError::new(status, kind, message)
}

// ---------------------------------------------------------------- fallbacks

async fn route_not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "route_not_found",
        format!(
            "no route for {method} {}; the Jobs API lives under /v0 (e.g. GET /v0/jobs)",
            uri.path()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_filters_are_case_insensitive_and_strict() {
        assert_eq!(
            status_filter(Some("deployed, FAILED,,Deployed")).unwrap(),
            Some(vec![DeploymentStatus::Failed, DeploymentStatus::Deployed])
        );
        assert_eq!(status_filter(Some(" , ")).unwrap(), None);
        assert_eq!(status_filter(None).unwrap(), None);
        let e = status_filter(Some("DEPLOYED,RUNNING")).unwrap_err();
        assert!(
            e.message
                .starts_with("query status: unknown status \"RUNNING\""),
            "{}",
            e.message
        );
    }
}
