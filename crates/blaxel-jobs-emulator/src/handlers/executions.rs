//! The execution operations: ListJobExecutions, CreateJobExecution,
//! GetJobExecution, DeleteJobExecution (which cancels) and
//! ListJobExecutionTasks.

use super::call::{
    Answer, Call, PathParams, Shr, count, mutation, ok, page_body, page_request, path_params, typed,
};
use crate::context::Ctx;
use crate::error::ApiError;
use crate::paginate::{Entry, normalize_q, paginate};
use crate::shared::Shared;
use crate::store::{ExecutionRequest, execution_not_found, job_not_found};
use axum::extract::{Extension, RawQuery, State};
use blaxel_jobs_client::operations::{BASE_PATH, Operation};
use blaxel_jobs_client::types;
use bytes::Bytes;

/// An execution as answered when its task list is stored apart (see
/// `EmulatorConfig::store_tasks_apart_from`): `spec.tasksRef` names where,
/// and neither `tasks` nor `spec.tasks` is in the body; `spec.taskCount`
/// and `stats` still count the tasks. Smaller executions are unchanged.
fn stored_apart(s: &Shared, mut exec: types::JobExecution) -> types::JobExecution {
    let Some(min) = s.config.tasks_apart_from else {
        return exec;
    };
    let tasks = exec
        .spec
        .task_count
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(exec.tasks.len());
    if tasks >= min {
        exec.spec.tasks_ref = Some(operation_path(
            Operation::ListJobExecutionTasks,
            &[
                exec.metadata.job.as_deref().unwrap_or_default(),
                exec.metadata.id.as_deref().unwrap_or_default(),
            ],
        ));
        exec.spec.tasks = Vec::new();
        exec.tasks = Vec::new();
    }
    exec
}

/// The path of `op` under [`BASE_PATH`], its path parameters replaced by
/// `values`, in the order of [`Operation::path_params`].
fn operation_path(op: Operation, values: &[&str]) -> String {
    let mut path = op.path().to_owned();
    for (name, value) in op.path_params().iter().zip(values) {
        path = path.replace(&format!("{{{name}}}"), value);
    }
    format!("{BASE_PATH}{path}")
}

pub(super) async fn list_executions(
    State(s): Shr,
    ctx: Option<Extension<Ctx>>,
    path: PathParams,
    RawQuery(q): RawQuery,
) -> Answer {
    let call = Call::new(&s, ctx, path_params(path)?, q, Operation::ListJobExecutions)?;
    let name = call.path("jobId")?;
    let ctx = &call.ctx;
    let clock = &s.clock;
    s.with_workspace(&ctx.workspace, |ws, now| {
        let job = ws
            .job(&name)
            .ok_or_else(|| job_not_found(&name, &ctx.workspace))?;
        let mut execs: Vec<_> = ws.executions_of(job).collect();
        if !ctx.version.paginated() {
            // The legacy contract: newest first, an offset/limit slice.
            execs.sort_by_key(|e| std::cmp::Reverse(e.seq));
            // The document gives both their defaults.
            let offset = count(&call.params, "offset")?;
            let limit = count(&call.params, "limit")?;
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
                call.operation.name(),
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

pub(super) async fn create_execution(
    State(s): Shr,
    ctx: Option<Extension<Ctx>>,
    path: PathParams,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Answer {
    let call = Call::new(
        &s,
        ctx,
        path_params(path)?,
        q,
        Operation::CreateJobExecution,
    )?;
    let name = call.path("jobId")?;
    let body: types::CreateJobExecutionRequest = typed(call.json_body(&s, &body)?)?;
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
    s.with_workspace(&call.ctx.workspace, |ws, now| {
        let exec = ws.create_execution(&name, req, &mutation(&s, &call.ctx, now))?;
        ok(&exec.output())
    })
}

pub(super) async fn get_execution(
    State(s): Shr,
    ctx: Option<Extension<Ctx>>,
    path: PathParams,
    RawQuery(q): RawQuery,
) -> Answer {
    let call = Call::new(&s, ctx, path_params(path)?, q, Operation::GetJobExecution)?;
    let (job, id) = (call.path("jobId")?, call.path("executionId")?);
    s.with_workspace(&call.ctx.workspace, |ws, now| {
        let exec = ws
            .execution(&job, &id)
            .ok_or_else(|| execution_not_found(&job, &id))?;
        ok(&stored_apart(&s, exec.render(now, &s.clock)))
    })
}

pub(super) async fn cancel_execution(
    State(s): Shr,
    ctx: Option<Extension<Ctx>>,
    path: PathParams,
    RawQuery(q): RawQuery,
) -> Answer {
    let call = Call::new(
        &s,
        ctx,
        path_params(path)?,
        q,
        Operation::DeleteJobExecution,
    )?;
    let (job, id) = (call.path("jobId")?, call.path("executionId")?);
    s.with_workspace(&call.ctx.workspace, |ws, now| {
        let exec = ws.cancel_execution(&job, &id, now)?;
        ok(&stored_apart(&s, exec.render(now, &s.clock)))
    })
}

pub(super) async fn list_tasks(
    State(s): Shr,
    ctx: Option<Extension<Ctx>>,
    path: PathParams,
    RawQuery(q): RawQuery,
) -> Answer {
    let call = Call::new(
        &s,
        ctx,
        path_params(path)?,
        q,
        Operation::ListJobExecutionTasks,
    )?;
    let (job, id) = (call.path("jobId")?, call.path("executionId")?);
    let ctx = &call.ctx;
    s.with_workspace(&ctx.workspace, |ws, now| {
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
                call.operation.name(),
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
