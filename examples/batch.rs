//! Fan-out: run a job over 20,000 work items, with a progress bar; wait for
//! the whole batch, list the failed tasks with their parameters and their
//! last log lines, and retry only those.
//!
//! ```text
//! cargo run --example batch            # a fresh batch
//! cargo run --example batch -- my-id   # resume (or start) batch `my-id`
//! ```
//!
//! Against Blaxel (credentials set), the job `batch-example` is created if
//! missing and its tasks are the example's parameters. Killing the example
//! while it submits, then running it again with the batch id it printed,
//! creates only the chunks that were missing.

mod common;

use blaxel_jobs::batch::with_params;
use blaxel_jobs::logs::LastLines;
use blaxel_jobs::{JobBuilder, Progress};
use serde_json::json;
use std::io::Write;
use std::time::Duration;

const TASKS: u64 = 20_000;

/// The work items: one in 1,000 fails, as the emulator's task script says.
fn tasks() -> impl Iterator<Item = serde_json::Value> + Send {
    (0..TASKS).map(|i| json!({"file": format!("s3://bucket/in/{i:06}.csv"), "fail": i % 1000 == 7}))
}

/// One line on stderr, redrawn in place.
fn bar(label: &str, done: u64, total: u64, detail: &str) {
    let width = 30;
    let filled = (done.min(total) * width / total.max(1)) as usize;
    eprint!(
        "\r{label:<10} [{}{}] {done:>6}/{total} {detail:<40}",
        "#".repeat(filled),
        "-".repeat(width as usize - filled)
    );
    let _ = std::io::stderr().flush();
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let target = common::connect().await?;
    let client = &target.client;
    let name = "batch-example";
    let job = client.job(name);
    if job.get().send().await.is_err() {
        let definition = JobBuilder::new(name)
            .image("registry.example.com/worker:1.0")
            .memory(512)
            .max_retries(0)
            .build()?;
        client.jobs().create(definition).send().await?;
    }

    let mut batch = job.batch(tasks()).chunk_size(500).concurrency(4);
    if let Some(id) = std::env::args().nth(1) {
        batch = batch.id(id);
    }
    let submitted = batch
        .on_progress(|p: &Progress| {
            let detail = format!("skipped {}, back-offs {}", p.skipped, p.backoffs);
            bar("submitted", p.tasks, TASKS, &detail);
        })
        .submit()
        .await?;
    let run = submitted.run();
    eprintln!();
    println!(
        "batch {}: {} executions created, {} already there",
        run.id(),
        submitted.created_chunks(),
        submitted.skipped_chunks()
    );

    let poll = match target.emulator {
        Some(_) => Duration::from_millis(200),
        None => Duration::from_secs(10),
    };
    let done = run
        .wait_until_done()
        .poll_interval(poll)
        .on_progress(|p| {
            let detail = format!("running {}, failed {}", p.running, p.failed);
            bar("finished", p.succeeded + p.failed, TASKS, &detail);
        })
        .wait(Duration::from_secs(3600))
        .await?;
    eprintln!();
    println!("{} succeeded, {} failed", done.succeeded, done.failed);

    if done.failed > 0 {
        let failed = with_params(run.failed_tasks().await?, tasks())?;
        // The last lines each of the first five wrote, read with the logs
        // endpoint (Blaxel does not document it: say so if it fails).
        let failed = match run
            .with_last_lines(failed.clone(), LastLines::new(3, 1024).tasks(5))
            .await
        {
            Ok(with_lines) => with_lines,
            Err(e) => {
                println!("  (no log lines: {e})");
                failed
            }
        };
        for t in failed.iter().take(5) {
            let why = t.conditions.last().and_then(|c| c.message.clone());
            println!(
                "  task {} ({}): {:?} {}",
                t.task_index,
                t.execution_id,
                t.params.as_ref().map(|p| p["file"].clone()),
                why.unwrap_or_default()
            );
            for line in t.last_lines.iter().flat_map(|l| &l.lines) {
                println!("      log: {}", line.message);
            }
        }
        // Fix what made them fail, then retry them alone, as round 1.
        let fixed = failed
            .into_iter()
            .map(|mut t| {
                if let Some(p) = t.params.as_mut() {
                    p.insert("fail".into(), json!(false));
                }
                t
            })
            .collect();
        let retried = run.retry(fixed, 1)?.submit().await?;
        let again = retried
            .run()
            .wait_until_done()
            .poll_interval(poll)
            .wait(Duration::from_secs(3600))
            .await?;
        println!(
            "retry round 1 ({}): {} succeeded, {} failed",
            retried.run().id(),
            again.succeeded,
            again.failed
        );
    }
    Ok(())
}
