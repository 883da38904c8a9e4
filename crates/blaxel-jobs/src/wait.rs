//! Waiters: poll until an execution ends or a job is deployed.
//!
//! Every waiter is a `wait_until_…()` method answering a builder; its
//! `wait(max_wait)` polls and gives up after `max_wait`, as aws-sdk-rust's
//! waiters do:
//!
//! ```no_run
//! # async fn demo(client: blaxel_jobs::Client) -> Result<(), blaxel_jobs::Error> {
//! use std::time::Duration;
//! let job = client.job("nightly-report");
//! job.wait_until_deployed().wait(Duration::from_secs(15 * 60)).await?;
//! let done = job
//!     .execution("exec-1")
//!     .wait_until_succeeded()
//!     .wait(Duration::from_secs(30 * 60))
//!     .await?;
//! # let _ = done; Ok(()) }
//! ```
//!
//! A waiter polls with backoff (1 s, growing by half each time, up to 10 s
//! by default) and always gives up after its maximum duration with
//! [`Error::WaitTimeout`], which carries the elapsed time and the number of
//! polls. A poll in flight at the deadline gets a grace of 5 % of the
//! maximum duration (at least 50 ms) to answer. Each poll emits a `tracing`
//! event (target `blaxel_jobs::wait`),
//! [`WaitUntilSucceeded::on_progress`] hands every execution read to a
//! callback, and [`WaitUntilSucceeded::on_log_line`] hands it every log
//! line the execution writes meanwhile (see [`crate::logs`]).
//!
//! Execution outcomes are typed: `succeeded` returns the execution;
//! `failed`, `cancelled` and `timeout` return [`Error::ExecutionEnded`]
//! (Blaxel's own SDK waiters forget `timeout` and spin until their
//! deadline). Other statuses, unknown ones included, keep the waiter polling.
//! A deployment waiter stops on every final status the document lists
//! (`x-blaxel-final`, [`DeploymentStatus::is_terminal`]).
//!
//! Each poll is one request, sent with the client's retries off, so that
//! retries never nest: this loop is the only one that tries again. After
//! an error that may pass (one [`Error::is_retryable`] accepts: a transport
//! failure, a 5xx, back-pressure, …), the error is logged and the next poll
//! comes on schedule, and at least as late as the server's `Retry-After`;
//! when that would be past the deadline, the wait ends with the server's
//! answer. Any other error ends the wait. A batch's waiter
//! ([`crate::batch::WaitUntilDone`]) polls through the same loop.

use crate::Client;
use crate::RetryConfig;
use crate::error::{DeploymentFailed, Error, ExecutionEnded, WaitTimeout};
use crate::retry::{Backoff, Verdict, verdict};
use blaxel_jobs_client::open_enum::{DeploymentStatus, JobExecutionStatus};
use blaxel_jobs_client::operations::RetrySafety;
use blaxel_jobs_client::types;
use std::future::Future;
use std::time::Duration;

/// How a waiter spaces its polls.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct PollInterval {
    /// The first delay.
    pub(crate) initial: Duration,
    /// The largest delay.
    pub(crate) max: Duration,
    /// How much each delay grows (1.5 by default).
    pub(crate) factor: f64,
}

impl Default for PollInterval {
    fn default() -> Self {
        PollInterval {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(10),
            factor: 1.5,
        }
    }
}

impl PollInterval {
    /// Polls from `initial`, growing by half each time, up to `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        PollInterval {
            initial,
            max: max.max(initial),
            factor: 1.5,
        }
    }

    /// The same settings with another growth factor (1.5 by default). Any
    /// value is taken: below 1 (or NaN) counts as 1.
    pub fn with_factor(mut self, factor: f64) -> Self {
        self.factor = factor;
        self
    }

    /// The first delay.
    pub fn initial(&self) -> Duration {
        self.initial
    }

    /// The largest delay.
    pub fn max(&self) -> Duration {
        self.max
    }

    /// How much each delay grows.
    pub fn factor(&self) -> f64 {
        self.factor
    }

    /// The SDK's backoff with these settings: the `n`-th delay is
    /// `initial × factor^n`, at most `max`.
    pub(crate) fn backoff(&self) -> Backoff {
        Backoff {
            initial: self.initial,
            max: self.max,
            factor: self.factor,
        }
    }
}

/// The `poll_interval` setting of a waiter.
macro_rules! waiter_settings {
    () => {
        /// How to space polls (default 1 s growing to 10 s).
        pub fn poll_interval(mut self, interval: PollInterval) -> Self {
            self.interval = interval;
            self
        }
    };
}

/// What one poll found: the end of the wait, or a status to wait on.
pub(crate) enum Poll<T> {
    Done(Result<T, Error>),
    Pending(Option<String>),
}

