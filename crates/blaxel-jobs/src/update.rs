//! Read-modify-write of a job without loss: [`JobRef::update_with`].

use crate::JobRef;
use crate::error::{DecodeError, Error, InvalidInput};
use crate::transport::CallSettings;
use crate::{Client, merge, validate};
use blaxel_jobs_client::operations::Operation;
use blaxel_jobs_client::{builder, types};

impl<'a> JobRef<'a> {
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
    /// - A field the edit set to `None` is left out; a list the edit emptied
    ///   or removed is sent as `[]`, so that emptying `envs` really removes
    ///   every variable (a plain [`update`](Self::update) cannot: the
    ///   generated types never serialize an empty list).
    /// - List elements are matched to the server's by their `id`, else
    ///   their `name` (env variables by name, triggers by id, volumes by
    ///   name), else by content, else by position, and keep their unknown
    ///   fields; an element whose `id` or `name` the edit changes counts as
    ///   removed and added. The new list has the edit's order.
    /// - If the edit changes nothing, nothing is written and the job as
    ///   read is returned.
    ///
    /// The edited job is checked like [`update`](Self::update)'s (its name
    /// cannot change). Secret values come back masked unless
    /// [`show_secrets`](UpdateJobWith::show_secrets) is set, and are sent
    /// back as they were read (masked); what the server does with a masked
    /// value it receives is its own rule (the emulator keeps the stored
    /// secret).
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
            name: self.job_id.clone(),
            edit,
            show_secrets: false,
            settings: CallSettings::default(),
        }
    }
}

/// Builder of a read-modify-write update: GetJob, the edit, then UpdateJob
/// with the server's JSON changed only by the edit. See
/// [`JobRef::update_with`].
#[must_use = "a request does nothing until it is sent"]
pub struct UpdateJobWith<'a, F> {
    client: &'a Client,
    name: String,
    edit: F,
    show_secrets: bool,
    settings: CallSettings,
}

impl<F> std::fmt::Debug for UpdateJobWith<'_, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateJobWith")
            .field("name", &self.name)
            .field("show_secrets", &self.show_secrets)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl<'a, F> UpdateJobWith<'a, F>
where
    F: FnOnce(&mut types::Job),
{
    /// Read secret environment values in clear (needs the workspace admin
    /// role), so that they are written back in clear rather than masked.
    pub fn show_secrets(mut self, show: bool) -> Self {
        self.show_secrets = show;
        self
    }

    /// Overrides the client's per-attempt timeout for each of the two calls
    /// (the read and the write).
    pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
        self.settings.timeout = Some(timeout);
        self
    }

    /// Overrides the client's timeout of a whole call, every attempt and
    /// wait included, for each of the two calls (the read and the write).
    pub fn operation_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.settings.operation_timeout = Some(timeout);
        self
    }

    /// Overrides the client's retry settings for each of the two calls
    /// (the read and the write).
    pub fn retry(mut self, retry: crate::RetryConfig) -> Self {
        self.settings.retry = Some(Box::new(retry));
        self
    }

    /// Reads the job, applies the edit, and writes the result back (unless
    /// the edit changed nothing). Answers the job as stored.
    pub async fn send(self) -> Result<types::Job, Error> {
        let UpdateJobWith {
            client,
            name,
            edit,
            show_secrets,
            settings,
        } = self;
        validate::path_id(&name, "jobId")?;
        let get = client
            .raw()
            .get_job()
            .job_id(name.as_str())
            .show_secrets(show_secrets)
            .build_request()
            .map_err(crate::transport::build_error)?;
        let read = crate::transport::execute::<types::Job, _, _, _>(
            client,
            Operation::GetJob,
            settings.clone(),
            get,
            |r| crate::transport::raw_body(r, builder::GetJob::decode),
        )
        .await?;
        let decode_error = |message: String| {
            DecodeError::locate::<types::Job>(reqwest::StatusCode::OK, read.clone(), message)
        };
        let text = std::str::from_utf8(&read)
            .map_err(|e| decode_error(format!("the job is not UTF-8: {e}")))?;
        let mut job: types::Job =
            serde_json::from_str(text).map_err(|e| decode_error(e.to_string()))?;
        let before = to_value(&job)?;
        edit(&mut job);
        validate::same_name(&job, &name)?;
        validate::job(&job)?;
        let after = to_value(&job)?;
        if after == before {
            return Ok(job);
        }
        let body = merge::merge(text, &before, &after).map_err(|e| decode_error(e.to_string()))?;
        // The request UpdateJob's builder forms (URL, headers), with the
        // server's own JSON, changed only by the edit, as its body.
        let mut put = client
            .raw()
            .update_job()
            .job_id(name.as_str())
            .body(job)
            .build_request()
            .map_err(crate::transport::build_error)?;
        *put.body_mut() = Some(body.into());
        let written = crate::transport::execute::<types::Job, _, _, _>(
            client,
            Operation::UpdateJob,
            settings,
            put,
            |r| crate::transport::raw_body(r, builder::UpdateJob::decode),
        )
        .await?;
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

fn to_value(job: &types::Job) -> Result<serde_json::Value, Error> {
    serde_json::to_value(job).map_err(|e| {
        InvalidInput::general(format!("the job cannot be written as JSON: {e}")).into()
    })
}

impl<F> crate::call::Request for UpdateJobWith<'_, F>
where
    F: FnOnce(&mut types::Job) + Send,
{
    type Output = types::Job;
    fn send(self) -> impl std::future::Future<Output = Result<types::Job, Error>> + Send {
        UpdateJobWith::send(self)
    }
}
