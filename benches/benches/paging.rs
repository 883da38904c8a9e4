//! Paging memory: stream N jobs in pages of 100 through
//! `client.jobs().list().limit(100).into_stream()` and report the peak
//! resident memory and the throughput.
//!
//! ```text
//! cargo bench -p blaxel-jobs-bench --bench paging [-- --repeat R]
//! ```
//!
//! The server (which makes up a page for any cursor: the cursor is the
//! offset, `hasMore` until N) runs in this process on a thread of its own.
//! Each measurement runs in a fresh child process (this binary with
//! `--child`), which reads `VmHWM` from `/proc/self/status` before the first
//! request and after the last, so that peaks of different runs never mix.
//! For contrast, one child collects the 10,000 jobs into a `Vec` instead of
//! streaming them: that is what a stream saves.

use blaxel_jobs_bench::clients::Sdk;
use blaxel_jobs_bench::subprocess::{RESULT_PREFIX, run_child};
use blaxel_jobs_bench::{procfs, server, stats};
use futures_util::TryStreamExt as _;
use std::time::Instant;

const SIZES: [u64; 2] = [10_000, 100_000];

/// One child's report.
#[derive(Debug, Clone, Copy)]
struct Report {
    jobs: u64,
    secs: f64,
    hwm_before_kb: u64,
    hwm_kb: u64,
}

impl Report {
    fn format(&self) -> String {
        format!(
            "jobs={} secs={} hwm_before_kb={} hwm_kb={}",
            self.jobs, self.secs, self.hwm_before_kb, self.hwm_kb
        )
    }

    fn parse(line: &str) -> Option<Report> {
        let field = |key: &str| {
            line.split_whitespace()
                .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        };
        Some(Report {
            jobs: field("jobs")?.parse().ok()?,
            secs: field("secs")?.parse().ok()?,
            hwm_before_kb: field("hwm_before_kb")?.parse().ok()?,
            hwm_kb: field("hwm_kb")?.parse().ok()?,
        })
    }
}

/// The child: lists `n` jobs from `base` and prints a [`Report`].
fn child(n: u64, base: &str, collect: bool) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let sdk = Sdk::new(&format!("{base}/n/{n}"));
    let hwm_before_kb = procfs::peak_rss_kb().unwrap_or(0);
    let started = Instant::now();
    let jobs = runtime.block_on(async {
        let stream = sdk.client().jobs().list().limit(100).into_stream();
        if collect {
            let all: Vec<_> = stream.try_collect().await.expect("the listing");
            let count = all.len() as u64;
            // Read the peak while everything is still held.
            std::hint::black_box(&all);
            count
        } else {
            let mut stream = std::pin::pin!(stream);
            let mut count = 0u64;
            while let Some(job) = stream.try_next().await.expect("the listing") {
                assert_eq!(
                    job.metadata.name,
                    format!("job-{count:06}"),
                    "jobs in order"
                );
                count += 1;
            }
            count
        }
    });
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(jobs, n, "every job arrived");
    let report = Report {
        jobs,
        secs,
        hwm_before_kb,
        hwm_kb: procfs::peak_rss_kb().unwrap_or(0),
    };
    println!("{RESULT_PREFIX}{}", report.format());
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(at) = args.iter().position(|a| a == "--child") {
        let n = args[at + 1].parse().expect("--child N BASE");
        let base = &args[at + 2];
        child(n, base, args.iter().any(|a| a == "--collect"));
        return;
    }
    let repeat: usize = args
        .iter()
        .position(|a| a == "--repeat")
        .and_then(|i| args.get(i + 1))
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);

    let addr = server::start_on_thread().expect("the server starts");
    let base = format!("http://{addr}");
    println!("# Paging memory (cargo bench -p blaxel-jobs-bench --bench paging)\n");
    println!("- machine: {}", procfs::machine());
    println!(
        "- server: in the parent process on {addr}; each run is a fresh child process; {repeat} runs per row, alternated"
    );
    println!("- load average at start: {}\n", procfs::loadavg());

    // Runs alternate between the rows so that noise spreads evenly.
    let rows: Vec<(u64, bool)> = SIZES
        .iter()
        .map(|&n| (n, false))
        .chain([(SIZES[0], true)])
        .collect();
    let mut reports = vec![Vec::new(); rows.len()];
    for _ in 0..repeat {
        for (k, &(n, collect)) in rows.iter().enumerate() {
            let mut child_args = vec!["--child".into(), n.to_string(), base.clone()];
            if collect {
                child_args.push("--collect".into());
            }
            let line = run_child(&child_args).expect("the child runs");
            reports[k].push(Report::parse(&line).expect("a report"));
        }
    }

    println!(
        "| jobs | how | peak RSS before the first request (KiB) | peak RSS (VmHWM, KiB, median) | growth while listing (KiB) | jobs/s (median) | jobs/s min–max |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|");
    for (k, &(n, collect)) in rows.iter().enumerate() {
        let r = &reports[k];
        let med = |f: fn(&Report) -> f64| stats::median(&r.iter().map(f).collect::<Vec<_>>());
        let rates: Vec<f64> = r.iter().map(|x| x.jobs as f64 / x.secs).collect();
        let (lo, hi) = stats::range(&rates);
        let before = med(|x| x.hwm_before_kb as f64);
        let peak = med(|x| x.hwm_kb as f64);
        println!(
            "| {n} | {} | {before:.0} | {peak:.0} | {:.0} | {:.0} | {lo:.0}–{hi:.0} |",
            if collect {
                "collected into a Vec (contrast)"
            } else {
                "into_stream()"
            },
            peak - before,
            stats::median(&rates),
        );
    }
    println!("\nload average at the end: {}", procfs::loadavg());
}
