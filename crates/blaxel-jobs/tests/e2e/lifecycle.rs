//! The full lifecycle of every operation, and paging through 1,000 jobs.

use crate::common::{self, WS, fast_poll};
use blaxel_jobs::JobBuilder;
use blaxel_jobs::raw::operations::Operation;
use blaxel_jobs::types::{DeploymentStatus, JobExecutionStatus, ListSort};
use blaxel_jobs_emulator::Route;
use futures_util::{StreamExt as _, TryStreamExt as _, stream};
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Duration;

#[tokio::test]
async fn every_operation_through_a_jobs_life() {
    let (emu, client) = common::manual().await;
    let name = "nightly-report";

    // CreateJob, then the deployment: DEPLOYING, and DEPLOYED once simulated time passes.
    let job = JobBuilder::new(name)
        .display_name("Nightly report")
        .label("team", "data")
        .image("registry.example.com/report:1.4")
        .memory(2048)
        .timeout(Duration::from_secs(600))
        .max_retries(1)
        .env("LOG_LEVEL", "info")
        .secret_env("API_TOKEN", "tok-123")
        .cron("0 3 * * *", [json!({"report": "daily"})])
        .build()
        .unwrap();
    let created = client.jobs().create(job).send().await.unwrap();
    assert_eq!(created.metadata.name, name);
    assert_eq!(created.status, Some(DeploymentStatus::Deploying));
    emu.advance(Duration::from_secs(5));
    let deployed = client
        .job(name)
        .wait_until_deployed()
        .poll_interval(fast_poll())
        .wait(Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(deployed.status, Some(DeploymentStatus::Deployed));

    // GetJob: secrets masked unless asked for.
    let masked = client.job(name).get().send().await.unwrap();
    let envs = masked.spec.runtime.clone().unwrap().envs;
    let secret = envs
        .iter()
        .find(|e| e.name.as_deref() == Some("API_TOKEN"))
        .unwrap();
    assert_eq!(secret.value.as_deref(), Some("***"));
    let shown = client
        .job(name)
        .get()
        .show_secrets(true)
        .send()
        .await
        .unwrap();
    let envs = shown.spec.runtime.clone().unwrap().envs;
    let secret = envs
        .iter()
        .find(|e| e.name.as_deref() == Some("API_TOKEN"))
        .unwrap();
    assert_eq!(secret.value.as_deref(), Some("tok-123"));

    // ListJobs with filters.
    let page = client
        .jobs()
        .list()
        .status([DeploymentStatus::Deployed])
        .send()
        .await
        .unwrap();
    assert_eq!(page.data.len(), 1);
    let page = client
        .jobs()
        .list()
        .status([DeploymentStatus::Failed])
        .send()
        .await
        .unwrap();
    assert!(page.data.is_empty());
    let page = client.jobs().list().q("nightly").send().await.unwrap();
    assert_eq!(page.data.len(), 1);

    // CreateJobExecution, run to completion in simulated time.
    let job_ref = client.job(name);
    let executions = job_ref.executions();
    let started = executions
        .create()
        .tasks((0..3).map(|i| json!({"shard": i, "durationSeconds": 10})))
        .env("BATCH", "7")
        .send()
        .await
        .unwrap();
    let id = started.execution_id.clone().unwrap();
    assert_eq!(started.tasks.len(), 3);
    emu.advance(Duration::from_secs(60));
    let done = job_ref.execution(&id).get().send().await.unwrap();
    assert_eq!(done.status, Some(JobExecutionStatus::Succeeded));
    let stats = done.stats.unwrap();
    assert_eq!((stats.total, stats.success), (Some(3), Some(3)));
    // The same waiter ends at once on a finished execution.
    let waited = job_ref
        .execution(&id)
        .wait_until_succeeded()
        .poll_interval(fast_poll())
        .wait(Duration::from_secs(30 * 60))
        .await
        .unwrap();
    assert_eq!(waited.metadata.id.as_deref(), Some(id.as_str()));

    // ListJobExecutions and ListJobExecutionTasks, paging two at a time.
    let all: Vec<_> = executions
        .list()
        .limit(2)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    let tasks: Vec<_> = job_ref
        .execution(&id)
        .tasks()
        .limit(2)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(tasks.len(), 3);
    let task_pages: Vec<_> = job_ref
        .execution(&id)
        .tasks()
        .limit(2)
        .into_pages()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(task_pages.len(), 2);

    // UpdateJob, and its revisions.
    let update = JobBuilder::from(shown).memory(4096).build().unwrap();
    let updated = client.job(name).update(update).send().await.unwrap();
    assert_eq!(updated.spec.runtime.unwrap().memory, Some(4096));
    let revisions = client.job(name).revisions().send().await.unwrap();
    assert_eq!(revisions.len(), 2);
    assert_eq!(
        revisions.iter().filter(|r| r.active == Some(true)).count(),
        1
    );

    // DeleteJobExecution cancels a running execution.
    let long = executions
        .create()
        .tasks((0..4).map(|_| json!({"durationSeconds": 100})))
        .send()
        .await
        .unwrap();
    let long_id = long.execution_id.unwrap();
    emu.advance(Duration::from_secs(5));
    let cancelling = job_ref.execution(&long_id).cancel().send().await.unwrap();
    assert_eq!(cancelling.status, Some(JobExecutionStatus::Cancelling));
    emu.advance(Duration::from_secs(200));
    let cancelled = job_ref.execution(&long_id).get().send().await.unwrap();
    assert_eq!(cancelled.status, Some(JobExecutionStatus::Cancelled));

    // ListLogs: the lines the emulator wrote for the cancelled execution.
    let logs = job_ref.execution(&long_id).logs().send().await.unwrap();
    let lines = &logs[name];
    assert!(!lines.logs.is_empty(), "{logs:?}");
    assert_eq!(lines.total_count, Some(lines.logs.len() as i64));

    // DeleteJob, after which the job is gone.
    let deleted = client.job(name).delete().send().await.unwrap();
    assert_eq!(deleted.status, Some(DeploymentStatus::Deleting));
    let err = client.job(name).get().send().await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(emu.job_names(WS).is_empty());

    // Every operation of the document was used.
    for route in Route::all().filter(|r| *r != Route::OAuthToken) {
        assert!(emu.request_count(route) > 0, "{route:?} was never called");
    }
}

#[tokio::test]
async fn paging_through_a_thousand_jobs() {
    let (emu, client) = common::manual().await;
    let names: BTreeSet<String> = (0..1000).map(|i| format!("job-{i:04}")).collect();
    let created: Vec<_> = stream::iter(names.iter().cloned())
        .map(|name| {
            let client = client.clone();
            async move { client.jobs().create(common::job(&name)).send().await }
        })
        .buffer_unordered(16)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(created.len(), 1000);

    let streamed: Vec<String> = client
        .jobs()
        .list()
        .limit(100)
        .sort(ListSort::NameAsc)
        .into_stream()
        .map_ok(|j| j.metadata.name)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(streamed.len(), 1000);
    assert_eq!(
        streamed,
        names.iter().cloned().collect::<Vec<_>>(),
        "every job once, in name order"
    );

    let before = emu.request_count(Operation::ListJobs);
    let pages: Vec<_> = client
        .jobs()
        .list()
        .limit(100)
        .into_pages()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 10);
    assert_eq!(emu.request_count(Operation::ListJobs) - before, 10);
    let total = pages[0].meta.as_ref().and_then(|m| m.total);
    assert_eq!(total, Some(1000));
}

