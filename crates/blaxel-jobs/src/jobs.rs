//! Job operations: [`Jobs`] (create, get, list, update, delete, revisions)
//! and [`JobRef`], a handle on one job.
//!
//! Each method returns a builder; set options on it, then `.send().await`.

use crate::Client;
use crate::call::{self, Call, CallSettings};
use crate::error::{DecodeError, Error, InvalidInput};
use crate::executions::{ExecutionRef, Executions};
use crate::merge;
use crate::paginate;
use crate::validate;
use crate::wait::WaitUntilDeployed;
use blaxel_jobs_client::limits;
use blaxel_jobs_client::open_enum::DeploymentStatus;
use blaxel_jobs_client::operations::Operation;
use blaxel_jobs_client::{builder, types};

/// Adds `timeout`, `operation_timeout`, `retry` and `send` to a builder
/// wrapping a [`Call`].
macro_rules! fluent {
    ($name:ident, $output:ty) => {
        impl<'a> $name<'a> {
            /// Overrides the client's per-attempt timeout for this call
            /// ([`ClientBuilder::timeout`](crate::ClientBuilder::timeout)).
            pub fn timeout(self, timeout: std::time::Duration) -> Self {
                Self(self.0.timeout(timeout))
            }

            /// Overrides the client's timeout of the whole call, every
            /// attempt and wait included
            /// ([`ClientBuilder::operation_timeout`](crate::ClientBuilder::operation_timeout)).
            pub fn operation_timeout(self, timeout: std::time::Duration) -> Self {
                Self(self.0.operation_timeout(timeout))
            }

            /// Overrides the client's retry settings for this call
            /// ([`ClientBuilder::retry`](crate::ClientBuilder::retry)); the
            /// rules of [`crate::retry`] still decide what may be retried.
            pub fn retry(self, retry: crate::RetryConfig) -> Self {
                Self(self.0.retry(retry))
            }

            /// Sends the request, retrying as [`crate::retry`] describes.
            // Not an `async fn`: it would add a layer (and a copy of the
            // request) to the call's future.
            pub fn send(
                self,
            ) -> impl std::future::Future<Output = Result<$output, Error>> + Send + 'a {
                self.0.send()
            }
        }
    };
}
pub(crate) use fluent;

/// The workspace's jobs, as a collection: create a job
/// ([`create`](Self::create), CreateJob) or list them ([`list`](Self::list),
/// ListJobs). Get one with [`Client::jobs`].
///
/// Operations on one job (get, update, delete, revisions, executions) are
/// on [`JobRef`], from [`Client::job`]: each operation has one way in, the
/// collection for what creates or finds jobs, the handle for what acts on a
/// job you can name.
#[derive(Debug, Clone, Copy)]
pub struct Jobs<'a> {
    client: &'a Client,
}

impl<'a> Jobs<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Jobs { client }
    }

    /// Creates a job (CreateJob). The definition is checked first (see
    /// [`crate::JobBuilder`] to build one). Never retried once the request
    /// may have reached the server; see [`crate::retry`].
    pub fn create(self, job: types::Job) -> CreateJob<'a> {
        let check = validate::job(&job);
        CreateJob(Call::new(self.client, self.client.raw().create_job().body(job)).check(check))
    }

    /// Lists the workspace's jobs (ListJobs), one page per `send`, or all of them with
    /// [`ListJobs::into_stream`].
    pub fn list(self) -> ListJobs<'a> {
        ListJobs(Call::new(self.client, self.client.raw().list_jobs()))
    }
}

/// A handle on one job, by name: get, update, delete it, list its
/// revisions, reach its executions, or wait for its deployment. Get one
/// with [`Client::job`]; making a handle sends nothing.
#[derive(Debug, Clone)]
pub struct JobRef<'a> {
    client: &'a Client,
    name: String,
}

impl<'a> JobRef<'a> {
    pub(crate) fn new(client: &'a Client, name: String) -> Self {
        JobRef { client, name }
    }

