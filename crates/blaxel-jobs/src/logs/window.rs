//! Reading a time window of log lines whole: split into pieces the server
//! takes, each read from its newest lines back in as many answers as it
//! needs, merged oldest first, and what may be missing said, never
//! dropped silently.

use super::line::{LogLine, read_answer};
use crate::ListLogs;
use crate::error::{Error, InvalidInput};
use chrono::{DateTime, TimeDelta, Timelike, Utc};
use std::fmt;
use std::time::Duration;

/// Lines one request asks for by default: what Blaxel's CLI always asks
/// for.
pub const DEFAULT_PAGE_SIZE: u32 = 1000;
/// The longest window one request covers by default: 3 days, the longest
/// Blaxel's CLI sends (whether the server takes longer is unknown).
pub const DEFAULT_MAX_WINDOW: Duration = Duration::from_secs(3 * 24 * 3600);
/// The most lines a read keeps by default.
pub const DEFAULT_MAX_LINES: usize = 10_000;
/// The most requests a read makes by default.
pub const DEFAULT_MAX_REQUESTS: u32 = 1000;

/// Why lines may be missing from a stretch of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum GapReason {
    /// A second held more lines than one answer carries (and the server
    /// has no cursor to read the rest): the answer had the newest of them.
    Crowded,
    /// The read kept its most lines (`max_lines`), the newest; older ones
    /// were not read.
    MaxLines,
    /// The read made its most requests (`max_requests`); older lines were
    /// not read.
    MaxRequests,
    /// This many lines came with a timestamp that could not be read, and
    /// were left out.
    Unreadable(u64),
}

/// A stretch of time, from `start` up to (not including) `end`, in which
/// lines may be missing from what was read, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogGap {
    /// The start of the stretch.
    pub start: DateTime<Utc>,
    /// The end of the stretch (not in it).
    pub end: DateTime<Utc>,
    /// Why lines may be missing.
    pub reason: GapReason,
}

impl fmt::Display for LogGap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "log lines from {} to {} may be missing: ",
            self.start.to_rfc3339(),
            self.end.to_rfc3339()
        )?;
        match self.reason {
            GapReason::Crowded => f.write_str(
                "a second held more lines than one answer carries, and the API has no cursor",
            ),
            GapReason::MaxLines => f.write_str("the read kept its most lines (max_lines)"),
            GapReason::MaxRequests => f.write_str("the read made its most requests (max_requests)"),
            GapReason::Unreadable(n) => {
                write!(
                    f,
                    "{n} line(s) came with a timestamp that could not be read"
                )
            }
        }
    }
}

impl std::error::Error for LogGap {}

/// The lines of a window, oldest first, and where lines may be missing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Logs {
    /// The lines, oldest first (lines written at the same instant in the
    /// reverse of the server's order, which is newest first).
    pub lines: Vec<LogLine>,
    /// Where lines may be missing, oldest first; empty when the window was
    /// read whole.
    pub gaps: Vec<LogGap>,
    /// The requests the read made.
    pub requests: u32,
}

impl Logs {
    /// Whether lines may be missing (see [`Logs::gaps`]): the answer is
    /// partial, as a listing whose `totalIsPartial` is true.
    pub fn is_partial(&self) -> bool {
        !self.gaps.is_empty()
    }
}

/// The limits of one read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    pub(crate) page_size: u32,
    pub(crate) max_window: Duration,
    pub(crate) max_lines: usize,
    pub(crate) max_requests: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            page_size: DEFAULT_PAGE_SIZE,
            max_window: DEFAULT_MAX_WINDOW,
            max_lines: DEFAULT_MAX_LINES,
            max_requests: DEFAULT_MAX_REQUESTS,
        }
    }
}

impl Limits {
    fn check(&self) -> Result<(), InvalidInput> {
        if self.page_size == 0 {
            return Err(InvalidInput::at_field("page_size", "must be at least 1"));
        }
        if self.max_lines == 0 {
            return Err(InvalidInput::at_field("max_lines", "must be at least 1"));
        }
        if self.max_requests == 0 {
            return Err(InvalidInput::at_field("max_requests", "must be at least 1"));
        }
        if self.max_window < Duration::from_secs(4) {
            return Err(InvalidInput::at_field(
                "max_window",
                "must be at least 4 s (each request asks for a second more on each side)",
            ));
        }
        Ok(())
    }
}

