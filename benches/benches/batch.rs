//! Fan-out at scale: a batch of N tasks submitted to the emulator, and a
//! submission killed half-way then run again.
//!
//! ```text
//! cargo bench -p blaxel-jobs-bench --bench batch [-- --tasks 100000,1000000 --resume 100000]
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

/// The `--submit URL KEY JOB BATCH N` role: submits, printing `CHUNKS k`
/// after each chunk, then the result line.
fn submit(args: &[String]) {
    let [url, key, job, batch, n] = args else {
        panic!("--submit URL KEY JOB BATCH N");
    };
    let n: u64 = n.parse().expect("N");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let client = client(url, key);
        let start = Instant::now();
        let done = client
            .job(job.as_str())
            .batch(tasks(n))
            .id(batch.as_str())
            .on_progress(|p| println!("CHUNKS {}", p.chunks))
            .submit()
            .await
            .expect("submit");
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{RESULT_PREFIX}secs={secs:.3} created={} skipped={} backoffs={} peak_kb={}",
            done.created_chunks(),
            done.skipped_chunks(),
            done.progress().backoffs,
            procfs::peak_rss_kb().unwrap_or(0)
        );
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
        let r = run_submitter(&emu, &job, &format!("b{n}"), n, None).expect("a result");
        let rss_after = procfs::status_kb("VmRSS").unwrap_or(0);
        let (secs, created) = (field(&r, "secs"), field(&r, "created"));
        println!(
            "{n:>10} {secs:>9.2} {created:>8} {:>10.0} {:>11.1} MiB {:>12.1} MiB",
            created / secs,
            field(&r, "peak_kb") / 1024.0,
            rss_after.saturating_sub(rss_before) as f64 / 1024.0
        );
    }
    for &n in &resume {
        let job = format!("resume-{n}");
        create(job.clone());
        let chunks = n.div_ceil(blaxel_jobs::batch::DEFAULT_CHUNK_SIZE as u64);
        let batch = format!("r{n}");
        let killed = run_submitter(&emu, &job, &batch, n, Some(chunks / 2));
        assert!(
            killed.is_none(),
            "the first submitter finished before it was killed"
        );
        let after_kill = emu.executions(WS, &job).len();
        let r = run_submitter(&emu, &job, &batch, n, None).expect("a result");
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
    rt.block_on(emu.shutdown());
}
