//! What a `409` to a request with a client token means: the execution the
//! token names exists, and the question is whether this request (an earlier
//! attempt of it, or an earlier run of the same batch) started it, or
//! something else did. One rule, [`started_by_this_request`], used by
//! CreateJobExecution's retries and by the batch's resume.

use crate::Client;
use crate::api::CreateJobExecution;
use crate::call::{Call, ClientToken};
use crate::error::{ApiError, Error, ExecutionConflict};
use blaxel_jobs_client::types;
use std::future::Future;

impl<'a> ClientToken<'a> for CreateJobExecution<'a> {
    type Raw = blaxel_jobs_client::builder::CreateJobExecution<'a>;
    type Body = types::CreateJobExecutionRequest;
    type Output = types::CreateJobExecutionOutput;

    /// Sends the request; a `409` after a retry (the first attempt may
    /// have reached the server and started the execution) counts as this
    /// request's success only if the execution found under its id is
    /// provably this request's.
    #[allow(clippy::manual_async_fn)] // the trait's future must be `Send`
    fn send(
        call: Call<'a, Self::Raw>,
        path: Vec<String>,
        body: Self::Body,
    ) -> impl Future<Output = Result<Self::Output, Error>> + Send + 'a {
        async move {
            let client = call.client;
            let execution_id = body.execution_id.clone().unwrap_or_default();
            let (id, tasks) = (body.id.clone(), body.tasks.clone());
            match call.map(|b| b.body(body)).send().await {
                Err(Error::Api(e)) if e.status.as_u16() == 409 && e.attempts > 1 => {
                    let job = path.into_iter().next().unwrap_or_default();
                    existing_is_ours(client, &job, &execution_id, *e).await?;
                    Ok(types::CreateJobExecutionOutput {
                        execution_id: Some(execution_id),
                        id,
                        job_id: Some(job),
                        tasks,
                        workspace_id: Some(client.config().workspace().to_owned()),
                    })
                }
                other => other,
            }
        }
    }
}

/// After `error` (a `409` for `execution_id`): `Ok` if the execution found
/// under that id is shown to be this job's (see
/// [`started_by_this_request`]), else [`Error::ExecutionConflict`] saying
/// what was found and why it does not count.
pub(crate) async fn existing_is_ours(
    client: &Client,
    job: &str,
    execution_id: &str,
    error: ApiError,
) -> Result<(), Error> {
    let handle = client.job(job);
    let (found, current) = futures_util::future::join(
        handle.execution(execution_id).get().send(),
        handle.get().send(),
    )
    .await;
    let (found, reason) = match (found, current) {
        (Ok(found), Ok(current)) => {
            match started_by_this_request(
                &found,
                &current,
                execution_id,
                job,
                client.config().workspace(),
            ) {
                Ok(()) => return Ok(()),
                Err(reason) => (Some(found), reason),
            }
        }
        (Err(e), _) if e.is_not_found() => (None, "no execution has this id".to_owned()),
        (Err(e), _) => (None, format!("the execution could not be read ({e})")),
        (Ok(found), Err(e)) => (Some(found), format!("the job could not be read ({e})")),
    };
    Err(Error::ExecutionConflict(Box::new(ExecutionConflict {
        execution_id: execution_id.to_owned(),
        error,
        found,
        reason,
    })))
}

