//! Errors of creating executions: a conflict that cannot be shown to be
//! this request's, and a batch chunk that could not be created.

use super::text::{Clip, SHORT_SHOWN};
use super::{ApiError, Error};
use blaxel_jobs_client::types::JobExecution;
use std::fmt;

/// A CreateJobExecution retry that the server refused as a conflict, when
/// the execution found under the same `executionId` cannot be shown to be
/// this request's (it may belong to an earlier job of the same name).
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct ExecutionConflict {
    /// The execution id the request carried.
    pub(crate) execution_id: String,
    /// The conflict the server answered.
    pub(crate) error: ApiError,
    /// The execution found under that id, if any.
    pub(crate) found: Option<JobExecution>,
    /// Why the execution found is not taken as this request's.
    pub(crate) reason: String,
}

impl fmt::Display for ExecutionConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "execution {} conflicts with an execution this request did not start: {} ({})",
            Clip(&self.execution_id, SHORT_SHOWN),
            self.reason,
            self.error
        )
    }
}

impl std::error::Error for ExecutionConflict {}

/// A chunk of a batch that could not be created ([`Error::Chunk`]): which
/// one, and the error it ended with (its
/// [`source`](std::error::Error::source)).
#[non_exhaustive]
#[derive(Debug)]
pub struct ChunkError {
    pub(crate) batch_id: String,
    pub(crate) chunk: u64,
    pub(crate) execution_id: String,
    pub(crate) first_task: u64,
    pub(crate) tasks: u64,
    pub(crate) attempts: u32,
    pub(crate) error: Error,
}

impl fmt::Display for ChunkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "chunk {} of batch {} (execution {}, ",
            self.chunk,
            Clip(&self.batch_id, SHORT_SHOWN),
            Clip(&self.execution_id, SHORT_SHOWN),
        )?;
        match self.tasks {
            0 | 1 => write!(f, "task {}", self.first_task)?,
            n => write!(
                f,
                "tasks {} to {}",
                self.first_task,
                self.first_task.saturating_add(n - 1)
            )?,
        }
        let plural = if self.attempts == 1 { "" } else { "s" };
        write!(
            f,
            ") was not created after {} attempt{plural}",
            self.attempts
        )
    }
}

impl std::error::Error for ChunkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl ChunkError {
    /// The batch id.
    pub fn batch_id(&self) -> &str {
        &self.batch_id
    }

    /// The chunk's index in the batch, from 0.
    pub fn chunk(&self) -> u64 {
        self.chunk
    }

    /// The chunk's execution id, `<batch id>-<chunk>`.
    pub fn execution_id(&self) -> &str {
        &self.execution_id
    }

    /// The index in the batch of the chunk's first task.
    pub fn first_task(&self) -> u64 {
        self.first_task
    }

    /// The number of tasks in the chunk.
    pub fn tasks(&self) -> u64 {
        self.tasks
    }

    /// How many times the chunk was sent.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The error the chunk ended with: the server's answer (a 413 when the
    /// chunk's body is larger than the server takes), the last of a run
    /// of failures that lasted longer than the batch's
    /// [`patience`](crate::Batch::patience), or
    /// [`Error::ExecutionConflict`].
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// The error the chunk ended with, by value.
    pub fn into_error(self) -> Error {
        self.error
    }
}

impl ExecutionConflict {
    /// The execution id the request carried.
    pub fn execution_id(&self) -> &str {
        &self.execution_id
    }

    /// The conflict the server answered.
    pub fn error(&self) -> &ApiError {
        &self.error
    }

    /// The execution found under that id, if any.
    pub fn found(&self) -> Option<&JobExecution> {
        self.found.as_ref()
    }

    /// Why the execution found is not taken as this request's.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}
