//! What an execution is told to do: each task's script, read from the
//! task's parameters, and the settings of the job it runs with.

use crate::clock::{Micros, SECOND};
use serde_json::{Map, Value};

/// What a task does, from its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TaskScript {
    /// Simulated length of each attempt.
    pub(crate) duration: Micros,
    /// How many attempts fail before one succeeds; `u64::MAX` means all.
    pub(crate) fail_attempts: u64,
}

impl TaskScript {
    /// Reads the script of a task from its parameters. `field` names the task
    /// in error messages (`tasks[2]`).
    pub(crate) fn parse(params: &Map<String, Value>, field: &str) -> Result<TaskScript, String> {
        let duration = match params.get("durationSeconds") {
            None => SECOND,
            Some(v) => match v.as_f64() {
                Some(s) if s.is_finite() && s >= 0.0 => (s * 1e6).round() as u64,
                _ => {
                    return Err(format!(
                        "{field}.durationSeconds: must be a non-negative number (emulator task script)"
                    ));
                }
            },
        };
        let fail = match params.get("fail") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(format!(
                    "{field}.fail: must be a boolean (emulator task script)"
                ));
            }
        };
        let fail_attempts = match params.get("failAttempts") {
            None => 0,
            Some(v) => v.as_u64().ok_or_else(|| {
                format!(
                    "{field}.failAttempts: must be a non-negative integer (emulator task script)"
                )
            })?,
        };
        Ok(TaskScript {
            duration,
            fail_attempts: if fail { u64::MAX } else { fail_attempts },
        })
    }
}

/// The configuration an execution runs with, copied from the job when the
/// execution is created: later job updates do not change it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExecConfig {
    /// Seconds an attempt may run (`spec.runtime.timeout`).
    pub(crate) timeout_secs: Option<i64>,
    /// Retries per task (`spec.runtime.maxRetries`).
    pub(crate) max_retries: u64,
    /// Tasks running at once.
    pub(crate) parallelism: usize,
    /// The request's `memory`.
    pub(crate) memory_override: Option<i64>,
    /// The names of the request's `env` overrides (values are never kept).
    pub(crate) env_override: Vec<String>,
}

impl ExecConfig {
    /// The attempt timeout, in simulated time.
    pub(crate) fn timeout(&self) -> Option<Micros> {
        self.timeout_secs
            .and_then(|s| u64::try_from(s).ok())
            .map(|s| s.saturating_mul(SECOND))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn script(v: Value) -> TaskScript {
        TaskScript::parse(v.as_object().unwrap(), "tasks[0]").unwrap()
    }

    #[test]
    fn scripts_parse_and_reject_bad_values() {
        assert_eq!(
            script(json!({})),
            TaskScript {
                duration: SECOND,
                fail_attempts: 0
            }
        );
        assert_eq!(script(json!({"durationSeconds": 2.5})).duration, 2_500_000);
        assert_eq!(script(json!({"fail": true})).fail_attempts, u64::MAX);
        assert_eq!(script(json!({"failAttempts": 3})).fail_attempts, 3);
        let bad = |v: Value| TaskScript::parse(v.as_object().unwrap(), "tasks[1]").unwrap_err();
        assert!(bad(json!({"durationSeconds": -1})).starts_with("tasks[1].durationSeconds"));
        assert!(bad(json!({"durationSeconds": "5"})).starts_with("tasks[1].durationSeconds"));
        assert!(bad(json!({"fail": "yes"})).starts_with("tasks[1].fail"));
        assert!(bad(json!({"failAttempts": 1.5})).starts_with("tasks[1].failAttempts"));
    }
}
