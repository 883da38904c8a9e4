//! Following logs: a stream of new lines, read by polling with an
//! overlapping window, each line given once.

use super::line::LogLine;
use super::window::{self, GapReason, Limits};
use crate::error::Error;
use crate::retry::{Backoff, Verdict, verdict};
use crate::{Client, ListLogs, RetryConfig};
use blaxel_jobs_client::operations::RetrySafety;
use chrono::{DateTime, TimeDelta, Utc};
use futures_core::Stream;
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// How far past now (or past the newest line) each poll's window reaches:
/// lines stamped by a clock ahead of this machine's are read too.
const HORIZON: TimeDelta = TimeDelta::days(1);

/// The most lines one poll keeps by default.
pub const DEFAULT_MAX_LINES_PER_POLL: usize = 100_000;

/// The settings of a follow.
#[derive(Debug, Clone)]
struct Settings {
    poll_interval: Duration,
    overlap: Duration,
    since: Option<DateTime<Utc>>,
    settle: Duration,
    patience: Duration,
    limits: Limits,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            poll_interval: Duration::from_secs(5),
            overlap: Duration::from_secs(30),
            since: None,
            settle: Duration::from_secs(2),
            patience: Duration::from_secs(300),
            limits: Limits {
                max_lines: DEFAULT_MAX_LINES_PER_POLL,
                ..Limits::default()
            },
        }
    }
}

/// The stream a follow runs, once started.
type Lines<'a> = Pin<Box<dyn Stream<Item = Result<LogLine, Error>> + Send + 'a>>;

/// A stream of an execution's (or a job's) log lines as they are written:
/// see [`ListLogs::follow`]. Its settings apply from its first poll.
#[must_use = "a stream does nothing until it is polled"]
pub struct FollowLogs<'a> {
    template: Option<ListLogs<'a>>,
    settings: Settings,
    stream: Option<Lines<'a>>,
}

impl std::fmt::Debug for FollowLogs<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FollowLogs")
            .field("settings", &self.settings)
            .field("started", &self.stream.is_some())
            .finish_non_exhaustive()
    }
}

impl<'a> FollowLogs<'a> {
    pub(crate) fn new(template: ListLogs<'a>) -> Self {
        FollowLogs {
            template: Some(template),
            settings: Settings::default(),
            stream: None,
        }
    }

    /// How long to wait between polls (default 5 s; Blaxel's CLI waits
    /// 15 s). Each poll is a request for the execution's status and one
    /// or more for its lines.
    pub fn poll_interval(mut self, every: Duration) -> Self {
        self.settings.poll_interval = every;
        self
    }

    /// How far back each poll reads again before the newest line already
    /// given (default 30 s, as Blaxel's CLI): a line that reaches the
    /// server later than lines written after it, by less than this, is
    /// still given (after them); one later than that is not seen.
    pub fn overlap(mut self, overlap: Duration) -> Self {
        self.settings.overlap = overlap;
        self
    }

    /// Gives the lines written from `since` on (by default, an execution's
    /// lines from its creation, less the overlap; a job's from now, less
    /// the overlap).
    pub fn since(mut self, since: impl Into<DateTime<Utc>>) -> Self {
        self.settings.since = Some(since.into());
        self
    }

    /// How long to wait, once the execution has ended, before the last
    /// read (default 2 s), for lines that reach the server after the end.
    /// How late Blaxel's lines can arrive is unknown; the emulator's are
    /// there when the execution ends.
    pub fn settle(mut self, settle: Duration) -> Self {
        self.settings.settle = settle;
        self
    }

    /// How long polls may fail in a row with errors that may pass
    /// (default 5 minutes) before the stream gives the last one and ends.
    pub fn patience(mut self, patience: Duration) -> Self {
        self.settings.patience = patience;
        self
    }

    /// The lines one request asks for (default 1,000); see
    /// [`ReadLogs::page_size`](super::ReadLogs::page_size).
    pub fn page_size(mut self, n: u32) -> Self {
        self.settings.limits.page_size = n;
        self
    }

    /// The longest window one request covers (default 3 days); see
    /// [`ReadLogs::max_window`](super::ReadLogs::max_window).
    pub fn max_window(mut self, max: Duration) -> Self {
        self.settings.limits.max_window = max;
        self
    }

    /// The most lines one poll reads (default 100,000); when a poll finds
    /// more new lines, the oldest of them are not read, and the stream
    /// says so with an [`Error::LogsIncomplete`] item.
    pub fn max_lines_per_poll(mut self, n: usize) -> Self {
        self.settings.limits.max_lines = n;
        self
    }
}

