//! The emulator under load: memory per stored execution, and how fast it
//! answers after a big jump of simulated time.
//!
//! ```text
//! cargo bench -p blaxel-jobs-bench --bench emulator [-- --executions N --tasks T --repeat R]
//! ```
//!
//! Each row runs in a fresh child process (this binary with `--child`),
//! which starts an emulator in-process on a manual clock, on a 2-worker
//! tokio runtime shared with its HTTP client (as in a test suite that runs
//! the emulator in-process), and then:
//!
//! 1. creates a job (`maxConcurrentTasks` 10, `maxRetries` 1) and N
//!    executions of T tasks over HTTP, 4 requests at a time, reading
//!    `VmRSS` before and after: the memory per stored execution;
//! 2. moves the clock 6 hours ahead and sends, at once, a GetJobExecution
//!    to the busy workspace (the request that catches up) and a ListJobs to
//!    another workspace, while a 10 ms ticker on the same runtime records
//!    how late it fires (the CPU time of the process meanwhile, all threads,
//!    is read from `/proc`: 10 ms resolution);
//! 3. times a second GetJobExecution and a page of 50 executions (5,000
//!    tasks rendered) once caught up;
//! 4. moves the clock past the retention period (1 day), lets the
//!    executions expire, creates N more, and reads how much `VmRSS` grew
//!    meanwhile: the memory of expired executions is reused.
//!
//! With capacity N every execution is live at once; with the default
//! capacity (100) most wait in the queue and are admitted one by one while
//! catching up.

use blaxel_jobs_bench::subprocess::{RESULT_PREFIX, run_child};
use blaxel_jobs_bench::{procfs, stats};
use blaxel_jobs_emulator::{Clock, Emulator, EmulatorConfig};
use futures_util::StreamExt as _;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const WS: &str = "bench";
const CONCURRENCY: usize = 4;

/// One child's figures, as `key=value` pairs.
#[derive(Debug, Default, Clone)]
struct Report(Vec<(String, f64)>);

impl Report {
    fn set(&mut self, key: &str, value: f64) {
        self.0.push((key.to_owned(), value));
    }

    fn get(&self, key: &str) -> f64 {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map_or(f64::NAN, |(_, v)| *v)
    }

    fn format(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn parse(line: &str) -> Report {
        Report(
            line.split_whitespace()
                .filter_map(|kv| {
                    let (k, v) = kv.split_once('=')?;
                    Some((k.to_owned(), v.parse().ok()?))
                })
                .collect(),
        )
    }
}

struct Api {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Api {
    fn req(&self, method: reqwest::Method, ws: &str, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .header("X-Blaxel-Workspace", ws)
            .header("Blaxel-Version", "2026-04-28")
    }

    async fn send(&self, rb: reqwest::RequestBuilder) -> Value {
        let r = rb.send().await.expect("an answer");
        let status = r.status();
        let text = r.text().await.expect("a body");
        assert!(status.is_success(), "{status}: {text}");
        serde_json::from_str(&text).expect("JSON")
    }