/// Whether `found`, read back under `execution_id` after a conflict, is the
/// execution this request started: the same id, job and workspace, not
/// deleted, and created no earlier than the current job (an execution id
/// can outlive a job deleted and created again under the same name; the
/// earlier job's execution is not this request's). Both times are the
/// server's, so the client's clock plays no part. What cannot be shown is
/// a reason to refuse.
pub(crate) fn started_by_this_request(
    found: &types::JobExecution,
    current: &types::Job,
    execution_id: &str,
    job: &str,
    workspace: &str,
) -> Result<(), String> {
    let m = &found.metadata;
    let clip = |s: &str| crate::error::Clip(s, 128).to_string();
    if m.id.as_deref() != Some(execution_id) {
        return Err(format!(
            "the execution read back has id {:?}",
            m.id.as_deref().map(clip)
        ));
    }
    if let Some(other) = m.job.as_deref().filter(|j| *j != job) {
        return Err(format!("the execution belongs to job {}", clip(other)));
    }
    if let Some(other) = m.workspace.as_deref().filter(|w| *w != workspace) {
        return Err(format!(
            "the execution belongs to workspace {}",
            clip(other)
        ));
    }
    if let Some(at) = &m.deleted_at {
        return Err(format!("the execution was deleted at {}", clip(at)));
    }
    let created = m.created_at.as_deref().and_then(crate::time::parse_rfc3339);
    let job_created = current
        .metadata
        .created_at
        .as_deref()
        .and_then(crate::time::parse_rfc3339);
    match (created, job_created) {
        (Some(e), Some(j)) if e >= j => Ok(()),
        (Some(_), Some(_)) => Err(format!(
            "the execution ({}) is older than the job ({}): it belongs to an earlier job of \
             the same name",
            clip(m.created_at.as_deref().unwrap_or_default()),
            clip(current.metadata.created_at.as_deref().unwrap_or_default())
        )),
        _ => Err(
            "the execution's or the job's creation time is missing or unreadable, so \
                  the execution cannot be shown to be this request's"
                .to_owned(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn execution(
        id: Option<&str>,
        job: Option<&str>,
        created: Option<&str>,
    ) -> types::JobExecution {
        serde_json::from_value(serde_json::json!({
            "metadata": {"id": id, "job": job, "workspace": "ws", "createdAt": created},
            "spec": {},
        }))
        .unwrap()
    }

    fn job(created: Option<&str>) -> types::Job {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "j", "createdAt": created},
            "spec": {},
        }))
        .unwrap()
    }

    #[test]
    fn only_this_job_s_execution_with_this_id_is_this_request_s() {
        let t0 = Some("2026-10-01T00:00:00Z");
        let t1 = Some("2026-10-02T00:00:00.5+00:00");
        let ok = |e, j| started_by_this_request(&e, &j, "e1", "j", "ws");
        assert_eq!(ok(execution(Some("e1"), Some("j"), t1), job(t0)), Ok(()));
        assert_eq!(ok(execution(Some("e1"), None, t0), job(t0)), Ok(()));
        let refused = [
            (execution(Some("e1"), Some("j"), t0), job(t1)),
            (execution(Some("e2"), Some("j"), t1), job(t0)),
            (execution(None, Some("j"), t1), job(t0)),
            (execution(Some("e1"), Some("k"), t1), job(t0)),
            (execution(Some("e1"), Some("j"), None), job(t0)),
            (execution(Some("e1"), Some("j"), t1), job(None)),
            (execution(Some("e1"), Some("j"), Some("soon")), job(t0)),
        ];
        for (e, j) in refused {
            assert!(ok(e.clone(), j.clone()).is_err(), "{e:?} {j:?}");
        }
    }

    proptest! {
        /// Whatever the server sent back, the check answers, and a reason
        /// quotes at most short pieces of it.
        #[test]
        fn any_execution_read_back_is_judged_without_panicking(
            id in proptest::option::of("e1|\\PC{0,300}"),
            job_name in proptest::option::of("j|\\PC{0,300}"),
            workspace in proptest::option::of("ws|\\PC{0,300}"),
            created in proptest::option::of("\\PC{0,40}|20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,12})?(Z|[+-][0-2][0-9]:[0-5][0-9])"),
            job_created in proptest::option::of("\\PC{0,40}|20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]Z"),
            deleted in proptest::option::of("\\PC{0,300}"),
        ) {
            let found: types::JobExecution = serde_json::from_value(serde_json::json!({
                "metadata": {"id": id, "job": job_name, "workspace": workspace,
                             "createdAt": created, "deletedAt": deleted},
                "spec": {},
            })).unwrap();
            let current = job(job_created.as_deref());
            match started_by_this_request(&found, &current, "e1", "j", "ws") {
                Ok(()) => {
                    prop_assert_eq!(id.as_deref(), Some("e1"));
                    prop_assert!(deleted.is_none());
                    prop_assert!(created.is_some() && job_created.is_some());
                }
                Err(reason) => prop_assert!(reason.len() < 1500, "{}", reason.len()),
            }
        }
    }
}
