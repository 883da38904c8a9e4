//! Waiters end correctly on every final status, and on their deadline.

use crate::common::{self, fast_poll};
use blaxel_jobs::types::JobExecutionStatus;
use blaxel_jobs::{Error, JobBuilder};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

async fn run(
    tasks: Vec<Value>,
    timeout_secs: u64,
    cancel: bool,
) -> (Result<blaxel_jobs::types::JobExecution, Error>, Vec<String>) {
    let (_emu, client) = common::fast().await;
    let job = JobBuilder::new("waited")
        .memory(512)
        .timeout(Duration::from_secs(timeout_secs))
        .max_retries(0)
        .build()
        .unwrap();
    client.jobs().create(job).send().await.unwrap();
    let job_ref = client.job("waited");
    let id = common::start_execution(&job_ref, tasks).await;
    if cancel {
        job_ref.execution(&id).cancel().send().await.unwrap();
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let result = job_ref
        .execution(&id)
        .wait_until_succeeded()
        .poll_interval(fast_poll())
        .on_progress(move |e| {
            log.lock()
                .unwrap()
                .push(e.status.as_ref().map_or("?", |s| s.as_str()).to_owned())
        })
        .wait(Duration::from_secs(30))
        .await;
    let seen = seen.lock().unwrap().clone();
    (result, seen)
}

fn ended_with(
    result: &Result<blaxel_jobs::types::JobExecution, Error>,
) -> Option<JobExecutionStatus> {
    match result {
        Err(Error::ExecutionEnded(e)) => e.status().cloned(),
        _ => None,
    }
}

#[tokio::test]
async fn succeeded() {
    let (result, seen) = run(
        vec![
            json!({"durationSeconds": 20}),
            json!({"durationSeconds": 30}),
        ],
        600,
        false,
    )
    .await;
    let execution = result.unwrap();
    assert_eq!(execution.status, Some(JobExecutionStatus::Succeeded));
    assert_eq!(execution.stats.unwrap().success, Some(2));
    assert_eq!(seen.last().map(String::as_str), Some("succeeded"));
}

#[tokio::test]
async fn failed() {
    let (result, _) = run(
        vec![json!({"durationSeconds": 5, "fail": true})],
        600,
        false,
    )
    .await;
    assert_eq!(
        ended_with(&result),
        Some(JobExecutionStatus::Failed),
        "{result:?}"
    );
}

#[tokio::test]
async fn timed_out() {
    let (result, _) = run(vec![json!({"durationSeconds": 3600})], 10, false).await;
    assert_eq!(
        ended_with(&result),
        Some(JobExecutionStatus::Timeout),
        "{result:?}"
    );
}

#[tokio::test]
async fn cancelled() {
    let (result, seen) = run(
        vec![
            json!({"durationSeconds": 100}),
            json!({"durationSeconds": 100}),
        ],
        600,
        true,
    )
    .await;
    assert_eq!(
        ended_with(&result),
        Some(JobExecutionStatus::Cancelled),
        "{result:?}"
    );
    assert!(!seen.is_empty());
}

/// On a paused tokio clock, with the emulator's manual clock moved on just
/// enough for the execution to run: the wait gives up at exactly its
/// `max_wait` of virtual time.
#[tokio::test(start_paused = true)]
async fn the_deadline_is_its_own_error() {
    let (emu, client) = common::manual().await;
    client
        .jobs()
        .create(common::job("slow"))
        .send()
        .await
        .unwrap();
    let job_ref = client.job("slow");
    let id = common::start_execution(&job_ref, [json!({"durationSeconds": 1_000_000})]).await;
    emu.advance(Duration::from_secs(60));
    let err = job_ref
        .execution(&id)
        .wait_until_succeeded()
        .poll_interval(fast_poll())
        .wait(Duration::from_millis(100))
        .await
        .unwrap_err();
    match err {
        Error::WaitTimeout(t) => {
            assert!(t.polls() >= 2, "{t}");
            assert_eq!(t.elapsed(), Duration::from_millis(100));
            assert_eq!(t.last_status(), Some("running"));
        }
        other => panic!("{other}"),
    }
}
