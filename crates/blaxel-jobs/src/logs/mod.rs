//! Logs: read, follow and triage what an execution's tasks wrote.
//!
//! ```no_run
//! # async fn demo(client: blaxel_jobs::Client) -> Result<(), blaxel_jobs::Error> {
//! use blaxel_jobs::types::LogSeverity;
//! use futures_util::StreamExt;
//! let execution = client.job("nightly-report").execution("run-7");
//! // Every error line of the last hour, oldest first.
//! let end = std::time::SystemTime::now();
//! let start = end - std::time::Duration::from_secs(3600);
//! let logs = execution.logs().severity([LogSeverity::Error]).read(start, end).send().await?;
//! for line in &logs.lines {
//!     println!("{line}");
//! }
//! if logs.is_partial() {
//!     eprintln!("some lines may be missing: {:?}", logs.gaps);
//! }
//! // New lines as they are written, until the execution has ended.
//! let mut lines = execution.logs().follow();
//! while let Some(line) = lines.next().await {
//!     println!("{}", line?);
//! }
//! # Ok(()) }
//! ```
//!
//! [`JobRef::logs`](crate::JobRef::logs) reads a job's lines and
//! [`ExecutionRef::logs`](crate::ExecutionRef::logs) an execution's (add
//! `.task_id("3")` for one task's); both answer the generated
//! [`ListLogs`] builder, whose filters (`severity`, `search`, `task_id`,
//! `trace_id`) and [`send`](ListLogs::send) are those of one request.
//! This module adds [`ListLogs::read`] (a whole window, however long or
//! busy), [`ListLogs::follow`] (a stream of new lines), the typed
//! [`LogLine`], and, for batches,
//! [`BatchRun::with_last_lines`](crate::BatchRun::with_last_lines) (the
//! last lines of each failed task). A waiter can print an execution's
//! lines as they come:
//! [`WaitUntilSucceeded::on_log_line`](crate::WaitUntilSucceeded::on_log_line).
//!
//! # What is known of the endpoint, and what is not
//!
//! Blaxel serves logs at `GET /v0/observability/logs` on its control
//! plane, but its API document does not describe it: what this SDK knows
//! comes from how Blaxel's `bl logs` command uses it.
//!
//! Known: the query names a kind of resource (`resourceType=jobs`), the
//! job (`workloadIds`), optionally the execution and the task, a time
//! window (`start`, `end`: UTC, to the second, no zone), severities
//! (names), a text to search for, a trace id and a `limit` (the CLI asks
//! for 1,000). The answer is an object keyed by the job's name, with the
//! lines newest first (each with an RFC 3339 timestamp, a message, an
//! integer severity and a trace id) and a `totalCount`. There is no
//! cursor: one answer holds at most `limit` lines, the newest of the
//! window.
//!
//! Unknown, and how this SDK deals with it:
//!
//! - **Which integer means which severity.** [`Severity`] keeps what the
//!   server sent; [`Severity::opentelemetry_name`] reads it with
//!   OpenTelemetry's numbering, which the emulator uses, as a guess for
//!   Blaxel's.
//! - **How `executionId` is matched** (the full id, or the last
//!   dash-separated part that task-side loggers put in their labels). The
//!   SDK sends the full id; the emulator takes either. If Blaxel only
//!   matches the label, set `.execution_id(..)` to it on the builder.
//! - **Whether the window's seconds are in or out, the longest window and
//!   the largest `limit`.** Each request asks for one second more on each
//!   side than it needs and keeps only the lines of its own stretch, so
//!   either reading of the bounds loses nothing (once an answer shows
//!   that the server counts the second `end` names in, as the emulator
//!   does, no second is added past the end). Windows are cut into
//!   pieces of at most 3 days (the longest the CLI sends; see
//!   [`ReadLogs::max_window`]), and each request asks for 1,000 lines.
//! - **Whether an answer was cut.** An answer is taken as cut when it
//!   carries as many lines as were asked for, or fewer than its
//!   `totalCount`; the rest of its window is then read from the oldest
//!   second it reached, back. A second holding more lines than one answer
//!   carries cannot be read whole: the read says so in [`Logs::gaps`]
//!   ([`GapReason::Crowded`]), as it says when it stopped at its most
//!   lines or requests. [`Logs::is_partial`] is then true, as a listing's
//!   `totalIsPartial` is.
//! - **What `offset`, `type` and `interval` do.** Never sent by this
//!   module; the builder has their setters.
//! - **How late a line can reach the server.** [`ListLogs::follow`] reads
//!   30 s back before the newest line it gave (its
//!   [`overlap`](FollowLogs::overlap)), and waits 2 s after the execution
//!   has ended before its last read ([`settle`](FollowLogs::settle)). A
//!   line later than that is not seen.
//! - **Whether the answer carries labels.** The emulator's lines carry
//!   `labels` (`blaxel-task`, `blaxel-execution`); for a server that does
//!   not, [`LogLine::task`] and [`LogLine::execution`] are read from a
//!   message that is itself a task-side JSON line, and are `None`
//!   otherwise.
//!
//! # Following
//!
//! [`ListLogs::follow`] polls: each poll reads the window from the
//! overlap before the newest line given up to a day past now (whole, as
//! [`ListLogs::read`] does), and gives the lines it had not given, oldest
//! first. A line is told apart by its time, severity, text, trace and
//! labels, counted: two lines alike in all of these are two lines, and a
//! third alike appearing later is given once more. Only a 64-bit hash per
//! line of the overlap is kept. Polls are sent with the client's retries
//! off and judged by the SDK's one classifier ([`crate::retry`]): a
//! failure that may pass waits (the poll interval, doubling up to a
//! minute, at least the server's `Retry-After`) and polls again, for up to
//! the [`patience`](FollowLogs::patience); any other error is the stream's
//! last item. Lines that may be missing come as an
//! [`Error::LogsIncomplete`](crate::Error::LogsIncomplete) item, after
//! which the stream goes on. A follow of an execution's logs ends once the
//! execution has ended and its last lines are given; a follow of a job's
//! logs, when it is dropped.

