//! Executions and their tasks: simulated in simulated time, or run as
//! local processes ([`local`]).
//!
//! Simulated executions run in simulated time. An execution only changes status at a
//! few instants (admitted, started, finished, cancelled), and what its tasks
//! do in between follows from when it started: the whole task schedule is a
//! function of the start time, the task scripts and the configuration (plus
//! the instant of a cancellation). So an execution stores its scripts and
//! those instants, not its tasks; the status of each task at any time is
//! derived when it is rendered. The workspace keeps a time-ordered queue of
//! the instants at which executions change status (see
//! `store::Workspace::advance_to`), so catching up after time passes costs
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
//! rendered, and so are the log lines of simulated tasks ([`logs`]).

mod local;
mod logs;
#[cfg(test)]
mod reference;
mod render;
mod schedule;
mod script;
mod task;

pub(crate) use local::{Launch, LaunchSpec, LocalRun, LocalTask, MAX_LINE_BYTES};
pub use local::{OutputLine, OutputStream, TaskOutput};
pub(crate) use logs::{EXECUTION_LABEL, LogLine, TASK_LABEL, execution_label, severity_number};
pub(crate) use script::{ExecConfig, TaskScript};
pub(crate) use task::{TaskEnd, TaskState};

use crate::clock::Micros;
use blaxel_jobs_client::open_enum::{JobExecutionStatus as ES, JobExecutionTaskStatus as TS};
use blaxel_jobs_client::types;
use local::LocalOutcome;
use schedule::{Outcome, TaskView};
use serde_json::{Map, Value};
use std::sync::Arc;

/// One execution of a job.
#[derive(Debug, Clone)]
pub(crate) struct Execution {
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
    pub(crate) local: Option<Box<LocalRun>>,
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

impl Execution {
    /// A `queued` execution created at `now`; [`Execution::admit`] starts it.
    pub(crate) fn new(n: NewExecution, now: Micros) -> Execution {
        let scripts: Box<[TaskScript]> = n.tasks.iter().map(|(_, s)| *s).collect();
        let params: Vec<Map<String, Value>> = n.tasks.into_iter().map(|(p, _)| p).collect();
        // Serializing a map of JSON values cannot fail.
        let task_params = serde_json::to_string(&params)
            .unwrap_or_else(|_| "[]".to_owned())
            .into_boxed_str();
        Execution {
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
        !self.is_final() && !self.is_queued()
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
                for run in schedule::plan(&self.scripts, &self.config, t) {
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

    /// Every task's schedule, from the instant its tasks started and any
    /// cancellation.
    fn views(&self) -> Vec<TaskView> {
        schedule::views(&self.scripts, &self.config, self.started_at, self.cancel_at)
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
                LocalOutcome::Succeeded => ES::Succeeded,
                LocalOutcome::Failed => ES::Failed,
                LocalOutcome::TimedOut => ES::Timeout,
            }
        };
        self.completed_at = Some(t);
        self.updated_at = self.updated_at.max(t);
    }

    /// Task `index` of a local execution, with the time of the change.
    pub(crate) fn local_task_mut(&mut self, index: usize, t: Micros) -> Option<&mut LocalTask> {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{SECOND, SimClock};
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

    fn exec(scripts: Vec<TaskScript>, cfg: ExecConfig) -> Execution {
        Execution::new(
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
    fn run_to(e: &mut Execution, now: Micros) {
        while let Some(t) = e.next_event() {
            if t > now {
                break;
            }
            e.step(t);
        }
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
        let e = Execution::new(
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
