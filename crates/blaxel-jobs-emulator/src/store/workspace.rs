//! One workspace: its jobs and executions, the queue of executions waiting
//! for capacity, and the time-ordered queue of what changes when.

use super::job::{StoredJob, keep_masked_secrets, prepare_spec};
use super::settings::SimSettings;
use crate::clock::{Micros, SimClock};
use crate::error::ApiError;
use crate::execution::{
    ExecConfig, Execution, Launch, LaunchSpec, LocalRun, NewExecution, TaskScript,
};
use crate::ids::random_id;
use blaxel_jobs_client::open_enum::DeploymentStatus;
use blaxel_jobs_client::types;
use http::StatusCode;
use serde_json::{Map, Value};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;

/// One workspace.
#[derive(Debug)]
pub(crate) struct Workspace {
    name: Arc<str>,
    jobs: HashMap<String, StoredJob>,
    /// Every execution kept (deleted jobs' too), by creation order.
    executions: HashMap<u64, Execution>,
    /// (job name, execution id) → creation order.
    by_id: HashMap<(String, String), u64>,
    /// Job name → creation orders of its executions.
    by_job: HashMap<String, BTreeSet<u64>>,
    /// What happens next, soonest first.
    events: BinaryHeap<Reverse<(Micros, u64, Event)>>,
    /// Tie-breaker of events due at the same instant: scheduling order.
    next_event_seq: u64,
    /// Executions waiting for capacity, in creation order (cancelled ones
    /// are skipped when their turn comes).
    queued: VecDeque<u64>,
    /// Executions `pending`, `running` or `cancelling`.
    active: usize,
    next_seq: u64,
    /// Work done catching up, in events plus tasks looked at.
    work: u64,
    /// Local executions admitted but not launched yet.
    launches: Vec<u64>,
}

/// Something due at an instant.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    /// The deployment of the job incarnation `uid` completes.
    Deploy { name: String, uid: u64 },
    /// The execution changes status (if its next event is still this one).
    Execution(u64),
    /// The execution's retention period is over.
    Expire(u64),
}

/// What CreateJobExecution asks for, after validation.
#[derive(Debug, Clone)]
pub(crate) struct ExecutionRequest {
    pub(crate) execution_id: Option<String>,
    pub(crate) message_id: Option<String>,
    pub(crate) tasks: Vec<Map<String, Value>>,
    /// Overrides of the job's environment; values are only kept for tasks
    /// that run as local processes, until they start.
    pub(crate) env: BTreeMap<String, String>,
    pub(crate) memory: Option<i64>,
    pub(crate) allow_queue: bool,
}

impl Workspace {
    /// An empty workspace.
    pub(crate) fn new(name: &str) -> Self {
        Workspace {
            name: name.into(),
            jobs: HashMap::new(),
            executions: HashMap::new(),
            by_id: HashMap::new(),
            by_job: HashMap::new(),
            events: BinaryHeap::new(),
            next_event_seq: 0,
            queued: VecDeque::new(),
            active: 0,
            next_seq: 1,
            work: 0,
            launches: Vec::new(),
        }
    }

    fn seq(&mut self) -> u64 {
        let s = self.next_seq;
        self.next_seq += 1;
        s
    }

    fn schedule(&mut self, at: Micros, event: Event) {
        self.next_event_seq += 1;
        self.events.push(Reverse((at, self.next_event_seq, event)));
    }

    /// Schedules the next status change of execution `seq`, if it has one.
    fn schedule_execution(&mut self, seq: u64) {
        if let Some(at) = self.executions.get(&seq).and_then(Execution::next_event) {
            self.schedule(at, Event::Execution(seq));
        }
    }

    /// Applies every event due up to `now`, in time order.
    pub(crate) fn advance_to(&mut self, now: Micros, settings: &SimSettings, clock: &SimClock) {
        while !self.advance_by(now, settings, clock, u64::MAX) {}
    }

    /// Applies events due up to `now`, in time order, until about `budget`
    /// units of work (events plus tasks looked at) are done. Returns whether
    /// it caught up with `now`.
    pub(crate) fn advance_by(
        &mut self,
        now: Micros,
        settings: &SimSettings,
        clock: &SimClock,
        budget: u64,
    ) -> bool {
        let mut spent: u64 = 0;
        loop {
            let due = matches!(self.events.peek(), Some(Reverse((t, _, _))) if *t <= now);
            if !due {
                return true;
            }
            if spent >= budget {
                return false;
            }
            let Some(Reverse((t, _, event))) = self.events.pop() else {
                return true;
            };
            let cost = self.apply(t, event, settings, clock);
            spent = spent.saturating_add(cost);
            self.work = self.work.saturating_add(cost);
        }
    }

