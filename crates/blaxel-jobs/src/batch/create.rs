//! Creating one chunk: its attempts, paced by back-pressure, patient with
//! failures that may pass, never a duplicate.
//!
//! Each create is sent once by the transport (its retries turned off) and
//! judged here by the one classification of [`crate::retry`], so retries
//! do not nest: a 429 is waited out here, not retried three times below
//! first. Every attempt carries the same `executionId` and message `id`,
//! so a create that reached the server before its answer was lost cannot
//! start a second execution: the server answers it with the existing one,
//! or 409, which [`crate::reconcile`] judges.

use super::id;
use super::{Event, Outcome};
use crate::Client;
use crate::call::Call;
use crate::error::{ChunkError, Error};
use crate::retry::{Backoff, RetryConfig, Verdict};
use blaxel_jobs_client::operations::RetrySafety;
use serde_json::{Map, Value};
use std::time::Duration;
use tokio::time::Instant;

/// What every create of a batch shares.
pub(super) struct ChunkContext<'c> {
    pub(super) client: &'c Client,
    pub(super) job: &'c str,
    pub(super) batch_id: &'c str,
    pub(super) allow_queue: Option<bool>,
    pub(super) max_backoff: Duration,
    pub(super) patience: Duration,
    /// Told of each back-off and retry, for progress.
    pub(super) events: tokio::sync::mpsc::UnboundedSender<Event>,
}

