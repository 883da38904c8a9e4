//! What a task pays to read its parameters out of a 10,000-task execution.
//!
//! ```text
//! cargo bench -p blaxel-jobs-bench --bench task_params [-- --repeat R]
//! ```
//!
//! Every task of an execution downloads the whole task list
//! (`{"tasks": [...]}`) and needs one entry of it. Three ways of reading
//! that entry out of the same 10,000-task body (about 2 MB) are compared,
//! for the first, middle and last task:
//!
//! - `value`: parse the whole document into a `serde_json::Value`, take
//!   `tasks[i]` and convert it to the parameter type: what Blaxel's own
//!   helpers do (they parse everything, then index).
//! - `typed-vec`: deserialize `{"tasks": Vec<Params>}`, then take entry
//!   `i`: the obvious typed Rust version.
//! - `select`: `blaxel_jobs_task::data::select`, which skips the other
//!   entries with `IgnoredAny` and builds only `tasks[i]`.
//!
//! Parse time is the median of R runs in this process. Memory is the
//! growth of peak resident memory (`VmHWM`) while parsing, measured in a
//! fresh child process per row (the body is built before the first
//! reading), so peaks never mix. The last rows load a task end to end with
//! `Loader` from a loopback server (fetch, bounded body, select).

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::time::Instant;

use blaxel_jobs_bench::subprocess::{RESULT_PREFIX, run_child};
use blaxel_jobs_bench::{procfs, stats};
use blaxel_jobs_task::{Environment, Loader, Task};
use serde::Deserialize;

const TASKS: usize = 10_000;
const INDEXES: [usize; 3] = [0, TASKS / 2, TASKS - 1];

