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
//! (default [`DEFAULT_CHUNK_SIZE`], at most [`MAX_CHUNK_SIZE`]), and each
//! chunk becomes one execution whose `executionId` is
//! `<batch id>-<chunk index>`. At most [`concurrency`](Batch::concurrency)
//! chunks (default [`DEFAULT_CONCURRENCY`]) are being created at once, so
//! the client holds at most that many chunks in memory whatever the number
//! of tasks; a chunk holds the tasks read, whatever the chunk size. Each
//! task is serialized once, when its chunk is cut, and refused
//! ([`Error::InvalidInput`] naming it) if it is not a JSON object or nests
//! deeper than the API takes (125 levels of arrays and objects, its own
//! object included).
//!
//! A chunk size above [`MAX_CHUNK_SIZE`] (100,000 tasks) is
//! [`Error::InvalidInput`] (`chunk_size`), before any task is read or
//! anything sent (the constant says why that size). A batch's
//! memory is that of the chunks in flight: each is held once, and while it
//! is sent, also in the request handed to the call and in the request's
//! body; listing pages hold about 1,000 listed tasks (see *Waiting and
//! triage*). The repository's `docs/performance.md` has the figures
//! (submitting and resuming a million tasks, one task of 50 MiB).
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
//! # Back-pressure, outages, and answers that end a submission
//!
//! Each create is sent once by the client (its own retries are turned off
//! for it) and the batch decides what comes next, so that retries never
//! nest:
//!
//! - Back-pressure, a create answered 429 (a workspace at capacity with
//!   `allowQueue: false`, or rate limiting) or with Blaxel's "maximum
//!   parallel executions" message, is waited out for as long as it takes,
//!   and the create is sent again with the same id: back-pressure alone
//!   never fails a batch.
//! - Failures that may pass (a connection error, a timeout, 408, 500, 502,
//!   503, 504, or a success whose answer cannot be read) are retried the
//!   same way for as long as the batch's [`patience`](Batch::patience)
//!   (default [`DEFAULT_PATIENCE`], 5 minutes): a run of such failures of
//!   one chunk that lasts longer ends the submission with the last one. An
//!   answer of back-pressure in between ends the run.
//! - Anything else ends the submission at once: 400 (such as an execution
//!   that can never fit), 401, 403, 404, 413 (a chunk's body larger than the
//!   server takes), a redirect.
//!
//! Waits start at 1 s and double, up to [`max_backoff`](Batch::max_backoff),
//! and are at least the server's `Retry-After` (capped the same way). Each
//! is reported (through [`on_progress`](Batch::on_progress) and tracing)
//! before it starts. Every attempt at a chunk carries the same
//! `executionId` and message `id`: a create whose answer was lost is never
//! a second execution. A submission that ends with an error reports which
//! chunk, as [`Error::Chunk`] (its index, execution id and tasks), and the
//! chunks created before it stay: submitting again resumes.
//!
//! # Waiting and triage
//!
//! [`BatchRun::wait_until_done`] lists the job's executions filtered to the
//! batch (`q` set to the batch id) on each poll, rather than reading each
//! execution, and sums their task statistics into a [`Progress`]. The same
//! listing finds the chunks that exist when resuming, and the executions
//! with failures. A server may answer each execution with its tasks (the
//! emulator does; Blaxel stores large task lists apart), so each page asks
//! for as many executions as keep it near 1,000 listed tasks, judged by the
//! executions seen so far, and for 100 (the most the API gives) when they
//! come without their tasks: listing costs no more memory than
//! submitting. Only executions whose id is one of the batch's chunk ids
//! are counted, so a server that filters loosely (or not at all) costs more
//! pages, never wrong counts. Task parameters are
//! not returned by the API once an execution is created, so
//! [`BatchRun::failed_tasks`] gives where each failed task is (its index in
//! the batch) and why, and [`with_params`] reads the same task source again
//! to attach parameters; [`BatchRun::with_last_lines`] attaches the last
//! lines each wrote (bounded in lines, bytes and tasks; see
//! [`crate::logs`]); [`BatchRun::retry`] submits those tasks as retry
//! round `n`, a batch of its own with id `<batch id>-r<n>`.
//!
//! # Observability
//!
//! Events have the target `blaxel_jobs::batch`: one per chunk created or
//! skipped (debug), one per back-off (info), one per retry after a failure
//! that may pass (warn), one when patience runs out (warn), and one per
//! finished submission (info).

mod chunks;
mod create;
mod id;
mod listing;
mod progress;
mod triage;

pub use chunks::MAX_CHUNK_SIZE;
pub use id::MAX_BATCH_ID_LEN;
pub use progress::{Progress, WaitUntilDone};
pub use triage::{FailedTask, with_params};

use crate::Client;
use crate::error::{Error, InvalidInput};
use chunks::Chunk;
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

