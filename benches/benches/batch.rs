//! Fan-out at scale: a batch of N tasks submitted to the emulator, and a
//! submission killed half-way then run again.
//!
//! ```text
//! cargo bench -p blaxel-jobs-bench --bench batch [-- --tasks 100000,1000000 --resume 100000
//!                                                   --again 1000000 --big-mb 50]
//! ```
//!
//! The emulator runs in this process (manual clock, default capacity 100,
//! so most executions wait in its queue, as a busy workspace's would). Each
//! submitter is a fresh child process (this binary with `--submit`) on a
//! current-thread runtime, submitting with the SDK's defaults (chunks of
//! 500 tasks, 4 creates in flight); it reports its time, its creates, and
//! its peak resident memory (`VmHWM`). This process reports how much its
//! own `VmRSS` (the emulator, nearly all of it) grew for each batch.
//!
//! The resume row starts a submitter, kills it (SIGKILL) once it has
//! reported half of the chunks, runs a second one with the same batch id,
//! and counts the executions per chunk on the emulator: each chunk must
//! exist exactly once.
//!
//! The `--again` rows submit a batch of that size a second time, once the
//! first submission is complete: the second submitter finds every chunk
//! (the listing that discovers them is what it spends its memory on) and
//! sends nothing. The `--big-mb` rows submit one task carrying a string of
//! that many MiB, to an emulator that accepts 1 MiB bodies (its default:
//! the answer is 413) and to one that accepts 256 MiB.

use blaxel_jobs::{Client, JobBuilder};
use blaxel_jobs_bench::procfs;
use blaxel_jobs_bench::subprocess::RESULT_PREFIX;
use blaxel_jobs_emulator::{Clock, Emulator, EmulatorConfig};
use serde_json::json;
use std::collections::HashMap;
use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

const WS: &str = "bench";
const SUBMIT_ARG: &str = "--submit";

fn tasks(n: u64) -> impl Iterator<Item = serde_json::Value> + Send {
    (0..n).map(|i| json!({"file": format!("s3://bucket/in/{i:08}.csv"), "durationSeconds": 1}))
}

fn client(url: &str, key: &str) -> Client {
    Client::builder()
        .ignore_environment()
        .base_url(url)
        .api_key(key)
        .workspace(WS)
        .build()
        .expect("client")
}

/// The `--submit URL KEY JOB BATCH N [BIG_MIB]` role: submits, printing
/// `CHUNKS k` after each chunk, then the result line. With `BIG_MIB`, the
/// batch is one task whose `blob` is a string of that many MiB.
fn submit(args: &[String]) {
    let (url, key, job, batch, n, big) = match args {
        [url, key, job, batch, n] => (url, key, job, batch, n, None),
        [url, key, job, batch, n, big] => (url, key, job, batch, n, Some(big)),
        _ => panic!("--submit URL KEY JOB BATCH N [BIG_MIB]"),
    };
    let n: u64 = n.parse().expect("N");
    let big: Option<usize> = big.map(|b| b.parse().expect("BIG_MIB"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let client = client(url, key);
        let start = Instant::now();
        let submitted = match big {
            None => {
                client
                    .job(job.as_str())
                    .batch(tasks(n))
                    .id(batch.as_str())
                    .on_progress(|p| println!("CHUNKS {}", p.chunks))
                    .submit()
                    .await
            }
            Some(mib) => {
                let blob = "x".repeat(mib << 20);
                client
                    .job(job.as_str())
                    .batch(std::iter::once(json!({ "blob": blob })))
                    .id(batch.as_str())
                    .submit()
                    .await
            }
        };
        let secs = start.elapsed().as_secs_f64();
        let peak = procfs::peak_rss_kb().unwrap_or(0);
        match submitted {
            Ok(done) => println!(
                "{RESULT_PREFIX}secs={secs:.3} created={} skipped={} backoffs={} peak_kb={peak}",
                done.created_chunks(),
                done.skipped_chunks(),
                done.progress().backoffs,
            ),
            Err(e) => println!(
                "{RESULT_PREFIX}secs={secs:.3} created=0 skipped=0 backoffs=0 peak_kb={peak} \
                 status={} error={}",
                e.status().map_or(0, |s| s.as_u16()),
                chain(&e).replace(' ', "_"),
            ),
        }
    });
}

