//! Simulated executions and tasks.
//!
//! Executions run in simulated time. An execution only changes status at a
//! few instants (admitted, started, finished, cancelled), and what its tasks
//! do in between follows from when it started: the whole task schedule is a
//! function of the start time, the task scripts and the configuration (plus
//! the instant of a cancellation). So an execution stores its scripts and
//! those instants, not its tasks; the status of each task at any time is
//! derived when it is rendered. The workspace keeps a time-ordered queue of
//! the instants at which executions change status (see
//! `state::Workspace::advance_to`), so catching up after time passes costs
//! work in proportion to the executions that change, never to every task or
//! every live execution. The same requests at the same simulated times
//! always give the same answers.
//!
//! # Life of an execution
//!
//! `queued` (while the workspace is at capacity) → `pending` (a short
//! start-up, [`EmulatorConfig::execution_startup`](crate::EmulatorConfig::execution_startup))
//! → `running` → `succeeded`, `failed` or `timeout`. At most `parallelism`
//! tasks (the job's `spec.runtime.maxConcurrentTasks`, else all of them) run
//! at once; the others wait as `pending` tasks and start, in submission
//! order, as soon as a running task ends.
//!
//! # Task scripts
//!
//! A task's parameters (the entries of `tasks` in the create request) script
//! what it does:
//!
//! | parameter | type | effect |
//! |---|---|---|
//! | `durationSeconds` | number ≥ 0, default 1 | simulated seconds each attempt runs |
//! | `fail` | boolean, default false | every attempt fails |
//! | `failAttempts` | integer ≥ 0, default 0 | the first N attempts fail, later ones succeed |
//!
//! A failed attempt is retried at once while the job's
//! `spec.runtime.maxRetries` (default 0) allows, each retry counting in
//! `stats.retried`. An attempt longer than the job's `spec.runtime.timeout`
//! seconds is stopped when the timeout is reached and the task fails with a
//! `DeadlineExceeded` condition, without retry. The execution ends `timeout`
//! if any task timed out, else `failed` if any task failed, else `succeeded`.
//! An empty `tasks` list runs one task with the parameters `{}`.
//!
//! # Cancellation
//!
//! Cancelling makes the execution `cancelling`: tasks that have not started
//! are `cancelled`, running tasks finish their current attempt (with no
//! retry), and then the execution is `cancelled`.
//!
//! # Memory
//!
//! Per task, an execution keeps its script (16 bytes); the parameters of all
//! tasks are kept as one JSON text, for the answer to CreateJobExecution.
//! Task names (`task-<index>`), statuses, times and conditions are made when
//! rendered.

use crate::clock::{Micros, SECOND, SimClock};
use blaxel_jobs_client::open_enum::{JobExecutionStatus as ES, JobExecutionTaskStatus as TS};
use blaxel_jobs_client::types;
use serde_json::{Map, Value};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

/// What a task does, from its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TaskScript {
    /// Simulated length of each attempt.
    pub(crate) duration: Micros,
    /// How many attempts fail before one succeeds; `u64::MAX` means all.
    pub(crate) fail_attempts: u64,
}

impl TaskScript {
    /// Reads the script of a task from its parameters. `field` names the task
    /// in error messages (`tasks[2]`).
    pub(crate) fn parse(params: &Map<String, Value>, field: &str) -> Result<TaskScript, String> {
        let duration = match params.get("durationSeconds") {
            None => SECOND,
            Some(v) => match v.as_f64() {
                Some(s) if s.is_finite() && s >= 0.0 => (s * 1e6).round() as u64,
                _ => {
                    return Err(format!(
                        "{field}.durationSeconds: must be a non-negative number (emulator task script)"
                    ));
                }
            },
        };
        let fail = match params.get("fail") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(format!(
                    "{field}.fail: must be a boolean (emulator task script)"
                ));
            }
        };
        let fail_attempts = match params.get("failAttempts") {
            None => 0,
            Some(v) => v.as_u64().ok_or_else(|| {
                format!(
                    "{field}.failAttempts: must be a non-negative integer (emulator task script)"
                )
            })?,
        };
        Ok(TaskScript {
            duration,
            fail_attempts: if fail { u64::MAX } else { fail_attempts },
        })
    }
}

/// The configuration an execution runs with, copied from the job when the
/// execution is created: later job updates do not change it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExecConfig {
    /// Seconds an attempt may run (`spec.runtime.timeout`).
    pub(crate) timeout_secs: Option<i64>,
    /// Retries per task (`spec.runtime.maxRetries`).
    pub(crate) max_retries: u64,
    /// Tasks running at once.
    pub(crate) parallelism: usize,
    /// The request's `memory`.
    pub(crate) memory_override: Option<i64>,
    /// The names of the request's `env` overrides (values are never kept).
    pub(crate) env_override: Vec<String>,
}

