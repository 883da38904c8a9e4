//! What a 409 to a CreateJobExecution means: the execution found under the
//! request's `executionId` is this request's (an earlier attempt, or an
//! earlier submission of the same batch chunk, created it), or it is not.
//!
//! One function decides, for a retried [`CreateJobExecution`](crate::CreateJobExecution)
//! and for a batch's chunks alike: [`reconcile`] reads the execution and
//! the job, and [`judge`] compares them with what the request sent. Only
//! what can be shown counts: anything missing, unreadable or equal where it
//! should differ is a refusal, [`Error::ExecutionConflict`] saying why.

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

    /// Sends the request; a 409 after a retry (the first attempt may have
    /// reached the server and started the execution) counts as this
    /// request's success only if the execution found under its id is shown
    /// to be this request's ([`reconcile`]).
    #[allow(clippy::manual_async_fn)] // the trait's future must be `Send`
    fn send(
        call: Call<'a, Self::Raw>,
        path: Vec<String>,
        request: Self::Body,
    ) -> impl Future<Output = Result<Self::Output, Error>> + Send + 'a {
        async move {
            let client = call.client;
            match call.map(|b| b.body(request.clone())).send().await {
                Err(Error::Api(e)) if e.status.as_u16() == 409 && e.attempts > 1 => {
                    let job = path.into_iter().next().unwrap_or_default();
                    reconcile(client, &job, &request, *e).await?;
                    Ok(types::CreateJobExecutionOutput {
                        execution_id: request.execution_id,
                        id: request.id,
                        job_id: Some(job),
                        tasks: request.tasks,
                        workspace_id: Some(client.config().workspace().to_owned()),
                    })
                }
                other => other,
            }
        }
    }
}

/// Reads back the execution under `request`'s id and the job `job`, after
/// the server answered `conflict` (409), and answers `Ok` only if the
/// execution is shown to be the one `request` describes (see [`judge`]).
pub(crate) async fn reconcile(
    client: &Client,
    job: &str,
    request: &types::CreateJobExecutionRequest,
    conflict: ApiError,
) -> Result<(), Error> {
    let execution_id = request.execution_id.clone().unwrap_or_default();
    let handle = client.job(job);
    let (found, current) = futures_util::future::join(
        handle.execution(execution_id.clone()).get().send(),
        handle.get().send(),
    )
    .await;
    let (found, reason) = match (found, current) {
        (Ok(found), Ok(current)) => {
            let sent = Sent {
                request,
                job,
                workspace: client.config().workspace(),
            };
            match judge(&found, &current, &sent) {
                Ok(()) => return Ok(()),
                Err(reason) => (Some(found), reason),
            }
        }
        (Err(e), _) if e.is_not_found() => (None, "no execution has this id".to_owned()),
        (Err(e), _) => (None, format!("the execution could not be read ({e})")),
        (Ok(found), Err(e)) => (Some(found), format!("the job could not be read ({e})")),
    };
    Err(Error::ExecutionConflict(Box::new(ExecutionConflict {
        execution_id,
        error: conflict,
        found,
        reason,
    })))
}

/// What a request sent, and where.
pub(crate) struct Sent<'a> {
    pub(crate) request: &'a types::CreateJobExecutionRequest,
    pub(crate) job: &'a str,
    pub(crate) workspace: &'a str,
}