    /// The job's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn check_name(&self) -> Result<(), InvalidInput> {
        validate::path_id(&self.name, "jobId")
    }

    /// Gets the job (GetJob).
    pub fn get(&self) -> GetJob<'a> {
        let op = self.client.raw().get_job().job_id(self.name.clone());
        GetJob(Call::new(self.client, op).check(self.check_name()))
    }

    /// Replaces the job's definition with `job`, as it is (UpdateJob);
    /// running executions keep theirs.
    /// `job.metadata.name` must be this job's name.
    ///
    /// UpdateJob replaces the whole definition, and the typed view keeps
    /// only the fields this SDK knows: a `job` obtained by reading the job
    /// and editing it loses whatever else the server had stored (fields
    /// Blaxel added after this SDK was generated, or set by the console or
    /// `bl`). To change part of a job, use [`update_with`](Self::update_with).
    /// Nor can `update` send an empty list: the generated types leave empty
    /// lists out, so a job sent with no `envs` relies on the server reading
    /// a missing list as empty (a full replace does); `update_with` sends
    /// `[]`.
    pub fn update(&self, job: types::Job) -> UpdateJob<'a> {
        let check = self
            .check_name()
            .and(same_name(&job, &self.name))
            .and(validate::job(&job));
        let op = self
            .client
            .raw()
            .update_job()
            .job_id(self.name.clone())
            .body(job);
        UpdateJob(Call::new(self.client, op).check(check))
    }

    /// Changes part of the job without losing what the SDK does not model
    /// (GetJob, then UpdateJob): reads the job, lets `edit` change the typed view of it, and writes
    /// back the server's own JSON with only the edit applied.
    ///
    /// ```no_run
    /// # async fn demo(client: blaxel_jobs::Client) -> Result<(), blaxel_jobs::Error> {
    /// let job = client
    ///     .job("nightly-report")
    ///     .update_with(|job| {
    ///         let runtime = job.spec.runtime.get_or_insert_with(Default::default);
    ///         runtime.memory = Some(4096);
    ///     })
    ///     .send()
    ///     .await?;
    /// # let _ = job; Ok(()) }
    /// ```
    ///
    /// # Why not get, then update
    ///
    /// UpdateJob replaces the whole definition, and the generated types
    /// keep only the fields they know. Reading a job into [`types::Job`] and
    /// sending it back with [`update`](Self::update) silently deletes
    /// everything else the server stored: fields Blaxel added after this SDK
    /// was generated, and fields the console or `bl` set. `update_with`
    /// sends the server's own JSON text instead, changed only where the
    /// edit changed the typed view; every other byte of it is sent back as
    /// read.
    ///
    /// # How the edit is applied
    ///
    /// - A field the edit did not touch keeps the server's exact text,
    ///   unknown fields nested inside it included; a field the typed view
    ///   does not know is kept as it is, in its place.
    /// - In an object or list the edit changed, every member kept keeps its
    ///   key as the server spelled it (escapes included) and the whitespace
    ///   around it; what the edit set is written compactly, new members and
    ///   entries indented like their neighbours.
    /// - A field the edit set to `None` is left out; a list the edit emptied
    ///   or removed is sent as `[]`, so that emptying `envs` really removes
    ///   every variable (a plain [`update`](Self::update) cannot: the
    ///   generated types never serialize an empty list).
    /// - List entries are matched to the server's by their `id`, else their
    ///   `name` (env variables by name, triggers by id, volumes by name),
    ///   else by content, else by position, and keep their own unknown
    ///   fields; an entry whose `id` or `name` the edit changes counts as
    ///   removed and added. The new list has the edit's order.
    /// - A member the server sent as `null` reads as absent and, untouched,
    ///   goes back as `null`.
    /// - If the edit changes nothing, nothing is written and the job as
    ///   read is returned.
    ///
    /// # What it refuses
    ///
    /// The write replaces the whole job, so `update_with` refuses, with
    /// [`Error::UpdateRefused`](crate::Error::UpdateRefused) and nothing
    /// written, to send back what it could not read:
    ///
    /// - **Masked secrets.** Secret values come back masked unless the job
    ///   is read with [`show_secrets`](UpdateJobWith::show_secrets) (which
    ///   needs the workspace admin role), and Blaxel does not document
    ///   whether it keeps a secret when its mask is sent back. A secret
    ///   read masked (or still masked after asking for it in clear) and not
    ///   set by the edit is refused; read in clear, set it, or accept the
    ///   risk with [`allow_masked_secrets`](UpdateJobWith::allow_masked_secrets).
    /// - **Trigger tasks stored apart.** A trigger answered with `tasksRef`
    ///   and no `tasks` would be written back without its tasks; set them
    ///   in the edit, or accept the risk with
    ///   [`allow_unread_trigger_tasks`](UpdateJobWith::allow_unread_trigger_tasks).
    /// - **Entries it cannot tell apart.** When the edit removes or changes
    ///   some of several entries that share an `id` or `name` (or have
    ///   neither), and they hold different unknown fields, which entry an
    ///   edited one stands for cannot be told: writing would move those
    ///   fields to another entry or drop them. As many entries after as
    ///   before pair by position, and unchanged ones by content, so editing
    ///   such entries in place works.
    ///
    /// The edited job is checked like [`update`](Self::update)'s (its name
    /// cannot change).
    ///
    /// # Concurrent writers
    ///
    /// The API has no conditional update (no `ETag` or `If-Match`, no
    /// revision precondition), so a change another writer makes between the
    /// read and the write is overwritten: read-modify-write narrows the
    /// window to two requests but cannot close it. Serialize updates of one
    /// job on your side if several writers may touch it.
    pub fn update_with<F>(&self, edit: F) -> UpdateJobWith<'a, F>
    where
        F: FnOnce(&mut types::Job),
    {
        UpdateJobWith {
            client: self.client,
            name: self.name.clone(),
            edit,
            allowed: merge::WriteBack::default(),
            settings: CallSettings::default(),
        }
    }

    /// Deletes the job and cancels its running executions (DeleteJob). The answer is the job with status `DELETING`.
    pub fn delete(&self) -> DeleteJob<'a> {
        let op = self.client.raw().delete_job().job_id(self.name.clone());
        DeleteJob(Call::new(self.client, op).check(self.check_name()))
    }

    /// Lists the job's revisions (ListJobRevisions; not paginated).
    pub fn revisions(&self) -> ListJobRevisions<'a> {
        let op = self
            .client
            .raw()
            .list_job_revisions()
            .job_id(self.name.clone());
        ListJobRevisions(Call::new(self.client, op).check(self.check_name()))
    }

    /// The job's executions, as a collection: start one or list them.
    pub fn executions(&self) -> Executions<'a> {
        Executions::new(self.client, self.name.clone())
    }

    /// Runs the job over `tasks`, any iterator of values that serialize to
    /// JSON objects, read lazily and grouped into executions: resumable
    /// without duplicates, paced by the workspace's capacity, with
    /// progress. See [`crate::batch`].
    pub fn batch<I, T>(
        &self,
        tasks: I,
    ) -> crate::batch::Batch<'a, impl futures_core::Stream<Item = T> + Send + use<'a, I, T>>
    where
        I: IntoIterator<Item = T>,
        I::IntoIter: Send,
        T: serde::Serialize + Send,
    {
        let tasks = futures_util::stream::iter(tasks);
        crate::batch::Batch::new(self.client, self.name.clone(), tasks)
    }

    /// A handle on one execution of the job, by id: get, cancel, list its
    /// tasks, or wait for it.
    pub fn execution(&self, id: impl Into<String>) -> ExecutionRef<'a> {
        ExecutionRef::new(self.client, self.name.clone(), id.into())
    }

    /// A waiter that polls GetJob until the job is `DEPLOYED`, and fails if
    /// its deployment fails (see [`crate::wait`]). Start it with
    /// [`wait(max_wait)`](WaitUntilDeployed::wait).
    pub fn wait_until_deployed(&self) -> WaitUntilDeployed<'a> {
        WaitUntilDeployed::new(self.client, self.name.clone())
    }
}

