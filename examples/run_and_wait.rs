//! Run a job's execution and wait for it, reporting progress; then show how
//! a failing execution is reported.
//!
//! ```text
//! cargo run --example run_and_wait
//! ```

mod common;

use blaxel_jobs::{Error, JobBuilder};
use serde_json::json;
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let target = common::connect().await?;
    let client = &target.client;
    let name = "run-and-wait-example";
    let job = JobBuilder::new(name)
        .image("registry.example.com/worker:1.0")
        .memory(1024)
        .max_retries(0)
        .build()?;
    client.jobs().create(job).send().await?;
    let job_ref = client.job(name);
    let executions = job_ref.executions();

    for (label, tasks) in [
        (
            "healthy",
            vec![json!({"durationSeconds": 2}), json!({"durationSeconds": 3})],
        ),
        ("failing", vec![json!({"durationSeconds": 1, "fail": true})]),
    ] {
        let started = executions.create().tasks(tasks).send().await?;
        let id = started.execution_id.unwrap_or_default();
        println!("{label} execution {id}");
        let outcome = job_ref
            .execution(&id)
            .wait_until_succeeded()
            .poll_interval(target.poll_interval())
            .on_progress(|e| {
                let status = e.status.as_ref().map_or("?", |s| s.as_str());
                let done = e.stats.as_ref().and_then(|s| s.success).unwrap_or(0);
                println!("  {status:<10} {done} task(s) done");
            })
            .wait(Duration::from_secs(600))
            .await;
        match outcome {
            Ok(e) => println!("  succeeded: {:?}", e.stats),
            Err(Error::ExecutionEnded(end)) => println!("  {end}"),
            Err(Error::WaitTimeout(t)) => println!("  still running: {t}"),
            Err(e) => return Err(e.into()),
        }
    }
    client.job(name).delete().send().await?;
    Ok(())
}
