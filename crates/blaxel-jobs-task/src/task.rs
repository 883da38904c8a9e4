//! A task's identity and parameters, and the loader that reads them.

use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::data::{self, DataError};
use crate::environment::{DATA_URL_VAR, Environment};
use crate::error::{Error, FetchError, Source};
use crate::retry::RetryPolicy;
use crate::{args, fetch};

/// This task: its parameters, its index, the number of tasks and the
/// execution it belongs to.
///
/// `Debug` does not show the parameters: they may hold secrets.
pub struct Task<T> {
    params: T,
    index: usize,
    count: Option<usize>,
    execution_id: Option<String>,
    source: Source,
}

impl<T> std::fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Task")
            .field("params", &"<redacted>")
            .field("index", &self.index)
            .field("count", &self.count)
            .field("execution_id", &self.execution_id)
            .field("source", &self.source)
            .finish()
    }
}

impl<T> Task<T> {
    /// A task with these values, for tests of code that takes a `Task`.
    pub fn new(
        params: T,
        index: usize,
        count: Option<usize>,
        execution_id: Option<String>,
    ) -> Task<T> {
        Task {
            params,
            index,
            count,
            execution_id,
            source: Source::ExecutionData { index },
        }
    }

    /// This task's parameters.
    pub fn params(&self) -> &T {
        &self.params
    }

    /// This task's parameters, by value.
    pub fn into_params(self) -> T {
        self.params
    }

    /// This task's 0-based index among the execution's tasks.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The number of tasks in the execution, when known: the length of the
    /// execution data's task list. `None` when the parameters came from
    /// the command line.
    pub fn count(&self) -> Option<usize> {
        self.count
    }

    /// The execution's id, if the platform set one.
    pub fn execution_id(&self) -> Option<&str> {
        self.execution_id.as_deref()
    }

    /// Where the parameters came from.
    pub fn source(&self) -> Source {
        self.source
    }
}

impl<T: DeserializeOwned> Task<T> {
    /// Loads this task from the process environment with the default
    /// [`Loader`] settings.
    pub async fn load() -> Result<Task<T>, Error> {
        Loader::new().load().await
    }
}

/// Reads a task's parameters: from the execution data URL when
/// `BL_EXECUTION_DATA_URL` is set, from `--key value` arguments otherwise.
///
/// The data URL is fetched once per attempt; a network error, a timeout, a
/// truncated body (JSON that ends before its value does, however the body
/// arrived), or the statuses 408, 429 and 5xx are retried by the
/// [`RetryPolicy`]; other malformed JSON is not. The body is read up to a size limit, and only this
/// task's entry of the task list is deserialized.
#[derive(Debug, Clone)]
pub struct Loader {
    environment: Environment,
    timeout: Duration,
    max_body_bytes: u64,
    retry: RetryPolicy,
}

impl Default for Loader {
    fn default() -> Loader {
        Loader::new()
    }
}

impl Loader {
    /// The default timeout of one attempt: connecting, the answer and the
    /// whole body.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
    /// The default limit on the body: 64 MiB (a 10,000-task execution with
    /// 1 KB of parameters each is 10 MB).
    pub const DEFAULT_MAX_BODY_BYTES: u64 = 64 << 20;

    /// A loader that reads the process's variables and arguments.
    pub fn new() -> Loader {
        Loader::with_environment(Environment::from_process())
    }

    /// A loader that reads `environment` instead of the process's.
    pub fn with_environment(environment: Environment) -> Loader {
        Loader {
            environment,
            timeout: Loader::DEFAULT_TIMEOUT,
            max_body_bytes: Loader::DEFAULT_MAX_BODY_BYTES,
            retry: RetryPolicy::default(),
        }
    }

    /// Sets the timeout of each attempt.
    pub fn timeout(mut self, timeout: Duration) -> Loader {
        self.timeout = timeout;
        self
    }

    /// Sets the largest body accepted, in bytes.
    pub fn max_body_bytes(mut self, limit: u64) -> Loader {
        self.max_body_bytes = limit;
        self
    }

    /// Sets the retry policy.
    pub fn retry(mut self, retry: RetryPolicy) -> Loader {
        self.retry = retry;
        self
    }

    /// The environment this loader reads.
    pub fn environment(&self) -> &Environment {
        &self.environment
    }

