//! The job operations: ListJobs, CreateJob, GetJob, UpdateJob, DeleteJob
//! and ListJobRevisions.

use super::call::{
    Answer, Call, PathParams, Shr, mutation, ok, page_body, page_request, path_params, typed,
};
use crate::context::Ctx;
use crate::error::{ApiError, code};
use crate::paginate::{Entry, Page, normalize_q, paginate};
use crate::store::job_not_found;
use axum::extract::{Extension, RawQuery, State};
use blaxel_jobs_client::open_enum::DeploymentStatus;
use blaxel_jobs_client::operations::Operation;
use blaxel_jobs_client::types;
use bytes::Bytes;
use http::StatusCode;

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

pub(super) async fn list_jobs(
    State(s): Shr,
    ctx: Option<Extension<Ctx>>,
    RawQuery(q): RawQuery,
) -> Answer {
    let call = Call::new(&s, ctx, Vec::new(), q, Operation::ListJobs)?;
    let statuses = status_filter(call.params.str("status"))?;
    let external_id = call.params.str("externalId").map(str::to_owned);
    let ctx = &call.ctx;
    s.with_workspace(&ctx.workspace, |ws, now| {
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
                call.operation.name(),
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

pub(super) async fn create_job(
    State(s): Shr,
    ctx: Option<Extension<Ctx>>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Answer {
    let call = Call::new(&s, ctx, Vec::new(), q, Operation::CreateJob)?;
    let job: types::Job = typed(call.json_body(&s, &body)?)?;
    s.with_workspace(&call.ctx.workspace, |ws, now| {
        let stored = ws.create_job(job, &mutation(&s, &call.ctx, now))?;
        ok(&stored.render(false))
    })
}

pub(super) async fn get_job(
    State(s): Shr,
    ctx: Option<Extension<Ctx>>,
    path: PathParams,
    RawQuery(q): RawQuery,
) -> Answer {
    let call = Call::new(&s, ctx, path_params(path)?, q, Operation::GetJob)?;
    let name = call.path("jobId")?;
    let show = call.params.bool("show_secrets").unwrap_or(false);
    if show && !call.ctx.admin {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            code::FORBIDDEN.as_str(),
            "show_secrets needs the workspace admin role; read without it (secret values come back masked)",
        ));
    }
    s.with_workspace(&call.ctx.workspace, |ws, _| {
        let job = ws
            .job(&name)
            .ok_or_else(|| job_not_found(&name, &call.ctx.workspace))?;
        ok(&job.render(show))
    })
}

pub(super) async fn update_job(
    State(s): Shr,
    ctx: Option<Extension<Ctx>>,
    path: PathParams,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Answer {
    let call = Call::new(&s, ctx, path_params(path)?, q, Operation::UpdateJob)?;
    let name = call.path("jobId")?;
    let job: types::Job = typed(call.json_body(&s, &body)?)?;
    s.with_workspace(&call.ctx.workspace, |ws, now| {
        let stored = ws.update_job(&name, job, &mutation(&s, &call.ctx, now))?;
        ok(&stored.render(false))
    })
}

pub(super) async fn delete_job(
    State(s): Shr,
    ctx: Option<Extension<Ctx>>,
    path: PathParams,
    RawQuery(q): RawQuery,
) -> Answer {
    let call = Call::new(&s, ctx, path_params(path)?, q, Operation::DeleteJob)?;
    let name = call.path("jobId")?;
    s.with_workspace(&call.ctx.workspace, |ws, now| {
        let deleted = ws.delete_job(&name, &mutation(&s, &call.ctx, now))?;
        ok(&deleted.render(false))
    })
}

pub(super) async fn list_revisions(
    State(s): Shr,
    ctx: Option<Extension<Ctx>>,
    path: PathParams,
    RawQuery(q): RawQuery,
) -> Answer {
    let call = Call::new(&s, ctx, path_params(path)?, q, Operation::ListJobRevisions)?;
    let name = call.path("jobId")?;
    s.with_workspace(&call.ctx.workspace, |ws, _| {
        let job = ws
            .job(&name)
            .ok_or_else(|| job_not_found(&name, &call.ctx.workspace))?;
        ok(&job.revisions())
    })
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
