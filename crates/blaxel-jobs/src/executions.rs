//! Execution operations of one job: start, get, list, cancel, list tasks,
//! and wait. Get an [`Executions`] with [`crate::JobRef::executions`].

use crate::Client;
use crate::call::{Call, CallSettings};
use crate::error::{Error, ExecutionConflict, InvalidInput};
use crate::jobs::fluent;
use crate::paginate;
use crate::validate;
use crate::wait::WaitUntilSucceeded;
use blaxel_jobs_client::{builder, limits, types};
use serde::Serialize;

/// The executions of one job, as a collection: start one
/// ([`create`](Self::create), CreateJobExecution) or list them
/// ([`list`](Self::list), ListJobExecutions). Get one with
/// [`JobRef::executions`](crate::JobRef::executions); operations on one
/// execution are on [`ExecutionRef`], from
/// [`JobRef::execution`](crate::JobRef::execution).
#[derive(Debug, Clone)]
pub struct Executions<'a> {
    client: &'a Client,
    job: String,
}

impl<'a> Executions<'a> {
    pub(crate) fn new(client: &'a Client, job: String) -> Self {
        Executions { client, job }
    }

    /// The job's name.
    pub fn job(&self) -> &str {
        &self.job
    }

    fn check_job(&self) -> Result<(), InvalidInput> {
        validate::path_id(&self.job, "jobId")
    }

    /// Starts an execution (CreateJobExecution). Add tasks and overrides on
    /// the builder.
    ///
    /// ```no_run
    /// # async fn demo(client: blaxel_jobs::Client) -> Result<(), blaxel_jobs::Error> {
    /// let started = client
    ///     .job("nightly-report")
    ///     .executions()
    ///     .create()
    ///     .task(serde_json::json!({"region": "eu"}))
    ///     .task(serde_json::json!({"region": "us"}))
    ///     .env("MODE", "full")
    ///     .send()
    ///     .await?;
    /// println!("started {:?}", started.execution_id);
    /// # Ok(()) }
    /// ```
    pub fn create(&self) -> CreateJobExecution<'a> {
        CreateJobExecution {
            client: self.client,
            job: self.job.clone(),
            request: types::CreateJobExecutionRequest::default(),
            settings: CallSettings::default(),
            invalid: self.check_job().err(),
        }
    }

    /// Lists the job's executions (ListJobExecutions), one page per `send`,
    /// or all of them with [`ListJobExecutions::into_stream`].
    pub fn list(&self) -> ListJobExecutions<'a> {
        let op = self
            .client
            .raw()
            .list_job_executions()
            .job_id(self.job.clone());
        ListJobExecutions(Call::new(self.client, op).check(self.check_job()))
    }
}

/// A handle on one execution of a job, by id: get it, cancel it, list its
/// tasks, or wait for it to end. Get one with
/// [`JobRef::execution`](crate::JobRef::execution).
///
/// ```no_run
/// # async fn demo(client: blaxel_jobs::Client) -> Result<(), blaxel_jobs::Error> {
/// use std::time::Duration;
/// let execution = client.job("nightly-report").execution("exec-1");
/// let found = execution.get().send().await?;
/// let done = execution
///     .wait_until_succeeded()
///     .wait(Duration::from_secs(30 * 60))
///     .await?;
/// # let _ = (found, done); Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ExecutionRef<'a> {
    client: &'a Client,
    job: String,
    id: String,
}

impl<'a> ExecutionRef<'a> {
    pub(crate) fn new(client: &'a Client, job: String, id: String) -> Self {
        ExecutionRef { client, job, id }
    }

    /// The job's name.
    pub fn job(&self) -> &str {
        &self.job
    }

