//! Execution operations of one job: start, get, list, cancel, list tasks,
//! and wait. Get an [`Executions`] with [`crate::JobRef::executions`].

use crate::Client;
use crate::call::Call;
use crate::error::{Error, InvalidInput};
use crate::jobs::fluent;
use crate::paginate;
use crate::validate;
use crate::wait::WaitForExecution;
use blaxel_jobs_client::{builder, limits, types};
use serde::Serialize;
use std::time::Duration;

/// The executions of one job.
#[derive(Debug, Clone)]
pub struct Executions<'a> {
    client: &'a Client,
    job: String,
}

impl<'a> Executions<'a> {
    pub(crate) fn new(client: &'a Client, job: String) -> Self {
        Executions { client, job }
    }

    fn check_job(&self) -> Result<(), InvalidInput> {
        validate::path_id(&self.job, "jobId")
    }

    /// Starts an execution. Add tasks and overrides on the builder.
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
    pub fn create(&self) -> CreateExecution<'a> {
        CreateExecution {
            client: self.client,
            job: self.job.clone(),
            request: types::CreateJobExecutionRequest::default(),
            timeout: None,
            invalid: self.check_job().err(),
        }
    }

    /// Gets an execution by id.
    ///
    /// Its `tasks` (and `spec.tasks`) may be absent or incomplete: Blaxel
    /// stores the task list of a large execution apart (`spec.tasksRef`)
    /// and leaves it out. `spec.taskCount` and `stats` still count the
    /// tasks; [`tasks`](Self::tasks) lists them all.
    pub fn get(&self, id: impl Into<String>) -> GetExecution<'a> {
        let id = id.into();
        let check = self.check_job().and(validate::path_id(&id, "executionId"));
        let op = self
            .client
            .raw()
            .get_job_execution()
            .job_id(self.job.clone())
            .execution_id(id);
        GetExecution(Call::new(self.client, op).check(check))
    }

    /// Lists the job's executions, one page per `send`, or all of them with
    /// [`ListExecutions::into_stream`].
    pub fn list(&self) -> ListExecutions<'a> {
        let op = self
            .client
            .raw()
            .list_job_executions()
            .job_id(self.job.clone());
        ListExecutions(Call::new(self.client, op).check(self.check_job()))
    }

    /// Cancels an execution: no new task starts, running tasks finish, and
    /// the status goes `cancelling` then `cancelled`.
    pub fn cancel(&self, id: impl Into<String>) -> CancelExecution<'a> {
        let id = id.into();
        let check = self.check_job().and(validate::path_id(&id, "executionId"));
        let op = self
            .client
            .raw()
            .delete_job_execution()
            .job_id(self.job.clone())
            .execution_id(id);
        CancelExecution(Call::new(self.client, op).check(check))
    }

    /// Lists an execution's tasks, one page per `send`, or all of them with
    /// [`ListTasks::into_stream`].
    pub fn tasks(&self, id: impl Into<String>) -> ListTasks<'a> {
        let id = id.into();
        let check = self.check_job().and(validate::path_id(&id, "executionId"));
        let op = self
            .client
            .raw()
            .list_job_execution_tasks()
            .job_id(self.job.clone())
            .execution_id(id);
        ListTasks(Call::new(self.client, op).check(check))
    }

    /// Waits for an execution to reach a final status (see [`crate::wait`]).
    pub fn wait(&self, id: impl Into<String>) -> WaitForExecution<'a> {
        WaitForExecution::new(self.client, self.job.clone(), id.into())
    }
}

/// Builder of a CreateJobExecution call. See [`Executions::create`].
///
/// The request always carries an `executionId` (generated here unless you
/// set one) and a message `id`, the same on every attempt, so a retried
/// request cannot start a second execution.
#[derive(Clone)]
#[must_use = "a request does nothing until it is sent"]
pub struct CreateExecution<'a> {
    client: &'a Client,
    job: String,
    request: types::CreateJobExecutionRequest,
    timeout: Option<Duration>,
    invalid: Option<InvalidInput>,
}

