//! Fan-out: run a job over a stream of work items, grouped into executions,
//! resumable without duplicates, paced by the workspace's capacity, with
//! progress, one polling budget for the whole batch, and triage of failed
//! tasks.
//!
//! Start with [`JobRef::batch`](crate::JobRef::batch):
//!
//! ```no_run
//! # async fn demo(client: blaxel_jobs::Client) -> Result<(), blaxel_jobs::Error> {
//! use std::time::Duration;
//! let files = (0..1_000_000u64).map(|i| serde_json::json!({"file": format!("s3://in/{i}")}));
//! let submitted = client
//!     .job("convert")
//!     .batch(files)
//!     .id("convert-2026-12-01") // give it to resume; a fresh one by default
//!     .on_progress(|p| eprint!("\r{} tasks submitted", p.submitted))
//!     .submit()
//!     .await?;
//! let run = submitted.run();
//! let done = run.wait_until_done().wait(Duration::from_secs(24 * 3600)).await?;
//! if done.failed > 0 {
//!     for task in run.failed_tasks().await? {
//!         println!("task {} failed: {:?}", task.task_index, task.conditions.last());
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! # Chunks and their ids
//!
//! Tasks are read lazily, [`chunk_size`](Batch::chunk_size) at a time
//! (default [`DEFAULT_CHUNK_SIZE`]), and each chunk becomes one execution
//! whose `executionId` is `<batch id>-<chunk index>`. At most
//! [`concurrency`](Batch::concurrency) chunks (default
//! [`DEFAULT_CONCURRENCY`]) are being created at once, so the client holds
//! at most that many chunks in memory whatever the number of tasks.
//!
//! # Resuming
//!
//! Submitting a batch again with the same id, the same chunk size and the
//! same tasks in the same order starts only the chunks that do not exist
//! yet. Before reading any task, the batch lists the job's executions whose
//! id contains the batch id and notes which chunks exist (one bit per
//! chunk); those chunks' tasks are read and skipped, never sent. A chunk
//! created meanwhile by another submitter is still created once only: the
//! server answers a repeated `executionId` with the existing execution, and
//! a 409 for it counts as skipped once the execution read back is shown to
//! be this job's (otherwise it is [`Error::ExecutionConflict`]). The server
//! forgets finished executions after its retention period; a chunk resumed
//! after that runs again.
//!
//! # Back-pressure
//!
//! A create answered 429 (a workspace at capacity with `allowQueue: false`,
//! or rate limiting) or with Blaxel's "maximum parallel executions" message
//! is retried with the same id after an exponential backoff (from 1 s,
//! doubling, at most [`max_backoff`](Batch::max_backoff), honouring
//! `Retry-After`), for as long as it takes: back-pressure alone never fails
//! a batch. A 400 saying the execution can never fit does.
//!
//! # Waiting and triage
//!
//! [`BatchRun::wait_until_done`] lists the job's executions filtered to the
//! batch (`q` set to the batch id, up to 100 per page) on each poll, rather
//! than reading each execution, and sums their task statistics into a
//! [`Progress`]. Only executions whose id is one of the batch's chunk ids
//! are counted, so a server that filters loosely (or not at all) costs more
//! pages, never wrong counts. Task parameters are
//! not returned by the API once an execution is created, so
//! [`BatchRun::failed_tasks`] gives where each failed task is (its index in
//! the batch) and why, and [`with_params`] reads the same task source again
//! to attach parameters; [`BatchRun::retry`] submits those tasks as retry
//! round `n`, a batch of its own with id `<batch id>-r<n>`.
//!
//! # Observability
//!
//! Events have the target `blaxel_jobs::batch`: one per chunk created or
//! skipped (debug), one per back-off (info), and one per finished
//! submission (info).

mod id;
mod progress;
mod triage;

pub use id::MAX_BATCH_ID_LEN;
pub use progress::{Progress, WaitUntilDone};
pub use triage::{FailedTask, with_params};

use crate::Client;
use crate::error::{ApiError, Error, InvalidInput};
use futures_util::StreamExt;
use serde::Serialize;
use serde_json::{Map, Value};
use std::task::Poll;
use std::time::Duration;

/// Default tasks per execution: 500. Large enough that a million tasks are
/// 2,000 executions (20 list pages per poll while waiting, and 2,000
/// creates), small enough that a chunk of tasks of up to ~2 KB of
/// parameters each stays within a 1 MiB request body, and that a failed
/// execution or a retry round concerns a few hundred tasks.
pub const DEFAULT_CHUNK_SIZE: usize = 500;

