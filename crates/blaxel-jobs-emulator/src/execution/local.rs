//! What is recorded of tasks that run as local processes instead of
//! simulated scripts (the `runner` module, a layer up, runs the processes
//! and records here what they do).
//!
//! A job runs its tasks for real when the emulator was given a command for
//! it ([`EmulatorConfig::task_command`](crate::EmulatorConfig::task_command))
//! or, with [`EmulatorConfig::run_local_images`](crate::EmulatorConfig::run_local_images),
//! when its `spec.runtime.image` is `local:<command>`. Each task of an
//! execution of such a job is `sh -c <command>`, started with the
//! environment the platform gives a task.
//!
//! # Real time and simulated time
//!
//! Processes run in real time: the job's `timeout` is real seconds, and
//! moving the simulated clock neither speeds them up nor ends them. What
//! they do is recorded when it happens, stamped with the simulated clock's
//! time at that moment (with [`Clock::Manual`](crate::Clock::Manual) those
//! stamps only move when the clock is advanced). Capacity is shared: a
//! local execution takes a place from admission to its end, like a
//! simulated one, and waits in the same queue.

use super::task::{TaskEnd, TaskState};
use crate::clock::Micros;
use blaxel_jobs_client::open_enum::JobExecutionTaskStatus as TS;
use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The most lines kept per task; older lines are dropped first.
pub(crate) const MAX_LINES: usize = 1000;

/// The longest line kept, in bytes; the rest of a longer line is dropped.
pub(crate) const MAX_LINE_BYTES: usize = 8 * 1024;

/// The most text kept per task, in bytes; older lines are dropped first.
pub(crate) const MAX_OUTPUT_BYTES: usize = 256 * 1024;

/// Which stream of a task's process a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputStream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// One line written by a task's process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLine {
    /// The stream it was written to.
    pub stream: OutputStream,
    /// The attempt that wrote it, from 1.
    pub attempt: u64,
    /// The line, without its end of line; invalid UTF-8 is replaced, and a
    /// line longer than 8 KiB is cut there.
    pub text: String,
}

/// What a task's process wrote, both streams in the order the lines were
/// read, bounded: the last 1,000 lines, and at most 256 KiB of text, are
/// kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskOutput {
    /// The lines kept, oldest first.
    pub lines: Vec<OutputLine>,
    /// How many older lines were dropped to keep the bound.
    pub dropped: u64,
}

