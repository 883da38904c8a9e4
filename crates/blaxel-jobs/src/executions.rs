//! Execution operations of one job: start, get, list, cancel, list tasks,
//! and wait. Get an [`Executions`] with [`crate::JobRef::executions`].

use crate::Client;
use crate::call::{Call, CallSettings};
use crate::error::{Error, InvalidInput};
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
    /// the task's parameters. A value nested more than 125 levels deep
    /// (arrays and objects, the task's own object included) is refused,
    /// without being serialized any deeper, when the request is built or
    /// sent: request bodies are read at most 127 levels deep.
    pub fn task(mut self, task: impl Serialize) -> Self {
        let index = self.request.tasks.len();
        match crate::json::to_object(&task, crate::json::EXECUTION_TASK_DEPTH) {
            Ok(map) => {
                self.request.tasks.push(map);
                self
            }
            Err(why) => self.fail(InvalidInput::at_field(format!("tasks[{index}]"), why)),
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
    ///
    /// A retried request answered with 409 counts as a success only when
    /// the execution found under its id is shown to be this request's (see
    /// [`Error::ExecutionConflict`]).
    pub async fn send(self) -> Result<types::CreateJobExecutionOutput, Error> {
        let (client, job) = (self.client, self.job.clone());
        let settings = self.settings.clone();
        let request = self.build()?.into_inner();
        if let Some(memory) = request.memory {
            check_memory(client, &job, memory).await?;
        }
        match post(client, &job, &request, settings).await {
            // A retried request whose first attempt may have reached the
            // server: the execution may exist because of it. Report success
            // only if what is found is provably this request's.
            Err(Error::Api(e)) if e.status.as_u16() == 409 && e.attempts > 1 => {
                crate::reconcile::reconcile(client, &job, &request, *e).await?;
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

/// Sends a CreateJobExecution request as it is (built and checked, see
/// [`CreateJobExecution::build`]), with `settings`; the request is copied
/// into the call, once per call, and kept by the caller.
pub(crate) async fn post(
    client: &Client,
    job: &str,
    request: &types::CreateJobExecutionRequest,
    settings: CallSettings,
) -> Result<types::CreateJobExecutionOutput, Error> {
    let op = client
        .raw()
        .create_job_execution()
        .job_id(job.to_owned())
        .body(request.clone());
    let mut call = Call::new(client, op);
    call.settings = settings;
    call.send().await
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