    /// Applies one event due at `t`; returns the work done.
    fn apply(&mut self, t: Micros, event: Event, settings: &SimSettings, clock: &SimClock) -> u64 {
        match event {
            Event::Deploy { name, uid } => {
                if let Some(job) = self.jobs.get_mut(&name)
                    && job.uid == uid
                    && job.deploy_at == Some(t)
                {
                    job.finish_deploy(clock);
                }
                1
            }
            Event::Execution(seq) => {
                let Some(e) = self.executions.get_mut(&seq) else {
                    return 1;
                };
                if e.next_event() != Some(t) {
                    // Superseded (by a cancellation).
                    return 1;
                }
                let cost = e.step(t).saturating_add(1);
                if e.is_final() {
                    self.on_final(seq, t, settings);
                } else {
                    self.schedule_execution(seq);
                }
                cost
            }
            Event::Expire(seq) => {
                self.forget(seq);
                1
            }
        }
    }

    /// Frees the place of execution `seq`, which became final at `t`.
    fn on_final(&mut self, seq: u64, t: Micros, settings: &SimSettings) {
        self.active = self.active.saturating_sub(1);
        self.schedule(t.saturating_add(settings.retention), Event::Expire(seq));
        self.promote(t, settings);
    }

    /// Records that the processes of local execution `seq` are all over.
    pub(crate) fn finish_local(&mut self, seq: u64, t: Micros, settings: &SimSettings) {
        let Some(e) = self.executions.get_mut(&seq) else {
            return;
        };
        if e.is_final() {
            return;
        }
        e.local_finish(t);
        if e.is_final() {
            self.on_final(seq, t, settings);
        }
    }

    /// Execution `seq`, to record what its processes do.
    pub(crate) fn execution_mut(&mut self, seq: u64) -> Option<&mut Execution> {
        self.executions.get_mut(&seq)
    }

    /// The local executions admitted since the last call, ready to launch.
    pub(crate) fn take_launches(&mut self) -> Vec<Launch> {
        let mut out = Vec::new();
        for seq in std::mem::take(&mut self.launches) {
            let Some(e) = self.executions.get_mut(&seq) else {
                continue;
            };
            if !e.is_pending() {
                // Cancelled before its turn: it ends without a runner.
                continue;
            }
            let data = e.data_body();
            let config = e.config().clone();
            let id = e.id.clone();
            let Some(local) = e.local.as_mut() else {
                continue;
            };
            if local.launched {
                continue;
            }
            let Some(spec) = local.launch.take() else {
                continue;
            };
            local.launched = true;
            out.push(Launch {
                workspace: self.name.to_string(),
                seq,
                execution_id: id,
                tasks: local.tasks.len(),
                parallelism: config.parallelism,
                timeout: config
                    .timeout_secs
                    .and_then(|s| u64::try_from(s).ok())
                    .map(std::time::Duration::from_secs),
                max_retries: config.max_retries,
                data,
                spec,
                cancel: local.cancel.subscribe(),
            });
        }
        out
    }

    /// Admits queued executions, oldest first, while there is capacity.
    fn promote(&mut self, t: Micros, settings: &SimSettings) {
        while self.active < settings.capacity {
            let Some(seq) = self.queued.pop_front() else {
                return;
            };
            let Some(e) = self.executions.get_mut(&seq) else {
                continue;
            };
            if !e.is_queued() {
                continue;
            }
            e.admit(t, settings.startup);
            if e.local.is_some() {
                self.launches.push(seq);
            }
            self.active += 1;
            self.schedule_execution(seq);
        }
    }

    /// Removes an execution whose retention period is over.
    fn forget(&mut self, seq: u64) {
        let Some(e) = self.executions.remove(&seq) else {
            return;
        };
        self.by_id.remove(&(e.job.clone(), e.id.clone()));
        if let Some(set) = self.by_job.get_mut(&e.job) {
            set.remove(&seq);
            if set.is_empty() {
                self.by_job.remove(&e.job);
            }
        }
    }

    fn active_count(&self) -> usize {
        self.active
    }

    fn queued_count(&self) -> usize {
        self.queued.len()
    }

    /// Work done catching up so far.
    #[cfg(test)]
    pub(crate) fn work(&self) -> u64 {
        self.work
    }