/// Default number of creates in flight at once: 4.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// Default longest wait between two attempts at a chunk refused for
/// back-pressure: 30 s.
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Executions per list page: 100 (the most the API gives), fewer for large
/// chunks, so that a page holds at most about 50,000 tasks where a server
/// answers executions with their tasks (the emulator does; Blaxel stores
/// large task lists apart), and stays far below the SDK's response size
/// limit.
fn page_size(chunk_size: usize) -> u32 {
    u32::try_from(50_000 / chunk_size.max(1))
        .unwrap_or(100)
        .clamp(1, 100)
}

type ProgressFn<'a> = Box<dyn FnMut(&Progress) + Send + 'a>;

impl<'a> crate::JobRef<'a> {
    /// Runs the job over `tasks`, any iterator of values that serialize to
    /// JSON objects, read lazily and grouped into executions: resumable
    /// without duplicates, paced by the workspace's capacity, with
    /// progress. See [`crate::batch`].
    pub fn batch<I, T>(
        &self,
        tasks: I,
    ) -> Batch<'a, impl futures_core::Stream<Item = T> + Send + use<'a, I, T>>
    where
        I: IntoIterator<Item = T>,
        I::IntoIter: Send,
        T: serde::Serialize + Send,
    {
        let tasks = futures_util::stream::iter(tasks);
        Batch::new(self.client, self.job_id.clone(), tasks)
    }
}

/// Builder of a batch: a stream of tasks run as executions of one job. See
/// [`JobRef::batch`](crate::JobRef::batch) and [the module](self).
#[must_use = "a batch does nothing until it is submitted"]
pub struct Batch<'a, S> {
    client: &'a Client,
    job: String,
    tasks: S,
    id: Option<String>,
    chunk_size: usize,
    concurrency: usize,
    allow_queue: Option<bool>,
    max_backoff: Duration,
    on_progress: Option<ProgressFn<'a>>,
}

impl<S> std::fmt::Debug for Batch<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("job", &self.job)
            .field("id", &self.id)
            .field("chunk_size", &self.chunk_size)
            .field("concurrency", &self.concurrency)
            .field("allow_queue", &self.allow_queue)
            .field("max_backoff", &self.max_backoff)
            .finish_non_exhaustive()
    }
}

