//! The entry points: load the task, run it, and end the process with an
//! exit code the platform understands.

use std::future::Future;
use std::process::ExitCode;

use serde::de::DeserializeOwned;
use tracing_subscriber::layer::SubscriberExt as _;

use crate::environment::Environment;
use crate::error::{Error, chain};
use crate::log::TaskLayer;
use crate::task::{Loader, Task};

/// The exit code when the task's function returned an error.
pub const EXIT_TASK_FAILED: u8 = 1;
/// The exit code when the task could not start: its parameters could not
/// be read (bad index variable, data URL failure, parameters that do not
/// match the type, bad arguments) or the runtime could not start.
pub const EXIT_NO_PARAMETERS: u8 = 2;

/// The error a task's function may return: anything that converts into a
/// boxed error, which includes `std` errors, `String`, `&str` and
/// `anyhow::Error`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Runs an async task function as the program's `main`.
///
/// It installs the [`TaskLayer`] as the global `tracing` subscriber (JSON
/// lines when `BL_LOGGER=json`, text otherwise, at the level of
/// `LOG_LEVEL`; nothing is installed if the program already set a global
/// subscriber), starts a current-thread tokio runtime, loads the task
/// with [`Loader::new`], and calls `task_fn`.
///
/// The returned code is 0 when `task_fn` returns `Ok`,
/// [`EXIT_TASK_FAILED`] when it returns an error, and
/// [`EXIT_NO_PARAMETERS`] when the task could not be loaded. A failure is
/// written to standard error with its chain of causes: as text, or as one
/// JSON line of severity `ERROR` with JSON logs. A panic ends the process
/// as Rust panics do (code 101), after a JSON line with JSON logs. Any
/// non-zero code lets the platform retry the task and mark it failed.
///
/// Programs that need a multi-thread runtime use their own
/// `#[tokio::main]` and [`Loader`].
pub fn run<T, F, Fut, E>(task_fn: F) -> ExitCode
where
    T: DeserializeOwned,
    F: FnOnce(Task<T>) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Into<BoxError>,
{
    let env = Environment::from_process();
    let json = install_logging(&env);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return report(&Error::Runtime(e), EXIT_NO_PARAMETERS, json),
    };
    runtime.block_on(async move {
        let task = match Loader::with_environment(env).load::<T>().await {
            Ok(task) => task,
            Err(e) => return report(&e, EXIT_NO_PARAMETERS, json),
        };
        match task_fn(task).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => report(&*e.into(), EXIT_TASK_FAILED, json),
        }
    })
}

/// Runs a blocking task function as the program's `main`: as [`run`],
/// but `task_fn` is an ordinary function. The runtime that loads the
/// parameters is shut down before `task_fn` is called.
pub fn run_blocking<T, F, E>(task_fn: F) -> ExitCode
where
    T: DeserializeOwned,
    F: FnOnce(Task<T>) -> Result<(), E>,
    E: Into<BoxError>,
{
    let env = Environment::from_process();
    let json = install_logging(&env);
    let loaded = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)
        .and_then(|rt| rt.block_on(Loader::with_environment(env).load::<T>()));
    let task = match loaded {
        Ok(task) => task,
        Err(e) => return report(&e, EXIT_NO_PARAMETERS, json),
    };
    match task_fn(task) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&*e.into(), EXIT_TASK_FAILED, json),
    }
}

/// Installs the task layer; true when it is installed and writes JSON.
fn install_logging(env: &Environment) -> bool {
    let layer = TaskLayer::from_environment(env);
    let json = layer.is_json();
    let subscriber = tracing_subscriber::registry().with(layer);
    if tracing::subscriber::set_global_default(subscriber).is_err() {
        return false;
    }
    if json {
        let default_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            tracing::error!("the task panicked: {info}");
            default_hook(info);
        }));
    }
    json
}

fn report(error: &(dyn std::error::Error + 'static), code: u8, json: bool) -> ExitCode {
    if json {
        tracing::error!("{}", chain(error, ": caused by: "));
    } else {
        eprintln!("error: {}", chain(error, "\n  caused by: "));
    }
    ExitCode::from(code)
}