/// Builder of a CreateJob call. See [`Jobs::create`].
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until it is sent"]
pub struct CreateJob<'a>(Call<'a, builder::CreateJob<'a>>);
fluent!(CreateJob, types::Job);

/// Builder of a GetJob call. See [`JobRef::get`].
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until it is sent"]
pub struct GetJob<'a>(Call<'a, builder::GetJob<'a>>);
fluent!(GetJob, types::Job);

impl GetJob<'_> {
    /// Return secret environment values in clear (needs the workspace admin role).
    pub fn show_secrets(self, show: bool) -> Self {
        Self(self.0.map(|b| b.show_secrets(show)))
    }
}

/// Builder of an UpdateJob call. See [`JobRef::update`].
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until it is sent"]
pub struct UpdateJob<'a>(Call<'a, builder::UpdateJob<'a>>);
fluent!(UpdateJob, types::Job);

fn same_name(job: &types::Job, name: &str) -> Result<(), InvalidInput> {
    if job.metadata.name == name {
        return Ok(());
    }
    Err(InvalidInput::at_field(
        "metadata.name",
        format!(
            "`{}` differs from the job being updated, `{name}` (names cannot change)",
            job.metadata.name
        ),
    ))
}

/// Builder of a read-modify-write update: GetJob, the edit, then UpdateJob
/// with the server's JSON changed only by the edit. See
/// [`JobRef::update_with`].
#[must_use = "a request does nothing until it is sent"]
pub struct UpdateJobWith<'a, F> {
    client: &'a Client,
    name: String,
    edit: F,
    /// How the job is read (`show_secrets`) and what may be written back
    /// unread.
    allowed: merge::WriteBack,
    settings: CallSettings,
}