/// Whether `found`, read back under the request's id after a conflict, is
/// the execution the request started.
///
/// It must have the same id, job and workspace, not be deleted, agree with
/// what the request sent wherever the server states it (the number of
/// tasks, the names of the environment overrides, and their values when
/// they are not masked, the memory override), and have been created after
/// the job now under that name (an execution id outlives a job deleted and
/// created again under the same name; the earlier job's execution is not
/// this request's). Both times are the server's, so the client's clock plays
/// no part; equal times show nothing (a coarse or manual clock gives them
/// to an execution of the earlier job too) and are a refusal, as is
/// anything else that cannot be shown.
pub(crate) fn judge(
    found: &types::JobExecution,
    current: &types::Job,
    sent: &Sent<'_>,
) -> Result<(), String> {
    let m = &found.metadata;
    let clip = |s: &str| crate::error::Clip(s, 128).to_string();
    let request = sent.request;
    let execution_id = request.execution_id.as_deref().unwrap_or_default();
    if m.id.as_deref() != Some(execution_id) {
        return Err(format!(
            "the execution read back has id {:?}",
            m.id.as_deref().map(clip)
        ));
    }
    if let Some(other) = m.job.as_deref().filter(|j| *j != sent.job) {
        return Err(format!("the execution belongs to job {}", clip(other)));
    }
    if let Some(other) = m.workspace.as_deref().filter(|w| *w != sent.workspace) {
        return Err(format!(
            "the execution belongs to workspace {}",
            clip(other)
        ));
    }
    if let Some(at) = &m.deleted_at {
        return Err(format!("the execution was deleted at {}", clip(at)));
    }
    same_content(found, request)?;
    let created = m.created_at.as_deref().and_then(instant);
    let job_created = current.metadata.created_at.as_deref().and_then(instant);
    let shown = |at: &Option<String>| clip(at.as_deref().unwrap_or_default());
    match (created, job_created) {
        (Some(e), Some(j)) if e > j => Ok(()),
        (Some(e), Some(j)) if e == j => Err(format!(
            "the execution was created at the same time as the job ({}), so the times cannot \
             tell it from an execution of an earlier job of the same name",
            shown(&m.created_at)
        )),
        (Some(_), Some(_)) => Err(format!(
            "the execution ({}) is older than the job ({}): it belongs to an earlier job of \
             the same name",
            shown(&m.created_at),
            shown(&current.metadata.created_at)
        )),
        _ => Err(
            "the execution's or the job's creation time is missing or unreadable, so the \
             execution cannot be shown to be this request's"
                .to_owned(),
        ),
    }
}

/// The instant of an RFC 3339 timestamp of the API (`None` when it is not
/// one); instants compare whatever their offsets.
fn instant(text: &str) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    chrono::DateTime::parse_from_rfc3339(text).ok()
}

/// At most 8 names, each clipped (the server's map may be huge), joined.
fn names<'a>(mut names: impl Iterator<Item = &'a String>) -> String {
    let mut shown: Vec<String> = names
        .by_ref()
        .take(8)
        .map(|k| crate::error::Clip(k, 64).to_string())
        .collect();
    if names.next().is_some() {
        shown.push("…".to_owned());
    }
    shown.join(", ")
}