/// The first and last instants a request can name (`YYYY-MM-DDTHH:MM:SS`).
fn representable() -> (DateTime<Utc>, DateTime<Utc>) {
    let first = DateTime::<Utc>::from_timestamp(-62_135_596_800, 0).unwrap_or(DateTime::UNIX_EPOCH);
    let last = DateTime::<Utc>::from_timestamp(253_402_300_799, 0).unwrap_or(DateTime::UNIX_EPOCH);
    (first, last)
}

/// The start of the second holding `t`.
pub(crate) fn floor_second(t: DateTime<Utc>) -> DateTime<Utc> {
    t.with_nanosecond(0).unwrap_or(t)
}

/// The first whole second at or after `t`.
fn ceil_second(t: DateTime<Utc>) -> DateTime<Utc> {
    let f = floor_second(t);
    if f == t {
        f
    } else {
        add(f, TimeDelta::seconds(1))
    }
}

fn add(t: DateTime<Utc>, d: TimeDelta) -> DateTime<Utc> {
    t.checked_add_signed(d).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn sub(t: DateTime<Utc>, d: TimeDelta) -> DateTime<Utc> {
    t.checked_sub_signed(d).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// A time as the request's `start` and `end` take it.
pub(crate) fn query_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// Adds `gap`, merged with the last one when they touch and agree.
fn push_gap(gaps: &mut Vec<LogGap>, gap: LogGap) {
    if let Some(last) = gaps.last_mut()
        && last.reason == gap.reason
        && gap.end >= last.start
        && gap.start <= last.end
    {
        last.start = last.start.min(gap.start);
        last.end = last.end.max(gap.end);
        return;
    }
    gaps.push(gap);
}

/// Reads the lines written from `start` up to `end` with the requests of
/// `template`, within `limits` (see [the module](super) for how).
pub(crate) async fn read(
    template: &ListLogs<'_>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    limits: Limits,
) -> Result<Logs, Error> {
    let fetch = |from: DateTime<Utc>, to: DateTime<Utc>| {
        template
            .clone()
            .start(query_time(from))
            .end(query_time(to))
            .limit(i64::from(limits.page_size))
            .send()
    };
    read_with(fetch, start, end, limits).await
}

/// [`read`], with `fetch(from, to)` answering one request for the window
/// from `from` to `to` (whole seconds) with at most `limits.page_size`
/// lines.
async fn read_with<F, Fut>(
    mut fetch: F,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    limits: Limits,
) -> Result<Logs, Error>
where
    F: FnMut(DateTime<Utc>, DateTime<Utc>) -> Fut,
    Fut: std::future::Future<Output = Result<crate::types::LogsByResource, Error>>,
{
    limits.check()?;
    if start > end {
        return Err(InvalidInput::at_field(
            "window",
            format!(
                "starts ({}) after it ends ({})",
                start.to_rfc3339(),
                end.to_rfc3339()
            ),
        )
        .into());
    }
    let (first, last) = representable();
    let (start, end) = (start.clamp(first, last), end.clamp(first, last));
    let one = TimeDelta::seconds(1);
    let piece = TimeDelta::from_std(limits.max_window)
        .unwrap_or(TimeDelta::MAX)
        .checked_sub(&TimeDelta::seconds(3))
        .unwrap_or(one)
        .max(one);
    let page = u64::from(limits.page_size);
    let mut newest_first: Vec<LogLine> = Vec::new();
    let mut gaps: Vec<LogGap> = Vec::new();
    let mut requests = 0u32;
    // Whether the server was seen to answer lines of the second its `end`
    // names: then `end` need not reach past the stretch being read (a
    // second past it would only fill answers with lines not wanted).
    let mut end_inclusive = false;
    // What is left to read is [start, b); each piece is [a, b).
    let mut b = end;
    'pieces: while b > start {
        let a = sub(b, piece).max(start);
        while b > a {
            if requests >= limits.max_requests {
                push_gap(
                    &mut gaps,
                    LogGap {
                        start,
                        end: b,
                        reason: GapReason::MaxRequests,
                    },
                );
                break 'pieces;
            }
            requests += 1;
            // A second more on each side: whether the server counts the
            // seconds it is given in or out is unknown (until an answer
            // shows that `end`'s second is in).
            let to = if end_inclusive {
                sub(ceil_second(b), one)
            } else {
                ceil_second(b)
            };
            let from = sub(floor_second(a), one);
            let answer = read_answer(fetch(from, to).await?);
            if answer.unreadable > 0 {
                push_gap(
                    &mut gaps,
                    LogGap {
                        start: a,
                        end: b,
                        reason: GapReason::Unreadable(answer.unreadable),
                    },
                );
            }
            let cut: Vec<String> = answer.cut(page).into_iter().map(str::to_owned).collect();
            let mut lines = answer.lines;
            let learned = !end_inclusive
                && lines
                    .iter()
                    .any(|l| l.timestamp >= to && l.timestamp < add(to, one));
            end_inclusive |= learned;
            // Newest first, as the server sends them (stable: equal times
            // keep the server's order).
            lines.sort_by_key(|l| std::cmp::Reverse(l.timestamp));
            // Below `keep_from`, this answer's lines may be incomplete.
            let keep_from = if !cut.is_empty() {
                // A cut resource's lines are the newest of what was asked:
                // every line after the oldest one it holds (within what was
                // asked) is in the answer.
                let oldest = lines
                    .iter()
                    .filter(|l| cut.contains(&l.resource))
                    .map(|l| l.timestamp)
                    .filter(|t| *t >= from && *t < add(to, one))
                    .min();
                match oldest.map(|t| add(floor_second(t), one)) {
                    Some(next) if next <= a => a,
                    Some(next) if next < b => next,
                    // The second past `b` filled the answer: ask again
                    // without it.
                    _ if learned => continue,
                    _ => {
                        // The last second before `b` alone fills an answer.
                        let crowded = floor_second(sub(b, TimeDelta::nanoseconds(1))).max(a);
                        push_gap(
                            &mut gaps,
                            LogGap {
                                start: crowded,
                                end: b,
                                reason: GapReason::Crowded,
                            },
                        );
                        crowded
                    }
                }
            } else {
                a
            };
            newest_first.extend(
                lines
                    .into_iter()
                    .filter(|l| l.timestamp >= keep_from && l.timestamp < b),
            );
            b = keep_from;
            if newest_first.len() >= limits.max_lines {
                // Lines were left out: those past the most, or the older
                // part of the window, not read.
                let cut = newest_first.len() > limits.max_lines;
                newest_first.truncate(limits.max_lines);
                let edge = match newest_first.last() {
                    Some(oldest) if cut => {
                        add(oldest.timestamp, TimeDelta::nanoseconds(1)).min(end)
                    }
                    _ => b,
                };
                if edge > start {
                    push_gap(
                        &mut gaps,
                        LogGap {
                            start,
                            end: edge,
                            reason: GapReason::MaxLines,
                        },
                    );
                }
                break 'pieces;
            }
        }
    }
    newest_first.reverse();
    newest_first.sort_by_key(|l| l.timestamp);
    gaps.sort_by_key(|g| g.start);
    Ok(Logs {
        lines: newest_first,
        gaps,
        requests,
    })
}

/// A read of every line of a time window: see [`ListLogs::read`].
#[derive(Debug, Clone)]
#[must_use = "a read does nothing until it is sent"]
pub struct ReadLogs<'a> {
    template: ListLogs<'a>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    limits: Limits,
}

