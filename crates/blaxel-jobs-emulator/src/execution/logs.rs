//! The log lines of an execution, as ListLogs shows them: what the
//! processes of a local execution wrote (one line each, read as the
//! platform's JSON format when a line is in it), or, for a simulated
//! execution, the lines the emulator writes itself when a task starts,
//! when an attempt fails and is retried, and when it ends.
//!
//! Nothing is stored for logs beyond the output a local task already keeps
//! (bounded, see [`super::local`]): simulated lines are derived from the
//! schedule when asked for, like the tasks' statuses, and every line goes
//! when its execution is forgotten.
//!
//! # Severities
//!
//! Blaxel's answers carry a severity as an integer whose meaning is not
//! published. The emulator uses OpenTelemetry's severity numbers for the
//! names of [`LogSeverity`] ([`severity_number`]). A line of a process
//! that is a JSON object with a string `message` (the format of
//! `blaxel-jobs-task` and of Blaxel's own task-side loggers, with the
//! default key names) gives its `severity` (a name, case ignored; `WARN`
//! is `WARNING` and `CRITICAL` is `FATAL`; any other is `UNKNOWN`), its
//! `labels` (`blaxel-task`, `blaxel-execution`) and its `trace_id`. Any
//! other line is plain: `UNKNOWN` on standard output, `ERROR` on standard
//! error. A line without labels of its own is labelled with the task's
//! index and the last dash-separated part of the execution's id, as the
//! task-side loggers label theirs.

use super::Execution;
use super::local::OutputStream;
use super::schedule::Outcome;
use crate::clock::{Micros, SECOND};
use blaxel_jobs_client::open_enum::LogSeverity;
use serde_json::Value;
use std::borrow::Cow;

/// The label of a line's task.
pub(crate) const TASK_LABEL: &str = "blaxel-task";
/// The label of a line's execution.
pub(crate) const EXECUTION_LABEL: &str = "blaxel-execution";

/// The most retry lines written for one simulated task: a task retried
/// more often gets one more line saying how many were left out.
pub(crate) const MAX_RETRY_LINES: u64 = 10;

/// One log line of an execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogLine<'a> {
    /// When it was written.
    pub(crate) at: Micros,
    /// The task that wrote it.
    pub(crate) task: usize,
    /// Its place among the lines of its task (oldest first), to order
    /// lines written at the same instant.
    pub(crate) order: usize,
    pub(crate) severity: LogSeverity,
    pub(crate) message: Cow<'a, str>,
    /// Empty when the line names no trace.
    pub(crate) trace_id: Cow<'a, str>,
    pub(crate) task_label: Cow<'a, str>,
    pub(crate) execution_label: Cow<'a, str>,
}

/// The number the emulator answers for a severity: OpenTelemetry's
/// severity number of its name (Blaxel's numbers are not published).
pub(crate) fn severity_number(severity: &LogSeverity) -> i64 {
    match severity {
        LogSeverity::Trace => 1,
        LogSeverity::Debug => 5,
        LogSeverity::Info => 9,
        LogSeverity::Warning => 13,
        LogSeverity::Error => 17,
        LogSeverity::Fatal => 21,
        _ => 0,
    }
}

/// The severity a task-side JSON line names.
fn severity_named(name: &str) -> LogSeverity {
    match LogSeverity::from(name) {
        LogSeverity::Unknown(other) => match other.as_str().to_ascii_uppercase().as_str() {
            "WARN" => LogSeverity::Warning,
            "CRITICAL" => LogSeverity::Fatal,
            _ => LogSeverity::Unspecified,
        },
        known => known,
    }
}

/// The last dash-separated part of an execution id: the execution label
/// task-side loggers write.
pub(crate) fn execution_label(id: &str) -> &str {
    id.rsplit('-').next().unwrap_or(id)
}

/// What one line of a process's output says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parsed<'a> {
    pub(crate) severity: LogSeverity,
    pub(crate) message: Cow<'a, str>,
    pub(crate) trace_id: Cow<'a, str>,
    pub(crate) task_label: Option<String>,
    pub(crate) execution_label: Option<String>,
}