    /// The execution's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn check(&self) -> Result<(), InvalidInput> {
        validate::path_id(&self.job, "jobId").and(validate::path_id(&self.id, "executionId"))
    }

    /// Gets the execution (GetJobExecution).
    ///
    /// Its `tasks` (and `spec.tasks`) may be absent or incomplete: Blaxel
    /// stores the task list of a large execution apart (`spec.tasksRef`)
    /// and leaves it out. `spec.taskCount` and `stats` still count the
    /// tasks; [`tasks`](Self::tasks) lists them all.
    pub fn get(&self) -> GetJobExecution<'a> {
        let op = self
            .client
            .raw()
            .get_job_execution()
            .job_id(self.job.clone())
            .execution_id(self.id.clone());
        GetJobExecution(Call::new(self.client, op).check(self.check()))
    }

    /// Cancels the execution (DeleteJobExecution): no new task starts,
    /// running tasks finish, and the status goes `cancelling` then
    /// `cancelled`.
    pub fn cancel(&self) -> DeleteJobExecution<'a> {
        let op = self
            .client
            .raw()
            .delete_job_execution()
            .job_id(self.job.clone())
            .execution_id(self.id.clone());
        DeleteJobExecution(Call::new(self.client, op).check(self.check()))
    }

    /// Lists the execution's tasks (ListJobExecutionTasks), one page per
    /// `send`, or all of them with [`ListJobExecutionTasks::into_stream`].
    pub fn tasks(&self) -> ListJobExecutionTasks<'a> {
        let op = self
            .client
            .raw()
            .list_job_execution_tasks()
            .job_id(self.job.clone())
            .execution_id(self.id.clone());
        ListJobExecutionTasks(Call::new(self.client, op).check(self.check()))
    }

    /// A waiter that polls GetJobExecution until the execution ends, and
    /// answers it only if it succeeded (see [`crate::wait`]). Start it with
    /// [`wait(max_wait)`](WaitUntilSucceeded::wait).
    pub fn wait_until_succeeded(&self) -> WaitUntilSucceeded<'a> {
        WaitUntilSucceeded::new(self.client, self.job.clone(), self.id.clone())
    }
}

/// Builder of a CreateJobExecution call. See [`Executions::create`].
///
/// The request always carries an `executionId` (generated here unless you
/// set one) and a message `id`, the same on every attempt, so a retried
/// request cannot start a second execution.
#[derive(Clone)]
#[must_use = "a request does nothing until it is sent"]
pub struct CreateJobExecution<'a> {
    client: &'a Client,
    job: String,
    request: types::CreateJobExecutionRequest,
    settings: CallSettings,
    invalid: Option<InvalidInput>,
}

impl std::fmt::Debug for CreateJobExecution<'_> {
    /// Environment override values may be secrets (the server masks them
    /// when read back), so only their names are shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = &self.request;
        f.debug_struct("CreateJobExecution")
            .field("job", &self.job)
            .field("execution_id", &r.execution_id)
            .field("tasks", &r.tasks.len())
            .field("env", &r.env.keys().collect::<Vec<_>>())
            .field("memory", &r.memory)
            .field("allow_queue", &r.allow_queue)
            .field("settings", &self.settings)
            .field("invalid", &self.invalid)
            .finish()
    }
}

impl<'a> CreateJobExecution<'a> {
    fn fail(mut self, e: InvalidInput) -> Self {
        self.invalid.get_or_insert(e);
        self
    }

    /// Adds a task, given as any value that serializes to a JSON object:
    /// the task's parameters.
    pub fn task(mut self, task: impl Serialize) -> Self {
        let index = self.request.tasks.len();
        match serde_json::to_value(task) {
            Ok(serde_json::Value::Object(map)) => {
                self.request.tasks.push(map);
                self
            }
            Ok(other) => self.fail(InvalidInput::at_field(
                format!("tasks[{index}]"),
                format!("a task must be a JSON object, not {other}"),
            )),
            Err(e) => self.fail(InvalidInput::at_field(
                format!("tasks[{index}]"),
                format!("cannot serialize the task: {e}"),
            )),
        }
    }

    /// Adds several tasks (see [`task`](Self::task)).
    pub fn tasks<T: Serialize>(self, tasks: impl IntoIterator<Item = T>) -> Self {
        tasks.into_iter().fold(self, Self::task)
    }

