//! Typed log lines, read from ListLogs' answers: the one parser of what a
//! server sends there (timestamps, severities, labels, the answer's shape).

use crate::types::{self, LogSeverity};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;
use std::fmt;

/// The label task-side loggers give a line's task (its index, after
/// `BL_TASK_PREFIX`).
pub const TASK_LABEL: &str = "blaxel-task";
/// The label task-side loggers give a line's execution (the last
/// dash-separated part of its id, after `BL_EXECUTION_PREFIX`).
pub const EXECUTION_LABEL: &str = "blaxel-execution";

/// One log line, as the server answered it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogLine {
    /// When it was written.
    pub timestamp: DateTime<Utc>,
    /// How severe it is, as the server said (see [`Severity`]).
    pub severity: Severity,
    /// Its text.
    pub message: String,
    /// The trace it belongs to, when the server named one.
    pub trace_id: Option<String>,
    /// Its task's label (`blaxel-task`: the task's index, after
    /// `BL_TASK_PREFIX`), when the line carries it.
    pub task: Option<String>,
    /// Its execution's label (`blaxel-execution`: the last dash-separated
    /// part of the execution's id, after `BL_EXECUTION_PREFIX`), when the
    /// line carries it.
    pub execution: Option<String>,
    /// The resource (the job) whose line it is: the member of the answer
    /// it came in.
    pub resource: String,
}

impl fmt::Display for LogLine {
    /// `<timestamp> <severity> <message>`, the timestamp in RFC 3339.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.timestamp
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            self.severity,
            self.message
        )
    }
}

/// A line's severity, as the server sent it.
///
/// Blaxel's answers carry an integer, and which integer stands for which
/// name is not published: [`Severity::Number`] keeps it as it is.
/// [`Severity::opentelemetry_name`] reads it with OpenTelemetry's severity
/// numbers, which the emulator answers with; whether Blaxel's numbers are
/// those is unknown. A server that sends names gives
/// [`Severity::Name`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Severity {
    /// A number (an integer, or a string of one).
    Number(i64),
    /// A name (`ERROR`, `WARNING`, ...).
    Name(LogSeverity),
    /// None was sent (or `null`).
    Missing,
    /// Another kind of value, as its JSON text.
    Other(String),
}

impl Severity {
    /// Reads a severity as a server sent it.
    pub fn from_json(value: Option<&Value>) -> Severity {
        match value {
            None | Some(Value::Null) => Severity::Missing,
            Some(Value::Number(n)) => match n.as_i64() {
                Some(i) => Severity::Number(i),
                None => Severity::Other(n.to_string()),
            },
            Some(Value::String(s)) => match s.trim().parse::<i64>() {
                Ok(i) => Severity::Number(i),
                Err(_) => Severity::Name(LogSeverity::from(s.as_str())),
            },
            Some(other) => Severity::Other(other.to_string()),
        }
    }

    /// The name this severity has in OpenTelemetry's numbering (1-4
    /// `TRACE`, 5-8 `DEBUG`, 9-12 `INFO`, 13-16 `WARNING`, 17-20 `ERROR`,
    /// 21-24 `FATAL`, 0 `UNKNOWN`), or the name the server sent. The
    /// emulator numbers severities this way; whether Blaxel does is
    /// unknown, so treat the answer for Blaxel's lines as a guess.
    pub fn opentelemetry_name(&self) -> Option<LogSeverity> {
        match self {
            Severity::Number(0) => Some(LogSeverity::Unspecified),
            Severity::Number(1..=4) => Some(LogSeverity::Trace),
            Severity::Number(5..=8) => Some(LogSeverity::Debug),
            Severity::Number(9..=12) => Some(LogSeverity::Info),
            Severity::Number(13..=16) => Some(LogSeverity::Warning),
            Severity::Number(17..=20) => Some(LogSeverity::Error),
            Severity::Number(21..=24) => Some(LogSeverity::Fatal),
            Severity::Name(name) => Some(name.clone()),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    /// The number or name as sent; `-` when none was.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Severity::Number(n) => write!(f, "{n}"),
            Severity::Name(name) => f.write_str(name.as_str()),
            Severity::Missing => f.write_str("-"),
            Severity::Other(text) => f.write_str(text),
        }
    }
}

/// Reads a line's timestamp: RFC 3339 (any offset, any fraction), or a
/// date and time without zone (`T` or a space between them), read as UTC.
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.to_utc());
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .map(|t| t.and_utc())
}