/// Default longest wait between two attempts at a chunk: 30 s.
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Default patience with failures that may pass: 5 minutes (see
/// [`Batch::patience`]).
pub const DEFAULT_PATIENCE: Duration = Duration::from_secs(5 * 60);

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
    patience: Duration,
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
            .field("patience", &self.patience)
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
            patience: DEFAULT_PATIENCE,
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

    /// Tasks per execution (default [`DEFAULT_CHUNK_SIZE`]; 0 counts as 1;
    /// more than [`MAX_CHUNK_SIZE`] makes [`submit`](Self::submit) fail with
    /// [`Error::InvalidInput`] before anything is read or sent). Resuming
    /// needs the same chunk size as the first submission.
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

    /// Longest wait between two attempts at a chunk (default
    /// [`DEFAULT_MAX_BACKOFF`]).
    pub fn max_backoff(mut self, max: Duration) -> Self {
        self.max_backoff = max;
        self
    }

    /// How long a chunk keeps being sent again while it fails in ways that
    /// may pass (a connection error, a timeout, 408, 500, 502, 503, 504, a
    /// success whose answer cannot be read), from the first failure of a
    /// run of them (default [`DEFAULT_PATIENCE`], 5 minutes). A retry whose
    /// wait would end later is not made: the submission ends with the last
    /// failure, as [`Error::Chunk`]. `Duration::ZERO` ends it at the first
    /// such failure. Back-pressure is waited out whatever this is, and the
    /// same id is sent every time, so a retry never creates a chunk twice.
    pub fn patience(mut self, patience: Duration) -> Self {
        self.patience = patience;
        self
    }

    /// Called after each chunk is created or skipped and after each
    /// back-off or retry, with the counts so far.
    pub fn on_progress(mut self, f: impl FnMut(&Progress) + Send + 'a) -> Self {
        self.on_progress = Some(Box::new(f));
        self
    }

    /// Submits every chunk not yet created, and answers once all are.
    ///
    /// A chunk size above [`MAX_CHUNK_SIZE`] is [`Error::InvalidInput`]
    /// before anything is read or sent. A task that does not serialize to a
    /// JSON object, or nests deeper than the API takes, ends the submission
    /// with [`Error::InvalidInput`] naming its index; a chunk that cannot
    /// be created ends it with [`Error::Chunk`] naming the chunk (see
    /// [the module](self#back-pressure-outages-and-answers-that-end-a-submission)).
    /// Chunks created before stay, and submitting again with the same id
    /// resumes.
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
            patience,
            mut on_progress,
        } = self;
        chunks::check_size(chunk_size)?;
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
        let chunks = chunks::read(tasks, chunk_size)
            .enumerate()
            .map(move |(i, items)| chunks::cut(i as u64, items, chunk_size, existing));
        let (events, mut reported) = tokio::sync::mpsc::unbounded_channel();
        let ctx = create::ChunkContext {
            client,
            job: &job,
            batch_id: &batch_id,
            allow_queue,
            max_backoff,
            patience,
            events,
        };
        let ctx = &ctx;
        let results = chunks
            .map(|chunk| async move {
                match chunk {
                    Ok(Chunk::Existing { index, tasks }) => Ok((index, tasks, Outcome::Skipped)),
                    Ok(Chunk::New {
                        index,
                        first_task,
                        tasks,
                    }) => {
                        let n = tasks.len() as u64;
                        ctx.create(index, first_task, tasks)
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
            // Back-offs and retries first, so that each is reported before
            // the chunk that met it is tried again.
            let next = std::future::poll_fn(|cx| {
                if let Poll::Ready(Some(event)) = reported.poll_recv(cx) {
                    return Poll::Ready(Next::Waited(event));
                }
                results.poll_next_unpin(cx).map(Next::Chunk)
            })
            .await;
            let result = match next {
                Next::Waited(event) => {
                    match event {
                        Event::BackedOff => progress.backoffs += 1,
                        Event::Retried => progress.retries += 1,
                    }
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
            backoffs = progress.backoffs, retries = progress.retries, "batch submitted");
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
    /// `skipped`, `chunks`, `backoffs`, `retries`).
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
    /// chunk (needed to tell each failed task's index in the batch; at
    /// most [`MAX_CHUNK_SIZE`]).
    pub fn new(
        client: &'a Client,
        job: impl Into<String>,
        id: impl Into<String>,
        chunk_size: usize,
    ) -> Result<Self, Error> {
        let id = id.into();
        id::check(&id)?;
        chunks::check_size(chunk_size)?;
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

    /// Attaches to each of `failed` (as [`BatchRun::failed_tasks`] answers
    /// them) the last lines it wrote, bounded as `limits` says (by
    /// default the last 20 lines, at most 4 KiB, for the first 100 tasks
    /// by index; the others keep `None`), so that a failure report says
    /// why without another tool. The lines are read with the logs
    /// endpoint ([`crate::logs`]), one task at a time, filtered by the
    /// task's index in its execution (`taskId`: the label task-side
    /// loggers write; whether Blaxel labels lines that are not JSON is
    /// unknown), over the span of its execution. The first error ends
    /// the call.
    pub async fn with_last_lines(
        &self,
        failed: Vec<FailedTask>,
        limits: crate::logs::LastLines,
    ) -> Result<Vec<FailedTask>, Error> {
        triage::with_last_lines(self, failed, limits).await
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

    /// The listing of the batch's executions, without its page size (see
    /// [`listing`]).
    pub(crate) fn list(&self) -> crate::ListJobExecutions<'a> {
        self.client
            .job(self.job.clone())
            .executions()
            .list()
            .q(self.id.clone())
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
    let found = listing::each_execution(&run, None, |e| {
        if let Some(i) = e.metadata.id.as_deref().and_then(|id| run.chunk_of(id)) {
            chunks::set_bit(&mut bits, i);
        }
    })
    .await;
    match found {
        Ok(()) => Ok(bits),
        // A job without executions yet, or one just created.
        Err(e) if e.is_not_found() => Ok(bits),
        Err(e) => Err(e),
    }
}

/// What the submission loop wakes up for.
enum Next<R> {
    Waited(Event),
    Chunk(Option<R>),
}

/// A wait a chunk's create reported, before it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    /// Refused for back-pressure.
    BackedOff,
    /// Failed in a way that may pass.
    Retried,
}

#[derive(Debug, Clone, Copy)]
enum Outcome {
    Created,
    Skipped,
}