impl Stream for FollowLogs<'_> {
    type Item = Result<LogLine, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.stream.is_none() {
            let Some(template) = this.template.take() else {
                return Poll::Ready(None);
            };
            this.stream = Some(Box::pin(follow(template, this.settings.clone())));
        }
        match this.stream.as_mut() {
            Some(s) => s.as_mut().poll_next(cx),
            None => Poll::Ready(None),
        }
    }
}

/// What a line is, for telling lines apart: when, and a hash of the rest.
type Key = (i64, u64);

fn key(line: &LogLine) -> Key {
    let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one((
        &line.severity,
        &line.message,
        &line.trace_id,
        &line.task,
        &line.execution,
        &line.resource,
    ));
    (nanos(line.timestamp), hash)
}

fn nanos(t: DateTime<Utc>) -> i64 {
    t.timestamp_nanos_opt().unwrap_or(if t.timestamp() < 0 {
        i64::MIN
    } else {
        i64::MAX
    })
}

/// How many times each line was given, for the lines not older than the
/// window's start: a line read again is given again only if it now
/// appears more times (two lines with the same time and text are two
/// lines).
#[derive(Debug, Default)]
pub(crate) struct Seen {
    counts: HashMap<Key, u32>,
}

impl Seen {
    /// The lines of one read (oldest first) that were not given yet.
    pub(crate) fn fresh(&mut self, lines: Vec<LogLine>) -> Vec<LogLine> {
        let mut now: HashMap<Key, u32> = HashMap::new();
        let mut out = Vec::new();
        for line in lines {
            let k = key(&line);
            let n = now.entry(k).or_insert(0);
            *n = n.saturating_add(1);
            if *n > self.counts.get(&k).copied().unwrap_or(0) {
                out.push(line);
            }
        }
        for (k, n) in now {
            let c = self.counts.entry(k).or_insert(0);
            *c = (*c).max(n);
        }
        out
    }

    /// Forgets the lines older than `from`, which no read asks for again.
    pub(crate) fn forget_before(&mut self, from: DateTime<Utc>) {
        let from = nanos(from);
        self.counts.retain(|(t, _), _| *t >= from);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.counts.len()
    }
}

/// The running state of a follow.
struct State<'a> {
    client: &'a Client,
    template: ListLogs<'a>,
    /// The execution whose end ends the follow, `(job, id)`.
    execution: Option<(String, String)>,
    s: Settings,
    /// The start of the next read.
    from: Option<DateTime<Utc>>,
    /// The newest line given, capped at this machine's clock.
    newest: Option<DateTime<Utc>>,
    seen: Seen,
    /// Gaps already reported, not to report them at every poll.
    gaps: HashSet<(i64, i64)>,
    buffer: VecDeque<Result<LogLine, Error>>,
    /// The execution has ended: the next read is the last.
    ending: bool,
    done: bool,
    /// Polls failed in a row, and since when.
    failures: u32,
    failing_since: Option<tokio::time::Instant>,
}

fn wall_now() -> DateTime<Utc> {
    DateTime::<Utc>::from(std::time::SystemTime::now())
}

fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

impl<'a> State<'a> {
    /// One round: the execution's status (first, its creation), then the
    /// new lines; or, after an error, the wait before the next round.
    async fn round(&mut self) {
        if let Some((job, id)) = self.execution.clone()
            && (self.from.is_none() || !self.ending)
        {
            let got = self
                .client
                .job(job)
                .execution(id)
                .get()
                .retry(RetryConfig::disabled())
                .send()
                .await;
            let execution = match got {
                Ok(e) => e,
                Err(e) => return self.failed(e).await,
            };
            if self.from.is_none() {
                let created = execution
                    .metadata
                    .created_at
                    .as_deref()
                    .and_then(super::line::parse_timestamp);
                if created.is_none() && self.s.since.is_none() {
                    tracing::warn!(
                        target: "blaxel_jobs::logs",
                        "the execution has no readable createdAt; following its lines of the last day"
                    );
                }
                let start = created.unwrap_or_else(|| wall_now() - TimeDelta::days(1));
                self.from = Some(self.s.since.unwrap_or_else(|| {
                    start
                        .checked_sub_signed(delta(self.s.overlap))
                        .unwrap_or(start)
                }));
            }
            if execution.status.as_ref().is_some_and(|s| s.is_terminal()) {
                self.ending = true;
                tokio::time::sleep(self.s.settle).await;
            }
        }
        let now = wall_now();
        let from = *self.from.get_or_insert_with(|| {
            self.s
                .since
                .unwrap_or_else(|| now.checked_sub_signed(delta(self.s.overlap)).unwrap_or(now))
        });
        let reach = now.max(self.newest.unwrap_or(now)).max(from);
        let to = reach
            .checked_add_signed(HORIZON)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let logs = match window::read(&self.template, from, to, self.s.limits).await {
            Ok(l) => l,
            Err(e) => return self.failed(e).await,
        };
        self.failures = 0;
        self.failing_since = None;
        for gap in logs.gaps {
            let id = (nanos(gap.start), nanos(gap.end));
            // A crowded second read again gives the same gap: once.
            if gap.reason != GapReason::Crowded || self.gaps.insert(id) {
                self.buffer
                    .push_back(Err(Error::LogsIncomplete(Box::new(gap))));
            }
        }
        let fresh = self.seen.fresh(logs.lines);
        if let Some(last) = fresh.iter().map(|l| l.timestamp).max() {
            self.newest = Some(self.newest.map_or(last, |n| n.max(last)).min(now.max(from)));
        }
        self.buffer.extend(fresh.into_iter().map(Ok));
        if let Some(newest) = self.newest {
            let next = newest
                .checked_sub_signed(delta(self.s.overlap))
                .unwrap_or(newest)
                .max(from);
            self.from = Some(next);
            self.seen.forget_before(next);
            let before = nanos(next);
            self.gaps.retain(|(_, end)| *end > before);
        }
        if self.ending {
            self.done = true;
            return;
        }
        tokio::time::sleep(self.s.poll_interval).await;
    }

