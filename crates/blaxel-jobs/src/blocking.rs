//! A blocking client, for scripts and programs without an async runtime
//! (feature `blocking`).
//!
//! [`Client`] owns a current-thread tokio runtime and an async
//! [`crate::Client`], and runs each call to completion on it. It mirrors
//! the async API by reusing it: [`Client::jobs`] and [`Client::job`] give
//! the same handles and builders, named after the same operations, and
//! [`Client::send`] runs a builder where async code would write
//! `.send().await`. Waiters run with [`Client::wait`], and
//! [`Client::collect`] reads every item of a listing. Retries, timeouts,
//! limits and errors are the async client's.
//!
//! ```no_run
//! # fn demo() -> Result<(), blaxel_jobs::Error> {
//! use blaxel_jobs::blocking::Client;
//! use std::time::Duration;
//!
//! let client = Client::from_env()?;
//! let job = client.send(client.job("nightly-report").get())?;
//! println!("{} is {:?}", job.metadata.name, job.status);
//!
//! let all = client.collect(client.jobs().list().limit(100))?;
//! println!("{} jobs", all.len());
//!
//! let started = client.send(client.job("nightly-report").executions().create())?;
//! let id = started.execution_id.unwrap_or_default();
//! let waiter = client.job("nightly-report").execution(id).wait_until_succeeded();
//! let done = client.wait(waiter, Duration::from_secs(30 * 60))?;
//! # let _ = done; Ok(()) }
//! ```
//!
//! Calls block the calling thread. On a thread where a tokio runtime is
//! current (async code, or a `spawn_blocking` closure) they send nothing
//! and return [`Error::BlockingInAsync`], which says to use the async
//! [`crate::Client`] there: tokio cannot start a runtime inside another,
//! and blocking an async worker would stall every task on it. Dropping a
//! blocking client is safe anywhere: inside a runtime, its own runtime is
//! shut down in the background instead of being waited for.

use crate::error::{ConfigError, ConfigErrorKind, Error};
use crate::{ClientBuilder, JobRef, Jobs};
use std::fmt;
use std::future::Future;
use std::time::Duration;

/// A blocking client of the Blaxel Jobs API: an async [`crate::Client`]
/// and the current-thread runtime that runs its calls. See the
/// [module documentation](self).
pub struct Client {
    /// Always `Some` until the client is dropped (see the `Drop`).
    runtime: Option<tokio::runtime::Runtime>,
    inner: crate::Client,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("blocking::Client")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A blocking client configured from Blaxel's environment variables and
    /// `~/.blaxel/config.yaml`, as [`crate::Client::from_env`].
    pub fn from_env() -> Result<Self, Error> {
        Self::from_builder(ClientBuilder::new())
    }

    /// A blocking client built from `builder`.
    pub fn from_builder(builder: ClientBuilder) -> Result<Self, Error> {
        Self::new(builder.build()?)
    }