/// Polls `fetch` until `classify` says it is done or `max_wait` passes: the
/// one polling loop under every waiter (an execution's, a deployment's, a
/// batch's).
///
/// Polls are spaced by `interval` (the SDK's [`Backoff`], without jitter).
/// A poll whose request failed is judged by the SDK's one classifier
/// ([`crate::retry`]): one that may pass (a transport failure, a 5xx,
/// back-pressure, …) is logged and the next poll comes on schedule, at
/// least as late as the server's `Retry-After` (and when that would be
/// past the deadline, the wait ends with the server's answer); any other
/// error ends the wait. The waiters send their polls with the transport's
/// retries off, so that this loop is the only one that tries again.
pub(crate) async fn poll_until<T, R, F, Fut>(
    what: String,
    max_wait: Duration,
    interval: PollInterval,
    mut fetch: F,
    mut classify: impl FnMut(R) -> Poll<T>,
) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<R, Error>>,
{
    // On tokio's clock, like the sleeps and timeouts below, so that a
    // paused clock (in tests) drives the whole wait.
    let started = tokio::time::Instant::now();
    let backoff = interval.backoff();
    let mut polls = 0u32;
    let mut last_status = None;
    let timed_out = |polls, last_status| {
        Error::WaitTimeout(WaitTimeout {
            what: what.clone(),
            elapsed: started.elapsed(),
            polls,
            last_status,
        })
    };
    loop {
        let delay = backoff.ceiling(polls);
        polls = polls.saturating_add(1);
        // A poll in flight is bounded by the deadline too, give or take a
        // small grace so that the poll made at the deadline can answer.
        let grace = (max_wait / 20).max(Duration::from_millis(50));
        let budget = max_wait
            .saturating_sub(started.elapsed())
            .saturating_add(grace);
        let mut wait_at_least = Duration::ZERO;
        match tokio::time::timeout(budget, fetch()).await {
            Err(_) => return Err(timed_out(polls, last_status)),
            Ok(Ok(found)) => match classify(found) {
                Poll::Done(result) => return result,
                Poll::Pending(status) => last_status = status.or(last_status),
            },
            Ok(Err(e)) => match verdict(&e, RetrySafety::Idempotent) {
                Verdict::Final => return Err(e),
                Verdict::Transient { retry_after } | Verdict::BackPressure { retry_after } => {
                    // The server may ask for a pause longer than the poll
                    // interval: honour it, or, when it goes past the
                    // deadline, stop now with the server's answer.
                    wait_at_least = retry_after.unwrap_or_default();
                    if wait_at_least > max_wait.saturating_sub(started.elapsed()) {
                        return Err(e);
                    }
                    tracing::warn!(target: "blaxel_jobs::wait", what = %what, polls, error = %e, "poll failed; will poll again");
                }
            },
        }
        let remaining = max_wait.saturating_sub(started.elapsed());
        if remaining.is_zero() {
            return Err(timed_out(polls, last_status));
        }
        tokio::time::sleep(delay.max(wait_at_least).min(remaining)).await;
    }
}

impl<'a> crate::ExecutionRef<'a> {
    /// A waiter that polls GetJobExecution until the execution ends, and
    /// answers it only if it succeeded (see [`crate::wait`]). Start it with
    /// [`wait(max_wait)`](WaitUntilSucceeded::wait).
    pub fn wait_until_succeeded(&self) -> WaitUntilSucceeded<'a> {
        WaitUntilSucceeded::new(self.client, self.job_id.clone(), self.execution_id.clone())
    }
}

impl<'a> crate::JobRef<'a> {
    /// A waiter that polls GetJob until the job is `DEPLOYED`, and fails if
    /// its deployment fails (see [`crate::wait`]). Start it with
    /// [`wait(max_wait)`](WaitUntilDeployed::wait).
    pub fn wait_until_deployed(&self) -> WaitUntilDeployed<'a> {
        WaitUntilDeployed::new(self.client, self.job_id.clone())
    }
}

/// A progress callback of [`WaitUntilSucceeded`].
type Progress<'a> = Box<dyn FnMut(&types::JobExecution) + Send + 'a>;

/// A log-line callback of [`WaitUntilSucceeded`].
type OnLine<'a> = Box<dyn FnMut(&crate::logs::LogLine) + Send + 'a>;

/// How long, once the execution has ended, a waiter that streams its logs
/// keeps reading them (its follow's settle time and last read).
const LOG_DRAIN: Duration = Duration::from_secs(60);