/// The lines of one answer, and what tells whether it was cut.
#[derive(Debug, Default)]
pub(crate) struct Answer {
    /// Every line whose timestamp could be read, in the answer's order.
    pub(crate) lines: Vec<LogLine>,
    /// Lines whose timestamp could not be read (left out of `lines`).
    pub(crate) unreadable: u64,
    /// Per resource: its name, how many lines it carried, and how many the
    /// server said match (`totalCount`).
    pub(crate) resources: Vec<(String, usize, Option<i64>)>,
}

impl Answer {
    /// The resources whose lines were cut: each carried `limit` lines or
    /// more, or fewer than its `totalCount`.
    pub(crate) fn cut(&self, limit: u64) -> Vec<&str> {
        self.resources
            .iter()
            .filter(|(_, carried, total)| {
                *carried as u64 >= limit || total.is_some_and(|t| t > *carried as i64)
            })
            .map(|(name, _, _)| name.as_str())
            .collect()
    }
}

/// A label's value: a string as it is, another scalar as its text.
fn label(labels: &serde_json::Map<String, Value>, key: &str) -> Option<String> {
    match labels.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// The labels of a line: its `labels` member, else those of its message
/// when the message is itself a task-side JSON line (a server that passes
/// lines through).
fn labels_of(entry: &types::LogEntry) -> (Option<String>, Option<String>) {
    let from_member = (
        entry.labels.get(TASK_LABEL).cloned(),
        entry.labels.get(EXECUTION_LABEL).cloned(),
    );
    if from_member.0.is_some() || from_member.1.is_some() {
        return from_member;
    }
    let Some(message) = entry.message.as_deref() else {
        return (None, None);
    };
    if !message.trim_start().starts_with('{') {
        return (None, None);
    }
    match serde_json::from_str::<Value>(message) {
        Ok(Value::Object(line)) => match line.get("labels") {
            Some(Value::Object(labels)) => {
                (label(labels, TASK_LABEL), label(labels, EXECUTION_LABEL))
            }
            _ => (None, None),
        },
        _ => (None, None),
    }
}

/// Reads an answer of ListLogs: every resource's lines, typed.
pub(crate) fn read_answer(answer: types::LogsByResource) -> Answer {
    let mut out = Answer::default();
    for (resource, logs) in answer.0 {
        out.resources
            .push((resource.clone(), logs.logs.len(), logs.total_count));
        for entry in logs.logs {
            let Some(timestamp) = entry.timestamp.as_deref().and_then(parse_timestamp) else {
                out.unreadable = out.unreadable.saturating_add(1);
                continue;
            };
            let (task, execution) = labels_of(&entry);
            out.lines.push(LogLine {
                timestamp,
                severity: Severity::from_json(entry.severity.as_ref()),
                trace_id: entry.trace_id.filter(|t| !t.is_empty()),
                message: entry.message.unwrap_or_default(),
                task,
                execution,
                resource: resource.clone(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn timestamps_in_rfc3339_and_without_zone() {
        let t = parse_timestamp("2026-12-04T09:15:02.123456789Z").unwrap();
        assert_eq!(t.timestamp_subsec_nanos(), 123_456_789);
        let offset = parse_timestamp("2026-12-04T10:15:02+01:00").unwrap();
        assert_eq!(offset, parse_timestamp("2026-12-04T09:15:02").unwrap());
        assert_eq!(offset, parse_timestamp("2026-12-04 09:15:02.0").unwrap());
        for bad in [
            "",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-12-04",
            "1e300",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn severities_as_sent_and_as_opentelemetry_names() {
        let s = |v: Value| Severity::from_json(Some(&v));
        assert_eq!(s(json!(17)), Severity::Number(17));
        assert_eq!(s(json!("9")), Severity::Number(9));
        assert_eq!(s(json!("warning")), Severity::Name(LogSeverity::Warning));
        assert_eq!(s(json!(1.5)), Severity::Other("1.5".into()));
        assert_eq!(s(json!([1])), Severity::Other("[1]".into()));
        assert_eq!(Severity::from_json(None), Severity::Missing);
        assert_eq!(s(Value::Null), Severity::Missing);
        let names: Vec<_> = [0, 1, 5, 9, 13, 17, 21, 24, 25, -1]
            .into_iter()
            .map(|n| Severity::Number(n).opentelemetry_name())
            .collect();
        assert_eq!(
            names,
            [
                Some(LogSeverity::Unspecified),
                Some(LogSeverity::Trace),
                Some(LogSeverity::Debug),
                Some(LogSeverity::Info),
                Some(LogSeverity::Warning),
                Some(LogSeverity::Error),
                Some(LogSeverity::Fatal),
                Some(LogSeverity::Fatal),
                None,
                None
            ]
        );
        assert_eq!(Severity::Number(17).to_string(), "17");
        assert_eq!(Severity::Missing.to_string(), "-");
    }

    #[test]
    fn answers_give_lines_labels_and_whether_they_were_cut() {
        let answer: types::LogsByResource = serde_json::from_value(json!({
            "report": {"totalCount": 5, "logs": [
                {"timestamp": "2026-12-04T09:00:02Z", "message": "b", "severity": 17,
                 "trace_id": "", "labels": {"blaxel-task": "3", "blaxel-execution": "x7"}},
                {"timestamp": "not a time", "message": "lost"},
                {"timestamp": "2026-12-04T09:00:01Z",
                 "message": "{\"message\":\"a\",\"labels\":{\"blaxel-task\":4}}",
                 "trace_id": "t1"},
            ]}
        }))
        .unwrap();
        let a = read_answer(answer);
        assert_eq!(a.unreadable, 1);
        assert_eq!(a.lines.len(), 2);
        assert_eq!(a.lines[0].task.as_deref(), Some("3"));
        assert_eq!(a.lines[0].execution.as_deref(), Some("x7"));
        assert_eq!(a.lines[0].trace_id, None, "an empty trace id is none");
        assert_eq!(a.lines[0].resource, "report");
        assert_eq!(
            a.lines[1].task.as_deref(),
            Some("4"),
            "from the JSON message"
        );
        assert_eq!(a.lines[1].trace_id.as_deref(), Some("t1"));
        assert_eq!(a.cut(1000), ["report"], "3 carried of 5");
        let whole = Answer {
            resources: vec![("a".into(), 3, Some(3)), ("b".into(), 0, None)],
            ..Answer::default()
        };
        assert!(whole.cut(1000).is_empty());
        assert_eq!(whole.cut(3), ["a"], "as many as the limit");
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            ".{0,40}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(".{0,8}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Any text as a timestamp: read or refused, never a panic; what is
        /// read prints back to the same instant.
        #[test]
        fn any_timestamp_text_parses_or_is_refused(text in ".{0,40}") {
            if let Some(t) = parse_timestamp(&text) {
                let again = parse_timestamp(&t.to_rfc3339()).unwrap();
                prop_assert_eq!(t, again);
            }
        }

        /// Timestamps the server writes read back exactly.
        #[test]
        fn written_timestamps_read_back(secs in -62_135_596_800i64..253_402_300_799, nanos in 0u32..1_000_000_000) {
            let t = DateTime::<Utc>::from_timestamp(secs, nanos).unwrap();
            let text = t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
            prop_assert_eq!(parse_timestamp(&text), Some(t));
        }

        /// Any JSON value as a severity: read, never a panic; integers
        /// stay numbers.
        #[test]
        fn any_severity_value_reads(v in json_value(), n in any::<i64>()) {
            let _ = Severity::from_json(Some(&v)).opentelemetry_name();
            let _ = Severity::from_json(Some(&v)).to_string();
            prop_assert_eq!(Severity::from_json(Some(&Value::from(n))), Severity::Number(n));
        }

        /// Any body a server sends: either it is not the answer's shape
        /// (a decode error) or every entry is a line or counted unreadable.
        #[test]
        fn any_answer_reads_into_lines_or_unreadable_counts(v in json_value(), entries in prop::collection::vec((json_value(), json_value(), json_value()), 0..6)) {
            if let Ok(answer) = serde_json::from_value::<types::LogsByResource>(v) {
                let n: usize = answer.0.values().map(|r| r.logs.len()).sum();
                let a = read_answer(answer);
                prop_assert_eq!(a.lines.len() as u64 + a.unreadable, n as u64);
                let _ = a.cut(1);
            }
            let logs: Vec<Value> = entries
                .into_iter()
                .map(|(t, m, s)| json!({"timestamp": t, "message": m, "severity": s}))
                .collect();
            let body = json!({"job": {"logs": logs, "totalCount": 3}});
            if let Ok(answer) = serde_json::from_value::<types::LogsByResource>(body) {
                let n = answer.0["job"].logs.len();
                let a = read_answer(answer);
                prop_assert_eq!(a.lines.len() as u64 + a.unreadable, n as u64);
            }
        }
    }
}
