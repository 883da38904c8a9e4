//! Job operations: [`Jobs`] (create, get, list, update, delete, revisions)
//! and [`JobRef`], a handle on one job.
//!
//! Each method returns a builder; set options on it, then `.send().await`.

use crate::Client;
use crate::call::Call;
use crate::error::{Error, InvalidInput};
use crate::executions::Executions;
use crate::paginate;
use crate::validate;
use crate::wait::WaitForDeployment;
use blaxel_jobs_client::limits;
use blaxel_jobs_client::open_enum::Status;
use blaxel_jobs_client::{builder, types};
use std::time::Duration;

/// Adds `timeout` and `send` to a builder wrapping a [`Call`].
macro_rules! fluent {
    ($name:ident, $output:ty) => {
        impl<'a> $name<'a> {
            /// Overrides the client's per-attempt timeout for this call.
            pub fn timeout(self, timeout: Duration) -> Self {
                Self(self.0.timeout(timeout))
            }

            /// Sends the request, retrying as [`crate::retry`] describes.
            pub async fn send(self) -> Result<$output, Error> {
                self.0.send().await
            }
        }
    };
}
pub(crate) use fluent;

/// Job operations of a [`Client`]. Get one with [`Client::jobs`].
#[derive(Debug, Clone, Copy)]
pub struct Jobs<'a> {
    client: &'a Client,
}

impl<'a> Jobs<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Jobs { client }
    }

    /// Creates a job. The definition is checked first (see
    /// [`crate::JobBuilder`] to build one). Never retried once the request
    /// may have reached the server; see [`crate::retry`].
    pub fn create(self, job: types::Job) -> CreateJob<'a> {
        let check = validate::job(&job);
        CreateJob(Call::new(self.client, self.client.raw().create_job().body(job)).check(check))
    }

    /// Gets a job by name.
    pub fn get(self, name: impl Into<String>) -> GetJob<'a> {
        JobRef::new(self.client, name.into()).get()
    }

    /// Lists the workspace's jobs, one page per `send`, or all of them with
    /// [`ListJobs::into_stream`].
    pub fn list(self) -> ListJobs<'a> {
        ListJobs(Call::new(self.client, self.client.raw().list_jobs()))
    }

    /// Replaces a job's definition; running executions keep theirs.
    pub fn update(self, name: impl Into<String>, job: types::Job) -> UpdateJob<'a> {
        JobRef::new(self.client, name.into()).update(job)
    }

    /// Deletes a job and cancels its running executions.
    pub fn delete(self, name: impl Into<String>) -> DeleteJob<'a> {
        JobRef::new(self.client, name.into()).delete()
    }

    /// Lists a job's revisions.
    pub fn revisions(self, name: impl Into<String>) -> ListJobRevisions<'a> {
        JobRef::new(self.client, name.into()).revisions()
    }
}

/// A handle on one job, by name. Get one with [`Client::job`].
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

    /// Gets the job.
    pub fn get(&self) -> GetJob<'a> {
        let op = self.client.raw().get_job().job_id(self.name.clone());
        GetJob(Call::new(self.client, op).check(self.check_name()))
    }

    /// Replaces the job's definition. `job.metadata.name` must be this job's name.
    pub fn update(&self, job: types::Job) -> UpdateJob<'a> {
        let same_name = if job.metadata.name == self.name {
            Ok(())
        } else {
            Err(InvalidInput::field(
                "metadata.name",
                format!(
                    "`{}` differs from the job being updated, `{}` (names cannot change)",
                    job.metadata.name, self.name
                ),
            ))
        };
        let check = self.check_name().and(same_name).and(validate::job(&job));
        let op = self
            .client
            .raw()
            .update_job()
            .job_id(self.name.clone())
            .body(job);
        UpdateJob(Call::new(self.client, op).check(check))
    }

    /// Deletes the job. The answer is the job with status `DELETING`.
    pub fn delete(&self) -> DeleteJob<'a> {
        let op = self.client.raw().delete_job().job_id(self.name.clone());
        DeleteJob(Call::new(self.client, op).check(self.check_name()))
    }

    /// Lists the job's revisions (not paginated).
    pub fn revisions(&self) -> ListJobRevisions<'a> {
        let op = self
            .client
            .raw()
            .list_job_revisions()
            .job_id(self.name.clone());
        ListJobRevisions(Call::new(self.client, op).check(self.check_name()))
    }

    /// The job's executions.
    pub fn executions(&self) -> Executions<'a> {
        Executions::new(self.client, self.name.clone())
    }

    /// Waits until the job is `DEPLOYED`; fails if its deployment fails.
    pub fn wait_until_deployed(&self) -> WaitForDeployment<'a> {
        WaitForDeployment::new(self.client, self.name.clone())
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
    /// use blaxel_jobs::Status;
    /// let failed = client.jobs().list().status([Status::Failed]).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn status<I, S>(self, statuses: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<Status>,
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

    /// Start from this cursor (`meta.nextCursor` of an earlier page).
    pub fn cursor(self, cursor: impl Into<String>) -> Self {
        let cursor = cursor.into();
        Self(self.0.map(|b| b.cursor(cursor)))
    }
}
