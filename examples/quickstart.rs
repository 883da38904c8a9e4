//! A tour of the Jobs API: create a job, run it, watch it, list what it
//! did, update it, cancel a run, and delete it.
//!
//! ```text
//! cargo run --example quickstart
//! ```
//!
//! With `BL_API_KEY` (or `BL_CLIENT_CREDENTIALS`) and `BL_WORKSPACE` set, it
//! talks to Blaxel (set `BL_QUICKSTART_IMAGE` to the image your job should
//! run); without them it starts the embedded emulator and says so.

mod common;

use blaxel_jobs::{Error, JobBuilder, JobExecutionStatus};
use futures_util::TryStreamExt as _;
use serde_json::json;
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let target = common::connect().await?;
    let client = &target.client;
    let name = format!("quickstart-{:06x}", fastrand::u32(..) & 0xff_ffff);
    let image = std::env::var("BL_QUICKSTART_IMAGE")
        .unwrap_or_else(|_| "blaxel/quickstart-job:latest".to_owned());

    // 1. Create a job with a nightly cron trigger and some environment.
    let job = JobBuilder::new(&name)
        .display_name("Quickstart report")
        .label("example", "quickstart")
        .image(image)
        .memory(2048)
        .timeout(Duration::from_secs(600))
        .max_retries(1)
        .env("LOG_LEVEL", "info")
        .secret_env("API_TOKEN", "not-a-real-token")
        .cron("0 3 * * *", [json!({"report": "daily"})])
        .build()?;
    let created = client.jobs().create(job).send().await?;
    println!(
        "\n1. Created job {} ({})",
        created.metadata.name,
        status_of(&created)
    );

    // 2. Show it, once deployed.
    let job = client
        .job(&name)
        .wait_until_deployed()
        .poll_interval(target.poll_interval())
        .wait(Duration::from_secs(300))
        .await?;
    let runtime = job.spec.runtime.clone().unwrap_or_default();
    println!("2. Job {} is {}", job.metadata.name, status_of(&job));
    println!(
        "   memory {} MB, timeout {} s, {} env vars, {} trigger(s)",
        runtime.memory.unwrap_or_default(),
        runtime.timeout.unwrap_or_default(),
        runtime.envs.len(),
        job.spec.triggers.as_ref().map_or(0, |t| t.len())
    );
    for env in &runtime.envs {
        println!(
            "   env {} = {}",
            env.name.as_deref().unwrap_or("?"),
            env.value.as_deref().unwrap_or("")
        );
    }

    // 3. Start an execution of three tasks. `durationSeconds` and
    //    `failAttempts` script the emulator's tasks; a real job reads its
    //    parameters however it likes.
    let job_ref = client.job(&name);
    let executions = job_ref.executions();
    let started = executions
        .create()
        .task(json!({"shard": 0, "durationSeconds": 4}))
        .task(json!({"shard": 1, "durationSeconds": 6}))
        .task(json!({"shard": 2, "durationSeconds": 3, "failAttempts": 1}))
        .env("BATCH_SIZE", "500")
        .send()
        .await?;
    let id = started.execution_id.clone().unwrap_or_default();
    println!(
        "3. Started execution {id} with {} tasks",
        started.tasks.len()
    );

    // 4. Wait for it, printing progress.
    let done = job_ref
        .execution(&id)
        .wait_until_succeeded()
        .poll_interval(target.poll_interval())
        .on_progress(|e| {
            let s = e.stats.clone().unwrap_or_default();
            println!(
                "   {:<10} {} running, {} succeeded, {} failed, {} retried of {}",
                e.status.as_ref().map_or("?", |s| s.as_str()),
                s.running.unwrap_or(0),
                s.success.unwrap_or(0),
                s.failure.unwrap_or(0),
                s.retried.unwrap_or(0),
                s.total.unwrap_or(0)
            )
        })
        .wait(Duration::from_secs(900))
        .await;
    match &done {
        Ok(e) => println!(
            "4. Execution {id} succeeded at {}",
            e.metadata.completed_at.as_deref().unwrap_or("?")
        ),
        Err(Error::ExecutionEnded(end)) => println!("4. Execution {id} did not succeed: {end}"),
        Err(e) => return Err(e.to_string().into()),
    }

    // 5. List the job's executions and the tasks of the one that ran.
    let all: Vec<_> = executions
        .list()
        .limit(20)
        .into_stream()
        .try_collect()
        .await?;
    println!("5. The job has {} execution(s):", all.len());
    for e in &all {
        println!(
            "   {}  {}",
            e.metadata.id.as_deref().unwrap_or("?"),
            e.status.as_ref().map_or("?", |s| s.as_str())
        );
    }
    let mut tasks = std::pin::pin!(job_ref.execution(&id).tasks().into_stream());
    while let Some(task) = tasks.try_next().await? {
        let meta = task.metadata.unwrap_or_default();
        println!(
            "   task {:<8} {:<10} {}",
            meta.name.as_deref().unwrap_or("?"),
            task.status.as_ref().map_or("?", |s| s.as_str()),
            task.conditions
                .last()
                .and_then(|c| c.message.as_deref())
                .unwrap_or("")
        );
    }

    // 6. Update the job and show its revisions.
    let update = JobBuilder::from(job)
        .memory(4096)
        .label("updated", "yes")
        .build()?;
    let updated = client.job(&name).update(update).send().await?;
    let revisions = client.job(&name).revisions().send().await?;
    println!(
        "6. Updated {} to {} MB; {} revision(s):",
        updated.metadata.name,
        updated
            .spec
            .runtime
            .and_then(|r| r.memory)
            .unwrap_or_default(),
        revisions.len()
    );
    for r in &revisions {
        println!(
            "   {}  created {}  active: {}",
            r.id.as_deref().unwrap_or("?"),
            r.created_at.as_deref().unwrap_or("?"),
            r.active.unwrap_or(false)
        );
    }

    // 7. Start a long execution and cancel it.
    let long = executions
        .create()
        .tasks((0..4).map(|i| json!({"shard": i, "durationSeconds": 120})))
        .send()
        .await?;
    let long_id = long.execution_id.unwrap_or_default();
    let cancelling = job_ref.execution(&long_id).cancel().send().await?;
    println!(
        "7. Cancelling execution {long_id}: {}",
        cancelling.status.as_ref().map_or("?", |s| s.as_str())
    );
    match job_ref
        .execution(&long_id)
        .wait_until_succeeded()
        .poll_interval(target.poll_interval())
        .wait(Duration::from_secs(600))
        .await
    {
        Err(Error::ExecutionEnded(end)) if end.status() == Some(&JobExecutionStatus::Cancelled) => {
            println!("   it is now cancelled")
        }
        other => println!("   unexpected outcome: {other:?}"),
    }

    // 8. Delete the job.
    let deleted = client.job(&name).delete().send().await?;
    println!(
        "8. Deleted job {} ({})",
        deleted.metadata.name,
        status_of(&deleted)
    );
    match client.job(&name).get().send().await {
        Err(e) if e.is_not_found() => println!("   and it is gone: {e}"),
        Ok(j) => println!("   it still shows as {}", status_of(&j)),
        Err(e) => println!("   reading it back failed: {e}"),
    }

    if target.emulator.is_some() {
        println!("\nDone. Set BL_API_KEY and BL_WORKSPACE to run the same program against Blaxel.");
    }
    Ok(())
}

fn status_of(job: &blaxel_jobs::Job) -> &str {
    job.status.as_ref().map_or("no status yet", |s| s.as_str())
}