impl TaskOutput {
    /// The text of the lines written to `stream`, joined with newlines.
    pub fn text(&self, stream: OutputStream) -> String {
        self.lines
            .iter()
            .filter(|l| l.stream == stream)
            .map(|l| l.text.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// One task of a local execution, as recorded.
#[derive(Debug, Clone)]
pub(crate) struct LocalTask {
    pub(crate) status: TS,
    pub(crate) started_at: Option<Micros>,
    pub(crate) completed_at: Option<Micros>,
    pub(crate) updated_at: Micros,
    /// Attempts started.
    pub(crate) attempts: u64,
    pub(crate) end: Option<TaskEnd>,
    /// The lines kept, oldest first, each with when it was read.
    output: VecDeque<(Micros, OutputLine)>,
    /// Bytes of text in `output`.
    output_bytes: usize,
    dropped: u64,
}

impl LocalTask {
    /// Adds a line of output read at `at`, dropping the oldest lines
    /// beyond the bounds.
    pub(crate) fn push_line(&mut self, line: OutputLine, at: Micros) {
        self.output_bytes = self.output_bytes.saturating_add(line.text.len());
        self.output.push_back((at, line));
        while self.output.len() > MAX_LINES || self.output_bytes > MAX_OUTPUT_BYTES {
            let Some((_, old)) = self.output.pop_front() else {
                break;
            };
            self.output_bytes = self.output_bytes.saturating_sub(old.text.len());
            self.dropped = self.dropped.saturating_add(1);
        }
    }
}

/// What the processes of a local execution are started with.
pub(crate) struct LaunchSpec {
    /// Run with `sh -c`.
    pub(crate) command: String,
    /// The job's variables, then the execution's overrides (later ones win).
    pub(crate) env: Vec<(String, String)>,
}

impl fmt::Debug for LaunchSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values may be secret: names only.
        f.debug_struct("LaunchSpec")
            .field("command", &self.command)
            .field(
                "env",
                &self.env.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// The local side of an execution whose tasks run as processes.
#[derive(Debug, Clone)]
pub(crate) struct LocalRun {
    pub(crate) tasks: Vec<LocalTask>,
    /// Taken when the processes are launched (so that environment values
    /// are not kept longer than needed).
    pub(crate) launch: Option<Arc<LaunchSpec>>,
    /// Whether the runner was started.
    pub(crate) launched: bool,
    /// Tells the runner the execution was cancelled.
    pub(crate) cancel: Arc<watch::Sender<bool>>,
}

impl LocalRun {
    /// A run of `n` tasks, all pending, created at `now`.
    pub(crate) fn new(n: usize, spec: LaunchSpec, now: Micros) -> LocalRun {
        let task = LocalTask {
            status: TS::Pending,
            started_at: None,
            completed_at: None,
            updated_at: now,
            attempts: 0,
            end: None,
            output: VecDeque::new(),
            output_bytes: 0,
            dropped: 0,
        };
        LocalRun {
            tasks: vec![task; n],
            launch: Some(Arc::new(spec)),
            launched: false,
            cancel: Arc::new(watch::channel(false).0),
        }
    }

    /// The tasks as rendered.
    pub(crate) fn states(&self) -> Vec<TaskState> {
        self.tasks
            .iter()
            .map(|t| TaskState {
                status: t.status.clone(),
                started_at: t.started_at,
                completed_at: t.completed_at,
                updated_at: Some(t.updated_at),
                retries: t.attempts.saturating_sub(1),
                end: t.end,
            })
            .collect()
    }

    /// Marks tasks that never started as cancelled at `t` and tells the
    /// runner to kill the processes.
    pub(crate) fn cancel(&mut self, t: Micros) {
        for task in &mut self.tasks {
            if task.status == TS::Pending {
                task.status = TS::Cancelled;
                task.end = Some(TaskEnd::NotStarted);
                task.completed_at = Some(t);
                task.updated_at = t;
            }
        }
        let _ = self.cancel.send(true);
    }

    /// The output of task `index`.
    pub(crate) fn output(&self, index: usize) -> Option<TaskOutput> {
        self.tasks.get(index).map(|t| TaskOutput {
            lines: t.output.iter().map(|(_, l)| l.clone()).collect(),
            dropped: t.dropped,
        })
    }

    /// The lines kept of task `index`, oldest first, each with when it was
    /// read.
    pub(crate) fn stamped_lines(
        &self,
        index: usize,
    ) -> impl Iterator<Item = (Micros, &OutputLine)> + '_ {
        self.tasks
            .get(index)
            .into_iter()
            .flat_map(|t| t.output.iter().map(|(at, l)| (*at, l)))
    }

    /// The status the execution ends with, once every task is over.
    pub(crate) fn outcome(&self) -> LocalOutcome {
        if self.tasks.iter().any(|t| t.end == Some(TaskEnd::TimedOut)) {
            LocalOutcome::TimedOut
        } else if self
            .tasks
            .iter()
            .any(|t| matches!(t.status, TS::Failed | TS::Cancelled))
        {
            // Cancelled tasks in an execution that was not: the emulator
            // stopped and killed them.
            LocalOutcome::Failed
        } else {
            LocalOutcome::Succeeded
        }
    }
}

/// How a local execution that was not cancelled ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LocalOutcome {
    Succeeded,
    Failed,
    TimedOut,
}

/// Everything the runner of one execution needs, taken from the store when
/// the execution is admitted.
#[derive(Debug)]
pub(crate) struct Launch {
    pub(crate) workspace: String,
    pub(crate) seq: u64,
    pub(crate) execution_id: String,
    pub(crate) tasks: usize,
    pub(crate) parallelism: usize,
    pub(crate) timeout: Option<Duration>,
    pub(crate) max_retries: u64,
    /// `{"tasks": [...]}`, served at the execution data URL.
    pub(crate) data: String,
    pub(crate) spec: Arc<LaunchSpec>,
    pub(crate) cancel: watch::Receiver<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_keeps_the_last_lines() {
        let spec = LaunchSpec {
            command: "true".into(),
            env: vec![("TOKEN".into(), "s3cret".into())],
        };
        assert!(!format!("{spec:?}").contains("s3cret"));
        let mut run = LocalRun::new(1, spec, 0);
        for i in 0..(MAX_LINES + 5) {
            run.tasks[0].push_line(
                OutputLine {
                    stream: OutputStream::Stdout,
                    attempt: 1,
                    text: i.to_string(),
                },
                0,
            );
        }
        let out = run.output(0).unwrap();
        assert_eq!(out.lines.len(), MAX_LINES);
        assert_eq!(out.dropped, 5);
        assert_eq!(out.lines[0].text, "5");
        assert!(run.output(1).is_none());
        // Long lines: the byte bound applies first.
        for _ in 0..40 {
            run.tasks[0].push_line(
                OutputLine {
                    stream: OutputStream::Stderr,
                    attempt: 2,
                    text: "x".repeat(MAX_LINE_BYTES),
                },
                0,
            );
        }
        let out = run.output(0).unwrap();
        assert_eq!(out.lines.len(), MAX_OUTPUT_BYTES / MAX_LINE_BYTES);
        assert!(out.lines.iter().all(|l| l.attempt == 2));
        assert_eq!(out.dropped, 5 + MAX_LINES as u64 + 8);
    }
}
