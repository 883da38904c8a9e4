//! The process environment a task reads: its variables and its arguments,
//! captured once so that loading and logging see the same values and tests
//! can supply their own.

use std::collections::BTreeMap;
use std::ffi::OsString;

use crate::platform;

/// The variable holding the execution data URL.
pub const DATA_URL_VAR: &str = platform::BL_EXECUTION_DATA_URL;
/// The variable that names the index variable.
pub const TASK_KEY_VAR: &str = platform::BL_TASK_KEY;
/// The index variable when [`TASK_KEY_VAR`] is not set.
pub const DEFAULT_TASK_INDEX_VAR: &str = platform::TASK_INDEX;
/// The variable that names the execution id variable.
pub const EXECUTION_KEY_VAR: &str = platform::BL_EXECUTION_KEY;
/// The execution id variable when [`EXECUTION_KEY_VAR`] is not set.
pub const DEFAULT_EXECUTION_ID_VAR: &str = platform::BL_EXECUTION_ID;

/// A snapshot of environment variables and command-line arguments.
///
/// [`Environment::from_process`] reads the running process;
/// [`Environment::new`] starts empty, for tests and for programs that
/// take their configuration from elsewhere. Values are never shown by
/// `Debug`: they may hold secrets.
#[derive(Clone, Default)]
pub struct Environment {
    vars: BTreeMap<String, String>,
    args: Vec<OsString>,
}

impl std::fmt::Debug for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Environment")
            .field("vars", &self.vars.keys().collect::<Vec<_>>())
            .field("args", &self.args.len())
            .finish()
    }
}

impl Environment {
    /// An empty environment: no variables, no arguments.
    pub fn new() -> Environment {
        Environment::default()
    }

    /// The variables and arguments (without the program name) of this
    /// process. Variables whose name or value is not UTF-8 are read with
    /// the invalid bytes replaced; arguments are kept as they are, and one
    /// that is not UTF-8 is an error when parameters are read from them.
    pub fn from_process() -> Environment {
        Environment {
            vars: std::env::vars_os()
                .map(|(k, v)| {
                    (
                        k.to_string_lossy().into_owned(),
                        v.to_string_lossy().into_owned(),
                    )
                })
                .collect(),
            args: std::env::args_os().skip(1).collect(),
        }
    }

    /// Sets a variable.
    pub fn var(mut self, name: impl Into<String>, value: impl Into<String>) -> Environment {
        self.vars.insert(name.into(), value.into());
        self
    }

    /// Replaces the arguments (without the program name).
    pub fn args<I>(mut self, args: I) -> Environment
    where
        I: IntoIterator,
        I::Item: Into<OsString>,
    {
        self.args = args.into_iter().map(Into::into).collect();
        self
    }

    /// The value of a variable, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// The value of a variable, if set and not empty.
    pub(crate) fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// The arguments.
    pub fn arguments(&self) -> &[OsString] {
        &self.args
    }

    /// The name of the variable holding this task's index: the value of
    /// `BL_TASK_KEY`, or `TASK_INDEX`.
    pub fn task_index_var(&self) -> &str {
        self.non_empty(TASK_KEY_VAR)
            .unwrap_or(DEFAULT_TASK_INDEX_VAR)
    }

    /// The name of the variable holding the execution id: the value of
    /// `BL_EXECUTION_KEY`, or `BL_EXECUTION_ID`.
    pub fn execution_id_var(&self) -> &str {
        self.non_empty(EXECUTION_KEY_VAR)
            .unwrap_or(DEFAULT_EXECUTION_ID_VAR)
    }

    /// The execution id, if the platform set one.
    pub fn execution_id(&self) -> Option<&str> {
        self.non_empty(self.execution_id_var())
    }

    /// This task's index: the index variable parsed as a non-negative
    /// integer, 0 when it is not set or empty (as the official helpers do).
    pub fn task_index(&self) -> Result<usize, crate::Error> {
        let var = self.task_index_var();
        match self.non_empty(var) {
            None => Ok(0),
            Some(v) => v.trim().parse().map_err(|_| crate::Error::InvalidIndex {
                variable: var.to_owned(),
                value: v.to_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_variable_is_named_by_bl_task_key() {
        let env = Environment::new().var("TASK_INDEX", "3").var("SHARD", "7");
        assert_eq!(env.task_index().unwrap(), 3);
        let env = env.var(TASK_KEY_VAR, "SHARD");
        assert_eq!(env.task_index_var(), "SHARD");
        assert_eq!(env.task_index().unwrap(), 7);
    }

    #[test]
    fn a_missing_or_empty_index_is_zero_and_a_bad_one_an_error() {
        assert_eq!(Environment::new().task_index().unwrap(), 0);
        assert_eq!(
            Environment::new()
                .var("TASK_INDEX", "")
                .task_index()
                .unwrap(),
            0
        );
        for bad in ["-1", "one", "1.5", "99999999999999999999999"] {
            let err = Environment::new()
                .var("TASK_INDEX", bad)
                .task_index()
                .unwrap_err();
            let text = err.to_string();
            assert!(text.contains("TASK_INDEX"), "{text}");
            assert!(text.contains(bad), "{text}");
        }
    }

    #[test]
    fn the_execution_id_variable_is_named_by_bl_execution_key() {
        let env = Environment::new().var("BL_EXECUTION_ID", "exec-a-1");
        assert_eq!(env.execution_id(), Some("exec-a-1"));
        let env = env.var(EXECUTION_KEY_VAR, "RUN_ID");
        assert_eq!(env.execution_id(), None);
        assert_eq!(env.var("RUN_ID", "r-9").execution_id(), Some("r-9"));
    }

    #[test]
    fn debug_shows_names_but_not_values() {
        let env = Environment::new()
            .var("API_TOKEN", "s3cr3t-value")
            .args(["--password", "hunter2"]);
        let text = format!("{env:?}");
        assert!(text.contains("API_TOKEN"));
        assert!(!text.contains("s3cr3t-value"));
        assert!(!text.contains("hunter2"));
    }
}
