//! Serialization microbenchmarks (criterion): a job, an execution with 100
//! tasks and a page of 100 jobs, through the generated types and through
//! `serde_json::Value`, both ways.
//!
//! ```text
//! cargo bench -p blaxel-jobs-bench --bench serde [-- FILTER]
//! cargo bench -p blaxel-jobs-bench --bench serde -- --probe CASE OP N
//! cargo bench -p blaxel-jobs-bench --bench serde -- --sizes
//! ```
//!
//! `--sizes` prints the in-memory size of the generated types.
//! `--probe` skips criterion and runs one operation N times, for
//! `valgrind --tool=callgrind`, which counts instructions deterministically
//! (except in the `HashMap` model, whose hash seed is random). CASE: job,
//! execution, list, or a model of `openapi_generator_model` decoding the
//! same list: list-ogen-hash, list-ogen-btree, list-inline-btree,
//! list-boxed-job-btree. A list case
//! may end in `:JOBS`, the page size (100 by default). OP: de-typed,
//! de-value, ser-typed, ser-value.

use blaxel_jobs_bench::fixtures;
use blaxel_jobs_bench::openapi_generator_model as ogen;
use blaxel_jobs_client::types;
use criterion::{Criterion, Throughput};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::hint::black_box;
use std::time::Duration;

/// A body of one of the benchmark's cases.
struct Case {
    name: &'static str,
    json: Vec<u8>,
}

fn cases() -> [Case; 3] {
    [
        Case {
            name: "job",
            json: fixtures::to_bytes(&fixtures::job_json(fixtures::JOB_NAME)),
        },
        Case {
            name: "execution_100_tasks",
            json: fixtures::to_bytes(&fixtures::execution_json(100)),
        },
        Case {
            name: "job_list_100",
            json: fixtures::to_bytes(&fixtures::job_list_json(0, 100, None)),
        },
    ]
}

fn bench_case<T: Serialize + DeserializeOwned>(c: &mut Criterion, case: &Case) {
    let typed: T = serde_json::from_slice(&case.json).expect("the fixture decodes");
    let value: Value = serde_json::from_slice(&case.json).expect("the fixture is JSON");
    let mut group = c.benchmark_group(case.name);
    group.throughput(Throughput::Bytes(case.json.len() as u64));
    group.bench_function("deserialize/typed", |b| {
        b.iter(|| serde_json::from_slice::<T>(black_box(&case.json)).expect("decodes"))
    });
    group.bench_function("deserialize/value", |b| {
        b.iter(|| serde_json::from_slice::<Value>(black_box(&case.json)).expect("decodes"))
    });
    group.bench_function("serialize/typed", |b| {
        b.iter(|| serde_json::to_vec(black_box(&typed)).expect("encodes"))
    });
    group.bench_function("serialize/value", |b| {
        b.iter(|| serde_json::to_vec(black_box(&value)).expect("encodes"))
    });
    group.finish();
}

/// Decoding the page of 100 jobs into openapi-generator-shaped models (see
/// [`ogen`]), beside the generated types.
fn bench_models(c: &mut Criterion, list: &Case) {
    let mut group = c.benchmark_group("job_list_100_models");
    group.throughput(Throughput::Bytes(list.json.len() as u64));
    group.bench_function("deserialize/generated", |b| {
        b.iter(|| serde_json::from_slice::<types::JobList>(black_box(&list.json)).expect("decodes"))
    });
    group.bench_function("deserialize/openapi-generator-shape", |b| {
        b.iter(|| {
            serde_json::from_slice::<ogen::hash_maps::JobList>(black_box(&list.json))
                .expect("decodes")
        })
    });
    group.bench_function("deserialize/openapi-generator-shape-btreemap", |b| {
        b.iter(|| {
            serde_json::from_slice::<ogen::btree_maps::JobList>(black_box(&list.json))
                .expect("decodes")
        })
    });
    group.finish();
}

fn probe_case<T: Serialize + DeserializeOwned>(json: &[u8], op: &str, n: u64) {
    let typed: T = serde_json::from_slice(json).expect("the fixture decodes");
    let value: Value = serde_json::from_slice(json).expect("the fixture is JSON");
    for _ in 0..n {
        match op {
            "de-typed" => drop(black_box(serde_json::from_slice::<T>(black_box(json)))),
            "de-value" => drop(black_box(serde_json::from_slice::<Value>(black_box(json)))),
            "ser-typed" => drop(black_box(serde_json::to_vec(black_box(&typed)))),
            "ser-value" => drop(black_box(serde_json::to_vec(black_box(&value)))),
            other => panic!("unknown probe operation `{other}`"),
        }
    }
}

/// Runs one probe. A `list` case may name its page size after a colon
/// (`list:50`, `list-ogen-hash:50`); the default is the benchmark's 100 jobs.
fn probe(case: &str, op: &str, n: u64) {
    let [job, execution, list] = cases();
    let (case, list) = match case.split_once(':') {
        Some((case, jobs)) => {
            let jobs = jobs.parse().expect("a page size after the colon");
            let json = fixtures::to_bytes(&fixtures::job_list_json(0, jobs, None));
            (case, json)
        }
        None => (case, list.json),
    };
    match case {
        "job" => probe_case::<types::Job>(&job.json, op, n),
        "execution" => probe_case::<types::JobExecution>(&execution.json, op, n),
        "list" => probe_case::<types::JobList>(&list, op, n),
        "list-ogen-hash" => probe_case::<ogen::hash_maps::JobList>(&list, op, n),
        "list-ogen-btree" => probe_case::<ogen::btree_maps::JobList>(&list, op, n),
        "list-inline-btree" => probe_case::<ogen::btree_inline::JobList>(&list, op, n),
        "list-boxed-job-btree" => probe_case::<ogen::btree_boxed_job::JobList>(&list, op, n),
        other => panic!("unknown probe case `{other}`"),
    }
}

/// Prints the in-memory size of the main generated types.
fn sizes() {
    use std::mem::size_of;
    for (name, size) in [
        ("Job", size_of::<types::Job>()),
        ("Metadata", size_of::<types::Metadata>()),
        ("JobSpec", size_of::<types::JobSpec>()),
        ("JobRuntime", size_of::<types::JobRuntime>()),
        ("Trigger", size_of::<types::Trigger>()),
        ("JobExecution", size_of::<types::JobExecution>()),
        ("JobExecutionTask", size_of::<types::JobExecutionTask>()),
        ("JobList", size_of::<types::JobList>()),
    ] {
        println!("size_of::<{name}>() = {size} bytes");
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--sizes") {
        sizes();
        return;
    }
    if let Some(at) = args.iter().position(|a| a == "--probe") {
        let n = args
            .get(at + 3)
            .and_then(|n| n.parse().ok())
            .expect("--probe CASE OP N");
        probe(&args[at + 1], &args[at + 2], n);
        return;
    }
    let [job, execution, list] = cases();
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
        .configure_from_args();
    bench_case::<types::Job>(&mut c, &job);
    bench_case::<types::JobExecution>(&mut c, &execution);
    bench_case::<types::JobList>(&mut c, &list);
    bench_models(&mut c, &list);
    c.final_summary();
}