impl<'a, S, T> Batch<'a, S>
where
    S: futures_core::Stream<Item = T> + Send,
    T: Serialize + Send,
{
    /// A batch of job `job` over a stream of tasks, for sources that are
    /// asynchronous (a file read line by line, a paged listing); for an
    /// iterator, use [`JobRef::batch`](crate::JobRef::batch).
    pub fn from_stream(client: &'a Client, job: impl Into<String>, tasks: S) -> Self {
        Self::new(client, job.into(), tasks)
    }

    pub(crate) fn new(client: &'a Client, job: String, tasks: S) -> Self {
        Batch {
            client,
            job,
            tasks,
            id: None,
            chunk_size: DEFAULT_CHUNK_SIZE,
            concurrency: DEFAULT_CONCURRENCY,
            allow_queue: None,
            max_backoff: DEFAULT_MAX_BACKOFF,
            on_progress: None,
        }
    }

    /// The batch id (see [the module](self#chunks-and-their-ids)); give the
    /// id of an earlier submission to resume it. A fresh id is generated
    /// when none is given; [`Submitted::run`] tells it.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Tasks per execution (default [`DEFAULT_CHUNK_SIZE`]; 0 counts as 1).
    /// Resuming needs the same chunk size as the first submission.
    pub fn chunk_size(mut self, size: usize) -> Self {
        self.chunk_size = size.max(1);
        self
    }

    /// Creates in flight at once (default [`DEFAULT_CONCURRENCY`]; 0 counts
    /// as 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// `allowQueue` of every execution: `false` makes the server refuse
    /// (429) rather than queue an execution when the workspace is at
    /// capacity, and the batch then paces itself to the workspace's
    /// capacity. Unset, the server's default (queue) applies.
    pub fn allow_queue(mut self, allow: bool) -> Self {
        self.allow_queue = Some(allow);
        self
    }

    /// Longest wait between two attempts at a chunk refused for
    /// back-pressure (default [`DEFAULT_MAX_BACKOFF`]).
    pub fn max_backoff(mut self, max: Duration) -> Self {
        self.max_backoff = max;
        self
    }

    /// Called after each chunk is created or skipped and after each
    /// back-off, with the counts so far.
    pub fn on_progress(mut self, f: impl FnMut(&Progress) + Send + 'a) -> Self {
        self.on_progress = Some(Box::new(f));
        self
    }

    /// Submits every chunk not yet created, and answers once all are.
    ///
    /// A task that does not serialize to a JSON object ends the submission
    /// with [`Error::InvalidInput`] naming its index; chunks created before
    /// stay, and submitting again with the same id resumes.
    pub async fn submit(self) -> Result<Submitted<'a>, Error> {
        let Batch {
            client,
            job,
            tasks,
            id,
            chunk_size,
            concurrency,
            allow_queue,
            max_backoff,
            mut on_progress,
        } = self;
        let batch_id = match id {
            Some(id) => {
                id::check(&id)?;
                id
            }
            None => id::generate(),
        };
        let existing = existing_chunks(client, &job, &batch_id, chunk_size).await?;
        let mut progress = Progress {
            batch_id: batch_id.clone(),
            ..Progress::default()
        };
        let existing = &existing;
        let chunks = tasks
            .chunks(chunk_size)
            .enumerate()
            .map(move |(i, items)| cut(i as u64, items, chunk_size, existing));
        let (backed_off, mut backoffs) = tokio::sync::mpsc::unbounded_channel();
        let ctx = ChunkContext {
            client,
            job: &job,
            batch_id: &batch_id,
            allow_queue,
            max_backoff,
            backed_off,
        };
        let ctx = &ctx;
        let results = chunks
            .map(|chunk| async move {
                match chunk {
                    Ok(Chunk::Existing { index, tasks }) => Ok((index, tasks, Outcome::Skipped)),
                    Ok(Chunk::New { index, tasks }) => {
                        let n = tasks.len() as u64;
                        ctx.create(index, tasks)
                            .await
                            .map(|outcome| (index, n, outcome))
                    }
                    Err(e) => Err(Error::from(e)),
                }
            })
            .buffer_unordered(concurrency);
        let mut results = Box::pin(results);
        let mut created_chunks = 0u64;
        let mut skipped_chunks = 0u64;
        loop {
            // Back-offs first, so that each is reported before the chunk
            // that met it is tried again.
            let next = std::future::poll_fn(|cx| {
                if let Poll::Ready(Some(())) = backoffs.poll_recv(cx) {
                    return Poll::Ready(Next::BackedOff);
                }
                results.poll_next_unpin(cx).map(Next::Chunk)
            })
            .await;
            let result = match next {
                Next::BackedOff => {
                    progress.backoffs += 1;
                    if let Some(f) = on_progress.as_mut() {
                        f(&progress);
                    }
                    continue;
                }
                Next::Chunk(Some(result)) => result,
                Next::Chunk(None) => break,
            };
            let (index, n, outcome) = result?;
            progress.chunks += 1;
            progress.tasks += n;
            match outcome {
                Outcome::Created => {
                    created_chunks += 1;
                    progress.submitted += n;
                }
                Outcome::Skipped => {
                    skipped_chunks += 1;
                    progress.skipped += n;
                }
            }
            tracing::debug!(target: "blaxel_jobs::batch", batch = %batch_id, chunk = index,
                tasks = n, skipped = matches!(outcome, Outcome::Skipped), "chunk");
            if let Some(f) = on_progress.as_mut() {
                f(&progress);
            }
        }
        drop(results);
        tracing::info!(target: "blaxel_jobs::batch", batch = %batch_id, chunks = progress.chunks,
            created = created_chunks, skipped = skipped_chunks, tasks = progress.tasks,
            backoffs = progress.backoffs, "batch submitted");
        Ok(Submitted {
            run: BatchRun {
                client,
                job,
                id: batch_id,
                chunk_size,
                chunks: Some(progress.chunks),
            },
            created_chunks,
            skipped_chunks,
            progress,
        })
    }
}

/// What [`Batch::submit`] did.
#[derive(Debug, Clone)]
pub struct Submitted<'a> {
    run: BatchRun<'a>,
    created_chunks: u64,
    skipped_chunks: u64,
    progress: Progress,
}

