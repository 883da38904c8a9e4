//! Log lines the platform can filter: a `tracing` layer that writes one
//! JSON object per event, labelled with the task and the execution.
//!
//! A line looks like this (keys renamed as the environment asks):
//!
//! ```json
//! {"message":"processed 120 rows table=users","severity":"INFO","labels":{"blaxel-task":"3","blaxel-execution":"x7k2"}}
//! ```
//!
//! - `message` is the event's message, followed by its other fields as
//!   `name=value`.
//! - `severity` is `DEBUG`, `INFO`, `WARNING` or `ERROR` (`TRACE` events
//!   are `DEBUG`).
//! - The labels object (`labels`, or the name in `BL_LOGGER_LABELS`) has
//!   `blaxel-task`: `BL_TASK_PREFIX` and the index variable's value, and
//!   `blaxel-execution`: `BL_EXECUTION_PREFIX` and the last `-`-separated
//!   part of the execution id; each only when its variable is set.
//! - `trace_id` and `span_id` (renamed by `BL_LOGGER_TRACE_ID` and
//!   `BL_LOGGER_SPAN_ID`, prefixed by `BL_LOGGER_TRACE_ID_PREFIX` and
//!   `BL_LOGGER_SPAN_ID_PREFIX`) appear when a span around the event
//!   recorded fields of those names, the nearest span first: this crate
//!   has no OpenTelemetry context of its own.
//!
//! [`TaskLayer::text`] writes the same events as plain `LEVEL message`
//! lines, for local runs.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Arc;

use serde::ser::{SerializeMap, Serializer as _};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use crate::environment::Environment;

/// Where lines go: something that gives a writer for each line.
type MakeWriter = Arc<dyn Fn() -> Box<dyn std::io::Write> + Send + Sync>;

/// The names and labels of the JSON log line, read from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFormat {
    /// The key of the labels object (`BL_LOGGER_LABELS`, default `labels`).
    pub labels_key: String,
    /// The key of the trace id (`BL_LOGGER_TRACE_ID`, default `trace_id`).
    pub trace_id_key: String,
    /// The key of the span id (`BL_LOGGER_SPAN_ID`, default `span_id`).
    pub span_id_key: String,
    /// Put before the trace id (`BL_LOGGER_TRACE_ID_PREFIX`).
    pub trace_id_prefix: String,
    /// Put before the span id (`BL_LOGGER_SPAN_ID_PREFIX`).
    pub span_id_prefix: String,
    /// The `blaxel-task` label, if the index variable is set.
    pub task_label: Option<String>,
    /// The `blaxel-execution` label, if the execution id is set.
    pub execution_label: Option<String>,
}

impl LogFormat {
    /// The format the environment asks for.
    pub fn from_environment(env: &Environment) -> LogFormat {
        let var = |name: &str, default: &str| env.get(name).unwrap_or(default).to_owned();
        let task_label = env.non_empty(env.task_index_var()).map(|index| {
            format!(
                "{}{index}",
                env.get(crate::platform::BL_TASK_PREFIX).unwrap_or("")
            )
        });
        let execution_label = env.execution_id().map(|id| {
            let last = id.rsplit('-').next().unwrap_or(id);
            format!(
                "{}{last}",
                env.get(crate::platform::BL_EXECUTION_PREFIX).unwrap_or("")
            )
        });
        LogFormat {
            labels_key: var("BL_LOGGER_LABELS", "labels"),
            trace_id_key: var("BL_LOGGER_TRACE_ID", "trace_id"),
            span_id_key: var("BL_LOGGER_SPAN_ID", "span_id"),
            trace_id_prefix: var("BL_LOGGER_TRACE_ID_PREFIX", ""),
            span_id_prefix: var("BL_LOGGER_SPAN_ID_PREFIX", ""),
            task_label,
            execution_label,
        }
    }
}

/// Whether the environment asks for JSON logs (`BL_LOGGER=json`).
pub fn json_requested(env: &Environment) -> bool {
    env.get("BL_LOGGER") == Some("json")
}