impl ExecConfig {
    fn timeout(&self) -> Option<Micros> {
        self.timeout_secs
            .and_then(|s| u64::try_from(s).ok())
            .map(|s| s.saturating_mul(SECOND))
    }
}

/// How a started task ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Succeeded,
    Failed,
    TimedOut,
}

/// The attempts of a started task, planned when it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TaskRun {
    start: Micros,
    /// Length of each attempt.
    len: Micros,
    /// Number of attempts (at least 1).
    attempts: u64,
    outcome: Outcome,
}

impl TaskRun {
    fn plan(start: Micros, script: TaskScript, config: &ExecConfig) -> TaskRun {
        if let Some(limit) = config.timeout()
            && script.duration > limit
        {
            return TaskRun {
                start,
                len: limit,
                attempts: 1,
                outcome: Outcome::TimedOut,
            };
        }
        let (attempts, outcome) = if script.fail_attempts <= config.max_retries {
            (script.fail_attempts.saturating_add(1), Outcome::Succeeded)
        } else {
            (config.max_retries.saturating_add(1), Outcome::Failed)
        };
        TaskRun {
            start,
            len: script.duration,
            attempts,
            outcome,
        }
    }

    fn end(&self) -> Micros {
        self.start
            .saturating_add(self.len.saturating_mul(self.attempts))
    }

    /// The index of the attempt in progress at `t` (the last one once over).
    fn attempt_at(&self, t: Micros) -> u64 {
        let last = self.attempts - 1;
        if self.len == 0 {
            return last;
        }
        (t.saturating_sub(self.start) / self.len).min(last)
    }
}

/// A task as derived from its execution's schedule: its planned run once it
/// started (with any cut made by a cancellation), or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TaskView {
    run: Option<TaskRun>,
    /// Whether a cancellation cut its retries short.
    cancelled_while_running: bool,
}

impl TaskView {
    /// The run, if it had started by `now` (a schedule also holds the runs
    /// of tasks that will start later).
    fn started(&self, now: Micros) -> Option<TaskRun> {
        self.run.filter(|r| r.start <= now)
    }

    /// The status at `now`, given the execution's cancellation instant.
    fn status(&self, now: Micros, cancel_at: Option<Micros>) -> TS {
        match self.started(now) {
            None if self.run.is_none() && cancel_at.is_some() => TS::Cancelled,
            None => TS::Pending,
            Some(run) if run.end() > now => TS::Running,
            Some(run) if run.outcome == Outcome::Succeeded => TS::Succeeded,
            Some(_) => TS::Failed,
        }
    }

    /// Attempts retried by `now`.
    fn retries_at(&self, now: Micros) -> u64 {
        match self.started(now) {
            None => 0,
            Some(run) if run.end() <= now => run.attempts - 1,
            Some(run) => run.attempt_at(now),
        }
    }
}

/// A task as rendered: what its status, times and conditions are made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TaskState {
    pub(crate) status: TS,
    pub(crate) started_at: Option<Micros>,
    pub(crate) completed_at: Option<Micros>,
    pub(crate) updated_at: Option<Micros>,
    /// Attempts retried so far.
    pub(crate) retries: u64,
    /// Why it failed or was cancelled.
    pub(crate) end: Option<TaskEnd>,
}

/// Why a task failed or was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TaskEnd {
    /// Its attempt ran longer than the timeout and was stopped.
    TimedOut,
    /// Its last attempt failed and no retries were left.
    Failed {
        attempts: u64,
        exit_code: Option<i32>,
    },
    /// An attempt failed while the execution was cancelling.
    FailedWhileCancelling { attempts: u64 },
    /// The execution was cancelled before the task started.
    NotStarted,
    /// The execution was cancelled and the task's process killed.
    Killed,
}

/// One execution of a job.
#[derive(Debug, Clone)]
pub(crate) struct SimExecution {
    /// Creation order in the workspace.
    pub(crate) seq: u64,
    pub(crate) id: String,
    pub(crate) job: String,
    /// Which incarnation of the job (a deleted job's name can be reused).
    pub(crate) job_uid: u64,
    workspace: Arc<str>,
    /// The request message id (`id` of the request, or generated).
    message_id: String,
    /// The tasks' parameters, as submitted: a JSON array.
    task_params: Box<str>,
    /// What each task does, in submission order (never empty).
    scripts: Box<[TaskScript]>,
    config: ExecConfig,
    status: ES,
    created_at: Micros,
    admitted_at: Option<Micros>,
    startup_until: Option<Micros>,
    /// When the tasks started: the origin of the schedule.
    started_at: Option<Micros>,
    completed_at: Option<Micros>,
    /// The last change of the execution itself (task ends are added when
    /// rendering).
    updated_at: Micros,
    cancel_at: Option<Micros>,
    /// When the running (or cancelling) phase ends.
    end_at: Option<Micros>,
    /// How it ends unless cancelled, known once its tasks started.
    planned: Outcome,
    /// Set when its tasks run as local processes.
    pub(crate) local: Option<Box<crate::local::LocalRun>>,
}