impl<'a> Submitted<'a> {
    /// The batch, to wait for it and triage it.
    pub fn run(&self) -> BatchRun<'a> {
        self.run.clone()
    }

    /// Executions created by this submission.
    pub fn created_chunks(&self) -> u64 {
        self.created_chunks
    }

    /// Chunks found already created (by an earlier submission) and skipped.
    pub fn skipped_chunks(&self) -> u64 {
        self.skipped_chunks
    }

    /// The counts at the end of the submission (`tasks`, `submitted`,
    /// `skipped`, `chunks`, `backoffs`).
    pub fn progress(&self) -> &Progress {
        &self.progress
    }
}

/// A batch, by id: wait for it, list its failed tasks, retry them. From
/// [`Submitted::run`], or [`BatchRun::new`] for a batch submitted
/// elsewhere.
#[derive(Debug, Clone)]
pub struct BatchRun<'a> {
    client: &'a Client,
    job: String,
    id: String,
    chunk_size: usize,
    chunks: Option<u64>,
}

impl<'a> BatchRun<'a> {
    /// The batch `id` of job `job`, submitted with `chunk_size` tasks per
    /// chunk (needed to tell each failed task's index in the batch).
    pub fn new(
        client: &'a Client,
        job: impl Into<String>,
        id: impl Into<String>,
        chunk_size: usize,
    ) -> Result<Self, Error> {
        let id = id.into();
        id::check(&id)?;
        Ok(BatchRun {
            client,
            job: job.into(),
            id,
            chunk_size: chunk_size.max(1),
            chunks: None,
        })
    }

    /// The batch id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The job's name.
    pub fn job(&self) -> &str {
        &self.job
    }

    /// Tasks per chunk.
    pub fn chunk_size(&self) -> usize {
        self.chunk_size
    }

    /// The number of chunks, when known (after a submission). Waiting ends
    /// only once that many executions of the batch have ended.
    pub fn chunks(&self) -> Option<u64> {
        self.chunks
    }

    /// Says how many chunks the batch has, for a [`BatchRun::new`].
    pub fn with_chunks(mut self, chunks: u64) -> Self {
        self.chunks = Some(chunks);
        self
    }