impl<'a> ReadLogs<'a> {
    pub(crate) fn new(template: ListLogs<'a>, start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        ReadLogs {
            template,
            start,
            end,
            limits: Limits::default(),
        }
    }

    /// The most lines kept (default 10,000): the newest are, and
    /// [`Logs::gaps`] says from when older ones were not read
    /// ([`GapReason::MaxLines`]).
    pub fn max_lines(mut self, n: usize) -> Self {
        self.limits.max_lines = n;
        self
    }

    /// The lines one request asks for, its `limit` (default 1,000, what
    /// Blaxel's CLI asks for). An answer with this many lines, or fewer
    /// than its `totalCount`, is taken as cut, and the rest of its window
    /// read with more requests.
    pub fn page_size(mut self, n: u32) -> Self {
        self.limits.page_size = n;
        self
    }

    /// The longest window one request covers (default 3 days, the longest
    /// Blaxel's CLI sends; at least 4 s): a longer one is read in pieces.
    pub fn max_window(mut self, max: Duration) -> Self {
        self.limits.max_window = max;
        self
    }

    /// The most requests the read makes (default 1,000); then
    /// [`Logs::gaps`] says what was not read ([`GapReason::MaxRequests`]).
    pub fn max_requests(mut self, n: u32) -> Self {
        self.limits.max_requests = n;
        self
    }

    /// Reads the window: every line written from its start up to (not
    /// including) its end, oldest first, within the limits above, with
    /// where lines may be missing. A window that starts after it ends, or
    /// a limit of 0, is [`Error::InvalidInput`] before anything is sent.
    pub async fn send(self) -> Result<Logs, Error> {
        read(&self.template, self.start, self.end, self.limits).await
    }
}