/// Runs a submitter; with `kill_at`, kills it once it reported that many
/// chunks. Answers its result line, if it got that far.
fn run_submitter(
    emu: &Emulator,
    job: &str,
    batch: &str,
    n: u64,
    kill_at: Option<u64>,
    big_mib: Option<u64>,
) -> Option<String> {
    let exe = std::env::current_exe().expect("exe");
    let mut child = Command::new(exe)
        .args([
            SUBMIT_ARG,
            &emu.base_url(),
            emu.api_key(),
            job,
            batch,
            &n.to_string(),
        ])
        .args(big_mib.map(|m| m.to_string()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut result = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        if let Some(r) = line.strip_prefix(RESULT_PREFIX) {
            result = Some(r.to_owned());
        }
        let chunks = line
            .strip_prefix("CHUNKS ")
            .and_then(|c| c.parse::<u64>().ok());
        if let (Some(k), Some(c)) = (kill_at, chunks)
            && c >= k
        {
            child.kill().expect("kill");
            break;
        }
    }
    let _ = child.wait();
    result
}

/// An error and its sources, joined by ": ".
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

fn field(result: &str, key: &str) -> f64 {
    result
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
        .unwrap_or(f64::NAN)
}

fn list_arg(args: &[String], name: &str, default: &[u64]) -> Vec<u64> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| v.split(',').filter_map(|s| s.parse().ok()).collect())
        .unwrap_or_else(|| default.to_vec())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(SUBMIT_ARG) {
        submit(&args[1..]);
        return;
    }
    let sizes = list_arg(&args, "--tasks", &[100_000, 1_000_000]);
    let resume = list_arg(&args, "--resume", &[100_000]);
    let again = list_arg(&args, "--again", &[1_000_000]);
    let big = list_arg(&args, "--big-mb", &[50]);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let emu = rt
        .block_on(Emulator::start_with(
            EmulatorConfig::default().clock(Clock::Manual),
        ))
        .expect("emulator");
    let setup = client(&emu.base_url(), emu.api_key());
    let create = |name: String| {
        rt.block_on(async {
            let job = JobBuilder::new(name)
                .image("registry.example.com/worker:1.0")
                .build()
                .expect("job");
            setup.jobs().create(job).send().await.expect("create job");
        })
    };
    println!("machine: {}", procfs::machine());
    println!(
        "{:>10} {:>9} {:>8} {:>10} {:>14} {:>16}",
        "tasks", "secs", "creates", "creates/s", "client peak", "emulator +RSS"
    );
    for &n in &sizes {
        let job = format!("bench-{n}");
        create(job.clone());
        let rss_before = procfs::status_kb("VmRSS").unwrap_or(0);
        let r = run_submitter(&emu, &job, &format!("b{n}"), n, None, None).expect("a result");
        let rss_after = procfs::status_kb("VmRSS").unwrap_or(0);
        let (secs, created) = (field(&r, "secs"), field(&r, "created"));
        println!(
            "{n:>10} {secs:>9.2} {created:>8} {:>10.0} {:>11.1} MiB {:>12.1} MiB",
            created / secs,
            field(&r, "peak_kb") / 1024.0,
            rss_after.saturating_sub(rss_before) as f64 / 1024.0
        );
        if again.contains(&n) {
            let r = run_submitter(&emu, &job, &format!("b{n}"), n, None, None).expect("a result");
            println!(
                "{n:>10} again: {:.2} s, created {} skipped {}, client peak {:.1} MiB",
                field(&r, "secs"),
                field(&r, "created"),
                field(&r, "skipped"),
                field(&r, "peak_kb") / 1024.0
            );
        }
    }
    for &n in &resume {
        let job = format!("resume-{n}");
        create(job.clone());
        let chunks = n.div_ceil(blaxel_jobs::batch::DEFAULT_CHUNK_SIZE as u64);
        let batch = format!("r{n}");
        let killed = run_submitter(&emu, &job, &batch, n, Some(chunks / 2), None);
        assert!(
            killed.is_none(),
            "the first submitter finished before it was killed"
        );
        let after_kill = emu.executions(WS, &job).len();
        let r = run_submitter(&emu, &job, &batch, n, None, None).expect("a result");
        let mut per_id: HashMap<String, u32> = HashMap::new();
        for e in emu.executions(WS, &job) {
            *per_id.entry(e.metadata.id.unwrap_or_default()).or_default() += 1;
        }
        let once = (0..chunks).all(|i| per_id.get(&format!("{batch}-{i}")) == Some(&1));
        println!(
            "resume {n} tasks ({chunks} chunks): killed after {after_kill} executions; second run \
             created {} and skipped {}; executions now {} ({} distinct ids), each chunk exactly \
             once: {once}",
            field(&r, "created"),
            field(&r, "skipped"),
            per_id.values().sum::<u32>(),
            per_id.len()
        );
        assert!(
            once && per_id.len() as u64 == chunks,
            "duplicates or missing chunks"
        );
    }
    for &mib in &big {
        for (label, max_body) in [("1 MiB", 1usize << 20), ("256 MiB", 256 << 20)] {
            let emu = rt
                .block_on(Emulator::start_with(
                    EmulatorConfig::default()
                        .clock(Clock::Manual)
                        .max_body_bytes(max_body),
                ))
                .expect("emulator");
            let setup = client(&emu.base_url(), emu.api_key());
            rt.block_on(async {
                let job = JobBuilder::new("big")
                    .image("registry.example.com/worker:1.0")
                    .build()
                    .expect("job");
                setup.jobs().create(job).send().await.expect("create job");
            });
            let r = run_submitter(&emu, "big", "big", 1, None, Some(mib)).expect("a result");
            let outcome = r
                .split_whitespace()
                .find_map(|kv| kv.strip_prefix("error="))
                .map_or_else(|| "created".to_owned(), |e| e.replace('_', " "));
            println!(
                "one task of {mib} MiB, server limit {label}: {:.2} s, {} creates seen by the \
                 server, client peak {:.1} MiB: {outcome}",
                field(&r, "secs"),
                emu.request_count(blaxel_jobs_client::operations::Operation::CreateJobExecution),
                field(&r, "peak_kb") / 1024.0
            );
            rt.block_on(emu.shutdown());
        }
    }
    rt.block_on(emu.shutdown());
}