    /// A waiter for the whole batch (see [the module](self#waiting-and-triage)).
    pub fn wait_until_done(&self) -> WaitUntilDone<'a> {
        WaitUntilDone::new(self.clone())
    }

    /// The failed tasks of the batch's failed (or timed out) executions,
    /// in the order of their index in the batch; `params` is `None` (see
    /// [`with_params`]). Holds the failed tasks in memory, not the others.
    pub async fn failed_tasks(&self) -> Result<Vec<FailedTask>, Error> {
        triage::failed_tasks(self).await
    }

    /// Submits `failed` tasks (with parameters, see [`with_params`]) as
    /// retry round `round`: a batch of its own, id `<id>-r<round>`, so
    /// retrying the same round again resumes it rather than duplicating it.
    /// A task without parameters is [`Error::InvalidInput`].
    pub fn retry(
        &self,
        failed: Vec<FailedTask>,
        round: u32,
    ) -> Result<
        Batch<'a, impl futures_core::Stream<Item = Map<String, Value>> + Send + use<'a>>,
        Error,
    > {
        let tasks = failed
            .into_iter()
            .map(|t| {
                t.params.ok_or_else(|| {
                    InvalidInput::at_field(
                        format!("failed[{}]", t.task_index),
                        "the task's parameters are missing; attach them with with_params",
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Batch::new(
            self.client,
            self.job.clone(),
            futures_util::stream::iter(tasks),
        )
        .id(id::retry_round(&self.id, round))
        .chunk_size(self.chunk_size))
    }

    pub(crate) fn list(&self) -> crate::ListJobExecutions<'a> {
        self.client
            .job(self.job.clone())
            .executions()
            .list()
            .q(self.id.clone())
            .limit(page_size(self.chunk_size))
    }

    pub(crate) fn client(&self) -> &'a Client {
        self.client
    }

    pub(crate) fn chunk_of(&self, execution_id: &str) -> Option<u64> {
        id::parse_chunk(&self.id, execution_id)
    }
}

/// The chunks of batch `batch` that already exist, one bit per chunk.
async fn existing_chunks(
    client: &Client,
    job: &str,
    batch: &str,
    chunk_size: usize,
) -> Result<Vec<u64>, Error> {
    let run = BatchRun {
        client,
        job: job.to_owned(),
        id: batch.to_owned(),
        chunk_size,
        chunks: None,
    };
    let mut bits = Vec::new();
    let mut pages = std::pin::pin!(run.list().into_pages());
    while let Some(page) = pages.next().await {
        match page {
            Ok(page) => {
                for e in &page.data {
                    if let Some(i) = e.metadata.id.as_deref().and_then(|id| run.chunk_of(id)) {
                        set_bit(&mut bits, i);
                    }
                }
            }
            // A job without executions yet, or one just created.
            Err(e) if e.is_not_found() => break,
            Err(e) => return Err(e),
        }
    }
    Ok(bits)
}

/// Sets bit `i`, growing the set; indices beyond 2^32 chunks (4 × 10^12
/// tasks at the smallest chunk size) are not recorded and get created again
/// idempotently.
fn set_bit(bits: &mut Vec<u64>, i: u64) {
    if i >= 1 << 32 {
        return;
    }
    let (word, bit) = ((i / 64) as usize, i % 64);
    if bits.len() <= word {
        bits.resize(word + 1, 0);
    }
    bits[word] |= 1 << bit;
}

fn has_bit(bits: &[u64], i: u64) -> bool {
    usize::try_from(i / 64)
        .ok()
        .and_then(|w| bits.get(w))
        .is_some_and(|w| w & (1 << (i % 64)) != 0)
}

enum Chunk {
    New {
        index: u64,
        tasks: Vec<Map<String, Value>>,
    },
    Existing {
        index: u64,
        tasks: u64,
    },
}

/// Chunk `index` of `size` tasks, from its tasks `items`: serialized when
/// it is to be created, only counted when it exists already.
fn cut<T: Serialize>(
    index: u64,
    items: Vec<T>,
    size: usize,
    existing: &[u64],
) -> Result<Chunk, InvalidInput> {
    if has_bit(existing, index) {
        return Ok(Chunk::Existing {
            index,
            tasks: items.len() as u64,
        });
    }
    let first = index.saturating_mul(size as u64);
    let mut tasks = Vec::with_capacity(items.len());
    for (i, task) in items.into_iter().enumerate() {
        let at = || format!("tasks[{}]", first.saturating_add(i as u64));
        match serde_json::to_value(task) {
            Ok(Value::Object(map)) => tasks.push(map),
            Ok(other) => {
                return Err(InvalidInput::at_field(
                    at(),
                    format!(
                        "a task must be a JSON object, not {}",
                        crate::error::Clip(&other.to_string(), 64)
                    ),
                ));
            }
            Err(e) => {
                return Err(InvalidInput::at_field(
                    at(),
                    format!("cannot serialize the task: {e}"),
                ));
            }
        }
    }
    Ok(Chunk::New { index, tasks })
}

/// What the submission loop wakes up for.
enum Next<R> {
    BackedOff,
    Chunk(Option<R>),
}

#[derive(Debug, Clone, Copy)]
enum Outcome {
    Created,
    Skipped,
}

struct ChunkContext<'c> {
    client: &'c Client,
    job: &'c str,
    batch_id: &'c str,
    allow_queue: Option<bool>,
    max_backoff: Duration,
    /// Told of each back-off, for progress.
    backed_off: tokio::sync::mpsc::UnboundedSender<()>,
}