    /// Loads the task. Must run inside a tokio runtime with time and I/O
    /// enabled when the data URL is used.
    pub async fn load<T: DeserializeOwned>(&self) -> Result<Task<T>, Error> {
        let env = &self.environment;
        let index = env.task_index()?;
        let execution_id = env.execution_id().map(str::to_owned);
        let Some(raw_url) = env.non_empty(DATA_URL_VAR) else {
            let params = args::parse(env.arguments())?;
            return Ok(Task {
                params,
                index,
                count: None,
                execution_id,
                source: Source::Arguments,
            });
        };
        let url = parse_url(raw_url)?;
        let (selected, count) = self.fetch_selected::<T>(&url, index).await?;
        let (params, source) = match selected {
            Some(params) => (params, Source::ExecutionData { index }),
            None => {
                let source = Source::OutOfRange { index, count };
                let params = data::from_empty_object().map_err(|e| parameters(e, source))?;
                (params, source)
            }
        };
        Ok(Task {
            params,
            index,
            count: Some(count),
            execution_id,
            source,
        })
    }

    async fn fetch_selected<T: DeserializeOwned>(
        &self,
        url: &http::Uri,
        index: usize,
    ) -> Result<(Option<T>, usize), Error> {
        let failed = |attempts, source| Error::DataUrl {
            variable: DATA_URL_VAR.to_owned(),
            host: host_of(url),
            attempts,
            source,
        };
        let client = fetch::client().map_err(|e| failed(0, e))?;
        let mut attempts = 0u32;
        loop {
            attempts = attempts.saturating_add(1);
            let outcome = match fetch::get(&client, url, self.timeout, self.max_body_bytes).await {
                Ok(body) => match data::select::<T>(&body, index) {
                    Ok(s) => return Ok((s.params, s.count)),
                    Err(DataError::Parameters { path, message }) => {
                        return Err(Error::Parameters {
                            origin: Source::ExecutionData { index },
                            path,
                            message,
                        });
                    }
                    Err(DataError::Syntax {
                        message,
                        line,
                        column,
                        eof,
                    }) => fetch::Failed::from(FetchError::Syntax {
                        message,
                        line,
                        column,
                        eof,
                    }),
                    Err(DataError::Shape(m)) => fetch::Failed::from(FetchError::Shape(m)),
                },
                Err(f) => f,
            };
            let retry = attempts - 1;
            if !outcome.error.is_retryable() || retry >= self.retry.max_retries {
                return Err(failed(attempts, outcome.error));
            }
            let delay = self
                .retry
                .delay(retry, fastrand::f64(), outcome.retry_after);
            tracing::warn!(
                attempt = attempts,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                error = %crate::error::chain(&outcome.error, ": "),
                "fetching the execution data failed; retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }
}

fn parameters(e: DataError, source: Source) -> Error {
    match e {
        DataError::Parameters { path, message } => Error::Parameters {
            origin: source,
            path,
            message,
        },
        other => Error::Parameters {
            origin: source,
            path: ".".to_owned(),
            message: other.to_string(),
        },
    }
}

fn parse_url(raw: &str) -> Result<http::Uri, Error> {
    let invalid = |reason| Error::InvalidDataUrl {
        variable: DATA_URL_VAR.to_owned(),
        reason,
    };
    let url: http::Uri = raw
        .trim()
        .parse()
        .map_err(|_| invalid("it does not parse as a URL"))?;
    match url.scheme_str() {
        Some("http") => {}
        Some("https") if cfg!(feature = "rustls") => {}
        Some("https") => {
            return Err(invalid(
                "https needs the `rustls` feature of blaxel-jobs-task",
            ));
        }
        _ => return Err(invalid("the scheme is not http or https")),
    }
    if url.host().is_none_or(str::is_empty) {
        return Err(invalid("it has no host"));
    }
    Ok(url)
}

/// `host` or `host:port`, never user information, the path or the query
/// (they may carry a token).
fn host_of(url: &http::Uri) -> String {
    let host = url.host().unwrap_or("?");
    match url.port_u16() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_http_with_a_host_and_are_never_echoed() {
        for bad in [
            "not a url",
            "ftp://h/x?token=sk-1",
            "file:///etc/passwd",
            "http://",
            "/relative?sk-1",
        ] {
            let err = parse_url(bad).unwrap_err().to_string();
            assert!(err.contains("BL_EXECUTION_DATA_URL"), "{err}");
            assert!(!err.contains("sk-1") && !err.contains("passwd"), "{err}");
        }
        let url = parse_url("http://127.0.0.1:8080/data?sig=sk-1").unwrap();
        assert_eq!(host_of(&url), "127.0.0.1:8080");
        let url = parse_url("https://user:sk-pass@data.example/x").unwrap();
        assert_eq!(host_of(&url), "data.example");
    }

    #[test]
    fn debug_of_a_task_hides_its_parameters() {
        let t = Task::new("sk-secret", 2, Some(3), Some("exec-1".into()));
        let text = format!("{t:?}");
        assert!(!text.contains("sk-secret"), "{text}");
        assert!(text.contains("index: 2"));
    }
}