    /// How many executions are kept.
    #[cfg(test)]
    pub(crate) fn execution_count(&self) -> usize {
        self.executions.len()
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
        m.workspace = Some(self.name.to_string());
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
        self.schedule_deploy(&stored);
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
        let workspace = self.name.to_string();
        let stored = self
            .jobs
            .get_mut(name)
            .ok_or_else(|| job_not_found(name, &workspace))?;
        let old = &stored.job;
        if ctx.settings.keep_masked_secrets {
            keep_masked_secrets(&mut job.spec, &old.spec);
        }
        prepare_spec(&mut job.spec, Some(&old.spec));
        let m = &mut job.metadata;
        m.created_at = old.metadata.created_at.clone();
        m.created_by = old.metadata.created_by.clone();
        m.updated_at = Some(ctx.clock.timestamp(ctx.now));
        m.updated_by = Some(ctx.principal.to_owned());
        m.workspace = Some(workspace);
        m.url = Some(url);
        m.plan = old.metadata.plan.clone();
        job.events = old.events.clone();
        job.status = old.status.clone();
        stored.job = job;
        stored.deploy(ctx.now, ctx.settings, ctx.clock, ctx.principal);
        let (deploy_name, uid, at) = (name.to_owned(), stored.uid, stored.deploy_at);
        if let Some(at) = at {
            self.schedule(
                at,
                Event::Deploy {
                    name: deploy_name,
                    uid,
                },
            );
        }
        self.jobs
            .get(name)
            .ok_or_else(|| job_not_found(name, &self.name))
    }

    fn schedule_deploy(&mut self, job: &StoredJob) {
        if let Some(at) = job.deploy_at {
            self.schedule(
                at,
                Event::Deploy {
                    name: job.name().to_owned(),
                    uid: job.uid,
                },
            );
        }
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
        let seqs: Vec<u64> = self
            .by_job
            .get(name)
            .map(|set| set.iter().copied().collect())
            .unwrap_or_default();
        for seq in seqs {
            if self
                .executions
                .get(&seq)
                .is_some_and(|e| e.job_uid == stored.uid && !e.is_final())
            {
                self.cancel_seq(seq, ctx.now);
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
    ) -> Result<&Execution, ApiError> {
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
                .get(&i)
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
        let command = ctx.settings.local_command(job_name, &runtime);
        let mut planned = Vec::with_capacity(tasks.len());
        for (i, params) in tasks.into_iter().enumerate() {
            // Parameters only script simulated tasks; real ones get them as given.
            let script = if command.is_some() {
                TaskScript::parse(&Map::new(), "")
            } else {
                TaskScript::parse(&params, &format!("tasks[{i}]"))
            }
            .map_err(ApiError::validation)?;
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
                    // The message Blaxel answers at its limit (clients look for it), then the figures.
                    "Maximum parallel executions limit reached: workspace {} is running {} of {} \
                     executions; retry later or allow queueing",
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
            env_override: req.env.keys().cloned().collect(),
        };
        let seq = self.seq();
        let mut exec = Execution::new(
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
        if let Some(command) = command {
            let env = runtime
                .envs
                .iter()
                .filter_map(|e| Some((e.name.clone()?, e.value.clone().unwrap_or_default())))
                .chain(req.env)
                .collect();
            let spec = LaunchSpec { command, env };
            exec.local = Some(Box::new(LocalRun::new(exec.task_count(), spec, ctx.now)));
        }
        if admit_now {
            exec.admit(ctx.now, ctx.settings.startup);
            self.active += 1;
            if exec.local.is_some() {
                self.launches.push(seq);
            }
        } else {
            self.queued.push_back(seq);
        }
        self.executions.insert(seq, exec);
        self.schedule_execution(seq);
        self.by_id.insert((job_name.to_owned(), id), seq);
        self.by_job
            .entry(job_name.to_owned())
            .or_default()
            .insert(seq);
        self.executions
            .get(&seq)
            .ok_or_else(|| ApiError::internal("execution vanished"))
    }

    /// The execution `id` of job `job`, including executions of deleted jobs.
    pub(crate) fn execution(&self, job: &str, id: &str) -> Option<&Execution> {
        self.by_id
            .get(&(job.to_owned(), id.to_owned()))
            .and_then(|i| self.executions.get(i))
    }

    /// Cancels an execution (a final one is left as it is).
    pub(crate) fn cancel_execution(
        &mut self,
        job: &str,
        id: &str,
        now: Micros,
    ) -> Result<&Execution, ApiError> {
        let seq = *self
            .by_id
            .get(&(job.to_owned(), id.to_owned()))
            .ok_or_else(|| execution_not_found(job, id))?;
        self.cancel_seq(seq, now);
        self.executions
            .get(&seq)
            .ok_or_else(|| execution_not_found(job, id))
    }

    /// Cancels execution `seq` at `now` and schedules its end.
    fn cancel_seq(&mut self, seq: u64, now: Micros) {
        let Some(e) = self.executions.get_mut(&seq) else {
            return;
        };
        let was_queued = e.is_queued();
        let cost = e.cancel(now);
        self.work = self.work.saturating_add(cost);
        if was_queued {
            // A queued execution takes up capacity while it is cancelling,
            // until its end (now) is applied.
            self.queued.retain(|&s| s != seq);
            self.active += 1;
        }
        self.schedule_execution(seq);
    }

    /// The executions of the current job named `job`, in creation order.
    pub(crate) fn executions_of(&self, job: &StoredJob) -> impl Iterator<Item = &Execution> {
        let uid = job.uid;
        self.executions_named(job.name())
            .filter(move |e| e.job_uid == uid)
    }

    /// Every execution kept under the job name, in creation order.
    pub(crate) fn executions_named(&self, job: &str) -> impl Iterator<Item = &Execution> {
        self.by_job
            .get(job)
            .into_iter()
            .flatten()
            .filter_map(|seq| self.executions.get(seq))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Clock;
    use blaxel_jobs_client::secrets::MASK;

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
            retention: 0,
            run_local_images: false,
            task_commands: Arc::default(),
            keep_masked_secrets: true,
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

    const HOUR: Micros = 3600 * crate::clock::SECOND;

    /// A workspace with job `job` (parallelism `parallelism`) and `n`
    /// executions of `tasks` tasks of 1 to 60 simulated seconds each,
    /// created at 0.
    fn busy(
        clock: &SimClock,
        settings: &SimSettings,
        n: usize,
        tasks: usize,
        parallelism: i64,
    ) -> Workspace {
        let ctx = Mutation {
            now: 0,
            principal: "me",
            origin: "http://x",
            clock,
            settings,
        };
        let mut ws = Workspace::new("w");
        let job: types::Job = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "job"},
            "spec": {"runtime": {"maxConcurrentTasks": parallelism, "maxRetries": 1}}
        }))
        .unwrap();
        ws.create_job(job, &ctx).unwrap();
        for i in 0..n {
            let tasks = (0..tasks)
                .map(|k| {
                    let params = serde_json::json!({
                        "durationSeconds": 1 + (i * 7 + k * 13) % 60,
                        "failAttempts": (i + k) % 3,
                    });
                    params.as_object().unwrap().clone()
                })
                .collect();
            let req = ExecutionRequest {
                execution_id: Some(format!("run-{i}")),
                message_id: Some(format!("msg-{i}")),
                tasks,
                env: Default::default(),
                memory: None,
                allow_queue: true,
            };
            ws.create_execution("job", req, &ctx).unwrap();
        }
        ws
    }

