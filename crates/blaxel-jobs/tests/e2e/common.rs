//! Shared set-up: an emulator and a client of it.

use blaxel_jobs::{Client, JobBuilder, PollInterval, RetryConfig};
use blaxel_jobs_emulator::{Clock, Emulator, EmulatorConfig};
use std::time::Duration;

/// The workspace the tests work in.
pub const WS: &str = "e2e";

/// Retries as by default, but with millisecond backoff.
pub fn fast_retry() -> RetryConfig {
    RetryConfig::default()
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(10))
}

/// Waiters that poll every few milliseconds.
pub fn fast_poll() -> PollInterval {
    PollInterval::new(Duration::from_millis(2), Duration::from_millis(20))
}

/// A client of `emu` in the workspace [`WS`].
pub fn client(emu: &Emulator) -> Client {
    Client::builder()
        .ignore_environment()
        .base_url(emu.base_url())
        .api_key(emu.api_key())
        .workspace(WS)
        .retry(fast_retry())
        .build()
        .expect("client")
}

/// An emulator whose clock only moves with `advance`.
pub async fn manual() -> (Emulator, Client) {
    start(EmulatorConfig::default().clock(Clock::Manual)).await
}

/// An emulator whose simulated seconds last a millisecond.
pub async fn fast() -> (Emulator, Client) {
    start(EmulatorConfig::default().clock(Clock::Scaled(1000.0))).await
}

/// An emulator with this configuration, and a client of it.
pub async fn start(config: EmulatorConfig) -> (Emulator, Client) {
    let emu = Emulator::start_with(config).await.expect("emulator");
    let client = client(&emu);
    (emu, client)
}

/// A small valid job.
pub fn job(name: &str) -> blaxel_jobs::types::Job {
    JobBuilder::new(name)
        .image("registry.example.com/worker:1.0")
        .memory(1024)
        .build()
        .expect("valid job")
}

/// Starts an execution of `job` with `tasks` and answers its id.
pub async fn start_execution(
    job: &blaxel_jobs::JobRef<'_>,
    tasks: impl IntoIterator<Item = serde_json::Value>,
) -> String {
    job.executions()
        .create()
        .tasks(tasks)
        .send()
        .await
        .expect("execution started")
        .execution_id
        .expect("an execution id")
}

/// A fresh, empty directory for files a test shares with task processes.
#[allow(dead_code)]
pub fn scratch(name: &str) -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "blaxel-jobs-e2e-{name}-{}-{nanos}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}
