//! A task's state before it is rendered as the API shows it: derived from
//! a simulated execution's schedule, or recorded for a task that runs as a
//! process.

use crate::clock::Micros;
use blaxel_jobs_client::open_enum::JobExecutionTaskStatus as TS;

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
