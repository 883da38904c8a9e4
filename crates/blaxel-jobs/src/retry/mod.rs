//! Automatic retries, and the rules that keep them from duplicating work.
//!
//! A failed attempt is retried, up to [`RetryConfig::max_attempts`] attempts
//! in all (3 by default), when the failure is transient **and** sending the
//! request again cannot do the work twice:
//!
//! Which operation is which comes from the document: each operation's
//! `x-blaxel-retry` class, generated into
//! [`Operation::retry`](blaxel_jobs_client::operations::Operation::retry).
//!
//! | failure | `idempotent`, `idempotent-with-client-token` | `not-idempotent` |
//! |---|---|---|
//! | connection not established | retried | retried |
//! | other transport failure, timeout | retried | never (the job may exist) |
//! | 408, 502, 504 | retried | never |
//! | 429 | retried | retried (the server did not process it) |
//! | 503 | retried | only with `Retry-After` |
//! | 500 | retried (idempotent) | never |
//! | 400, 401, 403, 404, 409, other 4xx | never | never |
//! | 3xx (see [`crate::Error::Redirect`]) | never | never |
//!
//! A connection that fails while a response body is being read is not
//! retried: the request has reached the server, and the error is returned.
//!
//! Retries never outlast the call's deadline
//! ([`ClientBuilder::operation_timeout`](crate::ClientBuilder::operation_timeout)):
//! an attempt that would end after it gets a shorter timeout, and a backoff
//! or `Retry-After` wait that would end after it is not started; the call
//! returns the last answer instead.
//!
//! An `idempotent-with-client-token` operation (CreateJobExecution) counts
//! as idempotent because the SDK always sends a client-generated token (its
//! `executionId`, and a message `id`), the same on every attempt: the
//! server returns the execution it already started instead of starting a
//! second one.
//!
//! A retry of CreateJobExecution answered 409 counts as a success only when
//! the execution found under its `executionId` is shown to be this
//! request's: it agrees with what was sent wherever the server says (task
//! count, environment override names, memory), and it was created strictly
//! after the current job (equal times show nothing: a coarse or manual
//! clock gives an earlier job of the same name's execution the same time).
//! Otherwise the call ends with [`crate::Error::ExecutionConflict`], saying
//! what was found. One judgement serves single creates and a batch's
//! chunks alike.
//!
//! Delays use exponential backoff with full jitter: a random wait between 0
//! and `min(max_backoff, initial_backoff × 2^(attempt-1))`. A `Retry-After`
//! header (seconds or an HTTP date) replaces that delay; when it asks for
//! more than [`RetryConfig::max_retry_after`], the SDK does not wait and
//! returns the error, which carries the value in [`crate::ApiError::retry_after`].
//!
//! # One kit
//!
//! What an answer means is decided in one place (`classify`: success, a
//! failure that may pass, back-pressure, or final, with Blaxel's
//! back-pressure message and `Retry-After`); every wait grows the same way
//! (`Backoff`); and every waiter polls with one loop (the `wait` module).
//! Retries do not nest: a request's attempts are the transport's, with the
//! settings above; a layer that decides for itself (a batch's creates, a
//! waiter's polls) sends with the transport's retries off and applies the
//! same rules.

mod backoff;
mod classify;
mod config;
mod retry_after;

pub(crate) use backoff::Backoff;
pub(crate) use classify::{Failure, Verdict, classify, verdict};
pub use config::RetryConfig;
pub use retry_after::parse_retry_after;
