//! The JSON log lines of `TaskLayer`, field by field.

use std::io::Write;
use std::sync::{Arc, Mutex};

use blaxel_jobs_task::Environment;
use blaxel_jobs_task::log::{LogFormat, TaskLayer, json_requested, level_from_environment};
use serde_json::{Value, json};
use tracing::Level;
use tracing_subscriber::layer::SubscriberExt;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The lines `layer` writes while `f` runs.
fn capture(layer: TaskLayer, f: impl FnOnce()) -> Vec<String> {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let layer = layer.with_writer(move || writer.clone());
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), f);
    let bytes = buffer.0.lock().unwrap().clone();
    String::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn parse(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn platform_env() -> Environment {
    Environment::new()
        .var("BL_LOGGER", "json")
        .var("TASK_INDEX", "12")
        .var("BL_EXECUTION_ID", "nightly-report-exec-7f3a")
}

#[test]
fn a_line_has_the_message_severity_and_both_labels() {
    let env = platform_env();
    assert!(json_requested(&env));
    let lines = parse(&capture(TaskLayer::from_environment(&env), || {
        tracing::info!(rows = 120, table = "users", "exported");
        tracing::warn!("slow");
        tracing::error!(code = 3);
        tracing::debug!("not written at INFO");
    }));
    assert_eq!(
        lines,
        [
            json!({"message": "exported rows=120 table=users", "severity": "INFO",
                   "labels": {"blaxel-task": "12", "blaxel-execution": "7f3a"}}),
            json!({"message": "slow", "severity": "WARNING",
                   "labels": {"blaxel-task": "12", "blaxel-execution": "7f3a"}}),
            json!({"message": "code=3", "severity": "ERROR",
                   "labels": {"blaxel-task": "12", "blaxel-execution": "7f3a"}}),
        ]
    );
}

#[test]
fn keys_and_prefixes_follow_the_environment() {
    let env = platform_env()
        .var("BL_LOGGER_LABELS", "logging.googleapis.com/labels")
        .var("BL_LOGGER_TRACE_ID", "logging.googleapis.com/trace")
        .var("BL_LOGGER_SPAN_ID", "logging.googleapis.com/spanId")
        .var("BL_LOGGER_TRACE_ID_PREFIX", "projects/p/traces/")
        .var("BL_LOGGER_SPAN_ID_PREFIX", "s-")
        .var("BL_TASK_PREFIX", "task-")
        .var("BL_EXECUTION_PREFIX", "exec-")
        .var("BL_TASK_KEY", "SHARD")
        .var("SHARD", "4");
    let lines = parse(&capture(TaskLayer::from_environment(&env), || {
        let outer = tracing::info_span!("run", trace_id = "0af7651916cd43dd8448eb211c80319c");
        let _o = outer.enter();
        let inner = tracing::info_span!("step", span_id = tracing::field::Empty);
        inner.record("span_id", "b7ad6b7169203331");
        let _i = inner.enter();
        tracing::info!("inside");
    }));
    assert_eq!(
        lines,
        [json!({
            "message": "inside",
            "severity": "INFO",
            "logging.googleapis.com/labels": {"blaxel-task": "task-4", "blaxel-execution": "exec-7f3a"},
            "logging.googleapis.com/trace": "projects/p/traces/0af7651916cd43dd8448eb211c80319c",
            "logging.googleapis.com/spanId": "s-b7ad6b7169203331",
        })]
    );
}

#[test]
fn labels_are_left_out_when_their_variables_are_not_set() {
    let format = LogFormat::from_environment(&Environment::new().var("BL_LOGGER", "json"));
    assert_eq!(
        (
            format.task_label.as_deref(),
            format.execution_label.as_deref()
        ),
        (None, None)
    );
    let lines = parse(&capture(TaskLayer::json(format), || tracing::info!("x")));
    assert_eq!(
        lines,
        [json!({"message": "x", "severity": "INFO", "labels": {}})]
    );
    // An execution id without dashes is its own last part.
    let format = LogFormat::from_environment(&Environment::new().var("BL_EXECUTION_ID", "abc"));
    assert_eq!(format.execution_label.as_deref(), Some("abc"));
}

#[test]
fn messages_are_escaped_into_one_line() {
    let env = platform_env();
    let lines = capture(TaskLayer::from_environment(&env), || {
        tracing::info!(note = "a \"quoted\"\nvalue", "two\nlines");
    });
    assert_eq!(lines.len(), 1, "{lines:?}");
    let v: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(v["message"], "two\nlines note=a \"quoted\"\nvalue");
}

#[test]
fn log_level_sets_the_most_verbose_level() {
    let at = |level: &str| level_from_environment(&Environment::new().var("LOG_LEVEL", level));
    assert_eq!(at("debug"), Level::DEBUG);
    assert_eq!(at("WARNING"), Level::WARN);
    assert_eq!(at("critical"), Level::ERROR);
    assert_eq!(at("nonsense"), Level::INFO);
    let env = platform_env().var("LOG_LEVEL", "DEBUG");
    let lines = parse(&capture(TaskLayer::from_environment(&env), || {
        tracing::trace!("t");
        tracing::debug!("d");
    }));
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["severity"], "DEBUG");
}

#[test]
fn text_lines_without_json() {
    let env = Environment::new().var("TASK_INDEX", "1");
    assert!(!json_requested(&env));
    let lines = capture(TaskLayer::from_environment(&env), || {
        tracing::warn!(attempt = 2, "retrying");
    });
    assert_eq!(lines, ["WARNING retrying attempt=2"]);
}