/// The most verbose level `LOG_LEVEL` allows (`INFO` when unset or unknown;
/// `WARNING` and `CRITICAL` are read as `WARN` and `ERROR`).
pub fn level_from_environment(env: &Environment) -> Level {
    match env
        .get("LOG_LEVEL")
        .map(|l| l.trim().to_ascii_uppercase())
        .as_deref()
    {
        Some("TRACE") => Level::TRACE,
        Some("DEBUG") => Level::DEBUG,
        Some("WARN" | "WARNING") => Level::WARN,
        Some("ERROR" | "CRITICAL" | "FATAL") => Level::ERROR,
        _ => Level::INFO,
    }
}

/// The platform's name for a level.
fn severity(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARNING",
        Level::INFO => "INFO",
        Level::DEBUG | Level::TRACE => "DEBUG",
    }
}

#[derive(Clone)]
enum Style {
    Json(Arc<LogFormat>),
    Text,
}

/// A `tracing` layer that writes each event as one line: Blaxel's JSON
/// format ([`TaskLayer::json`]) or plain text ([`TaskLayer::text`]).
///
/// Each line is written with one `write_all` call, to standard error
/// unless [`TaskLayer::with_writer`] says otherwise.
#[derive(Clone)]
pub struct TaskLayer {
    style: Style,
    max_level: Level,
    make_writer: MakeWriter,
}

impl std::fmt::Debug for TaskLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskLayer")
            .field("json", &matches!(self.style, Style::Json(_)))
            .field("max_level", &self.max_level)
            .finish_non_exhaustive()
    }
}

impl TaskLayer {
    /// JSON lines in `format`, for events at `INFO` and above.
    pub fn json(format: LogFormat) -> TaskLayer {
        TaskLayer::with_style(Style::Json(Arc::new(format)))
    }

    /// Plain `LEVEL message` lines, for events at `INFO` and above.
    pub fn text() -> TaskLayer {
        TaskLayer::with_style(Style::Text)
    }

    /// JSON lines if `BL_LOGGER=json`, text otherwise, at the level of
    /// `LOG_LEVEL`.
    pub fn from_environment(env: &Environment) -> TaskLayer {
        let layer = if json_requested(env) {
            TaskLayer::json(LogFormat::from_environment(env))
        } else {
            TaskLayer::text()
        };
        layer.max_level(level_from_environment(env))
    }

    fn with_style(style: Style) -> TaskLayer {
        TaskLayer {
            style,
            max_level: Level::INFO,
            make_writer: Arc::new(|| Box::new(std::io::stderr())),
        }
    }

    /// Writes events up to this level of detail (`Level::DEBUG` writes
    /// `DEBUG`, `INFO`, `WARN` and `ERROR` events).
    pub fn max_level(mut self, level: Level) -> TaskLayer {
        self.max_level = level;
        self
    }

    /// Writes each line to a writer from `make_writer` instead of standard
    /// error.
    pub fn with_writer<W, F>(mut self, make_writer: F) -> TaskLayer
    where
        W: std::io::Write + 'static,
        F: Fn() -> W + Send + Sync + 'static,
    {
        self.make_writer = Arc::new(move || Box::new(make_writer()));
        self
    }

    /// Whether this layer writes JSON.
    pub fn is_json(&self) -> bool {
        matches!(self.style, Style::Json(_))
    }

