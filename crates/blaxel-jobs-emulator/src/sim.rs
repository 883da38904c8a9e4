//! Simulated executions and tasks.
//!
//! Executions run in simulated time and are advanced lazily: before the
//! emulator reads or changes a workspace, it replays every event due up to
//! the clock's current time (see `state::Workspace::advance_to`). The same
//! requests at the same simulated times therefore always give the same
//! answers.
//!
//! # Life of an execution
//!
//! `queued` (while the workspace is at capacity) → `pending` (a short
//! start-up, [`EmulatorConfig::execution_startup`](crate::EmulatorConfig::execution_startup))
//! → `running` → `succeeded`, `failed` or `timeout`. At most `parallelism`
//! tasks (the job's `spec.runtime.maxConcurrentTasks`, else all of them) run
//! at once; the others wait as `pending` tasks.
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

use crate::clock::{Micros, SECOND, SimClock};
use blaxel_jobs_client::open_enum::{JobExecutionStatus as ES, JobExecutionTaskStatus as TS};
use blaxel_jobs_client::types;
use serde_json::{Map, Value};

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

/// One task of an execution.
#[derive(Debug, Clone)]
pub(crate) struct SimTask {
    name: String,
    script: TaskScript,
    status: TS,
    started_at: Option<Micros>,
    completed_at: Option<Micros>,
    updated_at: Micros,
    run: Option<TaskRun>,
    /// Whether its last attempt was cut short by a cancellation.
    cancelled_while_running: bool,
}

impl SimTask {
    fn is_final(&self) -> bool {
        self.status.is_terminal()
    }

    fn is_running(&self) -> bool {
        self.status == TS::Running
    }

    fn timed_out(&self) -> bool {
        self.status == TS::Failed && self.run.is_some_and(|r| r.outcome == Outcome::TimedOut)
    }

    /// Attempts retried by `t`.
    fn retries_at(&self, t: Micros) -> u64 {
        match self.run {
            None => 0,
            Some(run) if self.is_final() => run.attempts - 1,
            Some(run) => run.attempt_at(t),
        }
    }
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
    workspace: String,
    /// The request message id (`id` of the request, or generated).
    message_id: String,
    /// The tasks' parameters, as submitted.
    task_params: Vec<Map<String, Value>>,
    config: ExecConfig,
    status: ES,
    created_at: Micros,
    admitted_at: Option<Micros>,
    startup_until: Option<Micros>,
    started_at: Option<Micros>,
    completed_at: Option<Micros>,
    updated_at: Micros,
    cancel_at: Option<Micros>,
    tasks: Vec<SimTask>,
}

/// What a new execution is made of.
#[derive(Debug, Clone)]
pub(crate) struct NewExecution {
    pub(crate) seq: u64,
    pub(crate) id: String,
    pub(crate) job: String,
    pub(crate) job_uid: u64,
    pub(crate) workspace: String,
    pub(crate) message_id: String,
    /// Parameters and script of each task (never empty).
    pub(crate) tasks: Vec<(Map<String, Value>, TaskScript)>,
    pub(crate) config: ExecConfig,
}

impl SimExecution {
    /// A `queued` execution created at `now`; [`SimExecution::admit`] starts it.
    pub(crate) fn new(n: NewExecution, now: Micros) -> SimExecution {
        let tasks = n
            .tasks
            .iter()
            .enumerate()
            .map(|(i, (_, script))| SimTask {
                name: format!("task-{i}"),
                script: *script,
                status: TS::Pending,
                started_at: None,
                completed_at: None,
                updated_at: now,
                run: None,
                cancelled_while_running: false,
            })
            .collect();
        SimExecution {
            seq: n.seq,
            id: n.id,
            job: n.job,
            job_uid: n.job_uid,
            workspace: n.workspace,
            message_id: n.message_id,
            task_params: n.tasks.into_iter().map(|(p, _)| p).collect(),
            config: n.config,
            status: ES::Queued,
            created_at: now,
            admitted_at: None,
            startup_until: None,
            started_at: None,
            completed_at: None,
            updated_at: now,
            cancel_at: None,
            tasks,
        }
    }

