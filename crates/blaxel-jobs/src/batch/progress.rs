//! Aggregate counts of a batch, and the waiter for a whole batch.

use super::BatchRun;
use crate::error::Error;
use std::time::Duration;

/// Aggregate counts of a batch. While submitting, `chunks`, `tasks`,
/// `submitted`, `skipped`, `backoffs` and `retries` grow; while waiting, the task
/// counts (`queued` to `retried`) are the sums over the batch's executions
/// at the last poll, and `executions` and `ended` count them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// The batch id.
    pub batch_id: String,
    /// Chunks read from the task source so far.
    pub chunks: u64,
    /// Tasks read from the task source so far.
    pub tasks: u64,
    /// Tasks in chunks created by this submission.
    pub submitted: u64,
    /// Tasks in chunks found already created, and not sent again.
    pub skipped: u64,
    /// Times a create was refused for back-pressure and waited.
    pub backoffs: u64,
    /// Times a create failed in a way that may pass (a connection error, a
    /// timeout, 408 or a 5xx, an unreadable answer) and was sent again
    /// after a wait (see [`Batch::patience`](super::Batch::patience)).
    pub retries: u64,
    /// Executions of the batch seen at the last poll.
    pub executions: u64,
    /// Of those, the ones that have ended.
    pub ended: u64,
    /// Tasks of executions that wait to start (`queued` or `pending`).
    pub queued: u64,
    /// Tasks running now.
    pub running: u64,
    /// Tasks that succeeded.
    pub succeeded: u64,
    /// Tasks that failed (or were cancelled, or whose execution timed out).
    pub failed: u64,
    /// Task attempts that were retried by the server.
    pub retried: u64,
}

impl Progress {
    fn add(&mut self, e: &crate::types::JobExecution) {
        let n = |v: Option<i64>| v.and_then(|v| u64::try_from(v).ok()).unwrap_or(0);
        let stats = e.stats.clone().unwrap_or_default();
        let total = n(stats.total).max(n(e.spec.task_count));
        self.executions += 1;
        let status = e.status.as_ref().map(|s| s.as_str()).unwrap_or("");
        let ended = e.status.as_ref().is_some_and(|s| s.is_terminal());
        if ended {
            self.ended += 1;
        }
        if matches!(status, "queued" | "pending") {
            self.queued += total;
            return;
        }
        let (ok, failed) = (n(stats.success), n(stats.failure) + n(stats.cancelled));
        self.succeeded += ok;
        self.retried += n(stats.retried);
        if ended {
            // Tasks of an ended execution that did not succeed did not run
            // to success, whatever the counters missed (a timeout).
            self.failed += failed.max(total.saturating_sub(ok));
        } else {
            self.failed += failed;
            self.running += n(stats.running);
        }
    }
}

/// A waiter for a whole batch: polls the batch's executions with
/// ListJobExecutions (filtered to the batch, pages sized by the tasks they
/// bring) until every chunk has ended. Get one with [`BatchRun::wait_until_done`]; start it
/// with [`wait(max_wait)`](Self::wait).
#[must_use = "a waiter does nothing until it is awaited with .wait(max_wait)"]
pub struct WaitUntilDone<'a> {
    run: BatchRun<'a>,
    poll: Duration,
    on_progress: Option<super::ProgressFn<'a>>,
}

impl std::fmt::Debug for WaitUntilDone<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaitUntilDone")
            .field("run", &self.run)
            .field("poll", &self.poll)
            .finish_non_exhaustive()
    }
}

impl<'a> WaitUntilDone<'a> {
    pub(crate) fn new(run: BatchRun<'a>) -> Self {
        WaitUntilDone {
            run,
            poll: Duration::from_secs(10),
            on_progress: None,
        }
    }

    /// Time between two polls of the whole batch (default 10 s). Each poll
    /// lists the batch's executions: one request per 100 chunks when the
    /// server answers executions without their tasks, per fewer when it
    /// includes them (pages hold about 1,000 listed tasks; see
    /// [the module](super#waiting-and-triage)).
    pub fn poll_interval(mut self, every: Duration) -> Self {
        self.poll = every;
        self
    }

    /// Called after each poll with the counts.
    pub fn on_progress(mut self, f: impl FnMut(&Progress) + Send + 'a) -> Self {
        self.on_progress = Some(Box::new(f));
        self
    }

    /// Polls until every chunk of the batch has ended, and answers the
    /// counts then (whether tasks failed or not: see
    /// [`Progress::failed`]). Running out of `max_wait` is
    /// [`Error::WaitTimeout`].
    pub async fn wait(self, max_wait: Duration) -> Result<Progress, Error> {
        let WaitUntilDone {
            run,
            poll,
            mut on_progress,
        } = self;
        let once = crate::RetryConfig::disabled();
        let (run, once) = (&run, &once);
        crate::wait::poll_until(
            format!("batch {}", run.id()),
            max_wait,
            crate::wait::PollInterval::new(poll, poll),
            || Self::poll_once(run, once),
            |progress: Progress| {
                if let Some(f) = on_progress.as_mut() {
                    f(&progress);
                }
                tracing::info!(target: "blaxel_jobs::batch", batch = %run.id(),
                    executions = progress.executions, ended = progress.ended,
                    succeeded = progress.succeeded, failed = progress.failed, "batch progress");
                let expected = run.chunks().unwrap_or(progress.executions.max(1));
                if progress.executions >= expected && progress.ended == progress.executions {
                    crate::wait::Poll::Done(Ok(progress))
                } else {
                    crate::wait::Poll::Pending(Some(format!(
                        "{} of {} executions ended",
                        progress.ended, expected
                    )))
                }
            },
        )
        .await
    }

    /// One poll: the counts of the batch's executions, each page sent once.
    async fn poll_once(run: &BatchRun<'_>, once: &crate::RetryConfig) -> Result<Progress, Error> {
        let mut progress = Progress {
            batch_id: run.id().to_owned(),
            chunks: run.chunks().unwrap_or(0),
            ..Progress::default()
        };
        super::listing::each_execution(run, Some(once), |e| {
            if e.metadata
                .id
                .as_deref()
                .and_then(|id| run.chunk_of(id))
                .is_some()
            {
                progress.add(e);
            }
        })
        .await?;
        Ok(progress)
    }
}