/// What a new execution is made of.
#[derive(Debug, Clone)]
pub(crate) struct NewExecution {
    pub(crate) seq: u64,
    pub(crate) id: String,
    pub(crate) job: String,
    pub(crate) job_uid: u64,
    pub(crate) workspace: Arc<str>,
    pub(crate) message_id: String,
    /// Parameters and script of each task (never empty).
    pub(crate) tasks: Vec<(Map<String, Value>, TaskScript)>,
    pub(crate) config: ExecConfig,
}

impl SimExecution {
    /// A `queued` execution created at `now`; [`SimExecution::admit`] starts it.
    pub(crate) fn new(n: NewExecution, now: Micros) -> SimExecution {
        let scripts: Box<[TaskScript]> = n.tasks.iter().map(|(_, s)| *s).collect();
        let params: Vec<Map<String, Value>> = n.tasks.into_iter().map(|(p, _)| p).collect();
        // Serializing a map of JSON values cannot fail.
        let task_params = serde_json::to_string(&params)
            .unwrap_or_else(|_| "[]".to_owned())
            .into_boxed_str();
        SimExecution {
            seq: n.seq,
            id: n.id,
            job: n.job,
            job_uid: n.job_uid,
            workspace: n.workspace,
            message_id: n.message_id,
            task_params,
            scripts,
            config: n.config,
            status: ES::Queued,
            created_at: now,
            admitted_at: None,
            startup_until: None,
            started_at: None,
            completed_at: None,
            updated_at: now,
            cancel_at: None,
            end_at: None,
            planned: Outcome::Succeeded,
            local: None,
        }
    }

    /// The status now.
    #[cfg(test)]
    pub(crate) fn status(&self) -> &ES {
        &self.status
    }

    /// When it finished, once final.
    #[cfg(test)]
    pub(crate) fn completed_at_for_tests(&self) -> Option<Micros> {
        self.completed_at.filter(|_| self.is_final())
    }

    /// Whether the execution reached a final status.
    pub(crate) fn is_final(&self) -> bool {
        self.status.is_terminal()
    }

    /// Whether it takes up capacity: `pending`, `running` or `cancelling`.
    #[cfg(test)]
    pub(crate) fn is_active(&self) -> bool {
        matches!(self.status, ES::Pending | ES::Running | ES::Cancelling)
    }

    /// Whether it was admitted and its tasks have not started.
    pub(crate) fn is_pending(&self) -> bool {
        self.status == ES::Pending
    }

    /// Whether it waits for capacity.
    pub(crate) fn is_queued(&self) -> bool {
        self.status == ES::Queued
    }

    /// When its status next changes, if it will.
    pub(crate) fn next_event(&self) -> Option<Micros> {
        if let Some(local) = &self.local {
            // Its runner reports how it goes; only a cancellation before
            // launch ends here.
            return (self.status == ES::Cancelling && !local.launched)
                .then_some(self.end_at)
                .flatten();
        }
        match self.status {
            ES::Pending => self.startup_until,
            ES::Running | ES::Cancelling => self.end_at,
            _ => None,
        }
    }

    /// Lets it start: `pending` now, `running` after `startup`.
    pub(crate) fn admit(&mut self, t: Micros, startup: Micros) {
        if self.status != ES::Queued {
            return;
        }
        self.status = ES::Pending;
        self.admitted_at = Some(t);
        self.startup_until = Some(t.saturating_add(startup));
        self.updated_at = t;
    }

    /// Applies the status change due at `t` (its [`Self::next_event`]).
    /// Returns the work done, in tasks looked at.
    pub(crate) fn step(&mut self, t: Micros) -> u64 {
        match self.status {
            ES::Pending if self.local.is_none() && self.startup_until.is_some_and(|s| s <= t) => {
                self.status = ES::Running;
                self.started_at = Some(t);
                self.updated_at = t;
                // The whole plan follows from the start: when it ends and how.
                let (mut end, mut timed_out, mut failed) = (t, false, false);
                for run in self.schedule(t) {
                    end = end.max(run.end());
                    timed_out |= run.outcome == Outcome::TimedOut;
                    failed |= run.outcome == Outcome::Failed;
                }
                self.end_at = Some(end);
                self.planned = if timed_out {
                    Outcome::TimedOut
                } else if failed {
                    Outcome::Failed
                } else {
                    Outcome::Succeeded
                };
                self.scripts.len() as u64
            }
            ES::Running | ES::Cancelling if self.end_at.is_some_and(|e| e <= t) => {
                self.status = match (&self.status, self.planned) {
                    (ES::Cancelling, _) => ES::Cancelled,
                    (_, Outcome::TimedOut) => ES::Timeout,
                    (_, Outcome::Failed) => ES::Failed,
                    (_, Outcome::Succeeded) => ES::Succeeded,
                };
                self.completed_at = Some(t);
                self.updated_at = t;
                1
            }
            _ => 1,
        }
    }

