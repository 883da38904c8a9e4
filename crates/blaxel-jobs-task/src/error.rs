//! The errors of loading a task. None of them shows a parameter value or
//! the data URL beyond its host: both may carry secrets.

use std::time::Duration;

/// Where a task's parameters came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// `tasks[index]` of the execution data at `BL_EXECUTION_DATA_URL`.
    ExecutionData {
        /// The task's index.
        index: usize,
    },
    /// The index is past the end of the execution's task list; as with the
    /// official helpers, the parameters are an empty object.
    OutOfRange {
        /// The task's index.
        index: usize,
        /// The number of tasks in the execution data.
        count: usize,
    },
    /// `--key value` arguments: a local run, without a data URL.
    Arguments,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::ExecutionData { index } => write!(f, "tasks[{index}] of the execution data"),
            Source::OutOfRange { index, count } => write!(
                f,
                "an empty object (task index {index} is past the {count} tasks of the execution data)"
            ),
            Source::Arguments => f.write_str("the command-line arguments"),
        }
    }
}

/// A task could not get its parameters.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The index variable is set but is not a non-negative integer.
    #[error("{variable} is `{value}`, not a task index (a non-negative integer)")]
    InvalidIndex {
        /// The variable's name (`TASK_INDEX` unless `BL_TASK_KEY` names another).
        variable: String,
        /// Its value.
        value: String,
    },
    /// The data URL variable is set but is not a usable http(s) URL.
    #[error("{variable} is not a usable URL: {reason}")]
    InvalidDataUrl {
        /// The variable's name.
        variable: String,
        /// What is wrong with it (never the URL itself).
        reason: &'static str,
    },
    /// The execution data could not be fetched or read.
    #[error(
        "could not load the task parameters from {variable} (host {host}) after {attempts} attempt{}",
        if *attempts == 1 { "" } else { "s" }
    )]
    DataUrl {
        /// The variable's name.
        variable: String,
        /// The URL's host and port.
        host: String,
        /// How many requests were made.
        attempts: u32,
        /// The last attempt's failure.
        #[source]
        source: FetchError,
    },
    /// The parameters do not match the task's parameter type.
    #[error(
        "the task parameters from {origin} do not match the expected type at `{path}`: {message}"
    )]
    Parameters {
        /// Where the parameters came from.
        origin: Source,
        /// The path of the field that did not match (`.` for the whole value).
        path: String,
        /// What did not match, naming the kind of value but never the value.
        message: String,
    },
    /// The command-line arguments are not `--key value` pairs.
    #[error("the command-line arguments are not `--key value` pairs: {0}")]
    Arguments(String),
    /// The async runtime could not be started.
    #[error("could not start the async runtime")]
    Runtime(#[source] std::io::Error),
}

/// Why fetching or reading the execution data failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The server answered with an unsuccessful status.
    #[error("the server answered HTTP {status}")]
    Status {
        /// The status code.
        status: u16,
    },
    /// The body is larger than the loader's limit.
    #[error("the execution data is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// An attempt took longer than the loader's timeout.
    #[error("no complete answer within {0:?}")]
    Timeout(Duration),
    /// The request or the body failed on the network (connection refused or
    /// reset, body cut short, TLS failure...).
    #[error("network error")]
    Network(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
    /// A redirect could not be followed.
    #[error("{0}")]
    Redirect(&'static str),
    /// The body is not JSON. `eof` is true when the JSON ends before the
    /// value does: taken for a truncated body and retried, even when the
    /// body arrived whole (a cut connection and a server that stopped
    /// writing look the same). Other malformed JSON (`eof` false) is not
    /// retried.
    #[error("the execution data is not valid JSON: {message} at line {line} column {column}")]
    Syntax {
        /// serde_json's description (it never quotes the input).
        message: String,
        /// The line of the error, from 1.
        line: usize,
        /// The column of the error, from 1.
        column: usize,
        /// The body ended before the JSON value did.
        eof: bool,
    },
    /// The body is JSON but not an object with a `tasks` array.
    #[error("the execution data is not an object with a `tasks` array: {0}")]
    Shape(String),
}

impl FetchError {
    /// Whether another attempt may succeed: network errors, timeouts,
    /// truncated bodies, and the statuses 408, 429 and 5xx.
    pub fn is_retryable(&self) -> bool {
        match self {
            FetchError::Status { status } => *status == 408 || *status == 429 || *status >= 500,
            FetchError::Network(_) | FetchError::Timeout(_) => true,
            FetchError::Syntax { eof, .. } => *eof,
            FetchError::TooLarge { .. } | FetchError::Shape(_) | FetchError::Redirect(_) => false,
        }
    }
}

/// `error` and its sources, joined by `separator`.
pub(crate) fn chain(error: &(dyn std::error::Error + 'static), separator: &str) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        out.push_str(separator);
        out.push_str(&e.to_string());
        source = e.source();
    }
    out
}
