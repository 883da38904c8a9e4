//! The in-memory store: workspaces, their jobs, revisions and executions.
//!
//! Workspaces are created on first use and fully isolated from each other.
//! Everything is kept with the generated API types; secrets are stored in
//! clear and masked when rendered.

use crate::clock::{Micros, SimClock};
use crate::error::ApiError;
use crate::sim::{ExecConfig, NewExecution, SimExecution, TaskScript};
use blaxel_jobs_client::open_enum::{DeploymentStatus, TriggerType};
use blaxel_jobs_client::types;
use http::StatusCode;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// The value secret environment variables show instead of theirs.
pub(crate) const MASK: &str = "***";

/// The settings the simulation needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SimSettings {
    pub(crate) deploy_delay: Micros,
    pub(crate) startup: Micros,
    pub(crate) capacity: usize,
}

/// Every workspace.
#[derive(Debug, Default)]
pub(crate) struct State {
    workspaces: HashMap<String, Workspace>,
}

impl State {
    /// The workspace, created empty on first use.
    pub(crate) fn workspace(&mut self, name: &str) -> &mut Workspace {
        self.workspaces
            .entry(name.to_owned())
            .or_insert_with(|| Workspace::new(name))
    }

    /// The workspace if it was ever used.
    pub(crate) fn existing(&mut self, name: &str) -> Option<&mut Workspace> {
        self.workspaces.get_mut(name)
    }
}

/// A job as stored.
#[derive(Debug, Clone)]
pub(crate) struct StoredJob {
    /// Identifies this incarnation of the name.
    pub(crate) uid: u64,
    /// Creation order in the workspace.
    pub(crate) seq: u64,
    /// The job with secrets in clear.
    job: types::Job,
    /// When the current deployment completes.
    deploy_at: Option<Micros>,
    /// Oldest first.
    revisions: Vec<types::RevisionMetadata>,
}

impl StoredJob {
    /// The job's name.
    pub(crate) fn name(&self) -> &str {
        &self.job.metadata.name
    }

    /// The caller's own id of the job (`metadata.externalId`).
    pub(crate) fn external_id(&self) -> Option<&str> {
        self.job.metadata.external_id.as_deref()
    }

    /// The deployment status.
    pub(crate) fn status(&self) -> DeploymentStatus {
        self.job
            .status
            .clone()
            .unwrap_or(DeploymentStatus::Deploying)
    }

    /// The job as answered, secrets masked unless `show_secrets`.
    pub(crate) fn render(&self, show_secrets: bool) -> types::Job {
        let mut job = self.job.clone();
        if !show_secrets {
            mask_secrets(&mut job);
        }
        job
    }

    /// Revisions, newest first.
    pub(crate) fn revisions(&self) -> Vec<types::RevisionMetadata> {
        self.revisions.iter().rev().cloned().collect()
    }

    /// Whether `q` (already lowercased) matches the name, display name or a
    /// label key or value.
    pub(crate) fn matches(&self, q: &str) -> bool {
        let m = &self.job.metadata;
        m.name.to_lowercase().contains(q)
            || m.display_name
                .as_deref()
                .is_some_and(|d| d.to_lowercase().contains(q))
            || m.labels.as_ref().is_some_and(|l| {
                l.iter()
                    .any(|(k, v)| k.to_lowercase().contains(q) || v.to_lowercase().contains(q))
            })
    }

    fn add_event(&mut self, status: &str, message: String, revision: Option<String>, time: String) {
        let events = self
            .job
            .events
            .get_or_insert_with(|| types::CoreEvents(Vec::new()));
        events.0.push(types::CoreEvent {
            type_: Some("deployment".to_owned()),
            status: Some(status.to_owned()),
            message: Some(message),
            revision,
            canary_revision: None,
            time: Some(time),
        });
    }

    /// Starts a deployment of a new revision at `now`.
    fn deploy(&mut self, now: Micros, settings: &SimSettings, clock: &SimClock, by: &str) {
        let rev_id = random_id("rev-", 10);
        let previous_deploying = self.deploy_at.is_some();
        for (i, r) in self.revisions.iter_mut().rev().enumerate() {
            if i == 0 {
                r.previous_active = Some(true);
                if previous_deploying {
                    // Superseded before it was ever deployed.
                    r.status = Some(DeploymentStatus::Terminated.as_str().to_owned());
                }
            } else {
                r.previous_active = Some(false);
            }
            r.active = Some(false);
            r.traffic_percent = Some(0);
        }
        self.revisions.push(types::RevisionMetadata {
            id: Some(rev_id.clone()),
            created_at: Some(clock.timestamp(now)),
            created_by: Some(by.to_owned()),
            status: Some(DeploymentStatus::Deploying.as_str().to_owned()),
            active: Some(true),
            canary: Some(false),
            previous_active: Some(false),
            traffic_percent: Some(100),
        });
        self.job.status = Some(DeploymentStatus::Deploying);
        self.deploy_at = Some(now.saturating_add(settings.deploy_delay));
        self.add_event(
            DeploymentStatus::Deploying.as_str(),
            format!("deploying revision {rev_id}"),
            Some(rev_id),
            clock.timestamp(now),
        );
    }