impl<F> std::fmt::Debug for UpdateJobWith<'_, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateJobWith")
            .field("name", &self.name)
            .field("show_secrets", &self.allowed.read_in_clear)
            .field("allow_masked_secrets", &self.allowed.masked_secrets)
            .field(
                "allow_unread_trigger_tasks",
                &self.allowed.unread_trigger_tasks,
            )
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl<'a, F> UpdateJobWith<'a, F>
where
    F: FnOnce(&mut types::Job),
{
    /// Read secret environment values in clear (GetJob with
    /// `show_secrets`; it needs the workspace admin role, and without it
    /// the read fails with 403), so that they are written back as they
    /// are. Without it, secret values come back masked, and the update is
    /// refused unless the edit sets them (see
    /// [`allow_masked_secrets`](Self::allow_masked_secrets)).
    pub fn show_secrets(mut self, show: bool) -> Self {
        self.allowed.read_in_clear = show;
        self
    }

    /// Write secret environment values back masked, as read, instead of
    /// refusing with [`UpdateRefusal::MaskedSecrets`](crate::UpdateRefusal::MaskedSecrets).
    ///
    /// **The risk**: UpdateJob replaces the whole definition, and Blaxel
    /// does not document whether it keeps a secret's stored value when the
    /// value sent is its mask. If it does not, each such secret is replaced
    /// by the mask (`***`), and the job's tasks get that instead of the
    /// secret. Set this only if you know the server keeps masked secrets
    /// (the emulator does by default), or read them in clear with
    /// [`show_secrets`](Self::show_secrets) instead.
    pub fn allow_masked_secrets(mut self, allow: bool) -> Self {
        self.allowed.masked_secrets = allow;
        self
    }

    /// Write back triggers whose task lists the server stores apart
    /// (`tasksRef`, answered without `tasks`) without their tasks, instead
    /// of refusing with
    /// [`UpdateRefusal::UnreadTriggerTasks`](crate::UpdateRefusal::UnreadTriggerTasks).
    ///
    /// **The risk**: UpdateJob replaces the whole definition, and Blaxel
    /// does not document whether a trigger sent with its `tasksRef` but no
    /// `tasks` keeps the tasks stored apart. If it does not, the trigger's
    /// scheduled executions run with no tasks from then on.
    pub fn allow_unread_trigger_tasks(mut self, allow: bool) -> Self {
        self.allowed.unread_trigger_tasks = allow;
        self
    }

    crate::call::call_settings!("for each of the two calls (the read and the write)");

    /// Reads the job, applies the edit, and writes the result back (unless
    /// the edit changed nothing). Answers the job as stored.
    pub async fn send(self) -> Result<types::Job, Error> {
        let UpdateJobWith {
            client,
            name,
            edit,
            allowed,
            settings,
        } = self;
        validate::path_id(&name, "jobId")?;
        let url = job_url(client, &name)?;
        let mut get_url = url.clone();
        if allowed.read_in_clear {
            get_url
                .query_pairs_mut()
                .append_pair("show_secrets", "true");
        }
        let get = raw_request(client, reqwest::Method::GET, get_url, None)?;
        let read = call::execute_raw(client, Operation::GetJob, &settings, get).await?;
        let decode_error = |message: String| {
            DecodeError::locate::<types::Job>(reqwest::StatusCode::OK, read.clone(), message)
        };
        let text = std::str::from_utf8(&read)
            .map_err(|e| decode_error(format!("the job is not UTF-8: {e}")))?;
        let read: types::Job =
            serde_json::from_str(text).map_err(|e| decode_error(e.to_string()))?;
        let before = to_value(&read)?;
        let mut job = read.clone();
        edit(&mut job);
        same_name(&job, &name)?;
        validate::job(&job)?;
        let after = to_value(&job)?;
        if after == before {
            return Ok(job);
        }
        let body = merge::update_body(text, &read, &job, (&before, &after), allowed).map_err(
            |e| match e {
                merge::BodyError::Refused(refused) => Error::from(refused),
                merge::BodyError::NotJson(e) => decode_error(e.to_string()).into(),
            },
        )?;
        let put = raw_request(client, reqwest::Method::PUT, url, Some(body))?;
        let written = call::execute_raw(client, Operation::UpdateJob, &settings, put).await?;
        serde_json::from_slice(&written).map_err(|e| {
            DecodeError::locate::<types::Job>(
                reqwest::StatusCode::OK,
                written.clone(),
                e.to_string(),
            )
            .into()
        })
    }
}

