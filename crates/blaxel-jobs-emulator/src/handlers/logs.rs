//! ListLogs (`GET /v0/observability/logs`): the log lines of jobs'
//! executions, filtered and capped as Blaxel's answers are.
//!
//! The query, as the emulator reads it (the document marks what is unknown
//! of Blaxel's own reading):
//!
//! - `resourceType` is required; `jobs` reads the jobs named in
//!   `workloadIds` (required, comma-separated names); any other kind has no
//!   lines here, and the answer is `{}`.
//! - `start` and `end` (`YYYY-MM-DDTHH:MM:SS` in UTC, or RFC 3339 with an
//!   offset) are read to the second, and a line is in the window when it
//!   was written from the start of the second `start` names to the end of
//!   the second `end` names. Either may be left out (no bound on that
//!   side). A start after the end, an unreadable time, and a window longer
//!   than [`EmulatorConfig::logs_max_window`](crate::EmulatorConfig::logs_max_window)
//!   get 400.
//! - `executionId` matches an execution's full id, its last dash-separated
//!   part, or the execution label of a line; `taskId` a task's index or
//!   the task label of a line; `traceId` a line's trace id; `search` a
//!   message containing it, case ignored; `severity` a comma-separated list
//!   of `LogSeverity` names (case ignored; an unknown name gets 400).
//! - `limit` (default and most: [`EmulatorConfig::logs_cap`](crate::EmulatorConfig::logs_cap))
//!   must be at least 1 (else 400). `offset`, `type` and `interval` are
//!   taken and ignored.
//!
//! The answer has a member per job with lines in the window: its newest
//! `limit` lines, newest first (lines written at the same instant in the
//! reverse of the order the emulator knows them), and `totalCount`, every
//! line that matches.

use super::call::{Answer, Call, PathParams, Shr, ok, path_params};
use crate::clock::rfc3339_nanos;
use crate::context::Ctx;
use crate::error::ApiError;
use crate::execution::{EXECUTION_LABEL, LogLine, TASK_LABEL, execution_label, severity_number};
use axum::extract::{Extension, RawQuery, State};
use blaxel_jobs_client::open_enum::LogSeverity;
use blaxel_jobs_client::operations::Operation;
use blaxel_jobs_client::types;
use chrono::{DateTime, NaiveDateTime};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

/// Microseconds in a second.
const SECOND_US: i64 = 1_000_000;

/// What a ListLogs request asks for.
#[derive(Debug)]
struct Query {
    jobs: Vec<String>,
    /// Unix microseconds: the first of the window, and the first after it.
    from: Option<i64>,
    until: Option<i64>,
    execution: Option<String>,
    task: Option<String>,
    trace: Option<String>,
    /// Lowercase.
    search: Option<String>,
    severities: Option<Vec<LogSeverity>>,
    limit: usize,
}

/// A time of the window, as Unix seconds.
fn window_second(params: &crate::validate::Params, name: &str) -> Result<Option<i64>, ApiError> {
    let Some(raw) = params.str(name).map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let parsed = NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f")
        .map(|t| t.and_utc().timestamp())
        .or_else(|_| DateTime::parse_from_rfc3339(raw).map(|t| t.timestamp()));
    parsed.map(Some).map_err(|_| {
        ApiError::validation(format!(
            "query {name}: {raw:?} is not a time; write it YYYY-MM-DDTHH:MM:SS, in UTC"
        ))
    })
}

impl Query {
    fn parse(
        call: &Call,
        cap: usize,
        max_window: Option<std::time::Duration>,
    ) -> Result<Query, ApiError> {
        let p = &call.params;
        let non_empty = |name: &str| {
            p.str(name)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let jobs: Vec<String> = non_empty("workloadIds")
            .map(|w| {
                let mut names: Vec<String> = w
                    .split(',')
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(str::to_owned)
                    .collect();
                names.sort();
                names.dedup();
                names
            })
            .unwrap_or_default();
        if jobs.is_empty() {
            return Err(ApiError::validation(
                "query workloadIds: is required: the name of the job whose lines to read",
            ));
        }
        let (start, end) = (window_second(p, "start")?, window_second(p, "end")?);
        if let (Some(s), Some(e)) = (start, end) {
            if s > e {
                return Err(ApiError::validation(format!(
                    "query start: the window starts ({}) after it ends ({})",
                    p.str("start").unwrap_or_default(),
                    p.str("end").unwrap_or_default()
                )));
            }
            if let Some(max) = max_window
                && u64::try_from(e.saturating_sub(s)).unwrap_or(u64::MAX) > max.as_secs()
            {
                return Err(ApiError::validation(format!(
                    "query end: the window is {} s long; the emulator takes at most {} s \
                     (EmulatorConfig::logs_max_window)",
                    e.saturating_sub(s),
                    max.as_secs()
                )));
            }
        }
        let limit = match p.i64("limit") {
            None => cap,
            Some(n) if n < 1 => {
                return Err(ApiError::validation(format!(
                    "query limit: must be at least 1, not {n}"
                )));
            }
            Some(n) => usize::try_from(n).unwrap_or(usize::MAX).min(cap),
        };
        let severities = match non_empty("severity") {
            None => None,
            Some(raw) => {
                let mut out = Vec::new();
                for part in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    let s = LogSeverity::from(part);
                    if !s.is_known() {
                        return Err(ApiError::validation(format!(
                            "query severity: unknown severity {part:?}; expected a \
                             comma-separated list of {}",
                            LogSeverity::KNOWN.join(", ")
                        )));
                    }
                    out.push(s);
                }
                (!out.is_empty()).then_some(out)
            }
        };
        Ok(Query {
            jobs,
            from: start.map(|s| s.saturating_mul(SECOND_US)),
            until: end.map(|e| e.saturating_add(1).saturating_mul(SECOND_US)),
            execution: non_empty("executionId"),
            task: non_empty("taskId"),
            trace: non_empty("traceId"),
            search: non_empty("search").map(|s| s.to_lowercase()),
            severities,
            limit,
        })
    }