    fn finish_deploy(&mut self, clock: &SimClock) {
        let Some(at) = self.deploy_at.take() else {
            return;
        };
        self.job.status = Some(DeploymentStatus::Deployed);
        let rev_id = self.revisions.last_mut().and_then(|r| {
            r.status = Some(DeploymentStatus::Deployed.as_str().to_owned());
            r.id.clone()
        });
        self.add_event(
            DeploymentStatus::Deployed.as_str(),
            format!("revision {} deployed", rev_id.as_deref().unwrap_or("?")),
            rev_id,
            clock.timestamp(at),
        );
    }
}

/// One workspace.
#[derive(Debug)]
pub(crate) struct Workspace {
    name: String,
    jobs: HashMap<String, StoredJob>,
    /// Every execution ever made here, in creation order (deleted jobs' too).
    executions: Vec<SimExecution>,
    /// (job name, execution id) → index in `executions`.
    by_id: HashMap<(String, String), usize>,
    /// Indices of executions that are not final yet, in creation order.
    live: Vec<usize>,
    next_seq: u64,
}

/// What CreateJobExecution asks for, after validation.
#[derive(Debug, Clone)]
pub(crate) struct ExecutionRequest {
    pub(crate) execution_id: Option<String>,
    pub(crate) message_id: Option<String>,
    pub(crate) tasks: Vec<Map<String, Value>>,
    pub(crate) env: Vec<String>,
    pub(crate) memory: Option<i64>,
    pub(crate) allow_queue: bool,
}

impl Workspace {
    fn new(name: &str) -> Self {
        Workspace {
            name: name.to_owned(),
            jobs: HashMap::new(),
            executions: Vec::new(),
            by_id: HashMap::new(),
            live: Vec::new(),
            next_seq: 1,
        }
    }

    fn seq(&mut self) -> u64 {
        let s = self.next_seq;
        self.next_seq += 1;
        s
    }

    /// Replays every event due up to `now`, in time order.
    pub(crate) fn advance_to(&mut self, now: Micros, settings: &SimSettings, clock: &SimClock) {
        loop {
            let deploys = self.jobs.values().filter_map(|j| j.deploy_at);
            let runs = self
                .live
                .iter()
                .filter_map(|&i| self.executions.get(i).and_then(SimExecution::next_event));
            let Some(t) = deploys.chain(runs).min() else {
                break;
            };
            if t > now {
                break;
            }
            for job in self.jobs.values_mut() {
                if job.deploy_at.is_some_and(|d| d <= t) {
                    job.finish_deploy(clock);
                }
            }
            for &i in &self.live {
                if let Some(e) = self.executions.get_mut(i)
                    && e.next_event().is_some_and(|x| x <= t)
                {
                    e.step(t);
                }
            }
            self.retire_and_promote(t, settings);
        }
    }

    /// Drops final executions from the live list and admits queued ones
    /// while there is capacity.
    fn retire_and_promote(&mut self, t: Micros, settings: &SimSettings) {
        let executions = &self.executions;
        self.live
            .retain(|&i| executions.get(i).is_some_and(|e| !e.is_final()));
        let mut active = self.active_count();
        for &i in &self.live {
            if active >= settings.capacity {
                break;
            }
            if let Some(e) = self.executions.get_mut(i)
                && e.is_queued()
            {
                e.admit(t, settings.startup);
                active += 1;
            }
        }
    }

    fn active_count(&self) -> usize {
        self.live
            .iter()
            .filter(|&&i| self.executions.get(i).is_some_and(SimExecution::is_active))
            .count()
    }

    fn queued_count(&self) -> usize {
        self.live
            .iter()
            .filter(|&&i| self.executions.get(i).is_some_and(SimExecution::is_queued))
            .count()
    }

    /// The job named `name`.
    pub(crate) fn job(&self, name: &str) -> Option<&StoredJob> {
        self.jobs.get(name)
    }

    /// Every job, in no particular order.
    pub(crate) fn jobs(&self) -> impl Iterator<Item = &StoredJob> {
        self.jobs.values()
    }

