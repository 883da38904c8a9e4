//! An execution and its tasks as the API shows them: the generated
//! `JobExecution` and `JobExecutionTask`, with their statistics, times and
//! conditions.

use super::Execution;
use super::task::{TaskEnd, TaskState};
use crate::clock::{Micros, SimClock};
use blaxel_jobs_client::open_enum::JobExecutionTaskStatus as TS;
use blaxel_jobs_client::secrets::MASK;
use blaxel_jobs_client::types;
use serde_json::Value;

impl Execution {
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
                    .map(|k| (k.clone(), Value::String(MASK.to_owned())))
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

pub(super) fn condition(
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