/// A realistic task's parameters.
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Params {
    id: String,
    input: String,
    output: String,
    rows: u64,
    options: Options,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Options {
    mode: String,
    retries: u32,
    tags: Vec<String>,
    threshold: f64,
}

/// The execution data of `n` tasks, as the platform serves it.
fn body(n: usize) -> Vec<u8> {
    let tasks: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({
                "id": format!("item-{i:05}"),
                "input": format!("s3://datasets/events/2026/11/part-{i:05}.parquet"),
                "output": format!("s3://results/nightly/part-{i:05}.json"),
                "rows": 100_000 + i as u64 * 7,
                "options": {"mode": if i % 3 == 0 { "full" } else { "incremental" },
                            "retries": 3, "tags": ["nightly", "eu-west"], "threshold": 0.25},
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({ "tasks": tasks })).expect("serializes")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Value,
    TypedVec,
    Select,
}

impl Method {
    const ALL: [Method; 3] = [Method::Value, Method::TypedVec, Method::Select];

    fn name(self) -> &'static str {
        match self {
            Method::Value => "value",
            Method::TypedVec => "typed-vec",
            Method::Select => "select",
        }
    }

    fn parse(name: &str) -> Method {
        Method::ALL
            .into_iter()
            .find(|m| m.name() == name)
            .expect("a method name")
    }

    /// Reads `tasks[index]` of `body` and returns its id.
    fn read(self, body: &[u8], index: usize) -> String {
        match self {
            Method::Value => {
                let doc: serde_json::Value = serde_json::from_slice(body).expect("JSON");
                let task = doc["tasks"].get(index).cloned().unwrap_or_default();
                let p: Params = serde_json::from_value(task).expect("params");
                p.id
            }
            Method::TypedVec => {
                #[derive(Deserialize)]
                struct Data {
                    tasks: Vec<Params>,
                }
                let mut data: Data = serde_json::from_slice(body).expect("JSON");
                data.tasks.swap_remove(index).id
            }
            Method::Select => {
                blaxel_jobs_task::data::select::<Params>(body, index)
                    .expect("select")
                    .params
                    .expect("in range")
                    .id
            }
        }
    }
}

/// Serves `body` to every connection, on a thread.
fn serve(body: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    format!("http://{addr}/data")
}

fn load(url: &str, index: usize) -> String {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let env = Environment::new()
        .var("BL_EXECUTION_DATA_URL", url)
        .var("TASK_INDEX", index.to_string());
    let task: Task<Params> = runtime
        .block_on(Loader::with_environment(env).load())
        .expect("the task loads");
    task.into_params().id
}

/// A child: one read (or one load, with a URL) and the peak memory growth.
/// The body comes from a file, read into a buffer of its exact size, so
/// that nothing before the reading raises the peak above body + runtime.
fn child(method: &str, index: usize, file: &str, url: Option<&str>) {
    let body = std::fs::read(file).expect("the body file");
    let before = procfs::peak_rss_kb().unwrap_or(0);
    let id = match url {
        Some(url) => load(url, index),
        None => Method::parse(method).read(&body, index),
    };
    let after = procfs::peak_rss_kb().unwrap_or(0);
    assert_eq!(id, format!("item-{index:05}"));
    std::hint::black_box(&body);
    println!("{RESULT_PREFIX}{}", after.saturating_sub(before));
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(at) = args.iter().position(|a| a == "--child") {
        let index = args[at + 2]
            .parse()
            .expect("--child METHOD INDEX FILE [URL]");
        child(
            &args[at + 1],
            index,
            &args[at + 3],
            args.get(at + 4).map(String::as_str),
        );
        return;
    }
    let repeat: usize = args
        .iter()
        .position(|a| a == "--repeat")
        .and_then(|i| args.get(i + 1))
        .and_then(|r| r.parse().ok())
        .unwrap_or(30);

    let body = body(TASKS);
    let file = std::env::temp_dir().join(format!("task-params-{}.json", std::process::id()));
    std::fs::write(&file, &body).expect("the body file");
    let file = file.to_string_lossy().into_owned();
    println!(
        "# Task parameters from a {TASKS}-task execution (cargo bench -p blaxel-jobs-bench --bench task_params)\n"
    );
    println!("- machine: {}", procfs::machine());
    println!(
        "- body: {} bytes ({} bytes per task); {repeat} runs per row, rows alternated; memory from one fresh child per row",
        body.len(),
        body.len() / TASKS
    );
    println!("- load average at start: {}\n", procfs::loadavg());

    let rows: Vec<(Method, usize)> = Method::ALL
        .iter()
        .flat_map(|&m| INDEXES.iter().map(move |&i| (m, i)))
        .collect();
    let mut times = vec![Vec::new(); rows.len()];
    for _ in 0..repeat {
        for (k, &(method, index)) in rows.iter().enumerate() {
            let start = Instant::now();
            let id = method.read(std::hint::black_box(&body), index);
            times[k].push(start.elapsed().as_secs_f64() * 1e3);
            assert_eq!(id, format!("item-{index:05}"));
        }
    }
    println!("| method | task | parse ms (median) | min–max ms | peak memory growth KiB |");
    println!("|---|---:|---:|---:|---:|");
    for (k, &(method, index)) in rows.iter().enumerate() {
        let growth = run_child(&[
            "--child".into(),
            method.name().into(),
            index.to_string(),
            file.clone(),
        ])
        .expect("the child runs");
        let (lo, hi) = stats::range(&times[k]);
        println!(
            "| {} | {index} | {:.2} | {lo:.2}–{hi:.2} | {growth} |",
            method.name(),
            stats::median(&times[k])
        );
    }

    let url = serve(body.clone());
    let mut load_times = Vec::new();
    for _ in 0..repeat {
        let start = Instant::now();
        let id = load(&url, TASKS - 1);
        load_times.push(start.elapsed().as_secs_f64() * 1e3);
        assert_eq!(id, format!("item-{:05}", TASKS - 1));
    }
    let growth = run_child(&[
        "--child".into(),
        "select".into(),
        (TASKS - 1).to_string(),
        file.clone(),
        url.clone(),
    ])
    .expect("the child runs");
    let _ = std::fs::remove_file(&file);
    let (lo, hi) = stats::range(&load_times);
    println!(
        "| Loader::load over loopback HTTP (new runtime and client each time) | {} | {:.2} | {lo:.2}–{hi:.2} | {growth} |",
        TASKS - 1,
        stats::median(&load_times)
    );
}