    /// The names of the jobs, sorted.
    pub(crate) fn job_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.jobs.keys().cloned().collect();
        names.sort();
        names
    }

    fn job_url(&self, origin: &str, name: &str) -> String {
        format!("{origin}/{}/jobs/{name}", self.name)
    }

    /// Stores a new job and starts deploying it.
    pub(crate) fn create_job(
        &mut self,
        mut job: types::Job,
        ctx: &Mutation<'_>,
    ) -> Result<&StoredJob, ApiError> {
        let name = job.metadata.name.clone();
        if self.jobs.contains_key(&name) {
            return Err(ApiError::conflict(format!(
                "job {name} already exists in workspace {}",
                self.name
            )));
        }
        let stamp = ctx.clock.timestamp(ctx.now);
        job.status = None;
        job.events = None;
        prepare_spec(&mut job.spec, None);
        let m = &mut job.metadata;
        m.created_at = Some(stamp.clone());
        m.updated_at = Some(stamp);
        m.created_by = Some(ctx.principal.to_owned());
        m.updated_by = Some(ctx.principal.to_owned());
        m.workspace = Some(self.name.clone());
        m.url = Some(self.job_url(ctx.origin, &name));
        m.plan = Some("emulator".to_owned());
        let seq = self.seq();
        let mut stored = StoredJob {
            uid: seq,
            seq,
            job,
            deploy_at: None,
            revisions: Vec::new(),
        };
        stored.deploy(ctx.now, ctx.settings, ctx.clock, ctx.principal);
        Ok(self.jobs.entry(name).or_insert(stored))
    }

    /// Replaces a job's definition and deploys a new revision.
    pub(crate) fn update_job(
        &mut self,
        name: &str,
        mut job: types::Job,
        ctx: &Mutation<'_>,
    ) -> Result<&StoredJob, ApiError> {
        if job.metadata.name != name {
            return Err(ApiError::validation(format!(
                "metadata.name: must equal the job name in the path ({name:?}); a job cannot be renamed"
            )));
        }
        let url = self.job_url(ctx.origin, name);
        let stored = self
            .jobs
            .get_mut(name)
            .ok_or_else(|| job_not_found(name, &self.name))?;
        let old = &stored.job;
        keep_masked_secrets(&mut job.spec, &old.spec);
        prepare_spec(&mut job.spec, Some(&old.spec));
        let m = &mut job.metadata;
        m.created_at = old.metadata.created_at.clone();
        m.created_by = old.metadata.created_by.clone();
        m.updated_at = Some(ctx.clock.timestamp(ctx.now));
        m.updated_by = Some(ctx.principal.to_owned());
        m.workspace = Some(self.name.clone());
        m.url = Some(url);
        m.plan = old.metadata.plan.clone();
        job.events = old.events.clone();
        job.status = old.status.clone();
        stored.job = job;
        stored.deploy(ctx.now, ctx.settings, ctx.clock, ctx.principal);
        Ok(stored)
    }

    /// Deletes a job and cancels its executions. Returns the job as it was
    /// deleted (status `DELETING`).
    pub(crate) fn delete_job(
        &mut self,
        name: &str,
        ctx: &Mutation<'_>,
    ) -> Result<StoredJob, ApiError> {
        let mut stored = self
            .jobs
            .remove(name)
            .ok_or_else(|| job_not_found(name, &self.name))?;
        stored.deploy_at = None;
        stored.job.status = Some(DeploymentStatus::Deleting);
        stored.add_event(
            DeploymentStatus::Deleting.as_str(),
            "job deleted".to_owned(),
            None,
            ctx.clock.timestamp(ctx.now),
        );
        for &i in &self.live {
            if let Some(e) = self.executions.get_mut(i)
                && e.job_uid == stored.uid
            {
                e.cancel(ctx.now);
            }
        }
        Ok(stored)
    }

    /// Creates an execution of a job, or returns the one with the same
    /// `executionId`.
    pub(crate) fn create_execution(
        &mut self,
        job_name: &str,
        req: ExecutionRequest,
        ctx: &Mutation<'_>,
    ) -> Result<&SimExecution, ApiError> {
        let job = self
            .jobs
            .get(job_name)
            .ok_or_else(|| job_not_found(job_name, &self.name))?;
        let (job_uid, runtime) = (job.uid, job.job.spec.runtime.clone().unwrap_or_default());
        if let Some(id) = &req.execution_id
            && let Some(&i) = self.by_id.get(&(job_name.to_owned(), id.clone()))
        {
            let existing = self
                .executions
                .get(i)
                .ok_or_else(|| ApiError::internal("execution index out of step"))?;
            if existing.job_uid != job_uid {
                return Err(ApiError::conflict(format!(
                    "execution id {id} was used by an earlier job named {job_name}"
                )));
            }
            return Ok(existing);
        }
        if !job.job.spec.enabled {
            return Err(ApiError::bad_request(format!(
                "job {job_name} is disabled (spec.enabled is false); enable it to start executions"
            )));
        }
        if let (Some(asked), Some(limit)) = (req.memory, runtime.memory)
            && asked > limit
        {
            return Err(ApiError::validation(format!(
                "memory: must be at most the job's memory ({limit} MB), not {asked}"
            )));
        }
        let tasks = if req.tasks.is_empty() {
            vec![Map::new()]
        } else {
            req.tasks
        };
        let mut planned = Vec::with_capacity(tasks.len());
        for (i, params) in tasks.into_iter().enumerate() {
            let script =
                TaskScript::parse(&params, &format!("tasks[{i}]")).map_err(ApiError::validation)?;
            planned.push((params, script));
        }
        let admit_now = self.active_count() < ctx.settings.capacity && self.queued_count() == 0;
        if !req.allow_queue && !admit_now {
            if ctx.settings.capacity == 0 {
                return Err(ApiError::bad_request(
                    "the workspace's execution capacity is 0, so this execution can never start",
                ));
            }
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "capacity_exceeded",
                format!(
                    "workspace {} is running {} of {} executions; retry later or allow queueing",
                    self.name,
                    self.active_count(),
                    ctx.settings.capacity
                ),
            )
            .with_retry_after("1"));
        }
        let id = match req.execution_id {
            Some(id) => id,
            None => loop {
                let id = random_id("exec-", 12);
                if !self.by_id.contains_key(&(job_name.to_owned(), id.clone())) {
                    break id;
                }
            },
        };
        let parallelism = runtime
            .max_concurrent_tasks
            .and_then(|p| usize::try_from(p).ok())
            .filter(|p| *p > 0)
            .unwrap_or(planned.len());
        let config = ExecConfig {
            timeout_secs: runtime.timeout,
            max_retries: runtime
                .max_retries
                .and_then(|r| u64::try_from(r).ok())
                .unwrap_or(0),
            parallelism,
            memory_override: req.memory,
            env_override: req.env,
        };
        let seq = self.seq();
        let mut exec = SimExecution::new(
            NewExecution {
                seq,
                id: id.clone(),
                job: job_name.to_owned(),
                job_uid,
                workspace: self.name.clone(),
                message_id: req.message_id.unwrap_or_else(|| random_id("msg-", 12)),
                tasks: planned,
                config,
            },
            ctx.now,
        );
        if admit_now {
            exec.admit(ctx.now, ctx.settings.startup);
        }
        let index = self.executions.len();
        self.executions.push(exec);
        self.live.push(index);
        self.by_id.insert((job_name.to_owned(), id), index);
        self.executions
            .get(index)
            .ok_or_else(|| ApiError::internal("execution vanished"))
    }

    /// The execution `id` of job `job`, including executions of deleted jobs.
    pub(crate) fn execution(&self, job: &str, id: &str) -> Option<&SimExecution> {
        self.by_id
            .get(&(job.to_owned(), id.to_owned()))
            .and_then(|&i| self.executions.get(i))
    }

    /// Cancels an execution (a final one is left as it is).
    pub(crate) fn cancel_execution(
        &mut self,
        job: &str,
        id: &str,
        now: Micros,
    ) -> Result<&SimExecution, ApiError> {
        let i = *self
            .by_id
            .get(&(job.to_owned(), id.to_owned()))
            .ok_or_else(|| execution_not_found(job, id))?;
        let e = self
            .executions
            .get_mut(i)
            .ok_or_else(|| execution_not_found(job, id))?;
        e.cancel(now);
        Ok(e)
    }

    /// The executions of the current job named `job`, in creation order.
    pub(crate) fn executions_of(&self, job: &StoredJob) -> impl Iterator<Item = &SimExecution> {
        let uid = job.uid;
        self.executions.iter().filter(move |e| e.job_uid == uid)
    }

    /// Every execution ever recorded under the job name, in creation order.
    pub(crate) fn executions_named(&self, job: &str) -> impl Iterator<Item = &SimExecution> {
        self.executions.iter().filter(move |e| e.job == job)
    }
}

