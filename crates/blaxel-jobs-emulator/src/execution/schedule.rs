//! The schedule of a simulated execution's tasks: which attempts each task
//! makes, when, and how it ends, all derived from the instant the tasks
//! started, their scripts and the execution's configuration (and the
//! instant of a cancellation).

use super::script::{ExecConfig, TaskScript};
use crate::clock::Micros;
use blaxel_jobs_client::open_enum::JobExecutionTaskStatus as TS;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// How a started task ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Succeeded,
    Failed,
    TimedOut,
}

/// The attempts of a started task, planned when it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TaskRun {
    pub(crate) start: Micros,
    /// Length of each attempt.
    pub(crate) len: Micros,
    /// Number of attempts (at least 1).
    pub(crate) attempts: u64,
    pub(crate) outcome: Outcome,
}

impl TaskRun {
    pub(crate) fn plan(start: Micros, script: TaskScript, config: &ExecConfig) -> TaskRun {
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

    pub(crate) fn end(&self) -> Micros {
        self.start
            .saturating_add(self.len.saturating_mul(self.attempts))
    }

    /// The index of the attempt in progress at `t` (the last one once over).
    pub(crate) fn attempt_at(&self, t: Micros) -> u64 {
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
pub(crate) struct TaskView {
    pub(crate) run: Option<TaskRun>,
    /// Whether a cancellation cut its retries short.
    pub(crate) cancelled_while_running: bool,
}

impl TaskView {
    /// The run, if it had started by `now` (a schedule also holds the runs
    /// of tasks that will start later).
    pub(crate) fn started(&self, now: Micros) -> Option<TaskRun> {
        self.run.filter(|r| r.start <= now)
    }

    /// The status at `now`, given the execution's cancellation instant.
    pub(crate) fn status(&self, now: Micros, cancel_at: Option<Micros>) -> TS {
        match self.started(now) {
            None if self.run.is_none() && cancel_at.is_some() => TS::Cancelled,
            None => TS::Pending,
            Some(run) if run.end() > now => TS::Running,
            Some(run) if run.outcome == Outcome::Succeeded => TS::Succeeded,
            Some(_) => TS::Failed,
        }
    }

    /// Attempts retried by `now`.
    pub(crate) fn retries_at(&self, now: Micros) -> u64 {
        match self.started(now) {
            None => 0,
            Some(run) if run.end() <= now => run.attempts - 1,
            Some(run) => run.attempt_at(now),
        }
    }
}

/// The runs of the tasks, in submission order, as planned when the tasks
/// started at `origin` (cancellation aside): tasks start in submission
/// order, each as soon as fewer than `parallelism` run.
pub(crate) fn plan<'a>(
    scripts: &'a [TaskScript],
    config: &'a ExecConfig,
    origin: Micros,
) -> impl Iterator<Item = TaskRun> + 'a {
    let n = scripts.len();
    let slots = config.parallelism.max(1).min(n);
    // When each busy slot frees up; only needed when tasks wait.
    let mut free: BinaryHeap<Reverse<Micros>> = BinaryHeap::new();
    if slots < n {
        free.reserve(slots);
    }
    scripts.iter().enumerate().map(move |(i, script)| {
        let start = if i < slots {
            origin
        } else {
            free.pop().map_or(origin, |Reverse(f)| f)
        };
        let run = TaskRun::plan(start, *script, config);
        if slots < n {
            free.push(Reverse(run.end()));
        }
        run
    })
}

/// Every task, from the schedule of tasks that started at `started_at`
/// (none yet: `None`); a cancellation at `cancel_at` cancels the tasks that
/// had not started and cuts the retries of running ones.
pub(crate) fn views(
    scripts: &[TaskScript],
    config: &ExecConfig,
    started_at: Option<Micros>,
    cancel_at: Option<Micros>,
) -> Vec<TaskView> {
    let Some(origin) = started_at else {
        return vec![
            TaskView {
                run: None,
                cancelled_while_running: false,
            };
            scripts.len()
        ];
    };
    plan(scripts, config, origin)
        .map(|mut run| {
            let mut view = TaskView {
                run: Some(run),
                cancelled_while_running: false,
            };
            if let Some(c) = cancel_at {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SECOND;
    use serde_json::{Value, json};

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
}