    fn settings(capacity: usize, retention: Micros) -> SimSettings {
        SimSettings {
            deploy_delay: 2 * crate::clock::SECOND,
            startup: crate::clock::SECOND / 2,
            capacity,
            retention,
            run_local_images: false,
            task_commands: Arc::default(),
            keep_masked_secrets: true,
        }
    }

    #[test]
    fn catching_up_costs_what_happens_not_events_times_live_executions() {
        let clock = SimClock::new(Clock::Manual);
        // 1,000 executions of 20 tasks, one at a time: 20,000 task ends at
        // about 15,000 distinct instants. Replaying each instant over every
        // live execution would cost about 15,000 × 1,000 steps.
        let settings = settings(1_000, 24 * HOUR);
        let mut ws = busy(&clock, &settings, 1_000, 20, 1);
        ws.advance_to(6 * HOUR, &settings, &clock);
        let statuses: Vec<_> = ws
            .executions_named("job")
            .map(|e| e.render(6 * HOUR, &clock).status.unwrap())
            .collect();
        assert_eq!(statuses.len(), 1_000);
        assert!(statuses.iter().all(|s| s.is_terminal()), "{statuses:?}");
        // Per execution: start and finish (20 tasks each), plus one event
        // each for start-up, finish and the deployment.
        let work = ws.work();
        assert!(work <= 1_000 * (2 * 21 + 2) + 1, "work {work}");
    }