/// The context of a change: when, by whom, where.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mutation<'a> {
    pub(crate) now: Micros,
    pub(crate) principal: &'a str,
    pub(crate) origin: &'a str,
    pub(crate) clock: &'a SimClock,
    pub(crate) settings: &'a SimSettings,
}

/// 404 for a job.
pub(crate) fn job_not_found(name: &str, workspace: &str) -> ApiError {
    ApiError::not_found(format!("job {name} not found in workspace {workspace}"))
}

/// 404 for an execution.
pub(crate) fn execution_not_found(job: &str, id: &str) -> ApiError {
    ApiError::not_found(format!("execution {id} not found for job {job}"))
}

/// A random id such as `exec-3f9a0c2d71be`.
pub(crate) fn random_id(prefix: &str, hex_digits: usize) -> String {
    let mut s = String::with_capacity(prefix.len() + hex_digits);
    s.push_str(prefix);
    for _ in 0..hex_digits {
        let d = fastrand::u8(0..16);
        s.push(char::from_digit(u32::from(d), 16).unwrap_or('0'));
    }
    s
}

/// Replaces secret values by [`MASK`].
fn mask_secrets(job: &mut types::Job) {
    if let Some(rt) = job.spec.runtime.as_mut() {
        for env in &mut rt.envs {
            if env.secret == Some(true) && env.value.is_some() {
                env.value = Some(MASK.to_owned());
            }
        }
    }
}

