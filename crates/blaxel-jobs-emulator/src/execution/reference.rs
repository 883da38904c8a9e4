//! The step-by-step simulation the emulator used before executions were
//! derived from their schedule, kept as the reference that
//! `execution::tests::derived_schedules_match_the_step_by_step_reference`
//! compares against.
#![allow(dead_code)]

use super::render::condition;
use super::schedule::{Outcome, TaskRun};
use super::script::{ExecConfig, TaskScript};
use crate::clock::{Micros, SimClock};
use blaxel_jobs_client::open_enum::{JobExecutionStatus as ES, JobExecutionTaskStatus as TS};
use blaxel_jobs_client::secrets::MASK;
use blaxel_jobs_client::types;
use serde_json::{Map, Value};

/// One task of an execution.
#[derive(Debug, Clone)]
pub(super) struct SimTask {
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
pub(super) struct RefExecution {
    /// Creation order in the workspace.
    pub(super) seq: u64,
    pub(super) id: String,
    pub(super) job: String,
    /// Which incarnation of the job (a deleted job's name can be reused).
    pub(super) job_uid: u64,
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

impl RefExecution {
    /// A `queued` execution created at `now`.
    pub(super) fn new(scripts: &[TaskScript], config: ExecConfig, now: Micros) -> RefExecution {
        let tasks = scripts
            .iter()
            .enumerate()
            .map(|(i, script)| SimTask {
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
        RefExecution {
            seq: 1,
            id: "e".into(),
            job: "j".into(),
            job_uid: 1,
            workspace: "w".into(),
            message_id: "m".into(),
            task_params: Vec::new(),
            config,
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
    pub(super) fn status(&self) -> &ES {
        &self.status
    }

    /// Whether the execution reached a final status.
    pub(super) fn is_final(&self) -> bool {
        self.status.is_terminal()
    }

    /// Whether it takes up capacity: `pending`, `running` or `cancelling`.
    pub(super) fn is_active(&self) -> bool {
        matches!(self.status, ES::Pending | ES::Running | ES::Cancelling)
    }

    /// Whether it waits for capacity.
    pub(super) fn is_queued(&self) -> bool {
        self.status == ES::Queued
    }

    /// When something next happens to it, if anything will.
    pub(super) fn next_event(&self) -> Option<Micros> {
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
    pub(super) fn admit(&mut self, t: Micros, startup: Micros) {
        if self.status != ES::Queued {
            return;
        }
        self.status = ES::Pending;
        self.admitted_at = Some(t);
        self.startup_until = Some(t.saturating_add(startup));
        self.updated_at = t;
    }

    /// Applies whatever is due at `t` (which is at least [`Self::next_event`]).
    pub(super) fn step(&mut self, t: Micros) {
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
    pub(super) fn cancel(&mut self, t: Micros) {
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

    /// The execution as the API shows it at `now`.
    pub(super) fn render(&self, now: Micros, clock: &SimClock) -> types::JobExecution {
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
                    .map(|k| (k.clone(), Value::String(MASK.to_owned())))
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
    pub(super) fn render_tasks(
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
    pub(super) fn task_names(&self) -> impl Iterator<Item = &str> {
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