/// The URL of a job, as the generated client forms it.
fn job_url(client: &Client, name: &str) -> Result<reqwest::Url, Error> {
    use progenitor_client::ClientInfo as _;
    let text = format!(
        "{}/jobs/{}",
        client.raw().baseurl(),
        progenitor_client::encode_path(name)
    );
    reqwest::Url::parse(&text).map_err(|e| {
        InvalidInput::at_field("jobId", format!("cannot form the job's URL: {e}")).into()
    })
}

/// A request with the headers the generated client adds to its own.
fn raw_request(
    client: &Client,
    method: reqwest::Method,
    url: reqwest::Url,
    body: Option<String>,
) -> Result<reqwest::Request, Error> {
    use progenitor_client::ClientInfo as _;
    let mut builder = client
        .raw()
        .client()
        .request(method, url)
        .header(reqwest::header::ACCEPT, "application/json");
    if let Some(body) = body {
        builder = builder
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
    }
    builder.build().map_err(|e| {
        InvalidInput::general(format!(
            "cannot build the request: {}",
            crate::error::chain(&e)
        ))
        .into()
    })
}

fn to_value(job: &types::Job) -> Result<serde_json::Value, Error> {
    serde_json::to_value(job).map_err(|e| {
        InvalidInput::general(format!("the job cannot be written as JSON: {e}")).into()
    })
}