    /// Whether the window holds Unix microseconds `us`.
    fn holds(&self, us: i64) -> bool {
        self.from.is_none_or(|f| f <= us) && self.until.is_none_or(|u| us < u)
    }

    /// Whether the window meets the span from `a` to `b` (Unix
    /// microseconds).
    fn meets(&self, a: i64, b: i64) -> bool {
        self.from.is_none_or(|f| f <= b) && self.until.is_none_or(|u| a < u)
    }

    /// Whether a line of execution `id` passes the filters other than the
    /// window.
    fn keeps(&self, id: &str, line: &LogLine<'_>) -> bool {
        self.execution
            .as_deref()
            .is_none_or(|e| e == id || e == execution_label(id) || e == line.execution_label)
            && self
                .task
                .as_deref()
                .is_none_or(|t| t == line.task_label || t == line.task.to_string())
            && self.trace.as_deref().is_none_or(|t| t == line.trace_id)
            && self
                .severities
                .as_ref()
                .is_none_or(|s| s.contains(&line.severity))
            && self
                .search
                .as_deref()
                .is_none_or(|s| line.message.to_lowercase().contains(s))
    }
}

/// A line kept for the answer, ordered by when it was written, then by
/// execution, task and place: the newest is the greatest.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Kept {
    us: i64,
    seq: u64,
    task: usize,
    order: usize,
    entry: Entry,
}

/// A line as answered (not compared: the key above is unique).
#[derive(Debug)]
struct Entry(types::LogEntry);

impl PartialEq for Entry {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, _: &Self) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}

pub(super) async fn list_logs(
    State(s): Shr,
    ctx: Option<Extension<Ctx>>,
    path: PathParams,
    RawQuery(q): RawQuery,
) -> Answer {
    let call = Call::new(&s, ctx, path_params(path)?, q, Operation::ListLogs)?;
    let kind = call.params.str("resourceType").map(str::trim);
    let query = Query::parse(&call, s.config.logs_cap, s.config.logs_max_window)?;
    match kind {
        None | Some("") => {
            return Err(ApiError::validation(
                "query resourceType: is required (`jobs`, for the lines of jobs)",
            ));
        }
        Some("jobs") => {}
        // No other kind of resource has lines here.
        Some(_) => return ok(&types::LogsByResource(BTreeMap::new())),
    }
    s.with_workspace(&call.ctx.workspace, |ws, now| {
        let mut answer = BTreeMap::new();
        for job in &query.jobs {
            // The newest `limit` lines: a min-heap of at most that many.
            let mut newest: BinaryHeap<Reverse<Kept>> = BinaryHeap::new();
            let mut total: u64 = 0;
            for exec in ws.executions_named(job) {
                let (a, b) = exec.log_span(now);
                if !query.meets(s.clock.wall_micros(a), s.clock.wall_micros(b)) {
                    continue;
                }
                exec.for_each_log_line(now, |line| {
                    let us = s.clock.wall_micros(line.at);
                    if !query.holds(us) || !query.keeps(&exec.id, &line) {
                        return;
                    }
                    total = total.saturating_add(1);
                    let key = (us, exec.seq, line.task, line.order);
                    if newest.len() >= query.limit
                        && newest
                            .peek()
                            .is_some_and(|Reverse(k)| (k.us, k.seq, k.task, k.order) > key)
                    {
                        return;
                    }
                    let mut labels = BTreeMap::new();
                    labels.insert(TASK_LABEL.to_owned(), line.task_label.into_owned());
                    labels.insert(
                        EXECUTION_LABEL.to_owned(),
                        line.execution_label.into_owned(),
                    );
                    newest.push(Reverse(Kept {
                        us,
                        seq: exec.seq,
                        task: line.task,
                        order: line.order,
                        entry: Entry(types::LogEntry {
                            timestamp: Some(rfc3339_nanos(us)),
                            message: Some(line.message.into_owned()),
                            severity: Some(severity_number(&line.severity).into()),
                            trace_id: Some(line.trace_id.into_owned()),
                            labels,
                        }),
                    }));
                    if newest.len() > query.limit {
                        newest.pop();
                    }
                });
            }
            if total == 0 {
                continue;
            }
            // Newest first.
            let logs: Vec<types::LogEntry> = newest
                .into_sorted_vec()
                .into_iter()
                .map(|Reverse(k)| k.entry.0)
                .collect();
            answer.insert(
                job.clone(),
                types::ResourceLogs {
                    logs,
                    total_count: Some(i64::try_from(total).unwrap_or(i64::MAX)),
                },
            );
        }
        ok(&types::LogsByResource(answer))
    })
}