/// Reads one line a process wrote on `stream` (see [the module](self)).
pub(crate) fn parse_output(text: &str, stream: OutputStream) -> Parsed<'_> {
    if text.trim_start().starts_with('{')
        && let Ok(Value::Object(line)) = serde_json::from_str::<Value>(text)
        && let Some(Value::String(message)) = line.get("message")
    {
        let string = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        let labels = line.get("labels");
        return Parsed {
            severity: line
                .get("severity")
                .and_then(Value::as_str)
                .map_or(LogSeverity::Unspecified, severity_named),
            message: Cow::Owned(message.clone()),
            trace_id: Cow::Owned(string(line.get("trace_id")).unwrap_or_default()),
            task_label: string(labels.and_then(|l| l.get(TASK_LABEL))),
            execution_label: string(labels.and_then(|l| l.get(EXECUTION_LABEL))),
        };
    }
    Parsed {
        severity: match stream {
            OutputStream::Stdout => LogSeverity::Unspecified,
            OutputStream::Stderr => LogSeverity::Error,
        },
        message: Cow::Borrowed(text),
        trace_id: Cow::Borrowed(""),
        task_label: None,
        execution_label: None,
    }
}

impl Execution {
    /// The simulated instants between which its lines were written, as of
    /// `now`: from its creation to its end (to now while it runs, and for
    /// local executions, whose late output may still come).
    pub(crate) fn log_span(&self, now: Micros) -> (Micros, Micros) {
        let end = match (&self.local, self.completed_at) {
            (None, Some(end)) if self.is_final() => end,
            _ => now,
        };
        (self.created_at, end.min(now))
    }

    /// Calls `f` with each of its lines written by `now`, in no particular
    /// order.
    pub(crate) fn for_each_log_line<'a>(&'a self, now: Micros, mut f: impl FnMut(LogLine<'a>)) {
        let execution = execution_label(&self.id);
        if let Some(local) = &self.local {
            for task in 0..local.tasks.len() {
                for (order, (at, line)) in local.stamped_lines(task).enumerate() {
                    if at > now {
                        continue;
                    }
                    let parsed = parse_output(&line.text, line.stream);
                    f(LogLine {
                        at,
                        task,
                        order,
                        severity: parsed.severity,
                        message: parsed.message,
                        trace_id: parsed.trace_id,
                        task_label: parsed
                            .task_label
                            .map_or_else(|| Cow::Owned(task.to_string()), Cow::Owned),
                        execution_label: parsed
                            .execution_label
                            .map_or(Cow::Borrowed(execution), Cow::Owned),
                    });
                }
            }
            return;
        }
        for (task, view) in self.views().iter().enumerate() {
            let lines = simulated_lines(task, view.run, view.cancelled_while_running, self);
            for (order, (at, severity, message)) in lines.into_iter().enumerate() {
                if at > now {
                    continue;
                }
                f(LogLine {
                    at,
                    task,
                    order,
                    severity,
                    message: Cow::Owned(message),
                    trace_id: Cow::Borrowed(""),
                    task_label: Cow::Owned(task.to_string()),
                    execution_label: Cow::Borrowed(execution),
                });
            }
        }
    }
}