    /// Overrides (or adds) an environment variable for this execution.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.request.env.insert(name.into(), value.into());
        self
    }

    /// Memory per task in MB for this execution; at most the job's own
    /// memory. When set, `send` reads the job first to check that.
    pub fn memory(mut self, megabytes: u32) -> Self {
        self.request.memory = Some(megabytes.into());
        self
    }

    /// `false`: fail with 429 instead of queueing when the workspace has no
    /// capacity right now. Queueing is the default.
    pub fn allow_queue(mut self, allow: bool) -> Self {
        self.request.allow_queue = Some(allow);
        self
    }

    /// Use this execution id instead of a generated one; sending the same id
    /// again returns the execution already started.
    pub fn execution_id(mut self, id: impl Into<String>) -> Self {
        self.request.execution_id = Some(id.into());
        self
    }

    /// Uses a whole request body as given (ids are still generated when missing).
    pub fn request(mut self, request: types::CreateJobExecutionRequest) -> Self {
        self.request = request;
        self
    }

    crate::call::call_settings!("for this call");

    /// The request as it will be sent: ids filled in and checks applied.
    pub fn build(mut self) -> Result<ExecutionRequest, Error> {
        if let Some(e) = self.invalid.take() {
            return Err(e.into());
        }
        validate::execution_request(&self.request)?;
        let request = &mut self.request;
        request
            .execution_id
            .get_or_insert_with(|| uuid::Uuid::new_v4().to_string());
        request
            .id
            .get_or_insert_with(|| uuid::Uuid::new_v4().to_string());
        Ok(ExecutionRequest(self.request))
    }

    /// Starts the execution.
    pub async fn send(self) -> Result<types::CreateJobExecutionOutput, Error> {
        let (client, job) = (self.client, self.job.clone());
        let settings = self.settings.clone();
        let request = self.build()?.into_inner();
        if let Some(memory) = request.memory {
            check_memory(client, &job, memory).await?;
        }
        let execution_id = request.execution_id.clone().unwrap_or_default();
        let op = client
            .raw()
            .create_job_execution()
            .job_id(job.clone())
            .body(request.clone());
        let mut call = Call::new(client, op);
        call.settings = settings;
        match call.send().await {
            // A retried request whose first attempt may have reached the
            // server: the execution may exist because of it. Report success
            // only if what is found is provably this request's.
            Err(Error::Api(e)) if e.status.as_u16() == 409 && e.attempts > 1 => {
                let execution = client.job(job.clone()).execution(execution_id.clone());
                let (found, current) = futures_util::future::join(
                    execution.get().send(),
                    client.job(job.clone()).get().send(),
                )
                .await;
                let (found, unread) = match found {
                    Ok(found) => (Some(found), None),
                    Err(err) if err.is_not_found() => {
                        (None, Some("no execution has this id".to_owned()))
                    }
                    Err(err) => (
                        None,
                        Some(format!("the execution could not be read ({err})")),
                    ),
                };
                let verdict = match (&found, current) {
                    (None, _) => Err(unread.unwrap_or_default()),
                    (Some(_), Err(err)) => Err(format!("the job could not be read ({err})")),
                    (Some(found), Ok(current)) => started_by_this_request(
                        found,
                        &current,
                        &execution_id,
                        &job,
                        client.config().workspace(),
                    ),
                };
                match verdict {
                    Ok(()) => Ok(types::CreateJobExecutionOutput {
                        execution_id: Some(execution_id),
                        id: request.id,
                        job_id: Some(job),
                        tasks: request.tasks,
                        workspace_id: Some(client.config().workspace().to_owned()),
                    }),
                    Err(reason) => Err(Error::ExecutionConflict(Box::new(ExecutionConflict {
                        execution_id,
                        error: *e,
                        found,
                        reason,
                    }))),
                }
            }
            other => other,
        }
    }
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

/// A CreateJobExecution request as [`CreateJobExecution::build`] makes it:
/// ids filled in and checks applied.
///
/// Its `Debug` shows the names of the environment overrides, never their
/// values (they may be secrets); [`into_inner`](Self::into_inner) and
/// `Deref` give the generated request itself.
#[derive(Clone, PartialEq)]
pub struct ExecutionRequest(types::CreateJobExecutionRequest);

impl ExecutionRequest {
    /// The generated request, values included.
    pub fn into_inner(self) -> types::CreateJobExecutionRequest {
        self.0
    }
}

impl std::ops::Deref for ExecutionRequest {
    type Target = types::CreateJobExecutionRequest;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl From<ExecutionRequest> for types::CreateJobExecutionRequest {
    fn from(r: ExecutionRequest) -> Self {
        r.0
    }
}

impl std::fmt::Debug for ExecutionRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = &self.0;
        f.debug_struct("ExecutionRequest")
            .field("execution_id", &r.execution_id)
            .field("id", &r.id)
            .field("tasks", &r.tasks.len())
            .field("env", &r.env.keys().collect::<Vec<_>>())
            .field("memory", &r.memory)
            .field("allow_queue", &r.allow_queue)
            .finish_non_exhaustive()
    }
}