    #[test]
    fn bounded_steps_reach_the_same_state_as_one_catch_up() {
        let clock = SimClock::new(Clock::Manual);
        let settings = settings(30, 24 * HOUR);
        // Capacity 30 of 200 executions: most wait in the queue.
        let mut whole = busy(&clock, &settings, 200, 5, 2);
        let mut stepped = busy(&clock, &settings, 200, 5, 2);
        whole.advance_to(HOUR, &settings, &clock);
        let mut steps = 0;
        while !stepped.advance_by(HOUR, &settings, &clock, 64) {
            steps += 1;
        }
        assert!(steps > 10, "{steps} steps");
        let render = |ws: &Workspace| -> Vec<Value> {
            ws.executions_named("job")
                .map(|e| serde_json::to_value(e.render(HOUR, &clock)).unwrap())
                .collect()
        };
        let (a, b) = (render(&whole), render(&stepped));
        assert!(a == b, "bounded steps differ from one catch-up");
        assert!(
            render(&whole)
                .iter()
                .all(|e| e["status"] == "succeeded" || e["status"] == "failed")
        );
    }

    #[test]
    fn finished_executions_are_forgotten_after_the_retention_period() {
        let clock = SimClock::new(Clock::Manual);
        let settings = settings(10, 2 * HOUR);
        let mut ws = busy(&clock, &settings, 3, 2, 2);
        ws.advance_to(HOUR, &settings, &clock);
        let ends: Vec<Micros> = ws
            .executions_named("job")
            .map(|e| {
                e.completed_at_for_tests()
                    .expect("finished within the hour")
            })
            .collect();
        let last = *ends.iter().max().unwrap();
        let first = *ends.iter().min().unwrap();
        ws.advance_to(first + 2 * HOUR - 1, &settings, &clock);
        assert_eq!(ws.execution_count(), 3, "kept for the whole period");
        ws.advance_to(last + 2 * HOUR, &settings, &clock);
        assert_eq!(ws.execution_count(), 0);
        assert_eq!(ws.executions_named("job").count(), 0);
        assert!(ws.by_id.is_empty() && ws.by_job.is_empty());
        assert!(ws.events.is_empty(), "{:?}", ws.events);
    }

    #[test]
    fn cancelling_queued_executions_frees_their_place_in_the_queue() {
        let clock = SimClock::new(Clock::Manual);
        let settings = settings(1, 24 * HOUR);
        let mut ws = busy(&clock, &settings, 3, 1, 1);
        let ids: Vec<String> = ws.executions_named("job").map(|e| e.id.clone()).collect();
        assert_eq!((ws.active_count(), ws.queued_count()), (1, 2));
        ws.cancel_execution("job", &ids[1], 0).unwrap();
        assert_eq!(ws.queued_count(), 1);
        ws.advance_to(0, &settings, &clock);
        // The cancelled one is over; the first still runs; the third waits.
        let status = |ws: &Workspace, i: usize| {
            ws.execution("job", &ids[i])
                .unwrap()
                .render(0, &clock)
                .status
                .unwrap()
                .as_str()
                .to_owned()
        };
        assert_eq!(status(&ws, 1), "cancelled");
        assert_eq!(status(&ws, 0), "pending");
        assert_eq!(status(&ws, 2), "queued");
        assert_eq!((ws.active_count(), ws.queued_count()), (1, 1));
    }

    #[test]
    fn a_local_execution_cancelled_before_launch_is_never_launched() {
        let clock = SimClock::new(Clock::Manual);
        let mut settings = settings(1, HOUR);
        settings.task_commands = Arc::new(BTreeMap::from([(
            "job".to_owned(),
            "echo never".to_owned(),
        )]));
        let mut ws = busy(&clock, &settings, 2, 1, 1);
        // The first is admitted (to launch), the second queued.
        assert_eq!(ws.launches.len(), 1);
        assert_eq!((ws.active_count(), ws.queued_count()), (1, 1));
        ws.cancel_execution("job", "run-0", 0).unwrap();
        assert!(ws.take_launches().is_empty());
        ws.advance_to(0, &settings, &clock);
        let status = |ws: &Workspace, id: &str| {
            ws.execution("job", id)
                .unwrap()
                .render(0, &clock)
                .status
                .unwrap()
                .as_str()
                .to_owned()
        };
        assert_eq!(status(&ws, "run-0"), "cancelled");
        // Its place went to the second, which is ready to launch.
        assert_eq!(status(&ws, "run-1"), "pending");
        let launches = ws.take_launches();
        assert_eq!(launches.len(), 1);
        assert_eq!(launches[0].execution_id, "run-1");
        assert!(format!("{:?}", launches[0]).contains("echo never"));
        assert!(ws.take_launches().is_empty(), "launched once");
    }
}
