//! What a waiter ends with when the resource did not get where it waited
//! for it to go: an execution that ended otherwise, a deployment that
//! failed, a maximum wait reached.

use super::text::{Clip, MESSAGE_SHOWN, SHORT_SHOWN};
use blaxel_jobs_client::types;
use blaxel_jobs_client::types::JobExecution;
use std::fmt;
use std::time::Duration;

/// An execution that ended without succeeding.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct ExecutionEnded {
    /// The execution as last read; `status` is `failed`, `cancelled` or `timeout`.
    pub(crate) execution: JobExecution,
}

impl ExecutionEnded {
    /// The final status.
    pub fn status(&self) -> Option<&blaxel_jobs_client::open_enum::JobExecutionStatus> {
        self.execution.status.as_ref()
    }
}

impl fmt::Display for ExecutionEnded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = self.execution.metadata.id.as_deref().unwrap_or("?");
        let status = self.status().map(|s| s.as_str()).unwrap_or("unknown");
        write!(f, "execution {id} ended with status {status}")?;
        if let Some(stats) = &self.execution.stats {
            write!(
                f,
                " ({} of {} tasks succeeded, {} failed, {} cancelled)",
                stats.success.unwrap_or(0),
                stats.total.unwrap_or(0),
                stats.failure.unwrap_or(0),
                stats.cancelled.unwrap_or(0)
            )?;
        }
        Ok(())
    }
}

/// A deployment that ended without reaching `DEPLOYED`.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct DeploymentFailed {
    /// The job as last read.
    pub(crate) job: types::Job,
}

impl fmt::Display for DeploymentFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self
            .job
            .status
            .as_ref()
            .map(|s| s.as_str())
            .unwrap_or("unknown");
        write!(
            f,
            "job {} did not deploy: status {status}",
            self.job.metadata.name
        )?;
        if let Some(msg) = self
            .job
            .events
            .as_ref()
            .and_then(|e| e.last())
            .and_then(|e| e.message.as_deref())
        {
            write!(f, " ({})", Clip(msg, MESSAGE_SHOWN))?;
        }
        Ok(())
    }
}

/// A waiter that reached its maximum duration.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct WaitTimeout {
    /// What was waited for, such as `execution exec-1 of job nightly`.
    pub(crate) what: String,
    /// How long the waiter waited.
    pub(crate) elapsed: Duration,
    /// How many times it polled.
    pub(crate) polls: u32,
    /// The last status seen, if any.
    pub(crate) last_status: Option<String>,
}

impl fmt::Display for WaitTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "gave up waiting for {} after {:.1?} and {} polls",
            self.what, self.elapsed, self.polls
        )?;
        if let Some(s) = &self.last_status {
            write!(f, " (last status {})", Clip(s, SHORT_SHOWN))?;
        }
        Ok(())
    }
}

impl ExecutionEnded {
    /// The execution as last read; its `status` is `failed`, `cancelled` or
    /// `timeout`.
    pub fn execution(&self) -> &JobExecution {
        &self.execution
    }

    /// The execution as last read, owned.
    pub fn into_execution(self) -> JobExecution {
        self.execution
    }
}

impl DeploymentFailed {
    /// The job as last read.
    pub fn job(&self) -> &types::Job {
        &self.job
    }

    /// The job as last read, owned.
    pub fn into_job(self) -> types::Job {
        self.job
    }
}

impl WaitTimeout {
    /// What was waited for, such as `execution exec-1 of job nightly`.
    pub fn what(&self) -> &str {
        &self.what
    }

    /// How long the waiter waited.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// How many times it polled.
    pub fn polls(&self) -> u32 {
        self.polls
    }

    /// The last status seen, if any.
    pub fn last_status(&self) -> Option<&str> {
        self.last_status.as_deref()
    }
}