impl std::fmt::Debug for CreateExecution<'_> {
    /// Environment override values may be secrets (the server masks them
    /// when read back), so only their names are shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = &self.request;
        f.debug_struct("CreateExecution")
            .field("job", &self.job)
            .field("execution_id", &r.execution_id)
            .field("tasks", &r.tasks.len())
            .field("env", &r.env.keys().collect::<Vec<_>>())
            .field("memory", &r.memory)
            .field("allow_queue", &r.allow_queue)
            .field("timeout", &self.timeout)
            .field("invalid", &self.invalid)
            .finish()
    }
}

impl<'a> CreateExecution<'a> {
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
            Ok(other) => self.fail(InvalidInput::field(
                format!("tasks[{index}]"),
                format!("a task must be a JSON object, not {other}"),
            )),
            Err(e) => self.fail(InvalidInput::field(
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

    /// Overrides the client's per-attempt timeout for this call.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The request as it will be sent: ids filled in and checks applied.
    pub fn build(mut self) -> Result<types::CreateJobExecutionRequest, Error> {
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
        Ok(self.request)
    }

    /// Starts the execution.
    pub async fn send(self) -> Result<types::CreateJobExecutionOutput, Error> {
        let (client, job, timeout) = (self.client, self.job.clone(), self.timeout);
        let request = self.build()?;
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
        if let Some(t) = timeout {
            call = call.timeout(t);
        }
        match call.send().await {
            // A retried request whose first attempt did reach the server: the
            // execution exists. Report it instead of the conflict.
            Err(Error::Api(e)) if e.status.as_u16() == 409 && e.attempts > 1 => {
                let existing = client
                    .executions(job.clone())
                    .get(&execution_id)
                    .send()
                    .await;
                match existing {
                    Ok(_) => Ok(types::CreateJobExecutionOutput {
                        execution_id: Some(execution_id),
                        id: request.id,
                        job_id: Some(job),
                        tasks: request.tasks,
                        workspace_id: Some(client.config().workspace().to_owned()),
                    }),
                    Err(_) => Err(Error::Api(e)),
                }
            }
            other => other,
        }
    }
}

async fn check_memory(client: &Client, job: &str, memory: i64) -> Result<(), Error> {
    let found = client.job(job).get().send().await?;
    match found.spec.runtime.as_ref().and_then(|r| r.memory) {
        Some(limit) if memory > limit => Err(InvalidInput::field(
            "memory",
            format!("{memory} MB is more than the job's {limit} MB"),
        )
        .into()),
        _ => Ok(()),
    }
}

/// Builder of a GetJobExecution call. See [`Executions::get`].
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until it is sent"]
pub struct GetExecution<'a>(Call<'a, builder::GetJobExecution<'a>>);
fluent!(GetExecution, types::JobExecution);

/// Builder of a DeleteJobExecution (cancel) call. See [`Executions::cancel`].
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until it is sent"]
pub struct CancelExecution<'a>(Call<'a, builder::DeleteJobExecution<'a>>);
fluent!(CancelExecution, types::JobExecution);

/// Builder of a ListJobExecutions call. See [`Executions::list`].
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until it is sent"]
pub struct ListExecutions<'a>(Call<'a, builder::ListJobExecutions<'a>>);
fluent!(ListExecutions, types::JobExecutionList);
paginate::listing!(ListExecutions, types::JobExecutionList);

impl<'a> ListExecutions<'a> {
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

/// Builder of a ListJobExecutionTasks call. See [`Executions::tasks`].
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until it is sent"]
pub struct ListTasks<'a>(Call<'a, builder::ListJobExecutionTasks<'a>>);
fluent!(ListTasks, types::JobExecutionTaskList);
paginate::listing!(ListTasks, types::JobExecutionTaskList);

impl<'a> ListTasks<'a> {
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
