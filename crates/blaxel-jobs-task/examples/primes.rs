//! A task program: counts the primes in its range of numbers.
//!
//! Each task of an execution gets a range, `{"start": 0, "end": 1000000}`,
//! counts the primes in `start..end` with a segmented sieve, logs what it
//! did and prints one JSON line with the result on standard output. A
//! range that is empty or reversed, or larger than `max_span`, fails the
//! task (exit code 1), so the platform retries it and marks it failed.
//!
//! Locally:
//!
//! ```sh
//! cargo run -p blaxel-jobs-task --example primes -- --start 0 --end 1000000
//! ```
//!
//! As a job: create an execution whose tasks are ranges, for example
//! `[{"start": 0, "end": 5000000}, {"start": 5000000, "end": 10000000}]`;
//! each task prints `{"task":1,"start":5000000,"end":10000000,"primes":...}`.

use std::process::ExitCode;

use blaxel_jobs_task::{BoxError, Task};
use serde::Deserialize;

/// One task's parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Range {
    /// The first number of the range.
    start: u64,
    /// One past the last number of the range.
    end: u64,
    /// The largest range a task accepts (default 100 million).
    #[serde(default = "default_max_span")]
    max_span: u64,
}

fn default_max_span() -> u64 {
    100_000_000
}

/// The task program's entry point (public so that the crate's tests can
/// run it as a child process).
pub fn main() -> ExitCode {
    blaxel_jobs_task::run(|task: Task<Range>| async move {
        let range = task.params();
        let span = range
            .end
            .checked_sub(range.start)
            .filter(|span| *span > 0)
            .ok_or_else(|| {
                format!(
                    "the range {}..{} is empty: `end` must be greater than `start`",
                    range.start, range.end
                )
            })?;
        if span > range.max_span {
            return Err(BoxError::from(format!(
                "the range holds {span} numbers, more than max_span ({})",
                range.max_span
            )));
        }
        tracing::info!(
            start = range.start,
            end = range.end,
            task = task.index(),
            of = %task.count().map_or_else(|| "?".to_owned(), |n| n.to_string()),
            "counting primes"
        );
        let primes = count_primes(range.start, range.end);
        tracing::info!(primes, "done");
        println!(
            "{{\"task\":{},\"start\":{},\"end\":{},\"primes\":{primes}}}",
            task.index(),
            range.start,
            range.end
        );
        Ok::<(), BoxError>(())
    })
}

/// The number of primes in `start..end`, by a segmented sieve: the primes
/// up to `sqrt(end)` cross out their multiples in the range.
fn count_primes(start: u64, end: u64) -> u64 {
    let limit = isqrt(end.saturating_sub(1)) + 1;
    let mut small = vec![true; usize::try_from(limit + 1).expect("sqrt of a u64 fits")];
    let mut base = Vec::new();
    for p in 2..=limit {
        if small[p as usize] {
            base.push(p);
            let mut m = p * p;
            while m <= limit {
                small[m as usize] = false;
                m += p;
            }
        }
    }
    let len = usize::try_from(end - start).expect("the span was checked");
    let mut in_range = vec![true; len];
    for n in start..end.min(2) {
        in_range[(n - start) as usize] = false;
    }
    for &p in &base {
        let mut m = (p * p).max(start.div_ceil(p).saturating_mul(p));
        while m < end {
            in_range[(m - start) as usize] = false;
            let Some(next) = m.checked_add(p) else { break };
            m = next;
        }
    }
    in_range.iter().filter(|&&prime| prime).count() as u64
}

fn isqrt(n: u64) -> u64 {
    let mut r = (n as f64).sqrt() as u64;
    while r.saturating_mul(r) > n {
        r -= 1;
    }
    while (r + 1).saturating_mul(r + 1) <= n {
        r += 1;
    }
    r
}
