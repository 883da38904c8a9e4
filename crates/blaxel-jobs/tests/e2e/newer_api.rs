//! The SDK against an emulator that answers as the newest API may: task
//! lists stored apart (executions without `tasks`), partial totals, the
//! `externalId` filter, and every API version of the document.

use crate::common::{self, WS, fast_poll, fast_retry, job};
use blaxel_jobs::config::versions;
use blaxel_jobs::types::JobExecutionStatus;
use blaxel_jobs::{Client, Error, JobBuilder};
use blaxel_jobs_emulator::{Clock, EmulatorConfig};
use futures_util::TryStreamExt;
use serde_json::json;
use std::time::Duration;

/// An emulator that keeps every execution's task list apart.
async fn tasks_apart() -> (blaxel_jobs_emulator::Emulator, Client) {
    common::start(
        EmulatorConfig::default()
            .clock(Clock::Scaled(1000.0))
            .store_tasks_apart_from(0),
    )
    .await
}

#[tokio::test]
async fn waiters_and_listings_work_when_executions_omit_their_tasks() {
    let (_emu, client) = tasks_apart().await;
    client.jobs().create(job("big")).send().await.unwrap();
    let job_ref = client.job("big");
    let executions = job_ref.executions();
    let tasks: Vec<_> = (0..7)
        .map(|i| json!({"shard": i, "durationSeconds": 2}))
        .collect();
    let id = common::start_execution(&job_ref, tasks).await;

    let done = job_ref
        .execution(&id)
        .wait_until_succeeded()
        .poll_interval(fast_poll())
        .wait(Duration::from_secs(30))
        .await
        .expect("the waiter does not need the task list");
    assert_eq!(done.status, Some(JobExecutionStatus::Succeeded));
    assert!(done.tasks.is_empty(), "the emulator left the tasks out");
    assert!(done.spec.tasks.is_empty());
    assert!(done.spec.tasks_ref.is_some());
    assert_eq!(done.spec.task_count, Some(7));
    assert_eq!(done.stats.as_ref().and_then(|s| s.success), Some(7));

    // The execution listing streams them without tasks, too.
    let listed: Vec<_> = executions.list().into_stream().try_collect().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].tasks.is_empty());

    // ListJobExecutionTasks has every task, across pages.
    let tasks: Vec<_> = job_ref
        .execution(&id)
        .tasks()
        .limit(3)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(tasks.len(), 7);
    assert!(
        tasks
            .iter()
            .all(|t| t.status.as_ref().is_some_and(|s| s.is_terminal())),
        "{tasks:?}"
    );
}

#[tokio::test]
async fn a_failed_execution_without_tasks_is_reported_from_its_stats() {
    let (_emu, client) = tasks_apart().await;
    let job = JobBuilder::new("flaky")
        .memory(512)
        .max_retries(0)
        .build()
        .unwrap();
    client.jobs().create(job).send().await.unwrap();
    let job_ref = client.job("flaky");
    let id = common::start_execution(
        &job_ref,
        [
            json!({"durationSeconds": 1}),
            json!({"durationSeconds": 1, "fail": true}),
        ],
    )
    .await;
    let err = job_ref
        .execution(&id)
        .wait_until_succeeded()
        .poll_interval(fast_poll())
        .wait(Duration::from_secs(30))
        .await
        .unwrap_err();
    let Error::ExecutionEnded(ended) = &err else {
        panic!("expected ExecutionEnded, got {err:?}");
    };
    assert_eq!(ended.status(), Some(&JobExecutionStatus::Failed));
    assert!(ended.execution().tasks.is_empty());
    let shown = err.to_string();
    assert!(
        shown.contains("1 of 2 tasks succeeded, 1 failed"),
        "{shown}"
    );
}

#[tokio::test]
async fn streams_follow_cursors_when_the_total_is_partial() {
    let (_emu, client) = common::start(
        EmulatorConfig::default()
            .clock(Clock::Manual)
            .count_limit(3),
    )
    .await;
    for i in 0..8 {
        client
            .jobs()
            .create(job(&format!("job-{i}")))
            .send()
            .await
            .unwrap();
    }
    let first = client.jobs().list().limit(2).send().await.unwrap();
    let meta = first.meta.unwrap();
    assert_eq!(meta.total, Some(3));
    assert_eq!(meta.total_is_partial, Some(true));
    // A page count from `total` would be 2 pages; the stream reads all 4.
    let pages: Vec<_> = client
        .jobs()
        .list()
        .limit(2)
        .into_pages()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 4);
    let all: Vec<_> = client
        .jobs()
        .list()
        .limit(2)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 8);
}

#[tokio::test]
async fn list_jobs_filters_by_external_id() {
    let (_emu, client) = common::manual().await;
    for (name, external) in [("alpha", "crm-1"), ("beta", "crm-2")] {
        let job = JobBuilder::new(name)
            .memory(512)
            .external_id(external)
            .build()
            .unwrap();
        client.jobs().create(job).send().await.unwrap();
    }
    let found: Vec<_> = client
        .jobs()
        .list()
        .external_id("crm-2")
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    let names: Vec<_> = found.iter().map(|j| j.metadata.name.as_str()).collect();
    assert_eq!(names, vec!["beta"]);
}

#[tokio::test]
async fn every_known_version_with_paged_lists_runs_the_lifecycle() {
    let paged: Vec<_> = versions::KNOWN.iter().filter(|v| v.paged_lists).collect();
    assert!(paged.iter().any(|v| v.name == versions::DEFAULT));
    assert!(paged.iter().any(|v| v.name == versions::NEWEST));
    for version in paged {
        let emu = blaxel_jobs_emulator::Emulator::start_with(
            EmulatorConfig::default().clock(Clock::Scaled(1000.0)),
        )
        .await
        .unwrap();
        let client = Client::builder()
            .ignore_environment()
            .base_url(emu.base_url())
            .api_key(emu.api_key())
            .workspace(WS)
            .retry(fast_retry())
            .api_version(version.name)
            .build()
            .unwrap();
        assert_eq!(client.config().api_version(), version.name);
        client.jobs().create(job("versioned")).send().await.unwrap();
        let jobs: Vec<_> = client
            .jobs()
            .list()
            .into_stream()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(jobs.len(), 1, "{}", version.name);
        let job_ref = client.job("versioned");
        let id = common::start_execution(&job_ref, [json!({"durationSeconds": 1})]).await;
        let done = job_ref
            .execution(&id)
            .wait_until_succeeded()
            .poll_interval(fast_poll())
            .wait(Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(
            done.status,
            Some(JobExecutionStatus::Succeeded),
            "{}",
            version.name
        );
        let tasks: Vec<_> = job_ref
            .execution(&id)
            .tasks()
            .into_stream()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(tasks.len(), 1, "{}", version.name);
        client.job("versioned").delete().send().await.unwrap();
    }
}