    /// Cancels it at `t`. A final execution stays as it is; an execution
    /// already `cancelling` too. Returns the work done, in tasks looked at.
    pub(crate) fn cancel(&mut self, t: Micros) -> u64 {
        if self.is_final() || self.status == ES::Cancelling {
            return 1;
        }
        self.status = ES::Cancelling;
        self.cancel_at = Some(t);
        self.updated_at = t;
        if let Some(local) = self.local.as_mut() {
            local.cancel(t);
            // Once launched, the runner ends it when its processes are gone.
            self.end_at = (!local.launched).then_some(t);
            return local.tasks.len() as u64;
        }
        let views = self.views();
        // Running tasks finish their current attempt; with none, it is over now.
        self.end_at = Some(
            views
                .iter()
                .filter_map(|v| v.run.map(|r| r.end()))
                .filter(|&e| e > t)
                .max()
                .unwrap_or(t),
        );
        views.len() as u64
    }

    /// The runs of the tasks, in submission order, as planned when the
    /// tasks started at `origin` (cancellation aside): tasks start in
    /// submission order, each as soon as fewer than `parallelism` run.
    fn schedule(&self, origin: Micros) -> impl Iterator<Item = TaskRun> + '_ {
        let n = self.scripts.len();
        let slots = self.config.parallelism.max(1).min(n);
        // When each busy slot frees up; only needed when tasks wait.
        let mut free: BinaryHeap<Reverse<Micros>> = BinaryHeap::new();
        if slots < n {
            free.reserve(slots);
        }
        self.scripts.iter().enumerate().map(move |(i, script)| {
            let start = if i < slots {
                origin
            } else {
                free.pop().map_or(origin, |Reverse(f)| f)
            };
            let run = TaskRun::plan(start, *script, &self.config);
            if slots < n {
                free.push(Reverse(run.end()));
            }
            run
        })
    }

    /// Every task, from the schedule; a cancellation cancels the tasks that
    /// had not started and cuts the retries of running ones.
    fn views(&self) -> Vec<TaskView> {
        let Some(origin) = self.started_at else {
            return vec![
                TaskView {
                    run: None,
                    cancelled_while_running: false,
                };
                self.scripts.len()
            ];
        };
        self.schedule(origin)
            .map(|mut run| {
                let mut view = TaskView {
                    run: Some(run),
                    cancelled_while_running: false,
                };
                if let Some(c) = self.cancel_at {
                    if run.start > c {
                        view.run = None;
                    } else if run.end() > c {
                        let current = run.attempt_at(c);
                        if current + 1 < run.attempts {
                            // Every attempt but the last of a plan fails.
                            run.attempts = current + 1;
                            run.outcome = Outcome::Failed;
                            view.run = Some(run);
                            view.cancelled_while_running = true;
                        }
                    }
                }
                view
            })
            .collect()
    }

    /// A local execution's processes started at `t`.
    pub(crate) fn local_started(&mut self, t: Micros) {
        if self.status == ES::Pending {
            self.status = ES::Running;
        }
        self.started_at.get_or_insert(t);
        self.updated_at = self.updated_at.max(t);
    }

    /// A local execution's processes are all over at `t`: its final status.
    pub(crate) fn local_finish(&mut self, t: Micros) {
        let Some(local) = &self.local else { return };
        if self.is_final() {
            return;
        }
        self.status = if self.status == ES::Cancelling {
            ES::Cancelled
        } else {
            match local.outcome() {
                crate::local::LocalOutcome::Succeeded => ES::Succeeded,
                crate::local::LocalOutcome::Failed => ES::Failed,
                crate::local::LocalOutcome::TimedOut => ES::Timeout,
            }
        };
        self.completed_at = Some(t);
        self.updated_at = self.updated_at.max(t);
    }

    /// Task `index` of a local execution, with the time of the change.
    pub(crate) fn local_task_mut(
        &mut self,
        index: usize,
        t: Micros,
    ) -> Option<&mut crate::local::LocalTask> {
        let local = self.local.as_mut()?;
        self.updated_at = self.updated_at.max(t);
        local.tasks.get_mut(index)
    }

    /// The number of tasks.
    pub(crate) fn task_count(&self) -> usize {
        self.scripts.len()
    }

    /// The configuration it runs with.
    pub(crate) fn config(&self) -> &ExecConfig {
        &self.config
    }

    /// The tasks' parameters as the execution data URL serves them.
    pub(crate) fn data_body(&self) -> String {
        format!(r#"{{"tasks":{}}}"#, self.task_params)
    }

    /// The answer to CreateJobExecution.
    pub(crate) fn output(&self) -> types::CreateJobExecutionOutput {
        types::CreateJobExecutionOutput {
            execution_id: Some(self.id.clone()),
            id: Some(self.message_id.clone()),
            job_id: Some(self.job.clone()),
            workspace_id: Some(self.workspace.to_string()),
            tasks: self.task_params(),
        }
    }

    /// The tasks' parameters, as submitted.
    pub(crate) fn task_params(&self) -> Vec<Map<String, Value>> {
        serde_json::from_str(&self.task_params).unwrap_or_default()
    }

    /// The execution as the API shows it at `now`.
    pub(crate) fn render(&self, now: Micros, clock: &SimClock) -> types::JobExecution {
        let states = self.states(now);
        let ts = |t: Option<Micros>| t.map(|t| clock.timestamp(t));
        let count = |s: TS| states.iter().filter(|t| t.status == s).count() as i64;
        let retried: u64 = states
            .iter()
            .map(|t| t.retries)
            .fold(0u64, u64::saturating_add);
        let updated_at = states
            .iter()
            .filter_map(|t| t.completed_at)
            .fold(self.updated_at, Micros::max);
        let spec_tasks = (0..states.len())
            .map(|i| types::JobExecutionTask {
                metadata: Some(types::JobExecutionTaskMetadata {
                    name: Some(task_name(i)),
                    ..Default::default()
                }),
                spec: Some(self.task_spec()),
                status: None,
                conditions: Vec::new(),
            })
            .collect();
        types::JobExecution {
            metadata: types::JobExecutionMetadata {
                id: Some(self.id.clone()),
                job: Some(self.job.clone()),
                workspace: Some(self.workspace.to_string()),
                cluster: Some("emulator".to_owned()),
                created_at: ts(Some(self.created_at)),
                started_at: ts(self.started_at),
                completed_at: ts(self.completed_at),
                updated_at: ts(Some(updated_at)),
                deleted_at: None,
                expired_at: None,
            },
            spec: types::JobExecutionSpec {
                parallelism: Some(i64::try_from(self.config.parallelism).unwrap_or(i64::MAX)),
                timeout: self.config.timeout_secs,
                memory_override: self.config.memory_override,
                env_override: self
                    .config
                    .env_override
                    .iter()
                    .map(|k| (k.clone(), Value::String("***".to_owned())))
                    .collect(),
                tasks: spec_tasks,
                task_count: Some(i64::try_from(self.scripts.len()).unwrap_or(i64::MAX)),
                tasks_ref: None,
            },
            stats: Some(types::JobExecutionStats {
                total: Some(states.len() as i64),
                success: Some(count(TS::Succeeded)),
                failure: Some(count(TS::Failed)),
                running: Some(count(TS::Running)),
                cancelled: Some(count(TS::Cancelled)),
                retried: Some(i64::try_from(retried).unwrap_or(i64::MAX)),
            }),
            status: Some(self.status.clone()),
            tasks: self.render_states(&states, clock),
        }
    }

    fn task_spec(&self) -> types::JobExecutionTaskSpec {
        types::JobExecutionTaskSpec {
            max_retries: Some(i64::try_from(self.config.max_retries).unwrap_or(i64::MAX)),
            timeout: self.config.timeout_secs.map(|s| format!("{s}s")),
        }
    }

    /// The tasks as the API shows them at `now`, in submission order.
    pub(crate) fn render_tasks(
        &self,
        now: Micros,
        clock: &SimClock,
    ) -> Vec<types::JobExecutionTask> {
        self.render_states(&self.states(now), clock)
    }

    fn render_states(
        &self,
        states: &[TaskState],
        clock: &SimClock,
    ) -> Vec<types::JobExecutionTask> {
        states
            .iter()
            .enumerate()
            .map(|(i, t)| self.render_task(i, t, clock))
            .collect()
    }

    /// Every task at `now`: derived from the schedule, or recorded for
    /// tasks that run as local processes.
    fn states(&self, now: Micros) -> Vec<TaskState> {
        if let Some(local) = &self.local {
            return local.states();
        }
        self.views()
            .iter()
            .map(|v| {
                let status = v.status(now, self.cancel_at);
                let retries = v.retries_at(now);
                let started = v.started(now);
                let (started_at, completed_at, updated_at) = match (status.is_terminal(), started) {
                    (_, None) if status == TS::Cancelled => (None, self.cancel_at, self.cancel_at),
                    (_, None) => (None, None, Some(self.created_at)),
                    (true, Some(run)) => (Some(run.start), Some(run.end()), Some(run.end())),
                    (false, Some(run)) => (Some(run.start), None, Some(run.start)),
                };
                let end = match (&status, started) {
                    (TS::Failed, Some(run)) if run.outcome == Outcome::TimedOut => {
                        Some(TaskEnd::TimedOut)
                    }
                    (TS::Failed, Some(run)) if v.cancelled_while_running => {
                        Some(TaskEnd::FailedWhileCancelling {
                            attempts: run.attempts,
                        })
                    }
                    (TS::Failed, Some(run)) => Some(TaskEnd::Failed {
                        attempts: run.attempts,
                        exit_code: None,
                    }),
                    (TS::Cancelled, _) => Some(TaskEnd::NotStarted),
                    _ => None,
                };
                TaskState {
                    status,
                    started_at,
                    completed_at,
                    updated_at,
                    retries,
                    end,
                }
            })
            .collect()
    }

    /// The names of the tasks, in submission order.
    pub(crate) fn task_names(&self) -> impl Iterator<Item = String> + use<> {
        (0..self.scripts.len()).map(task_name)
    }

    fn render_task(
        &self,
        index: usize,
        t: &TaskState,
        clock: &SimClock,
    ) -> types::JobExecutionTask {
        const MAX_RETRY_CONDITIONS: u64 = 10;
        let ts = |x: Option<Micros>| x.map(|x| clock.timestamp(x));
        let mut conditions = Vec::new();
        let retries = t.retries;
        let max_retries = self.config.max_retries;
        for n in 1..=retries.min(MAX_RETRY_CONDITIONS) {
            conditions.push(condition(
                "Retry",
                "AttemptFailed",
                "Error",
                "WARNING",
                format!("attempt {n} failed; retrying ({n} of {max_retries} retries)"),
            ));
        }
        if retries > MAX_RETRY_CONDITIONS {
            conditions.push(condition(
                "Retry",
                "AttemptFailed",
                "Error",
                "WARNING",
                format!("{retries} attempts failed and were retried in all"),
            ));
        }
        match t.end {
            Some(TaskEnd::TimedOut) => {
                let secs = self.config.timeout_secs.unwrap_or_default();
                conditions.push(condition(
                    "Failed",
                    "DeadlineExceeded",
                    "Timeout",
                    "ERROR",
                    format!("the task ran longer than its {secs}s timeout and was stopped"),
                ));
            }
            Some(TaskEnd::FailedWhileCancelling { attempts }) => conditions.push(condition(
                "Failed",
                "TaskFailed",
                "Error",
                "ERROR",
                format!(
                    "attempt {attempts} failed while the execution was cancelling; not retried"
                ),
            )),
            Some(TaskEnd::Failed {
                attempts,
                exit_code,
            }) => {
                let how = match exit_code {
                    Some(code) => format!("exited with code {code}"),
                    None => "failed".to_owned(),
                };
                conditions.push(condition(
                    "Failed",
                    "TaskFailed",
                    "Error",
                    "ERROR",
                    format!(
                        "attempt {attempts} {how} and no retries are left (maxRetries {max_retries})"
                    ),
                ));
            }
            Some(TaskEnd::NotStarted) => conditions.push(condition(
                "Cancelled",
                "ExecutionCancelled",
                "Cancelled",
                "INFO",
                "the execution was cancelled before this task started".to_owned(),
            )),
            Some(TaskEnd::Killed) => conditions.push(condition(
                "Cancelled",
                "ExecutionCancelled",
                "Cancelled",
                "INFO",
                "the execution was cancelled; the task's process was killed".to_owned(),
            )),
            None => {}
        }
        types::JobExecutionTask {
            metadata: Some(types::JobExecutionTaskMetadata {
                name: Some(task_name(index)),
                created_at: ts(Some(self.created_at)),
                scheduled_at: ts(self.admitted_at),
                started_at: ts(t.started_at),
                completed_at: ts(t.completed_at),
                updated_at: ts(t.updated_at),
            }),
            spec: Some(self.task_spec()),
            status: Some(t.status.clone()),
            conditions,
        }
    }
}