/// Builder of a DeleteJob call. See [`JobRef::delete`].
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until it is sent"]
pub struct DeleteJob<'a>(Call<'a, builder::DeleteJob<'a>>);
fluent!(DeleteJob, types::Job);

/// Builder of a ListJobRevisions call. See [`JobRef::revisions`].
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until it is sent"]
pub struct ListJobRevisions<'a>(Call<'a, builder::ListJobRevisions<'a>>);
fluent!(ListJobRevisions, Vec<types::RevisionMetadata>);

/// Builder of a ListJobs call: one page with `send`, every job with
/// [`into_stream`](Self::into_stream). See [`Jobs::list`].
///
/// ```no_run
/// # async fn demo(client: blaxel_jobs::Client) -> Result<(), blaxel_jobs::Error> {
/// use futures_util::TryStreamExt;
/// let mut jobs = std::pin::pin!(client.jobs().list().limit(100).into_stream());
/// while let Some(job) = jobs.try_next().await? {
///     println!("{}", job.metadata.name);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until it is sent"]
pub struct ListJobs<'a>(Call<'a, builder::ListJobs<'a>>);
fluent!(ListJobs, types::JobList);
paginate::listing!(ListJobs, types::JobList);

impl<'a> ListJobs<'a> {
    /// Page size, 1 to 200 (the server's default is 50); other values are
    /// clamped into that range, as the server clamps them.
    pub fn limit(self, limit: u32) -> Self {
        let limit = validate::clamp(&limits::LIST_JOBS_LIMIT, limit, "limit");
        Self(self.0.map(|b| b.limit(limit)))
    }

    /// Sort order (default `createdAt:desc`).
    pub fn sort(self, sort: types::ListSort) -> Self {
        Self(self.0.map(|b| b.sort(sort)))
    }

    /// Case-insensitive substring filter over names, display names and labels.
    pub fn q(self, query: impl Into<String>) -> Self {
        let query = query.into();
        let check = validate::check_str(&limits::LIST_JOBS_Q, &query, "q");
        Self(self.0.check(check).map(|b| b.q(query)))
    }

    /// Start from a boundary: [`types::ListAnchor::End`] gives the last page.
    pub fn anchor(self, anchor: types::ListAnchor) -> Self {
        Self(self.0.map(|b| b.anchor(anchor)))
    }

    /// Keep only jobs in these deployment statuses (an empty list keeps all).
    ///
    /// ```no_run
    /// # async fn demo(client: blaxel_jobs::Client) -> Result<(), blaxel_jobs::Error> {
    /// use blaxel_jobs::types::DeploymentStatus;
    /// let failed = client.jobs().list().status([DeploymentStatus::Failed]).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn status<I, S>(self, statuses: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<DeploymentStatus>,
    {
        let joined = statuses
            .into_iter()
            .map(|s| s.into().as_str().to_owned())
            .collect::<Vec<_>>()
            .join(",");
        if joined.is_empty() {
            // No status means no filter, not `?status=`.
            return self;
        }
        Self(self.0.map(|b| b.status(joined)))
    }

    /// Keep only the job whose `metadata.externalId` is exactly this value
    /// (your own identifier, set when the job was created).
    pub fn external_id(self, external_id: impl Into<String>) -> Self {
        let external_id = external_id.into();
        Self(self.0.map(|b| b.external_id(external_id)))
    }

    /// Start from this cursor (`meta.nextCursor` of an earlier page).
    pub fn cursor(self, cursor: impl Into<String>) -> Self {
        let cursor = cursor.into();
        Self(self.0.map(|b| b.cursor(cursor)))
    }
}