    fn line<S>(&self, event: &Event<'_>, ctx: &Context<'_, S>) -> Vec<u8>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let rest = std::mem::take(&mut fields.rest);
        if fields.message.is_empty() {
            fields.message.push_str(rest.trim_start());
        } else {
            fields.message.push_str(&rest);
        }
        let level = event.metadata().level();
        match &self.style {
            Style::Text => {
                let mut line = format!("{:<7} {}", severity(level), fields.message);
                line.push('\n');
                line.into_bytes()
            }
            Style::Json(format) => {
                let mut ids = SpanIds::default();
                if let Some(scope) = ctx.event_scope(event) {
                    for span in scope {
                        if let Some(found) = span.extensions().get::<SpanIds>() {
                            ids.fill_from(found);
                        }
                        if ids.trace_id.is_some() && ids.span_id.is_some() {
                            break;
                        }
                    }
                }
                let mut out = Vec::with_capacity(128 + fields.message.len());
                let mut ser = serde_json::Serializer::new(&mut out);
                let written = (|| {
                    let mut map = ser.serialize_map(None)?;
                    map.serialize_entry("message", &fields.message)?;
                    map.serialize_entry("severity", severity(level))?;
                    map.serialize_entry(&format.labels_key, &Labels(format))?;
                    if let Some(t) = &ids.trace_id {
                        map.serialize_entry(
                            &format.trace_id_key,
                            &format!("{}{t}", format.trace_id_prefix),
                        )?;
                    }
                    if let Some(s) = &ids.span_id {
                        map.serialize_entry(
                            &format.span_id_key,
                            &format!("{}{s}", format.span_id_prefix),
                        )?;
                    }
                    map.end()
                })();
                // Serializing strings into a Vec cannot fail.
                debug_assert!(written.is_ok());
                out.push(b'\n');
                out
            }
        }
    }
}

struct Labels<'a>(&'a LogFormat);

impl serde::Serialize for Labels<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        if let Some(task) = &self.0.task_label {
            map.serialize_entry("blaxel-task", task)?;
        }
        if let Some(execution) = &self.0.execution_label {
            map.serialize_entry("blaxel-execution", execution)?;
        }
        map.end()
    }
}

/// The message and the other fields of an event, as one text.
#[derive(Default)]
struct Fields {
    message: String,
    rest: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.push(field, format_args!("{value}"));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            self.push(field, format_args!("{value:?}"));
        }
    }
}

impl Fields {
    fn push(&mut self, field: &Field, value: std::fmt::Arguments<'_>) {
        self.rest.push(' ');
        let _ = write!(self.rest, "{}={value}", field.name());
    }
}

/// The `trace_id` and `span_id` fields a span recorded.
#[derive(Default, Clone)]
struct SpanIds {
    trace_id: Option<String>,
    span_id: Option<String>,
}

impl SpanIds {
    fn fill_from(&mut self, other: &SpanIds) {
        if self.trace_id.is_none() {
            self.trace_id.clone_from(&other.trace_id);
        }
        if self.span_id.is_none() {
            self.span_id.clone_from(&other.span_id);
        }
    }
}

impl Visit for SpanIds {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "trace_id" => self.trace_id = Some(value.to_owned()),
            "span_id" => self.span_id = Some(value.to_owned()),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "trace_id" => self.trace_id = Some(format!("{value:?}")),
            "span_id" => self.span_id = Some(format!("{value:?}")),
            _ => {}
        }
    }
}

impl<S> tracing_subscriber::Layer<S> for TaskLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn enabled(&self, metadata: &tracing::Metadata<'_>, _: Context<'_, S>) -> bool {
        metadata.is_span() || *metadata.level() <= self.max_level
    }

    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: Context<'_, S>,
    ) {
        if !self.is_json() {
            return;
        }
        let mut ids = SpanIds::default();
        attrs.record(&mut ids);
        if (ids.trace_id.is_some() || ids.span_id.is_some())
            && let Some(span) = ctx.span(id)
        {
            span.extensions_mut().insert(ids);
        }
    }

    fn on_record(
        &self,
        id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        ctx: Context<'_, S>,
    ) {
        if !self.is_json() {
            return;
        }
        let mut recorded = SpanIds::default();
        values.record(&mut recorded);
        if recorded.trace_id.is_none() && recorded.span_id.is_none() {
            return;
        }
        if let Some(span) = ctx.span(id) {
            let mut ext = span.extensions_mut();
            match ext.get_mut::<SpanIds>() {
                Some(ids) => {
                    recorded.fill_from(ids);
                    *ids = recorded;
                }
                None => ext.insert(recorded),
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let line = self.line(event, &ctx);
        // A log line that cannot be written is dropped: there is nowhere
        // else to report it.
        let _ = (self.make_writer)().write_all(&line);
    }
}