/// A client that read a job (with masked secrets) and sends it back keeps the
/// stored secret values: a secret sent as `***` keeps its previous value.
fn keep_masked_secrets(new: &mut types::JobSpec, old: &types::JobSpec) {
    let (Some(rt), Some(old_rt)) = (new.runtime.as_mut(), old.runtime.as_ref()) else {
        return;
    };
    for env in &mut rt.envs {
        if env.secret == Some(true)
            && env.value.as_deref() == Some(MASK)
            && let Some(prev) = old_rt
                .envs
                .iter()
                .find(|o| o.name == env.name && o.secret == Some(true))
        {
            env.value = prev.value.clone();
        }
    }
}

/// Fills in what the server sets in a spec: trigger ids and the callback
/// secrets of `http-async` triggers (kept across updates of the same trigger).
fn prepare_spec(spec: &mut types::JobSpec, previous: Option<&types::JobSpec>) {
    let Some(triggers) = spec.triggers.as_mut() else {
        return;
    };
    for trigger in &mut triggers.0 {
        if trigger.id.is_none() {
            trigger.id = Some(random_id("trigger-", 8));
        }
        if trigger.type_ == Some(TriggerType::HttpAsync) {
            let old_secret = previous
                .and_then(|p| p.triggers.as_ref())
                .and_then(|ts| ts.0.iter().find(|t| t.id == trigger.id))
                .and_then(|t| t.configuration.as_ref())
                .and_then(|c| c.callback_secret.clone());
            let cfg = trigger.configuration.get_or_insert_with(Default::default);
            cfg.callback_secret = Some(old_secret.unwrap_or_else(|| random_id("whsec_", 32)));
        } else if let Some(cfg) = trigger.configuration.as_mut() {
            cfg.callback_secret = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Clock;

    fn job(name: &str) -> types::Job {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name},
            "spec": {"runtime": {"envs": [
                {"name": "TOKEN", "value": "s3cret", "secret": true},
                {"name": "MODE", "value": "full"}
            ]}}
        }))
        .unwrap()
    }

    #[test]
    fn secrets_are_masked_and_kept_when_sent_back_masked() {
        let clock = SimClock::new(Clock::Manual);
        let settings = SimSettings {
            deploy_delay: 1,
            startup: 0,
            capacity: 1,
        };
        let ctx = Mutation {
            now: 0,
            principal: "me",
            origin: "http://x",
            clock: &clock,
            settings: &settings,
        };
        let mut ws = Workspace::new("w");
        let shown = ws.create_job(job("a"), &ctx).unwrap().render(false);
        let envs = &shown.spec.runtime.as_ref().unwrap().envs;
        assert_eq!(envs[0].value.as_deref(), Some(MASK));
        assert_eq!(envs[1].value.as_deref(), Some("full"));
        // Send the masked job back: the secret keeps its value.
        let back = ws.update_job("a", shown, &ctx).unwrap().render(true);
        assert_eq!(
            back.spec.runtime.unwrap().envs[0].value.as_deref(),
            Some("s3cret")
        );
        assert_eq!(ws.job("a").unwrap().revisions().len(), 2);
    }

    #[test]
    fn random_ids_have_the_asked_shape() {
        let id = random_id("exec-", 12);
        assert_eq!(id.len(), 17);
        assert!(id[5..].chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(random_id("", 16), random_id("", 16));
    }
}