    /// After a failed poll: the error, when it will not pass or patience
    /// ran out (then the stream ends); else a wait, growing with each
    /// failure, at least as long as the server's `Retry-After`.
    async fn failed(&mut self, e: Error) {
        let since = *self
            .failing_since
            .get_or_insert_with(tokio::time::Instant::now);
        let retry_after = match verdict(&e, RetrySafety::Idempotent) {
            Verdict::Final => None,
            Verdict::Transient { retry_after } | Verdict::BackPressure { retry_after } => {
                Some(retry_after.unwrap_or_default())
            }
        };
        let Some(retry_after) = retry_after.filter(|_| since.elapsed() < self.s.patience) else {
            self.buffer.push_back(Err(e));
            self.done = true;
            return;
        };
        let backoff = Backoff {
            initial: self.s.poll_interval,
            max: self.s.poll_interval.max(Duration::from_secs(60)),
            factor: 2.0,
        };
        let wait = backoff.ceiling(self.failures).max(retry_after);
        self.failures = self.failures.saturating_add(1);
        tracing::warn!(target: "blaxel_jobs::logs", error = %e, failures = self.failures, "a poll of the logs failed; will poll again");
        tokio::time::sleep(wait).await;
    }
}

/// The stream of a follow (see [`ListLogs::follow`]).
fn follow<'a>(
    template: ListLogs<'a>,
    s: Settings,
) -> impl Stream<Item = Result<LogLine, Error>> + Send + 'a {
    let execution = match (template.call.id("jobId"), template.call.id("executionId")) {
        (Some(job), Some(id)) => Some((job.to_owned(), id.to_owned())),
        _ => None,
    };
    let state = State {
        client: template.call.client,
        template: template.retry(RetryConfig::disabled()),
        execution,
        s,
        from: None,
        newest: None,
        seen: Seen::default(),
        gaps: HashSet::new(),
        buffer: VecDeque::new(),
        ending: false,
        done: false,
        failures: 0,
        failing_since: None,
    };
    futures_util::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(item) = st.buffer.pop_front() {
                return Some((item, st));
            }
            if st.done {
                return None;
            }
            st.round().await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::Severity;

    fn line(t: &str, message: &str) -> LogLine {
        LogLine {
            timestamp: DateTime::parse_from_rfc3339(t).unwrap().to_utc(),
            severity: Severity::Number(9),
            message: message.to_owned(),
            trace_id: None,
            task: Some("0".into()),
            execution: None,
            resource: "job".into(),
        }
    }

    #[test]
    fn lines_read_again_are_given_once_and_equal_lines_each_once() {
        let mut seen = Seen::default();
        let t = "2026-12-04T09:00:00Z";
        let first = seen.fresh(vec![line(t, "a"), line(t, "same"), line(t, "same")]);
        assert_eq!(first.len(), 3);
        // Read again with one more "same" and a new line: those two only.
        let again = seen.fresh(vec![
            line(t, "a"),
            line(t, "same"),
            line(t, "same"),
            line(t, "same"),
            line("2026-12-04T09:00:01Z", "b"),
        ]);
        let messages: Vec<_> = again.iter().map(|l| l.message.as_str()).collect();
        assert_eq!(messages, ["same", "b"]);
        // A read that finds fewer (the server forgot some) gives nothing.
        assert!(seen.fresh(vec![line(t, "same")]).is_empty());
        assert_eq!(seen.len(), 3);
        seen.forget_before(
            DateTime::parse_from_rfc3339("2026-12-04T09:00:01Z")
                .unwrap()
                .to_utc(),
        );
        assert_eq!(seen.len(), 1);
    }
}
