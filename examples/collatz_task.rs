//! A task program written with `blaxel-jobs-task`: the Collatz chains of a
//! range of numbers.
//!
//! Each task of an execution gets a range, `{"start": 1, "end": 10000}`,
//! and follows every number of `start..end` to 1 (`n / 2` when `n` is
//! even, `3n + 1` when it is odd). It prints one JSON line with the number
//! whose chain is the longest and the total number of steps:
//!
//! ```json
//! {"end":40001,"longest":{"n":35655,"steps":323},"max_steps":1000,"start":30001,"task":3,"total_steps":1068282}
//! ```
//!
//! The environment variable `COLLATZ_MAX_STEPS` (default 1000) caps a
//! chain: a number that needs more steps, an empty range or one that
//! starts at 0 fails the task (exit code 1), so the platform retries it
//! and marks it failed.
//!
//! It is the program the `task_loop` example runs through the emulator;
//! locally, without a job:
//!
//! ```sh
//! cargo run -p blaxel-jobs-examples --bin collatz_task -- --start 1 --end 1000
//! ```

use std::process::ExitCode;

use blaxel_jobs_task::{BoxError, Task};
use serde::Deserialize;

/// The variable that caps a chain's length.
const MAX_STEPS_VAR: &str = "COLLATZ_MAX_STEPS";

/// The cap when `COLLATZ_MAX_STEPS` is not set.
const DEFAULT_MAX_STEPS: u64 = 1000;

/// One task's parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Range {
    /// The first number of the range (at least 1).
    start: u64,
    /// One past the last number of the range.
    end: u64,
}

fn main() -> ExitCode {
    // The work is plain computation: `run_blocking` loads the parameters,
    // then calls an ordinary function.
    blaxel_jobs_task::run_blocking(|task: Task<Range>| {
        let range = task.params();
        if range.start == 0 || range.end <= range.start {
            return Err(BoxError::from(format!(
                "the range {}..{} is not valid: it must start at 1 or more and not be empty",
                range.start, range.end
            )));
        }
        let max_steps = max_steps()?;
        tracing::info!(
            start = range.start,
            end = range.end,
            max_steps,
            "following chains"
        );
        let mut longest = (range.start, 0);
        let mut total_steps: u64 = 0;
        for n in range.start..range.end {
            let steps = chain_length(n, max_steps)?;
            total_steps = total_steps.saturating_add(steps);
            if steps > longest.1 {
                longest = (n, steps);
            }
        }
        tracing::info!(longest = longest.0, steps = longest.1, total_steps, "done");
        println!(
            "{}",
            serde_json::json!({
                "task": task.index(),
                "start": range.start,
                "end": range.end,
                "longest": {"n": longest.0, "steps": longest.1},
                "total_steps": total_steps,
                "max_steps": max_steps,
            })
        );
        Ok::<(), BoxError>(())
    })
}

/// `COLLATZ_MAX_STEPS`, or the default when it is unset.
fn max_steps() -> Result<u64, BoxError> {
    match std::env::var(MAX_STEPS_VAR) {
        Ok(value) => value.trim().parse().map_err(|e| {
            BoxError::from(format!(
                "{MAX_STEPS_VAR}={value:?} is not a number of steps: {e}"
            ))
        }),
        Err(std::env::VarError::NotPresent) => Ok(DEFAULT_MAX_STEPS),
        Err(e) => Err(BoxError::from(format!("{MAX_STEPS_VAR}: {e}"))),
    }
}

/// The number of steps from `n` (at least 1) to 1; an error when it takes
/// more than `max_steps` or a step leaves `u64`.
fn chain_length(n: u64, max_steps: u64) -> Result<u64, BoxError> {
    let mut value = n;
    let mut steps = 0;
    while value != 1 {
        if steps == max_steps {
            return Err(format!("{n} needs more than {max_steps} steps to reach 1").into());
        }
        value = if value.is_multiple_of(2) {
            value / 2
        } else {
            value
                .checked_mul(3)
                .and_then(|v| v.checked_add(1))
                .ok_or_else(|| format!("the chain of {n} goes past {}", u64::MAX))?
        };
        steps += 1;
    }
    Ok(steps)
}