impl<'a> crate::call::Request for ReadLogs<'a> {
    type Output = Logs;
    fn send(self) -> impl std::future::Future<Output = Result<Logs, Error>> + Send {
        ReadLogs::send(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn seconds_round_down_and_up() {
        let x = t("2026-12-04T09:00:01.5Z");
        assert_eq!(floor_second(x), t("2026-12-04T09:00:01Z"));
        assert_eq!(ceil_second(x), t("2026-12-04T09:00:02Z"));
        assert_eq!(
            ceil_second(t("2026-12-04T09:00:01Z")),
            t("2026-12-04T09:00:01Z")
        );
        assert_eq!(query_time(x), "2026-12-04T09:00:01");
        assert_eq!(
            add(DateTime::<Utc>::MAX_UTC, TimeDelta::seconds(1)),
            DateTime::<Utc>::MAX_UTC
        );
    }

    /// A server in memory: `lines` (seconds from an origin, and a
    /// message), answered newest first, at most `cap` of them, with the
    /// seconds `start` and `end` name read as whole seconds both in
    /// (`inclusive`) or as instants.
    fn server(
        lines: &[(i64, u32)],
        origin: DateTime<Utc>,
        cap: usize,
        inclusive: bool,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> crate::types::LogsByResource {
        let limit = if inclusive {
            add(to, TimeDelta::seconds(1))
        } else {
            to
        };
        let mut found: Vec<(DateTime<Utc>, u32)> = lines
            .iter()
            .map(|&(ms, m)| (add(origin, TimeDelta::milliseconds(ms)), m))
            .filter(|(t, _)| *t >= from && *t < limit)
            .collect();
        let total = found.len();
        found.sort_by(|x, y| y.cmp(x));
        found.truncate(cap);
        let logs = found
            .into_iter()
            .map(|(t, m)| crate::types::LogEntry {
                timestamp: Some(t.to_rfc3339()),
                message: Some(m.to_string()),
                ..Default::default()
            })
            .collect();
        let mut map = std::collections::BTreeMap::new();
        if total > 0 {
            map.insert(
                "job".to_owned(),
                crate::types::ResourceLogs {
                    logs,
                    total_count: Some(total as i64),
                },
            );
        }
        crate::types::LogsByResource(map)
    }

    proptest::proptest! {
        /// Whatever the lines, the cap, the longest window and the reading
        /// of the bounds: every line of the window is read once, or lies in
        /// a gap the read reports; no line outside the window is given.
        #[test]
        fn every_line_of_the_window_is_read_once_or_reported(
            lines in proptest::collection::vec((0i64..120_000, 0u32..4), 0..80),
            cap in 1usize..8,
            inclusive in proptest::bool::ANY,
            window in 4u64..90,
            (from_ms, len_ms) in (0i64..60_000, 0i64..90_000),
            origin_ms in 0i64..1000,
        ) {
            let origin = DateTime::<Utc>::from_timestamp_millis(1_790_000_000_000 + origin_ms).unwrap();
            let start = add(origin, TimeDelta::milliseconds(from_ms));
            let end = add(start, TimeDelta::milliseconds(len_ms));
            let limits = Limits {
                page_size: cap as u32,
                max_window: Duration::from_secs(window),
                max_lines: usize::MAX,
                max_requests: u32::MAX,
            };
            let fetch = |f, t| {
                // The server refuses windows longer than the read's longest.
                let span = t - f;
                let ok = span <= TimeDelta::seconds(window as i64);
                std::future::ready(if ok {
                    Ok(server(&lines, origin, cap, inclusive, f, t))
                } else {
                    Err(Error::InvalidInput(InvalidInput::general("window too long")))
                })
            };
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let logs = rt.block_on(read_with(fetch, start, end, limits)).unwrap();
            let in_gap = |t: DateTime<Utc>| logs.gaps.iter().any(|g| g.start <= t && t < g.end);
            let mut want: Vec<(DateTime<Utc>, String)> = lines
                .iter()
                .map(|&(ms, m)| (add(origin, TimeDelta::milliseconds(ms)), m.to_string()))
                .filter(|(t, _)| *t >= start && *t < end)
                .collect();
            let mut got: Vec<(DateTime<Utc>, String)> =
                logs.lines.iter().map(|l| (l.timestamp, l.message.clone())).collect();
            // Oldest first.
            proptest::prop_assert!(got.windows(2).all(|w| w[0].0 <= w[1].0));
            // Outside the gaps, exactly the window's lines.
            want.retain(|(t, _)| !in_gap(*t));
            let inside: Vec<_> = got.iter().filter(|(t, _)| in_gap(*t)).cloned().collect();
            got.retain(|(t, _)| !in_gap(*t));
            want.sort();
            got.sort();
            proptest::prop_assert_eq!(got, want);
            // In the gaps, only lines of the window, never more than there are.
            for (t, _) in &inside {
                proptest::prop_assert!(*t >= start && *t < end);
            }
            // A gap only where a second held more than an answer carries.
            for g in &logs.gaps {
                proptest::prop_assert_eq!(g.reason, GapReason::Crowded);
                let busiest = lines
                    .iter()
                    .map(|&(ms, _)| add(origin, TimeDelta::milliseconds(ms)))
                    .filter(|t| *t >= sub(g.start, TimeDelta::seconds(1)) && *t < add(g.end, TimeDelta::seconds(1)))
                    .count();
                proptest::prop_assert!(busiest >= cap, "{:?} with {} lines near it", g, busiest);
            }
        }
    }

    #[test]
    fn touching_gaps_of_one_reason_merge() {
        let mut gaps = Vec::new();
        let g = |a: &str, b: &str, reason| LogGap {
            start: t(a),
            end: t(b),
            reason,
        };
        push_gap(
            &mut gaps,
            g(
                "2026-12-04T09:00:05Z",
                "2026-12-04T09:00:06Z",
                GapReason::Crowded,
            ),
        );
        push_gap(
            &mut gaps,
            g(
                "2026-12-04T09:00:04Z",
                "2026-12-04T09:00:05Z",
                GapReason::Crowded,
            ),
        );
        push_gap(
            &mut gaps,
            g(
                "2026-12-04T09:00:01Z",
                "2026-12-04T09:00:02Z",
                GapReason::Crowded,
            ),
        );
        push_gap(
            &mut gaps,
            g(
                "2026-12-04T09:00:00Z",
                "2026-12-04T09:00:01Z",
                GapReason::MaxLines,
            ),
        );
        assert_eq!(gaps.len(), 3);
        assert_eq!(
            gaps[0],
            g(
                "2026-12-04T09:00:04Z",
                "2026-12-04T09:00:06Z",
                GapReason::Crowded
            )
        );
        assert!(gaps[2].to_string().contains("max_lines"), "{}", gaps[2]);
    }
}