async fn check_memory(client: &Client, job: &str, memory: i64) -> Result<(), Error> {
    let found = client.job(job).get().send().await?;
    match found.spec.runtime.as_ref().and_then(|r| r.memory) {
        Some(limit) if memory > limit => Err(InvalidInput::at_field(
            "memory",
            format!("{memory} MB is more than the job's {limit} MB"),
        )
        .into()),
        _ => Ok(()),
    }
}

/// Builder of a GetJobExecution call. See [`ExecutionRef::get`].
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until it is sent"]
pub struct GetJobExecution<'a>(Call<'a, builder::GetJobExecution<'a>>);
fluent!(GetJobExecution, types::JobExecution);

/// Builder of a DeleteJobExecution (cancel) call. See [`ExecutionRef::cancel`].
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until it is sent"]
pub struct DeleteJobExecution<'a>(Call<'a, builder::DeleteJobExecution<'a>>);
fluent!(DeleteJobExecution, types::JobExecution);

/// Builder of a ListJobExecutions call. See [`Executions::list`].
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until it is sent"]
pub struct ListJobExecutions<'a>(Call<'a, builder::ListJobExecutions<'a>>);
fluent!(ListJobExecutions, types::JobExecutionList);
paginate::listing!(ListJobExecutions, types::JobExecutionList);

impl<'a> ListJobExecutions<'a> {
    /// Page size, 1 to 100 (the server's default is 20); other values are
    /// clamped into that range.
    pub fn limit(self, limit: u32) -> Self {
        let limit = validate::clamp(&limits::LIST_JOB_EXECUTIONS_LIMIT, limit, "limit");
        Self(self.0.map(|b| b.limit(limit)))
    }

    /// Legacy offset paging; ignored by the server with the cursor-capable
    /// API version this SDK sends. Prefer cursors.
    pub fn offset(self, offset: u64) -> Self {
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        let check = validate::check_int(&limits::LIST_JOB_EXECUTIONS_OFFSET, offset, "offset");
        Self(self.0.check(check).map(|b| b.offset(offset)))
    }

    /// Sort order (default `createdAt:desc`).
    pub fn sort(self, sort: types::ListSort) -> Self {
        Self(self.0.map(|b| b.sort(sort)))
    }

    /// Case-insensitive substring filter.
    pub fn q(self, query: impl Into<String>) -> Self {
        let query = query.into();
        let check = validate::check_str(&limits::LIST_JOB_EXECUTIONS_Q, &query, "q");
        Self(self.0.check(check).map(|b| b.q(query)))
    }

    /// Start from this cursor.
    pub fn cursor(self, cursor: impl Into<String>) -> Self {
        let cursor = cursor.into();
        Self(self.0.map(|b| b.cursor(cursor)))
    }
}

/// Builder of a ListJobExecutionTasks call. See [`ExecutionRef::tasks`].
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until it is sent"]
pub struct ListJobExecutionTasks<'a>(Call<'a, builder::ListJobExecutionTasks<'a>>);
fluent!(ListJobExecutionTasks, types::JobExecutionTaskList);
paginate::listing!(ListJobExecutionTasks, types::JobExecutionTaskList);

impl<'a> ListJobExecutionTasks<'a> {
    /// Page size, 1 to 200 (the server's default is 50); other values are
    /// clamped into that range, as the server clamps them.
    pub fn limit(self, limit: u32) -> Self {
        let limit = validate::clamp(&limits::LIST_JOB_EXECUTION_TASKS_LIMIT, limit, "limit");
        Self(self.0.map(|b| b.limit(limit)))
    }

    /// Sort order.
    pub fn sort(self, sort: types::ListSort) -> Self {
        Self(self.0.map(|b| b.sort(sort)))
    }

    /// Case-insensitive substring filter on task names.
    pub fn q(self, query: impl Into<String>) -> Self {
        let query = query.into();
        let check = validate::check_str(&limits::LIST_JOB_EXECUTION_TASKS_Q, &query, "q");
        Self(self.0.check(check).map(|b| b.q(query)))
    }

    /// Start from this cursor.
    pub fn cursor(self, cursor: impl Into<String>) -> Self {
        let cursor = cursor.into();
        Self(self.0.map(|b| b.cursor(cursor)))
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