mod follow;
mod last;
mod line;
mod window;

pub use follow::{DEFAULT_MAX_LINES_PER_POLL, FollowLogs};
pub use last::{LastLines, TaskLines};
pub use line::{EXECUTION_LABEL, LogLine, Severity, TASK_LABEL, parse_timestamp};
pub use window::{
    DEFAULT_MAX_LINES, DEFAULT_MAX_REQUESTS, DEFAULT_MAX_WINDOW, DEFAULT_PAGE_SIZE, GapReason,
    LogGap, Logs, ReadLogs,
};

pub(crate) use last::{of_task, span};

use crate::ListLogs;
use chrono::{DateTime, Utc};

impl<'a> ListLogs<'a> {
    /// Reads every line written from `start` up to (not including) `end`,
    /// with this builder's filters: the window is read in as many requests
    /// as it takes (see [the module](crate::logs)), and the lines are
    /// given oldest first, with where lines may be missing. `start` and
    /// `end` take a [`std::time::SystemTime`] or a `chrono::DateTime<Utc>`.
    /// This sets the request's `start`, `end` and `limit` itself.
    pub fn read(
        self,
        start: impl Into<DateTime<Utc>>,
        end: impl Into<DateTime<Utc>>,
    ) -> ReadLogs<'a> {
        ReadLogs::new(self, start.into(), end.into())
    }

    /// A stream of the lines as they are written, with this builder's
    /// filters, each given once, oldest first (see [the
    /// module](crate::logs#following)). Made from an execution's handle
    /// (`client.job(j).execution(e).logs()`), it ends once the execution
    /// has ended and its last lines are given; otherwise when dropped.
    pub fn follow(self) -> FollowLogs<'a> {
        FollowLogs::new(self)
    }
}
