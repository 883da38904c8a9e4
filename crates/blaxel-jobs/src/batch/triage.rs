//! Failed tasks of a batch: where they are, why they failed (their
//! conditions, and the last lines they wrote), and their parameters read
//! again from the task source.

use super::BatchRun;
use crate::error::{Error, InvalidInput};
use crate::logs::{LastLines, TaskLines};
use crate::types::{JobExecutionTaskCondition, JobExecutionTaskStatus};
use futures_util::StreamExt;
use serde::Serialize;
use serde_json::{Map, Value};

/// One failed task of a batch.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FailedTask {
    /// Its index in the batch's task source (0-based).
    pub task_index: u64,
    /// The execution (chunk) that ran it.
    pub execution_id: String,
    /// Its chunk's index.
    pub chunk: u64,
    /// Its index in the chunk.
    pub index_in_chunk: u64,
    /// Its final status (`failed`, `cancelled`, …), when the server said.
    pub status: Option<JobExecutionTaskStatus>,
    /// The server's observations about it, newest last.
    pub conditions: Vec<JobExecutionTaskCondition>,
    /// Its parameters, once [`with_params`] attached them.
    pub params: Option<Map<String, Value>>,
    /// The last lines it wrote, once
    /// [`BatchRun::with_last_lines`] attached them.
    pub last_lines: Option<TaskLines>,
}

/// Attaches to each of `failed` (sorted by `task_index`, as
/// [`BatchRun::failed_tasks`] answers) its parameters, reading `tasks`,
/// the batch's task source, again from the start. Holds one task at a time
/// besides the failed ones. A task that does not serialize to a JSON
/// object is [`Error::InvalidInput`].
pub fn with_params<T: Serialize>(
    mut failed: Vec<FailedTask>,
    tasks: impl IntoIterator<Item = T>,
) -> Result<Vec<FailedTask>, Error> {
    failed.sort_by_key(|t| t.task_index);
    let mut wanted = failed.iter_mut().peekable();
    for (i, task) in tasks.into_iter().enumerate() {
        let Some(next) = wanted.peek() else { break };
        if next.task_index != i as u64 {
            continue;
        }
        let params = crate::json::to_object(&task, crate::json::EXECUTION_TASK_DEPTH)
            .map_err(|why| InvalidInput::at_field(format!("tasks[{i}]"), why))?;
        while let Some(t) = wanted.next_if(|t| t.task_index == i as u64) {
            t.params = Some(params.clone());
        }
    }
    Ok(failed)
}

/// Attaches to the first `limits.tasks` of `failed` (by index) the last
/// lines each wrote; see [`BatchRun::with_last_lines`].
pub(super) async fn with_last_lines(
    run: &BatchRun<'_>,
    mut failed: Vec<FailedTask>,
    limits: LastLines,
) -> Result<Vec<FailedTask>, Error> {
    limits.check()?;
    failed.sort_by_key(|t| t.task_index);
    let job = run.client().job(run.job());
    // Each execution's span is read once (its tasks are together).
    let mut span: Option<(String, _)> = None;
    for task in failed.iter_mut().take(limits.tasks) {
        let execution = job.execution(&task.execution_id);
        let window = match &span {
            Some((id, w)) if *id == task.execution_id => *w,
            _ => {
                let w = crate::logs::span(&execution).await?;
                span = Some((task.execution_id.clone(), w));
                w
            }
        };
        let label = task.index_in_chunk.to_string();
        task.last_lines = Some(crate::logs::of_task(&execution, &label, window, limits).await?);
    }
    Ok(failed)
}

pub(super) async fn failed_tasks(run: &BatchRun<'_>) -> Result<Vec<FailedTask>, Error> {
    // The ids of executions with failures first (small), then their tasks.
    let mut chunks = Vec::new();
    super::listing::each_execution(run, None, |e| {
        let Some(chunk) = e.metadata.id.as_deref().and_then(|id| run.chunk_of(id)) else {
            return;
        };
        let ended = e.status.as_ref().is_some_and(|s| s.is_terminal());
        let succeeded = e.status.as_ref().is_some_and(|s| s.as_str() == "succeeded");
        let failures = e.stats.as_ref().and_then(|s| s.failure).unwrap_or(0) > 0;
        if (ended && !succeeded) || failures {
            chunks.push(chunk);
        }
    })
    .await?;
    chunks.sort_unstable();
    chunks.dedup();
    let job = run.client().job(run.job());
    let size = run.chunk_size() as u64;
    let mut failed = Vec::new();
    for chunk in chunks {
        let execution_id = super::id::chunk(run.id(), chunk);
        let mut tasks = std::pin::pin!(
            job.execution(&execution_id)
                .tasks()
                .limit(200)
                .into_stream()
        );
        let mut index = 0u64;
        while let Some(task) = tasks.next().await {
            let task = task?;
            let ok = task
                .status
                .as_ref()
                .is_some_and(|s| s.as_str() == "succeeded");
            if !ok {
                failed.push(FailedTask {
                    task_index: chunk.saturating_mul(size).saturating_add(index),
                    execution_id: execution_id.clone(),
                    chunk,
                    index_in_chunk: index,
                    status: task.status,
                    conditions: task.conditions,
                    params: None,
                    last_lines: None,
                });
            }
            index += 1;
        }
    }
    Ok(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(i: u64) -> FailedTask {
        FailedTask {
            task_index: i,
            execution_id: String::new(),
            chunk: 0,
            index_in_chunk: i,
            status: None,
            conditions: Vec::new(),
            params: None,
            last_lines: None,
        }
    }

    #[test]
    fn params_are_read_again_from_the_source() {
        let tasks = (0..10).map(|i| serde_json::json!({"i": i}));
        let got = with_params(vec![failed(7), failed(2), failed(9)], tasks).unwrap();
        let got: Vec<_> = got
            .iter()
            .map(|t| (t.task_index, t.params.as_ref().map(|p| p["i"].clone())))
            .collect();
        assert_eq!(
            got,
            [
                (2, Some(serde_json::json!(2))),
                (7, Some(serde_json::json!(7))),
                (9, Some(serde_json::json!(9)))
            ]
        );
        let short = with_params(vec![failed(20)], [serde_json::json!({})]).unwrap();
        assert_eq!(short[0].params, None);
    }
}