/// The lines the emulator writes for simulated task `task`: when it starts,
/// when an attempt fails and is retried (at most [`MAX_RETRY_LINES`], then
/// one line for the rest), and when it ends; or, cancelled before it
/// started, when it was cancelled. Oldest first.
fn simulated_lines(
    task: usize,
    run: Option<super::schedule::TaskRun>,
    cancelled_while_running: bool,
    exec: &Execution,
) -> Vec<(Micros, LogSeverity, String)> {
    let mut out = Vec::new();
    let Some(run) = run else {
        if let Some(at) = exec.cancel_at {
            out.push((
                at,
                LogSeverity::Warning,
                format!("task {task} cancelled before it started"),
            ));
        }
        return out;
    };
    out.push((run.start, LogSeverity::Info, format!("task {task} started")));
    let max = exec.config.max_retries;
    // Every attempt but the last failed and was retried.
    let failed_attempts = run.attempts - 1;
    for k in 1..=failed_attempts.min(MAX_RETRY_LINES) {
        let at = run.start.saturating_add(run.len.saturating_mul(k));
        out.push((
            at,
            LogSeverity::Warning,
            format!("task {task}: attempt {k} failed; retrying ({k} of {max} retries)"),
        ));
    }
    if failed_attempts > MAX_RETRY_LINES {
        let at = run
            .start
            .saturating_add(run.len.saturating_mul(MAX_RETRY_LINES + 1));
        out.push((
            at,
            LogSeverity::Warning,
            format!(
                "task {task}: {} more attempts failed and were retried (not logged one by one)",
                failed_attempts - MAX_RETRY_LINES
            ),
        ));
    }
    let attempts = run.attempts;
    let (severity, message) = match run.outcome {
        Outcome::Succeeded if attempts == 1 => {
            (LogSeverity::Info, format!("task {task} succeeded"))
        }
        Outcome::Succeeded => (
            LogSeverity::Info,
            format!("task {task} succeeded after {attempts} attempts"),
        ),
        Outcome::TimedOut => (
            LogSeverity::Error,
            format!(
                "task {task} timed out after {} s (DeadlineExceeded)",
                run.len / SECOND
            ),
        ),
        Outcome::Failed if cancelled_while_running => (
            LogSeverity::Error,
            format!(
                "task {task}: attempt {attempts} failed while the execution was cancelling; \
                 not retried"
            ),
        ),
        Outcome::Failed => (
            LogSeverity::Error,
            format!("task {task} failed after {attempts} attempt(s)"),
        ),
    };
    out.push((run.end(), severity, message));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_give_their_severity_labels_and_trace() {
        let line = r#"{"message":"done rows=3","severity":"warn","labels":{"blaxel-task":"p7","blaxel-execution":"x1"},"trace_id":"t-9"}"#;
        let p = parse_output(line, OutputStream::Stderr);
        assert_eq!(p.severity, LogSeverity::Warning);
        assert_eq!(p.message, "done rows=3");
        assert_eq!(p.trace_id, "t-9");
        assert_eq!(p.task_label.as_deref(), Some("p7"));
        assert_eq!(p.execution_label.as_deref(), Some("x1"));
        let p = parse_output(r#"{"message":"m","severity":"LOUD"}"#, OutputStream::Stdout);
        assert_eq!(p.severity, LogSeverity::Unspecified);
        assert_eq!(p.task_label, None);
    }

    #[test]
    fn plain_lines_are_unknown_on_stdout_and_errors_on_stderr() {
        let p = parse_output("hello", OutputStream::Stdout);
        assert_eq!(
            (p.severity, p.message.as_ref()),
            (LogSeverity::Unspecified, "hello")
        );
        let p = parse_output("oops", OutputStream::Stderr);
        assert_eq!(p.severity, LogSeverity::Error);
        // A JSON object without a string message is a plain line.
        let p = parse_output(r#"{"msg":"x"}"#, OutputStream::Stdout);
        assert_eq!(p.message, r#"{"msg":"x"}"#);
        let p = parse_output("{not json", OutputStream::Stderr);
        assert_eq!(p.message, "{not json");
    }

    #[test]
    fn severity_numbers_follow_opentelemetry() {
        let n: Vec<i64> = LogSeverity::KNOWN
            .iter()
            .map(|name| severity_number(&LogSeverity::from(*name)))
            .collect();
        assert_eq!(n, [21, 17, 13, 9, 5, 1, 0]);
        assert_eq!(severity_number(&LogSeverity::from("SHOUT")), 0);
        assert_eq!(execution_label("batch-7-3"), "3");
        assert_eq!(execution_label("plain"), "plain");
    }
}
