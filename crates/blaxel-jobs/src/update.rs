//! Read-modify-write of a job without loss: [`JobRef::update_with`].

use crate::JobRef;
use crate::error::{DecodeError, Error, InvalidInput};
use crate::transport::{self, CallSettings};
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
    ///   does not know is kept as it is, in its place. So are number forms
    ///   (`1e400`, `-0`, `12345678901234567890`), string escapes and
    ///   surrogate pairs, duplicate keys and the order of members.
    /// - In an object or list the edit changed, every member kept keeps its
    ///   key as the server spelled it (escapes included) and the whitespace
    ///   around it; what the edit set is written compactly, new members and
    ///   entries indented like their neighbours; a removed member goes with
    ///   its whitespace.
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
            name: self.job_id.clone(),
            edit,
            allowed: merge::WriteBack::default(),
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
            allowed,
            settings,
        } = self;
        validate::path_id(&name, "jobId")?;
        let get = client
            .raw()
            .get_job()
            .job_id(name.as_str())
            .show_secrets(allowed.read_in_clear)
            .build_request()
            .map_err(transport::build_error)?;
        let read = transport::execute::<types::Job, _, _, _>(
            client,
            Operation::GetJob,
            settings.clone(),
            get,
            |r| transport::raw_body(r, builder::GetJob::decode),
        )
        .await?;
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
        validate::same_name(&job, &name)?;
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
        // The request UpdateJob's builder forms (URL, headers), with the
        // server's own JSON, changed only by the edit, as its body.
        let mut put = client
            .raw()
            .update_job()
            .job_id(name.as_str())
            .body(job)
            .build_request()
            .map_err(transport::build_error)?;
        *put.body_mut() = Some(body.into());
        let written = transport::execute::<types::Job, _, _, _>(
            client,
            Operation::UpdateJob,
            settings,
            put,
            |r| transport::raw_body(r, builder::UpdateJob::decode),
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