/// The name of the task at `index`.
fn task_name(index: usize) -> String {
    format!("task-{index}")
}

fn condition(
    kind: &str,
    reason: &str,
    execution_reason: &str,
    severity: &str,
    message: String,
) -> types::JobExecutionTaskCondition {
    types::JobExecutionTaskCondition {
        type_: Some(kind.to_owned()),
        state: Some("True".to_owned()),
        reason: Some(reason.to_owned()),
        execution_reason: Some(execution_reason.to_owned()),
        message: Some(message),
        severity: Some(severity.to_owned()),
    }
}

#[cfg(test)]
#[path = "sim_reference.rs"]
mod reference;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Clock;
    use serde_json::json;

    fn script(v: Value) -> TaskScript {
        TaskScript::parse(v.as_object().unwrap(), "tasks[0]").unwrap()
    }

    fn config(max_retries: u64, timeout_secs: Option<i64>, parallelism: usize) -> ExecConfig {
        ExecConfig {
            timeout_secs,
            max_retries,
            parallelism,
            memory_override: None,
            env_override: vec![],
        }
    }

    fn exec(scripts: Vec<TaskScript>, cfg: ExecConfig) -> SimExecution {
        SimExecution::new(
            NewExecution {
                seq: 1,
                id: "e".into(),
                job: "j".into(),
                job_uid: 1,
                workspace: "w".into(),
                message_id: "m".into(),
                tasks: scripts.into_iter().map(|s| (Map::new(), s)).collect(),
                config: cfg,
            },
            0,
        )
    }

    /// Runs the execution's own events up to `now`.
    fn run_to(e: &mut SimExecution, now: Micros) {
        while let Some(t) = e.next_event() {
            if t > now {
                break;
            }
            e.step(t);
        }
    }

    #[test]
    fn scripts_parse_and_reject_bad_values() {
        assert_eq!(
            script(json!({})),
            TaskScript {
                duration: SECOND,
                fail_attempts: 0
            }
        );
        assert_eq!(script(json!({"durationSeconds": 2.5})).duration, 2_500_000);
        assert_eq!(script(json!({"fail": true})).fail_attempts, u64::MAX);
        assert_eq!(script(json!({"failAttempts": 3})).fail_attempts, 3);
        let bad = |v: Value| TaskScript::parse(v.as_object().unwrap(), "tasks[1]").unwrap_err();
        assert!(bad(json!({"durationSeconds": -1})).starts_with("tasks[1].durationSeconds"));
        assert!(bad(json!({"durationSeconds": "5"})).starts_with("tasks[1].durationSeconds"));
        assert!(bad(json!({"fail": "yes"})).starts_with("tasks[1].fail"));
        assert!(bad(json!({"failAttempts": 1.5})).starts_with("tasks[1].failAttempts"));
    }

    #[test]
    fn plans_cover_success_retries_failure_and_timeout() {
        let c = config(2, Some(10), 1);
        let p = TaskRun::plan(0, script(json!({"failAttempts": 2})), &c);
        assert_eq!(
            (p.attempts, p.outcome, p.end()),
            (3, Outcome::Succeeded, 3 * SECOND)
        );
        let p = TaskRun::plan(0, script(json!({"failAttempts": 3})), &c);
        assert_eq!((p.attempts, p.outcome), (3, Outcome::Failed));
        let p = TaskRun::plan(0, script(json!({"fail": true, "durationSeconds": 11})), &c);
        assert_eq!(
            (p.attempts, p.outcome, p.end()),
            (1, Outcome::TimedOut, 10 * SECOND)
        );
        let p = TaskRun::plan(0, script(json!({"durationSeconds": 10})), &c);
        assert_eq!(
            p.outcome,
            Outcome::Succeeded,
            "exactly the timeout is not longer than it"
        );
    }

    #[test]
    fn huge_retry_counts_with_zero_durations_end_at_once() {
        let c = config(u64::MAX / 2, None, 1);
        let mut e = exec(vec![script(json!({"fail": true, "durationSeconds": 0}))], c);
        e.admit(0, 0);
        run_to(&mut e, 0);
        assert_eq!(e.status(), &ES::Failed);
        let r = e.render(0, &SimClock::new(Clock::Manual));
        assert_eq!(
            r.stats.unwrap().retried,
            Some(i64::try_from(u64::MAX / 2).unwrap())
        );
        assert_eq!(r.tasks[0].conditions.len(), 12);
    }

    #[test]
    fn parallelism_limits_running_tasks() {
        let s = script(json!({"durationSeconds": 1}));
        let mut e = exec(vec![s, s, s], config(0, None, 2));
        e.admit(0, 0);
        run_to(&mut e, 0);
        let clock = SimClock::new(Clock::Manual);
        let stats = e.render(0, &clock).stats.unwrap();
        assert_eq!((stats.running, stats.success), (Some(2), Some(0)));
        run_to(&mut e, SECOND);
        let stats = e.render(SECOND, &clock).stats.unwrap();
        assert_eq!((stats.running, stats.success), (Some(1), Some(2)));
        run_to(&mut e, 2 * SECOND);
        assert_eq!(e.status(), &ES::Succeeded);
    }

    #[test]
    fn cancel_lets_the_current_attempt_finish_without_retry() {
        let s = script(json!({"durationSeconds": 2, "fail": true}));
        let mut e = exec(vec![s, s], config(5, None, 1));
        e.admit(0, 0);
        run_to(&mut e, 3 * SECOND);
        e.cancel(3 * SECOND);
        assert_eq!(e.status(), &ES::Cancelling);
        let clock = SimClock::new(Clock::Manual);
        let r = e.render(3 * SECOND, &clock);
        assert_eq!(r.tasks[1].status, Some(TS::Cancelled));
        assert_eq!(r.tasks[0].status, Some(TS::Running));
        run_to(&mut e, 4 * SECOND);
        assert_eq!(e.status(), &ES::Cancelled);
        let r = e.render(4 * SECOND, &clock);
        let stats = r.stats.unwrap();
        assert_eq!(
            (stats.failure, stats.cancelled, stats.retried),
            (Some(1), Some(1), Some(1))
        );
        assert_eq!(
            r.tasks[0].conditions.last().unwrap().reason.as_deref(),
            Some("TaskFailed")
        );
    }

    /// Runs a [`reference::RefExecution`] through its own events up to `now`.
    fn ref_run_to(e: &mut reference::RefExecution, now: Micros) {
        while let Some(t) = e.next_event() {
            if t > now {
                break;
            }
            e.step(t);
        }
    }

    #[test]
    fn derived_schedules_match_the_step_by_step_reference() {
        let clock = SimClock::new(Clock::Manual);
        let mut rng = fastrand::Rng::with_seed(0x5eed_0f7a_5c00);
        let half = SECOND / 2;
        for case in 0..400 {
            let n = rng.usize(1..7);
            let scripts: Vec<TaskScript> = (0..n)
                .map(|_| TaskScript {
                    duration: rng.u64(0..7) * half,
                    fail_attempts: match rng.u8(0..4) {
                        0 => u64::MAX,
                        k => u64::from(k - 1),
                    },
                })
                .collect();
            let cfg = config(
                rng.u64(0..3),
                if rng.bool() {
                    Some(rng.i64(1..4))
                } else {
                    None
                },
                rng.usize(0..n + 2),
            );
            let startup = rng.u64(0..3) * half;
            let admit = rng.u64(0..3) * half;
            let cancel = rng.bool().then(|| rng.u64(0..30) * half);
            let mut new = exec(scripts.clone(), cfg.clone());
            let mut old = reference::RefExecution::new(&scripts, cfg, 0);
            for step in 0..=60 {
                let now = step * half;
                if now == admit {
                    new.admit(now, startup);
                    old.admit(now, startup);
                }
                run_to(&mut new, now);
                ref_run_to(&mut old, now);
                if cancel == Some(now) {
                    new.cancel(now);
                    old.cancel(now);
                }
                let (a, b) = (new.render(now, &clock), old.render(now, &clock));
                assert_eq!(
                    serde_json::to_value(&a).unwrap(),
                    serde_json::to_value(&b).unwrap(),
                    "case {case} at {now} µs: {scripts:?} startup {startup} admit {admit} cancel {cancel:?}"
                );
                assert_eq!(new.is_active(), old.is_active(), "case {case} at {now}");
                assert_eq!(new.is_queued(), old.is_queued(), "case {case} at {now}");
            }
        }
    }

    #[test]
    fn executions_keep_sixteen_bytes_per_task_plus_their_parameters() {
        assert_eq!(std::mem::size_of::<TaskScript>(), 16);
        let params = |i: usize| {
            json!({"durationSeconds": 5, "i": i})
                .as_object()
                .unwrap()
                .clone()
        };
        let e = SimExecution::new(
            NewExecution {
                seq: 1,
                id: "e".into(),
                job: "j".into(),
                job_uid: 1,
                workspace: "w".into(),
                message_id: "m".into(),
                tasks: (0..100).map(|i| (params(i), script(json!({})))).collect(),
                config: config(0, None, 1),
            },
            0,
        );
        assert_eq!(e.scripts.len(), 100);
        // The parameters are one JSON text, given back as submitted.
        assert!(
            e.task_params
                .starts_with(r#"[{"durationSeconds":5,"i":0},{"#)
        );
        assert!(e.task_params.len() < 3_000, "{}", e.task_params.len());
        assert_eq!(e.task_params()[42], params(42));
        assert_eq!(e.output().tasks.len(), 100);
    }
}