    /// A blocking client around an async client (its clones share its
    /// connection pool and credential).
    pub fn new(inner: crate::Client) -> Result<Self, Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                ConfigError::new(
                    ConfigErrorKind::HttpClient,
                    format!("cannot start the blocking client's runtime: {e}"),
                )
            })?;
        Ok(Client {
            runtime: Some(runtime),
            inner,
        })
    }

    /// The async client underneath.
    pub fn async_client(&self) -> &crate::Client {
        &self.inner
    }

    /// The workspace's jobs (CreateJob, ListJobs); run the builders with
    /// [`send`](Self::send) or [`collect`](Self::collect).
    pub fn jobs(&self) -> Jobs<'_> {
        self.inner.jobs()
    }

    /// A handle on one job (GetJob, UpdateJob, DeleteJob, ListJobRevisions,
    /// its executions and waiters); run the builders with
    /// [`send`](Self::send) or [`wait`](Self::wait).
    pub fn job(&self, name: impl Into<String>) -> JobRef<'_> {
        self.inner.job(name)
    }

    /// Sends a request built from [`jobs`](Self::jobs) or [`job`](Self::job)
    /// and blocks until it completes: the blocking form of `.send().await`.
    pub fn send<R: Request>(&self, request: R) -> Result<R::Output, Error> {
        self.run(request.send())?
    }

    /// Every item of a listing, following the cursors: the blocking form of
    /// `into_stream()` collected. The items are all held in memory; for a
    /// listing too long for that, send one page at a time with
    /// [`send`](Self::send) and `cursor`.
    pub fn collect<L>(
        &self,
        listing: L,
    ) -> Result<Vec<<L::Page as crate::paginate::Page>::Item>, Error>
    where
        L: Listing,
        <L::Page as crate::paginate::Page>::Item: Send,
    {
        self.run(futures_util::TryStreamExt::try_collect(
            crate::paginate::items(crate::paginate::pages_of(listing)),
        ))?
    }

    /// Runs a waiter (`wait_until_succeeded()`, `wait_until_deployed()`)
    /// until it ends or `max_wait` passes: the blocking form of
    /// `.wait(max_wait).await`.
    pub fn wait<W: Waiter>(&self, waiter: W, max_wait: Duration) -> Result<W::Output, Error> {
        self.run(waiter.wait_for(max_wait))?
    }

    /// Runs any future on this client's runtime, for what the helpers above
    /// do not cover (a stream of pages, several calls at once). Fails with
    /// [`Error::BlockingInAsync`], without polling `future`, on a thread
    /// where a tokio runtime is current.
    pub fn block_on<F: Future>(&self, future: F) -> Result<F::Output, Error> {
        self.run(future)
    }

    /// Runs `future` to completion on the client's runtime, unless a tokio
    /// runtime is current on this thread: tokio would panic (a runtime
    /// cannot start inside another), and blocking an async worker stalls
    /// it. (Tokio does not say whether the current thread may block, as in
    /// `spawn_blocking`, so any current runtime counts.)
    fn run<F: Future>(&self, future: F) -> Result<F::Output, Error> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::BlockingInAsync);
        }
        match &self.runtime {
            Some(runtime) => Ok(runtime.block_on(future)),
            // Only `Drop` takes the runtime.
            None => Err(Error::BlockingInAsync),
        }
    }
}

impl Drop for Client {
    /// Dropping a tokio runtime waits for its blocking tasks, which tokio
    /// refuses (with a panic) inside another runtime. There, the runtime is
    /// shut down in the background instead: its tasks are dropped, and
    /// nothing is waited for.
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take()
            && tokio::runtime::Handle::try_current().is_ok()
        {
            runtime.shutdown_background();
        }
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A request builder of the async API that [`Client::send`] can run:
/// every builder of this crate (see [`crate::call::Request`]).
pub use crate::call::Request;

/// A list builder that [`Client::collect`] can read to the end: every
/// builder of a paged list operation.
pub use crate::paginate::Listing;

/// A waiter that [`Client::wait`] can run.
pub trait Waiter: sealed::Sealed {
    /// What the waiter answers when the wait succeeds.
    type Output;
    #[doc(hidden)]
    fn wait_for(self, max_wait: Duration) -> impl Future<Output = Result<Self::Output, Error>>;
}

use crate::types;

impl sealed::Sealed for crate::WaitUntilSucceeded<'_> {}
impl Waiter for crate::WaitUntilSucceeded<'_> {
    type Output = types::JobExecution;
    fn wait_for(self, max_wait: Duration) -> impl Future<Output = Result<Self::Output, Error>> {
        self.wait(max_wait)
    }
}

impl sealed::Sealed for crate::WaitUntilDeployed<'_> {}
impl Waiter for crate::WaitUntilDeployed<'_> {
    type Output = types::Job;
    fn wait_for(self, max_wait: Duration) -> impl Future<Output = Result<Self::Output, Error>> {
        self.wait(max_wait)
    }
}