    /// The status now.
    #[cfg(test)]
    pub(crate) fn status(&self) -> &ES {
        &self.status
    }

    /// Whether the execution reached a final status.
    pub(crate) fn is_final(&self) -> bool {
        self.status.is_terminal()
    }

    /// Whether it takes up capacity: `pending`, `running` or `cancelling`.
    pub(crate) fn is_active(&self) -> bool {
        matches!(self.status, ES::Pending | ES::Running | ES::Cancelling)
    }

    /// Whether it waits for capacity.
    pub(crate) fn is_queued(&self) -> bool {
        self.status == ES::Queued
    }

    /// When something next happens to it, if anything will.
    pub(crate) fn next_event(&self) -> Option<Micros> {
        match self.status {
            ES::Pending => self.startup_until,
            ES::Running | ES::Cancelling => {
                let ends = self
                    .tasks
                    .iter()
                    .filter(|t| t.is_running())
                    .filter_map(|t| t.run.map(|r| r.end()))
                    .min();
                match ends {
                    Some(e) => Some(e),
                    // Nothing runs: the execution is over now.
                    None => Some(self.cancel_at.unwrap_or(self.updated_at)),
                }
            }
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

    /// Applies whatever is due at `t` (which is at least [`Self::next_event`]).
    pub(crate) fn step(&mut self, t: Micros) {
        match self.status {
            ES::Pending if self.startup_until.is_some_and(|s| s <= t) => {
                self.status = ES::Running;
                self.started_at = Some(t);
                self.updated_at = t;
                self.fill(t);
            }
            ES::Running | ES::Cancelling => {
                for task in self.tasks.iter_mut().filter(|t| t.is_running()) {
                    let Some(run) = task.run else { continue };
                    let end = run.end();
                    if end <= t {
                        task.status = match run.outcome {
                            Outcome::Succeeded => TS::Succeeded,
                            Outcome::Failed | Outcome::TimedOut => TS::Failed,
                        };
                        task.completed_at = Some(end);
                        task.updated_at = end;
                        self.updated_at = self.updated_at.max(end);
                    }
                }
                if self.status == ES::Running {
                    self.fill(t);
                }
                if self.tasks.iter().all(SimTask::is_final) {
                    self.finish(t);
                }
            }
            _ => {}
        }
    }

    /// Starts pending tasks while there is room.
    fn fill(&mut self, t: Micros) {
        let mut running = self.tasks.iter().filter(|t| t.is_running()).count();
        for task in &mut self.tasks {
            if running >= self.config.parallelism.max(1) {
                break;
            }
            if task.status == TS::Pending {
                task.status = TS::Running;
                task.started_at = Some(t);
                task.updated_at = t;
                task.run = Some(TaskRun::plan(t, task.script, &self.config));
                running += 1;
            }
        }
    }

    fn finish(&mut self, t: Micros) {
        self.status = if self.status == ES::Cancelling {
            ES::Cancelled
        } else if self.tasks.iter().any(SimTask::timed_out) {
            ES::Timeout
        } else if self.tasks.iter().any(|t| t.status == TS::Failed) {
            ES::Failed
        } else {
            ES::Succeeded
        };
        self.completed_at = Some(t);
        self.updated_at = t;
    }

    /// Cancels it at `t`. A final execution stays as it is; an execution
    /// already `cancelling` too.
    pub(crate) fn cancel(&mut self, t: Micros) {
        if self.is_final() || self.status == ES::Cancelling {
            return;
        }
        for task in &mut self.tasks {
            if task.status == TS::Pending {
                task.status = TS::Cancelled;
                task.completed_at = Some(t);
                task.updated_at = t;
            } else if task.is_running()
                && let Some(run) = task.run.as_mut()
            {
                let current = run.attempt_at(t);
                if current + 1 < run.attempts {
                    // Every attempt but the last of a plan fails.
                    run.attempts = current + 1;
                    run.outcome = Outcome::Failed;
                    task.cancelled_while_running = true;
                }
            }
        }
        self.status = ES::Cancelling;
        self.cancel_at = Some(t);
        self.updated_at = t;
    }

    /// The answer to CreateJobExecution.
    pub(crate) fn output(&self) -> types::CreateJobExecutionOutput {
        types::CreateJobExecutionOutput {
            execution_id: Some(self.id.clone()),
            id: Some(self.message_id.clone()),
            job_id: Some(self.job.clone()),
            workspace_id: Some(self.workspace.clone()),
            tasks: self.task_params.clone(),
        }
    }

    /// The execution as the API shows it at `now`.
    pub(crate) fn render(&self, now: Micros, clock: &SimClock) -> types::JobExecution {
        let ts = |t: Option<Micros>| t.map(|t| clock.timestamp(t));
        let count = |s: TS| self.tasks.iter().filter(|t| t.status == s).count() as i64;
        let retried: u64 = self
            .tasks
            .iter()
            .map(|t| t.retries_at(now))
            .fold(0u64, u64::saturating_add);
        let spec_tasks = self
            .tasks
            .iter()
            .map(|t| types::JobExecutionTask {
                metadata: Some(types::JobExecutionTaskMetadata {
                    name: Some(t.name.clone()),
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
                workspace: Some(self.workspace.clone()),
                cluster: Some("emulator".to_owned()),
                created_at: ts(Some(self.created_at)),
                started_at: ts(self.started_at),
                completed_at: ts(self.completed_at),
                updated_at: ts(Some(self.updated_at)),
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
                task_count: Some(i64::try_from(self.tasks.len()).unwrap_or(i64::MAX)),
                tasks_ref: None,
            },
            stats: Some(types::JobExecutionStats {
                total: Some(self.tasks.len() as i64),
                success: Some(count(TS::Succeeded)),
                failure: Some(count(TS::Failed)),
                running: Some(count(TS::Running)),
                cancelled: Some(count(TS::Cancelled)),
                retried: Some(i64::try_from(retried).unwrap_or(i64::MAX)),
            }),
            status: Some(self.status.clone()),
            tasks: self.render_tasks(now, clock),
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
        self.tasks
            .iter()
            .map(|t| self.render_task(t, now, clock))
            .collect()
    }

    /// The names of the tasks, in submission order.
    pub(crate) fn task_names(&self) -> impl Iterator<Item = &str> {
        self.tasks.iter().map(|t| t.name.as_str())
    }

    fn render_task(&self, t: &SimTask, now: Micros, clock: &SimClock) -> types::JobExecutionTask {
        const MAX_RETRY_CONDITIONS: u64 = 10;
        let ts = |x: Option<Micros>| x.map(|x| clock.timestamp(x));
        let mut conditions = Vec::new();
        let retries = t.retries_at(now);
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
        match (&t.status, t.run) {
            (TS::Failed, Some(run)) if run.outcome == Outcome::TimedOut => {
                let secs = self.config.timeout_secs.unwrap_or_default();
                conditions.push(condition(
                    "Failed",
                    "DeadlineExceeded",
                    "Timeout",
                    "ERROR",
                    format!("the task ran longer than its {secs}s timeout and was stopped"),
                ));
            }
            (TS::Failed, Some(run)) => {
                let message = if t.cancelled_while_running {
                    format!(
                        "attempt {} failed while the execution was cancelling; not retried",
                        run.attempts
                    )
                } else {
                    format!(
                        "attempt {} failed and no retries are left (maxRetries {max_retries})",
                        run.attempts
                    )
                };
                conditions.push(condition("Failed", "TaskFailed", "Error", "ERROR", message));
            }
            (TS::Cancelled, _) => conditions.push(condition(
                "Cancelled",
                "ExecutionCancelled",
                "Cancelled",
                "INFO",
                "the execution was cancelled before this task started".to_owned(),
            )),
            _ => {}
        }
        types::JobExecutionTask {
            metadata: Some(types::JobExecutionTaskMetadata {
                name: Some(t.name.clone()),
                created_at: ts(Some(self.created_at)),
                scheduled_at: ts(self.admitted_at),
                started_at: ts(t.started_at),
                completed_at: ts(t.completed_at),
                updated_at: ts(Some(t.updated_at)),
            }),
            spec: Some(self.task_spec()),
            status: Some(t.status.clone()),
            conditions,
        }
    }
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
}