/// A read-modify-write through the emulator: what the SDK's checks used to
/// refuse (a trailing hyphen, `@hourly`) goes through, `valueFrom` and the
/// secret (read in clear: see `secrets.rs` for masked reads) survive an
/// edit elsewhere, and emptying the env list really empties it.
#[tokio::test]
async fn update_with_changes_only_what_the_edit_changes() {
    let (_emu, client) = common::manual().await;
    let name = "report-";
    let mut job = JobBuilder::new(name)
        .memory(1024)
        .secret_env("API_TOKEN", "tok-123")
        .cron("@hourly", [json!({"report": "hourly"})])
        .build()
        .unwrap();
    let source = json!({"secretKeyRef": {"name": "db", "key": "password"}});
    job.spec
        .runtime
        .as_mut()
        .unwrap()
        .envs
        .push(blaxel_jobs::types::Env {
            name: Some("DB_PASSWORD".into()),
            value: None,
            secret: None,
            value_from: source.as_object().cloned(),
        });
    client.jobs().create(job).send().await.unwrap();

    let updated = client
        .job(name)
        .update_with(|job| job.spec.runtime.as_mut().unwrap().memory = Some(2048))
        .show_secrets(true)
        .send()
        .await
        .unwrap();
    assert_eq!(updated.spec.runtime.as_ref().unwrap().memory, Some(2048));

    let read = client
        .job(name)
        .get()
        .show_secrets(true)
        .send()
        .await
        .unwrap();
    let runtime = read.spec.runtime.unwrap();
    let env = |n: &str| runtime.envs.iter().find(|e| e.name.as_deref() == Some(n));
    assert_eq!(env("API_TOKEN").unwrap().value.as_deref(), Some("tok-123"));
    assert_eq!(
        env("DB_PASSWORD").unwrap().value_from.as_ref(),
        source.as_object()
    );
    let trigger = &read.spec.triggers.unwrap().0[0];
    let schedule = trigger.configuration.as_ref().unwrap().schedule.as_deref();
    assert_eq!(schedule, Some("@hourly"));
    assert_eq!(client.job(name).revisions().send().await.unwrap().len(), 2);

    client
        .job(name)
        .update_with(|job| job.spec.runtime.as_mut().unwrap().envs.clear())
        .send()
        .await
        .unwrap();
    let read = client.job(name).get().send().await.unwrap();
    assert!(read.spec.runtime.unwrap().envs.is_empty());
}