    /// Creates `n` executions of `tasks` tasks, ids `run-<round>-<i>`.
    async fn create_executions(&self, round: usize, n: usize, tasks: usize) {
        futures_util::stream::iter(0..n)
            .map(|i| {
                let tasks: Vec<Value> = (0..tasks)
                    .map(|k| {
                        json!({
                            "durationSeconds": 30 + (i * 7 + k * 13) % 300,
                            "failAttempts": usize::from((i + k) % 3 == 0),
                        })
                    })
                    .collect();
                let body = json!({"executionId": format!("run-{round}-{i}"), "tasks": tasks});
                self.send(
                    self.req(reqwest::Method::POST, WS, "/jobs/job/executions")
                        .json(&body),
                )
            })
            .buffer_unordered(CONCURRENCY)
            .for_each(|_| async {})
            .await;
    }
}

fn kb(key: &str) -> f64 {
    procfs::status_kb(key).unwrap_or(0) as f64
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

async fn measure(n: usize, tasks: usize, capacity: usize) -> Report {
    let mut r = Report::default();
    let emu = Emulator::start_with(
        EmulatorConfig::default()
            .clock(Clock::Manual)
            .capacity(capacity),
    )
    .await
    .expect("the emulator starts");
    let api = Api {
        http: blaxel_jobs_client::tls::http_client_builder()
            .build()
            .expect("a client"),
        base: emu.base_url(),
        key: emu.api_key().to_owned(),
    };
    let job = json!({"metadata": {"name": "job"}, "spec": {"runtime": {
        "maxConcurrentTasks": 10, "maxRetries": 1, "timeout": 3600}}});
    for ws in [WS, "other"] {
        api.send(api.req(reqwest::Method::POST, ws, "/jobs").json(&job))
            .await;
    }
    // A first round trip, so that connection set-up is not counted.
    api.send(api.req(reqwest::Method::GET, WS, "/jobs/job"))
        .await;

    // 1. Memory per stored execution.
    let rss_before = kb("VmRSS");
    let started = Instant::now();
    api.create_executions(0, n, tasks).await;
    r.set("create_secs", started.elapsed().as_secs_f64());
    let rss_after = kb("VmRSS");
    r.set("rss_before_kb", rss_before);
    r.set("rss_after_kb", rss_after);
    r.set("hwm_kb", kb("VmHWM"));
    r.set(
        "bytes_per_execution",
        (rss_after - rss_before) * 1024.0 / n as f64,
    );

    // 2. Six hours later: the first requests, and a ticker on the runtime.
    emu.advance(Duration::from_secs(6 * 3600));
    let stop = Arc::new(AtomicBool::new(false));
    let late_us = Arc::new(AtomicU64::new(0));
    let ticker = {
        let (stop, late_us) = (stop.clone(), late_us.clone());
        tokio::spawn(async move {
            let period = Duration::from_millis(10);
            let mut next = tokio::time::Instant::now() + period;
            while !stop.load(Ordering::SeqCst) {
                tokio::time::sleep_until(next).await;
                let late = tokio::time::Instant::now().saturating_duration_since(next);
                late_us.fetch_max(late.as_micros() as u64, Ordering::SeqCst);
                next += period;
            }
        })
    };
    // Let the ticker start.
    tokio::time::sleep(Duration::from_millis(25)).await;
    let cpu0 = procfs::cpu_time();
    let t0 = Instant::now();
    let busy = async {
        api.send(api.req(reqwest::Method::GET, WS, "/jobs/job/executions/run-0-0"))
            .await;
        t0.elapsed()
    };
    let other = async {
        api.send(api.req(reqwest::Method::GET, "other", "/jobs"))
            .await;
        t0.elapsed()
    };
    let (busy, other) = tokio::join!(busy, other);
    let cpu = procfs::cpu_time().since(&cpu0);
    stop.store(true, Ordering::SeqCst);
    r.set("first_request_cpu_ms", ms(cpu.total()));
    let _ = ticker.await;
    r.set("first_request_ms", ms(busy));
    r.set("other_workspace_ms", ms(other));
    r.set(
        "ticker_late_ms",
        late_us.load(Ordering::SeqCst) as f64 / 1e3,
    );

    // 3. Once caught up.
    let t = Instant::now();
    let e = api
        .send(api.req(reqwest::Method::GET, WS, "/jobs/job/executions/run-0-0"))
        .await;
    r.set("second_request_ms", ms(t.elapsed()));
    assert!(e["status"].is_string());
    let t = Instant::now();
    let page = api
        .send(api.req(reqwest::Method::GET, WS, "/jobs/job/executions?limit=50"))
        .await;
    r.set("page_of_50_ms", ms(t.elapsed()));
    assert_eq!(page["data"].as_array().map(Vec::len), Some(50));
    // How far the simulation got: the status of 20 executions, evenly spread.
    let mut finished = 0;
    for k in 0..20 {
        let path = format!("/jobs/job/executions/run-0-{}", k * n / 20);
        let e = api.send(api.req(reqwest::Method::GET, WS, &path)).await;
        let status = e["status"].as_str().unwrap_or_default();
        if ["succeeded", "failed", "timeout", "cancelled"].contains(&status) {
            finished += 1;
        }
    }
    r.set("finished_of_20_at_6h", f64::from(finished));

    // 4. Past the retention period: expired, then a second round.
    emu.advance(Duration::from_secs(31 * 3600));
    emu.advance(Duration::from_secs(24 * 3600));
    let t = Instant::now();
    api.send(api.req(reqwest::Method::GET, WS, "/jobs/job/executions"))
        .await;
    r.set("expiry_request_ms", ms(t.elapsed()));
    let listed = api
        .send(api.req(reqwest::Method::GET, WS, "/jobs/job/executions?limit=1"))
        .await;
    r.set(
        "kept_after_retention",
        listed["meta"]["total"].as_f64().unwrap_or(f64::NAN),
    );
    r.set("rss_before_second_round_kb", kb("VmRSS"));
    api.create_executions(1, n, tasks).await;
    r.set("hwm_after_second_round_kb", kb("VmHWM"));
    r.set("rss_after_second_round_kb", kb("VmRSS"));
    r
}

fn child(n: usize, tasks: usize, capacity: usize) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let report = runtime.block_on(measure(n, tasks, capacity));
    println!("{RESULT_PREFIX}{}", report.format());
}

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(at) = args.iter().position(|a| a == "--child") {
        let num = |k: usize| -> usize { args[at + k].parse().expect("--child N T CAPACITY") };
        child(num(1), num(2), num(3));
        return;
    }
    let n = arg(&args, "--executions", 10_000);
    let tasks = arg(&args, "--tasks", 100);
    let repeat = arg(&args, "--repeat", 3).max(1);
    println!("# Emulator (cargo bench -p blaxel-jobs-bench --bench emulator)\n");
    println!("- machine: {}", procfs::machine());
    println!(
        "- {n} executions of {tasks} tasks; each run is a fresh child process; {repeat} runs per row, alternated; medians (min–max)"
    );
    println!("- load average at start: {}\n", procfs::loadavg());
    let capacities = [n, 100];
    let mut reports = vec![Vec::new(); capacities.len()];
    for _ in 0..repeat {
        for (k, capacity) in capacities.iter().enumerate() {
            let line = run_child(&[
                "--child".into(),
                n.to_string(),
                tasks.to_string(),
                capacity.to_string(),
            ])
            .expect("the child runs");
            reports[k].push(Report::parse(&line));
        }
    }
    println!(
        "| capacity | create (s) | RSS growth (MiB) | per execution (KiB) | first request after +6 h (ms) | its CPU time (ms) | other workspace meanwhile (ms) | 10 ms ticker, latest (ms) | next request (ms) | page of 50 (ms) | finished at +6 h (of 20 sampled) | kept after +61 h | RSS growth, 2nd round (MiB) | peak RSS (MiB) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (k, capacity) in capacities.iter().enumerate() {
        let rs = &reports[k];
        let med = |f: &dyn Fn(&Report) -> f64| stats::median(&rs.iter().map(f).collect::<Vec<_>>());
        let spread = |key: &str| {
            let v: Vec<f64> = rs.iter().map(|r| r.get(key)).collect();
            let (lo, hi) = stats::range(&v);
            format!("{:.1} ({lo:.1}–{hi:.1})", stats::median(&v))
        };
        println!(
            "| {capacity} | {:.1} | {:.1} | {:.1} | {} | {} | {} | {} | {} | {} | {:.0} | {:.0} | {:.1} | {:.0} |",
            med(&|r| r.get("create_secs")),
            med(&|r| (r.get("rss_after_kb") - r.get("rss_before_kb")) / 1024.0),
            med(&|r| r.get("bytes_per_execution") / 1024.0),
            spread("first_request_ms"),
            spread("first_request_cpu_ms"),
            spread("other_workspace_ms"),
            spread("ticker_late_ms"),
            spread("second_request_ms"),
            spread("page_of_50_ms"),
            med(&|r| r.get("finished_of_20_at_6h")),
            med(&|r| r.get("kept_after_retention")),
            med(
                &|r| (r.get("rss_after_second_round_kb") - r.get("rss_before_second_round_kb"))
                    / 1024.0
            ),
            med(&|r| r.get("hwm_after_second_round_kb") / 1024.0),
        );
    }
    println!("\nload average at the end: {}", procfs::loadavg());
}