impl ChunkContext<'_> {
    /// Creates chunk `index`, backing off for as long as the workspace
    /// pushes back.
    async fn create(&self, index: u64, tasks: Vec<Map<String, Value>>) -> Result<Outcome, Error> {
        let execution_id = id::chunk(self.batch_id, index);
        let request = crate::types::CreateJobExecutionRequest {
            execution_id: Some(execution_id.clone()),
            tasks,
            allow_queue: self.allow_queue,
            ..Default::default()
        };
        let job = self.client.job(self.job);
        let create = job.executions().create().request(request);
        let mut backoffs = 0u64;
        loop {
            match create.clone().send().await {
                Ok(_) => return Ok(Outcome::Created),
                Err(Error::Api(e)) if e.status.as_u16() == 409 => {
                    self.already_created(&execution_id, *e).await?;
                    return Ok(Outcome::Skipped);
                }
                Err(Error::Api(e)) if is_back_pressure(&e) => {
                    let delay = backoff(backoffs, e.retry_after, self.max_backoff);
                    backoffs += 1;
                    // The receiver lives as long as the submission.
                    let _ = self.backed_off.send(());
                    tracing::info!(target: "blaxel_jobs::batch", batch = %self.batch_id,
                        chunk = index, status = e.status.as_u16(), delay_ms = delay.as_millis() as u64,
                        "workspace at capacity; backing off");
                    tokio::time::sleep(delay).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// A 409 for a derived id: the chunk exists if the execution read back
    /// is shown to be this job's.
    async fn already_created(&self, execution_id: &str, error: ApiError) -> Result<(), Error> {
        let job = self.client.job(self.job);
        let (found, current) =
            futures_util::future::join(job.execution(execution_id).get().send(), job.get().send())
                .await;
        let (found, reason) = match (found, current) {
            (Ok(found), Ok(current)) => {
                let verdict = crate::reconcile::started_by_this_request(
                    &found,
                    &current,
                    execution_id,
                    self.job,
                    self.client.config().workspace(),
                );
                match verdict {
                    Ok(()) => return Ok(()),
                    Err(reason) => (Some(found), reason),
                }
            }
            (Err(e), _) => (None, format!("the execution could not be read ({e})")),
            (Ok(found), Err(e)) => (Some(found), format!("the job could not be read ({e})")),
        };
        Err(Error::ExecutionConflict(Box::new(
            crate::error::ExecutionConflict {
                execution_id: execution_id.to_owned(),
                error,
                found,
                reason,
            },
        )))
    }
}

/// Whether an answer only says "not now": 429, or Blaxel's message for a
/// workspace at its limit of parallel executions, whatever the status.
pub(crate) fn is_back_pressure(e: &ApiError) -> bool {
    e.status.as_u16() == 429
        || e.message
            .as_deref()
            .into_iter()
            .chain(e.code.as_ref().map(|c| c.as_str()))
            .any(|m| {
                m.to_ascii_lowercase()
                    .contains("maximum parallel executions")
            })
}

/// The wait before attempt `n + 1`: 1 s doubling, at most `max`, and at
/// least the server's `Retry-After` (also capped at `max`).
fn backoff(n: u64, retry_after: Option<Duration>, max: Duration) -> Duration {
    let exp = Duration::from_secs(1).saturating_mul(1u32 << n.min(16));
    exp.max(retry_after.unwrap_or_default()).min(max)
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

    #[test]
    fn list_pages_shrink_for_large_chunks() {
        assert_eq!(page_size(500), 100);
        assert_eq!(page_size(1), 100);
        assert_eq!(page_size(0), 100);
        assert_eq!(page_size(5_000), 10);
        assert_eq!(page_size(usize::MAX), 1);
    }

    #[test]
    fn bits_record_chunks() {
        let mut bits = Vec::new();
        for i in [0, 63, 64, 1000] {
            set_bit(&mut bits, i);
        }
        set_bit(&mut bits, u64::MAX);
        for i in 0..1100 {
            assert_eq!(has_bit(&bits, i), [0, 63, 64, 1000].contains(&i), "{i}");
        }
        assert!(!has_bit(&bits, u64::MAX));
        assert_eq!(bits.len(), 1000 / 64 + 1);
    }

    #[test]
    fn chunks_are_serialized_or_only_counted_when_they_exist() {
        let mut existing = Vec::new();
        set_bit(&mut existing, 1);
        let tasks = || vec![serde_json::json!({"i": 0}); 3];
        let summary = |c: Chunk| match c {
            Chunk::New { index, tasks } => (index, tasks.len() as u64, true),
            Chunk::Existing { index, tasks } => (index, tasks, false),
        };
        assert_eq!(
            summary(cut(0, tasks(), 3, &existing).unwrap()),
            (0, 3, true)
        );
        assert_eq!(
            summary(cut(1, tasks(), 3, &existing).unwrap()),
            (1, 3, false)
        );
        assert_eq!(
            summary(cut(2, vec![serde_json::json!({})], 3, &existing).unwrap()),
            (2, 1, true)
        );
    }

    #[test]
    fn a_task_that_is_not_an_object_is_named_by_its_index_in_the_batch() {
        let items = vec![serde_json::json!({}), serde_json::json!(3)];
        let e = cut(2, items, 10, &[]).err().unwrap();
        assert!(e.to_string().contains("tasks[21]"), "{e}");
    }
}