/// Whether what the server states about `found` agrees with `request`.
/// Silence is no disagreement: a server may leave out the tasks (Blaxel
/// stores large task lists apart), the overrides, or mask their values.
fn same_content(
    found: &types::JobExecution,
    request: &types::CreateJobExecutionRequest,
) -> Result<(), String> {
    let spec = &found.spec;
    // An empty task list runs one task with `{}`.
    let sent = request.tasks.len();
    let accepted = |n: usize| n == sent || (sent == 0 && n <= 1);
    let counted = spec
        .task_count
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    let listed = (spec.tasks_ref.is_none())
        .then(|| found.tasks.len().max(spec.tasks.len()))
        .filter(|n| *n > 0);
    if let Some(n) = counted.or(listed).filter(|n| !accepted(*n)) {
        return Err(format!(
            "the execution has {n} tasks, and this request sent {sent}"
        ));
    }
    if !spec.env_override.is_empty() {
        if spec.env_override.len() != request.env.len()
            || request
                .env
                .keys()
                .any(|k| !spec.env_override.contains_key(k))
        {
            return Err(format!(
                "the execution overrides the environment variables [{}], and this request \
                 sent [{}]",
                names(spec.env_override.keys()),
                names(request.env.keys())
            ));
        }
        // Values are usually masked; one shown in clear must be the one sent.
        // (Named, never quoted: it may be a secret.)
        for (name, value) in &request.env {
            let stated = spec.env_override.get(name).and_then(|v| v.as_str());
            if stated.is_some_and(|v| v != "***" && v != value) {
                return Err(format!(
                    "the execution's value of {} differs from the one this request sent",
                    crate::error::Clip(name, 64)
                ));
            }
        }
    }
    if let (Some(found), Some(sent)) = (spec.memory_override, request.memory)
        && found != sent
    {
        return Err(format!(
            "the execution's memory is {found} MB, and this request asked for {sent} MB"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    const T0: &str = "2026-10-01T00:00:00Z";
    const T1: &str = "2026-10-02T00:00:00.5+00:00";

    fn execution(metadata: Value, spec: Value) -> types::JobExecution {
        let mut meta = json!({"id": "e1", "job": "j", "workspace": "ws", "createdAt": T1});
        for (k, v) in metadata.as_object().unwrap() {
            meta[k] = v.clone();
        }
        serde_json::from_value(json!({"metadata": meta, "spec": spec})).unwrap()
    }

    fn job(created: Option<&str>) -> types::Job {
        serde_json::from_value(json!({
            "metadata": {"name": "j", "createdAt": created},
            "spec": {},
        }))
        .unwrap()
    }

    fn request(body: Value) -> types::CreateJobExecutionRequest {
        let mut r: types::CreateJobExecutionRequest = serde_json::from_value(body).unwrap();
        r.execution_id = Some("e1".to_owned());
        r
    }

    /// A case of the table: its name, the execution's metadata and spec
    /// (over a default), the job's creation time, what was sent, and
    /// `None` for a success or a piece of the refusal's reason.
    type Case = (
        &'static str,
        Value,
        Value,
        Option<&'static str>,
        Value,
        Option<&'static str>,
    );

    /// The one table, for a retried create and a batch's chunk alike.
    #[test]
    fn only_an_execution_shown_to_be_this_request_s_is_a_success() {
        let one_task = json!({"tasks": [{"a": 1}]});
        let cases: Vec<Case> = vec![
            (
                "later than the job",
                json!({}),
                json!({}),
                Some(T0),
                one_task.clone(),
                None,
            ),
            (
                "no job name stated",
                json!({"job": null}),
                json!({}),
                Some(T0),
                one_task.clone(),
                None,
            ),
            (
                "stated task count agrees",
                json!({}),
                json!({"taskCount": 1}),
                Some(T0),
                one_task.clone(),
                None,
            ),
            (
                "no tasks sent, one run",
                json!({}),
                json!({"taskCount": 1}),
                Some(T0),
                json!({}),
                None,
            ),
            (
                "masked env values",
                json!({}),
                json!({"envOverride": {"A": "***"}}),
                Some(T0),
                json!({"tasks": [{}], "env": {"A": "x"}}),
                None,
            ),
            (
                "env in clear, same",
                json!({}),
                json!({"envOverride": {"A": "x"}}),
                Some(T0),
                json!({"tasks": [{}], "env": {"A": "x"}}),
                None,
            ),
            (
                "env not stated",
                json!({}),
                json!({}),
                Some(T0),
                json!({"tasks": [{}], "env": {"A": "x"}}),
                None,
            ),
            (
                "same memory",
                json!({}),
                json!({"memoryOverride": 512}),
                Some(T0),
                json!({"tasks": [{}], "memory": 512}),
                None,
            ),
            (
                "tasks stored apart",
                json!({}),
                json!({"tasksRef": "s3://x", "taskCount": 1}),
                Some(T0),
                one_task.clone(),
                None,
            ),
            (
                "a millisecond after the job",
                json!({"createdAt": "2026-10-01T00:00:00.001Z"}),
                json!({}),
                Some(T0),
                one_task.clone(),
                None,
            ),
            // Refusals.
            (
                "the job's instant at another offset",
                json!({"createdAt": "2026-10-01T02:00:00+02:00"}),
                json!({}),
                Some(T0),
                one_task.clone(),
                Some("same time as the job"),
            ),
            (
                "same time as the job",
                json!({"createdAt": T0}),
                json!({}),
                Some(T0),
                one_task.clone(),
                Some("same time as the job"),
            ),
            (
                "older than the job",
                json!({"createdAt": T0}),
                json!({}),
                Some(T1),
                one_task.clone(),
                Some("older than the job"),
            ),
            (
                "another id",
                json!({"id": "e2"}),
                json!({}),
                Some(T0),
                one_task.clone(),
                Some("has id"),
            ),
            (
                "no id",
                json!({"id": null}),
                json!({}),
                Some(T0),
                one_task.clone(),
                Some("has id"),
            ),
            (
                "another job",
                json!({"job": "k"}),
                json!({}),
                Some(T0),
                one_task.clone(),
                Some("job k"),
            ),
            (
                "another workspace",
                json!({"workspace": "w2"}),
                json!({}),
                Some(T0),
                one_task.clone(),
                Some("workspace w2"),
            ),
            (
                "deleted",
                json!({"deletedAt": T1}),
                json!({}),
                Some(T0),
                one_task.clone(),
                Some("deleted"),
            ),
            (
                "no creation time",
                json!({"createdAt": null}),
                json!({}),
                Some(T0),
                one_task.clone(),
                Some("missing or unreadable"),
            ),
            (
                "no job creation time",
                json!({}),
                json!({}),
                None,
                one_task.clone(),
                Some("missing or unreadable"),
            ),
            (
                "unreadable time",
                json!({"createdAt": "soon"}),
                json!({}),
                Some(T0),
                one_task.clone(),
                Some("missing or unreadable"),
            ),
            (
                "other task count",
                json!({}),
                json!({"taskCount": 3}),
                Some(T0),
                one_task.clone(),
                Some("has 3 tasks"),
            ),
            (
                "other tasks listed",
                json!({}),
                json!({"tasks": [{}, {}]}),
                Some(T0),
                one_task.clone(),
                Some("has 2 tasks"),
            ),
            (
                "other env names",
                json!({}),
                json!({"envOverride": {"B": "***"}}),
                Some(T0),
                json!({"tasks": [{}], "env": {"A": "x"}}),
                Some("[B]"),
            ),
            (
                "env where none sent",
                json!({}),
                json!({"envOverride": {"B": "***"}}),
                Some(T0),
                one_task.clone(),
                Some("[B]"),
            ),
            (
                "env value in clear differs",
                json!({}),
                json!({"envOverride": {"A": "y"}}),
                Some(T0),
                json!({"tasks": [{}], "env": {"A": "x"}}),
                Some("value of A"),
            ),
            (
                "other memory",
                json!({}),
                json!({"memoryOverride": 256}),
                Some(T0),
                json!({"tasks": [{}], "memory": 512}),
                Some("256 MB"),
            ),
        ];
        for (name, metadata, spec, job_created, sent, refusal) in cases {
            let found = execution(metadata, spec);
            let request = request(sent);
            let sent = Sent {
                request: &request,
                job: "j",
                workspace: "ws",
            };
            let verdict = judge(&found, &job(job_created), &sent);
            match (refusal, verdict) {
                (None, Ok(())) => {}
                (Some(piece), Err(reason)) => {
                    assert!(reason.contains(piece), "{name}: {reason}");
                    assert!(
                        !reason.contains("\"x\"") && !reason.contains(": y"),
                        "{name}: {reason}"
                    );
                }
                (expected, got) => panic!("{name}: expected {expected:?}, got {got:?}"),
            }
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
            task_count in proptest::option::of(proptest::num::i64::ANY),
            env in proptest::collection::btree_map("\\PC{0,300}", "\\PC{0,10}", 0..4),
            memory in proptest::option::of(proptest::num::i64::ANY),
        ) {
            let found: types::JobExecution = serde_json::from_value(json!({
                "metadata": {"id": id, "job": job_name, "workspace": workspace,
                             "createdAt": created, "deletedAt": deleted},
                "spec": {"taskCount": task_count, "envOverride": env, "memoryOverride": memory},
            })).unwrap();
            let current = job(job_created.as_deref());
            let request = request(json!({"tasks": [{}], "env": {"A": "secret-value"}, "memory": 512}));
            let sent = Sent { request: &request, job: "j", workspace: "ws" };
            match judge(&found, &current, &sent) {
                Ok(()) => {
                    prop_assert_eq!(id.as_deref(), Some("e1"));
                    prop_assert!(deleted.is_none());
                    prop_assert!(created.is_some() && job_created.is_some());
                }
                Err(reason) => {
                    prop_assert!(reason.len() < 1500, "{}", reason.len());
                    prop_assert!(!reason.contains("secret-value"), "{}", reason);
                }
            }
        }
    }
}