impl ChunkContext<'_> {
    /// Creates chunk `index`, whose first task is task `first_task` of the
    /// batch. A failure is [`Error::Chunk`], naming the chunk.
    pub(super) async fn create(
        &self,
        index: u64,
        first_task: u64,
        tasks: Vec<Map<String, Value>>,
    ) -> Result<Outcome, Error> {
        let execution_id = id::chunk(self.batch_id, index);
        let n = tasks.len() as u64;
        let request = crate::types::CreateJobExecutionRequest {
            execution_id: Some(execution_id.clone()),
            tasks,
            allow_queue: self.allow_queue,
            ..Default::default()
        };
        // Checked, and the message id filled in, once: every attempt sends
        // the same request.
        let request = self
            .client
            .job(self.job)
            .executions()
            .create()
            .request(request)
            .build()?;
        let mut attempts = 0u32;
        self.attempts(index, &request, &mut attempts)
            .await
            .map_err(|error| {
                Error::Chunk(Box::new(ChunkError {
                    batch_id: self.batch_id.to_owned(),
                    chunk: index,
                    execution_id,
                    first_task,
                    tasks: n,
                    attempts,
                    error,
                }))
            })
    }

    async fn attempts(
        &self,
        index: u64,
        request: &crate::types::CreateJobExecutionRequest,
        attempts: &mut u32,
    ) -> Result<Outcome, Error> {
        // One attempt per call (`RetryConfig::disabled`): this loop does
        // the retrying, and judges a 409 itself. So the request goes through
        // the generated builder and the transport directly, copied once into
        // the builder, rather than through `CreateJobExecution::send`, which
        // keeps a copy of its own for a 409 after its own retries.
        let mut pacing = Pacing::default();
        loop {
            *attempts = attempts.saturating_add(1);
            let op = self
                .client
                .raw()
                .create_job_execution()
                .job_id(self.job)
                .body(request.clone());
            let mut call = Call::new(self.client, op);
            call.settings.retry = Some(Box::new(RetryConfig::disabled()));
            match call.send().await {
                Ok(_) => return Ok(Outcome::Created),
                Err(Error::Api(e)) if e.status.as_u16() == 409 => {
                    // Created before (by an earlier attempt or submission),
                    // if what is found is shown to be this chunk.
                    crate::reconcile::reconcile(self.client, self.job, request, *e).await?;
                    return Ok(Outcome::Skipped);
                }
                Err(error) => self.wait(index, error, &mut pacing).await?,
            }
        }
    }

    /// Waits before the next attempt after `error`, or answers it when no
    /// attempt can help (or patience ran out).
    async fn wait(&self, index: u64, error: Error, pacing: &mut Pacing) -> Result<(), Error> {
        let verdict = crate::retry::verdict(&error, RetrySafety::IdempotentWithClientToken);
        let Some((delay, event)) = pacing.next(verdict, self.max_backoff, self.patience) else {
            if matches!(verdict, Verdict::Transient { .. }) {
                tracing::warn!(target: "blaxel_jobs::batch", batch = %self.batch_id, chunk = index,
                    patience_ms = millis(self.patience), error = %crate::error::chain(&error),
                    "failures that may pass lasted longer than the batch's patience; giving up");
            }
            return Err(error);
        };
        // The receiver lives as long as the submission.
        let _ = self.events.send(event);
        let status = error.status().map(|s| s.as_u16());
        match event {
            Event::BackedOff => tracing::info!(target: "blaxel_jobs::batch",
                batch = %self.batch_id, chunk = index, status, delay_ms = millis(delay),
                "workspace at capacity; backing off"),
            Event::Retried => tracing::warn!(target: "blaxel_jobs::batch",
                batch = %self.batch_id, chunk = index, status, delay_ms = millis(delay),
                error = %crate::error::chain(&error), "create failed; trying again"),
        }
        tokio::time::sleep(delay).await;
        Ok(())
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The waits of one chunk: back-pressure waited out for as long as it
/// lasts, failures that may pass for as long as the batch's patience.
#[derive(Debug, Default)]
struct Pacing {
    /// Back-offs so far (the exponent of the next).
    backoffs: u32,
    /// When the current run of failures that may pass began, and how many
    /// retries it has had.
    failing: Option<(Instant, u32)>,
}

impl Pacing {
    /// The wait before the next attempt after an answer judged `verdict`,
    /// and what to report; `None` when there is to be no next attempt.
    fn next(
        &mut self,
        verdict: Verdict,
        max_backoff: Duration,
        patience: Duration,
    ) -> Option<(Duration, Event)> {
        match verdict {
            Verdict::BackPressure { retry_after } => {
                // The server answered: a run of failures is over.
                self.failing = None;
                let delay = backoff(self.backoffs, retry_after, max_backoff);
                self.backoffs = self.backoffs.saturating_add(1);
                Some((delay, Event::BackedOff))
            }
            Verdict::Transient { retry_after } => {
                let now = Instant::now();
                let (since, retries) = self.failing.get_or_insert((now, 0));
                let delay = backoff(*retries, retry_after, max_backoff);
                let waited = now.saturating_duration_since(*since);
                if waited.saturating_add(delay) > patience {
                    return None;
                }
                *retries = retries.saturating_add(1);
                Some((delay, Event::Retried))
            }
            Verdict::Final => None,
        }
    }
}

/// The wait before attempt `n + 1`: the SDK's backoff from 1 s, doubling,
/// at most `max`, and at least the server's `Retry-After` (also capped at
/// `max`).
pub(super) fn backoff(n: u32, retry_after: Option<Duration>, max: Duration) -> Duration {
    let backoff = Backoff {
        initial: Duration::from_secs(1),
        max,
        factor: 2.0,
    };
    backoff
        .ceiling(n)
        .max(retry_after.unwrap_or_default())
        .min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_honours_retry_after_and_is_capped() {
        let max = Duration::from_secs(30);
        assert_eq!(backoff(0, None, max), Duration::from_secs(1));
        assert_eq!(backoff(3, None, max), Duration::from_secs(8));
        assert_eq!(backoff(60, None, max), max);
        assert_eq!(
            backoff(0, Some(Duration::from_secs(5)), max),
            Duration::from_secs(5)
        );
        assert_eq!(backoff(0, Some(Duration::MAX), max), max);
    }

    #[tokio::test(start_paused = true)]
    async fn failures_that_may_pass_are_retried_within_patience_and_back_pressure_forever() {
        let (max, patience) = (Duration::from_secs(30), Duration::from_secs(60));
        let transient = Verdict::Transient { retry_after: None };
        let pressure = Verdict::BackPressure { retry_after: None };
        let mut p = Pacing::default();
        let mut waited = Duration::ZERO;
        let mut delays = Vec::new();
        while let Some((delay, event)) = p.next(transient, max, patience) {
            assert_eq!(event, Event::Retried);
            delays.push(delay.as_secs());
            waited += delay;
            tokio::time::advance(delay).await;
        }
        // 1 + 2 + 4 + 8 + 16 = 31 s; 30 more would pass 60 s.
        assert_eq!(delays, [1, 2, 4, 8, 16]);
        assert_eq!(waited, Duration::from_secs(31));
        // An answer of back-pressure ends the run of failures: patience
        // starts again after it, and back-pressure itself never runs out.
        for _ in 0..100 {
            assert!(matches!(
                p.next(pressure, max, patience),
                Some((_, Event::BackedOff))
            ));
        }
        assert_eq!(
            p.next(transient, max, patience),
            Some((Duration::from_secs(1), Event::Retried))
        );
        assert_eq!(p.next(Verdict::Final, max, patience), None);
        // No patience: the first failure ends it.
        assert_eq!(Pacing::default().next(transient, max, Duration::ZERO), None);
    }
}