/// A waiter for an execution to end: polls GetJobExecution. Set options,
/// then `.wait(max_wait).await`. See [`crate::ExecutionRef::wait_until_succeeded`].
#[must_use = "a waiter does nothing until `wait` is awaited"]
pub struct WaitUntilSucceeded<'a> {
    client: &'a Client,
    job: String,
    id: String,
    interval: PollInterval,
    on_progress: Option<Progress<'a>>,
    on_log_line: Option<OnLine<'a>>,
}

impl std::fmt::Debug for WaitUntilSucceeded<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaitUntilSucceeded")
            .field("job", &self.job)
            .field("id", &self.id)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

impl<'a> WaitUntilSucceeded<'a> {
    pub(crate) fn new(client: &'a Client, job: String, id: String) -> Self {
        WaitUntilSucceeded {
            client,
            job,
            id,
            interval: PollInterval::default(),
            on_progress: None,
            on_log_line: None,
        }
    }

    waiter_settings!();

    /// Calls `f` with the execution after every successful poll, for
    /// progress reports (status and `stats`).
    pub fn on_progress(mut self, f: impl FnMut(&types::JobExecution) + Send + 'a) -> Self {
        self.on_progress = Some(Box::new(f));
        self
    }

    /// While waiting, follows the execution's logs and calls `f` with each
    /// new line, oldest first, each once
    /// ([`ListLogs::follow`](crate::ListLogs::follow), polling as often as
    /// this waiter first does, at least every 100 ms). Once the execution
    /// has ended, `wait` returns after its last lines (for up to a minute
    /// more); a wait that ends otherwise (its maximum duration, an error)
    /// stops following at once. The logs never change the wait's result:
    /// lines that may be missing, and a logs request that fails for good,
    /// are `tracing` warnings (target `blaxel_jobs::logs`), the latter
    /// ending the following.
    pub fn on_log_line(mut self, f: impl FnMut(&crate::logs::LogLine) + Send + 'a) -> Self {
        self.on_log_line = Some(Box::new(f));
        self
    }

    /// Polls until the execution ends or `max_wait` passes (30 minutes
    /// suits most batch jobs). Returns the execution if it succeeded;
    /// [`Error::ExecutionEnded`] if it failed, was cancelled or timed out;
    /// [`Error::WaitTimeout`] if `max_wait` passed first.
    pub async fn wait(self, max_wait: Duration) -> Result<types::JobExecution, Error> {
        let WaitUntilSucceeded {
            client,
            job,
            id,
            interval,
            mut on_progress,
            on_log_line,
        } = self;
        let execution = client.job(job.clone()).execution(id.clone());
        let waited = poll_until(
            format!("execution {id} of job {job}"),
            max_wait,
            interval,
            || execution.get().retry(RetryConfig::disabled()).send(),
            |execution: types::JobExecution| {
                if let Some(f) = on_progress.as_mut() {
                    f(&execution);
                }
                let status = execution.status.clone();
                tracing::info!(
                    target: "blaxel_jobs::wait",
                    execution = %id,
                    status = status.as_ref().map(|s| s.as_str()).unwrap_or("unknown"),
                    total = execution.stats.as_ref().and_then(|s| s.total),
                    succeeded = execution.stats.as_ref().and_then(|s| s.success),
                    failed = execution.stats.as_ref().and_then(|s| s.failure),
                    running = execution.stats.as_ref().and_then(|s| s.running),
                    "polled execution"
                );
                match status {
                    Some(JobExecutionStatus::Succeeded) => Poll::Done(Ok(execution)),
                    Some(s) if s.is_terminal() => {
                        Poll::Done(Err(Error::ExecutionEnded(Box::new(ExecutionEnded {
                            execution,
                        }))))
                    }
                    other => Poll::Pending(other.map(|s| s.as_str().to_owned())),
                }
            },
        );
        match on_log_line {
            None => waited.await,
            Some(on_line) => {
                let every = interval.initial().max(Duration::from_millis(100));
                with_logs(
                    waited,
                    follow_logs(execution.logs().follow().poll_interval(every), on_line),
                )
                .await
            }
        }
    }
}

/// Gives each line of `follow` to `on_line` until it ends or fails for
/// good.
async fn follow_logs(mut follow: crate::logs::FollowLogs<'_>, mut on_line: OnLine<'_>) {
    use futures_util::StreamExt;
    while let Some(item) = follow.next().await {
        match item {
            Ok(line) => on_line(&line),
            Err(Error::LogsIncomplete(gap)) => {
                tracing::warn!(target: "blaxel_jobs::logs", %gap, "log lines may be missing");
            }
            Err(e) => {
                tracing::warn!(target: "blaxel_jobs::logs", error = %e, "stopped following the logs");
                return;
            }
        }
    }
}

/// Runs `wait` and `logs` together; once the wait ends with the
/// execution's end, lets `logs` give its last lines (for up to
/// [`LOG_DRAIN`]), else drops it.
async fn with_logs<T>(
    wait: impl Future<Output = Result<T, Error>>,
    logs: impl Future<Output = ()>,
) -> Result<T, Error> {
    use futures_util::future::{Either, select};
    let mut logs = std::pin::pin!(logs);
    let wait = std::pin::pin!(wait);
    let (result, logs_done) = match select(wait, logs.as_mut()).await {
        Either::Left((result, _)) => (result, false),
        Either::Right(((), wait)) => (wait.await, true),
    };
    let ended = matches!(result, Ok(_) | Err(Error::ExecutionEnded(_)));
    if ended && !logs_done {
        let _ = tokio::time::timeout(LOG_DRAIN, logs).await;
    }
    result
}

/// A waiter for a job's deployment: polls GetJob. Set options, then
/// `.wait(max_wait).await`. See [`crate::JobRef::wait_until_deployed`].
#[derive(Debug)]
#[must_use = "a waiter does nothing until `wait` is awaited"]
pub struct WaitUntilDeployed<'a> {
    client: &'a Client,
    job: String,
    interval: PollInterval,
}

impl<'a> WaitUntilDeployed<'a> {
    pub(crate) fn new(client: &'a Client, job: String) -> Self {
        WaitUntilDeployed {
            client,
            job,
            interval: PollInterval::default(),
        }
    }

    waiter_settings!();

    /// Polls until the job is deployed or `max_wait` passes (15 minutes
    /// suits most images). Returns the job once `DEPLOYED`; fails with
    /// [`Error::DeploymentFailed`] on any other final status (`FAILED`,
    /// `DELETING`, `TERMINATED`, `DEACTIVATED`, `ARCHIVED`: the document's
    /// `x-blaxel-final`, see [`DeploymentStatus::is_terminal`]), from which
    /// it will not deploy, and with [`Error::WaitTimeout`] if `max_wait`
    /// passed first.
    pub async fn wait(self, max_wait: Duration) -> Result<types::Job, Error> {
        let job = self.client.job(self.job.clone());
        poll_until(
            format!("deployment of job {}", self.job),
            max_wait,
            self.interval,
            || job.get().retry(RetryConfig::disabled()).send(),
            |found: types::Job| {
                let status = found.status.as_ref().map(|s| s.as_str()).unwrap_or("unknown");
                tracing::info!(target: "blaxel_jobs::wait", job = %found.metadata.name, status, "polled deployment");
                match &found.status {
                    Some(DeploymentStatus::Deployed) => Poll::Done(Ok(found)),
                    // Any other final status (the document's `x-blaxel-final`)
                    // stays until someone acts: it will not deploy.
                    Some(s) if s.is_terminal() => {
                        Poll::Done(Err(Error::DeploymentFailed(Box::new(DeploymentFailed {
                            job: found,
                        }))))
                    }
                    other => Poll::Pending(other.as_ref().map(|s| s.as_str().to_owned())),
                }
            },
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn duration() -> impl Strategy<Value = Duration> {
        prop_oneof![
            Just(Duration::MAX),
            Just(Duration::ZERO),
            (any::<u64>(), 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
            (0u64..10_000).prop_map(Duration::from_millis),
        ]
    }

    proptest! {
        /// Any poll settings a caller gives: the next delay is computed
        /// without panicking and stays within `max`.
        #[test]
        fn any_poll_interval_grows_within_its_maximum(
            initial in duration(), max in duration(), n in any::<u32>(), factor in any::<f64>(),
        ) {
            let interval = PollInterval { initial, max, factor };
            prop_assert!(interval.backoff().ceiling(n) <= max);
            let interval = PollInterval::new(initial, max);
            prop_assert!(interval.backoff().ceiling(n) <= interval.max);
        }

        /// Any `max_wait` and poll settings: a waiter whose third poll ends
        /// returns that result (on a paused clock, so that long delays pass
        /// at once).
        #[test]
        fn any_waiter_settings_wait_without_panicking(
            max_wait in duration(), initial in duration(), max in duration(), factor in any::<f64>(),
        ) {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .start_paused(true)
                .build()
                .unwrap();
            let mut polls = 0;
            let result = rt.block_on(poll_until(
                "a test".to_owned(),
                max_wait,
                PollInterval { initial, max, factor },
                || {
                    polls += 1;
                    std::future::ready(Ok::<u32, Error>(polls))
                },
                |n| if n >= 3 { Poll::Done(Ok(n)) } else { Poll::Pending(None) },
            ));
            // Either the third poll ended it, or the waiter gave up first
            // (its deadline passed on the paused clock's jumps).
            match result {
                Ok(n) => prop_assert_eq!(n, 3),
                Err(e) => prop_assert!(e.is_timeout(), "{e}"),
            }
        }
    }
}
