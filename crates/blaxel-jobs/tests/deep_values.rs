//! Caller values nested deeper than the API takes are refused with
//! `InvalidInput` naming the task, never a stack overflow: 10,000 and
//! 100,000 levels of a custom `Serialize` (which holds no tree), on the
//! process's main thread (8 MiB of stack: this test runs without the test
//! harness, so `main` is that thread) and on a tokio worker thread
//! (2 MiB). Before the limit, 10,000 levels aborted the process on a worker
//! thread and 100,000 on the main thread too.
//!
//! The limit is not stricter than the server: the emulator takes a task
//! exactly as deep as the SDK allows and refuses one level more.

use blaxel_jobs::raw::operations::Operation;
use blaxel_jobs::{Client, Error, JobBuilder, types};
use blaxel_jobs_emulator::{Clock, Emulator, EmulatorConfig};
use serde::Serialize;
use serde::ser::{SerializeMap as _, Serializer};
use serde_json::{Map, Value, json};

const JOB: &str = "deep";
const WS: &str = "deep-ws";

/// The most levels an execution's task may nest, its own object included.
const TASK_DEPTH: usize = 125;

/// `{"a": {"a": ... {}}}`, `levels` objects deep, made up while it is
/// serialized.
struct Deep(usize);

impl Serialize for Deep {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        if self.0 > 1 {
            map.serialize_entry("a", &Deep(self.0 - 1))?;
        }
        map.end()
    }
}

/// A value that is shallow or deep, for batches that mix them.
enum Task {
    Flat(u32),
    Deep(usize),
}

impl Serialize for Task {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Task::Flat(i) => json!({ "i": i }).serialize(s),
            Task::Deep(n) => Deep(*n).serialize(s),
        }
    }
}

fn refused_at(result: Result<impl std::fmt::Debug, Error>, field: &str) {
    match result {
        Err(Error::InvalidInput(e)) => {
            assert_eq!(e.field(), Some(field), "{e}");
            assert!(e.message().contains("levels deep"), "{e}");
        }
        other => panic!("expected InvalidInput at {field}, got {other:?}"),
    }
}

/// A map `levels` deep, built without recursion.
fn deep_map(levels: usize) -> Map<String, Value> {
    let mut v = Value::Object(Map::new());
    for _ in 1..levels {
        let mut m = Map::new();
        m.insert("a".to_owned(), v);
        v = Value::Object(m);
    }
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

/// Every place a caller's value becomes a request body, at `levels`.
async fn check(client: &Client, emu_creates: impl Fn() -> u64, levels: usize, thread: &str) {
    eprintln!("{thread}: {levels} levels");
    let creates = emu_creates();
    let create = client
        .job(JOB)
        .executions()
        .create()
        .task(json!({"ok": 1}))
        .task(Deep(levels));
    refused_at(create.clone().build(), "tasks[1]");
    refused_at(create.send().await, "tasks[1]");

    let batch = client
        .job(JOB)
        .batch([Task::Flat(0), Task::Flat(1), Task::Deep(levels)])
        .id(format!("deep-{levels}"))
        .chunk_size(2)
        .concurrency(1)
        .submit()
        .await;
    refused_at(batch, "tasks[2]");
    // The chunk before the deep task may have been created; no other.
    assert!(emu_creates() - creates <= 1);

    let job = JobBuilder::new("cron-deep")
        .image("registry.example.com/worker:1.0")
        .cron("0 3 * * *", [Deep(levels)])
        .build();
    refused_at(job, "spec.triggers[0].configuration.tasks[0]");
}

/// The same limit on values already built: a typed request passed whole.
/// (A tree as deep as those above could not even be dropped on a worker
/// thread: serde_json's `Value` drops recursively; a caller holding one
/// has that problem before the SDK sees it.)
fn check_built_values(client: &Client) {
    let request = types::CreateJobExecutionRequest {
        tasks: vec![Map::new(), deep_map(1_000)],
        ..Default::default()
    };
    let built = client
        .job(JOB)
        .executions()
        .create()
        .request(request)
        .build();
    refused_at(built, "tasks[1]");
    let trigger = types::Trigger {
        configuration: Some(types::TriggerConfiguration {
            tasks: vec![types::TriggerConfigurationTask(deep_map(1_000))],
            ..Default::default()
        }),
        type_: Some(types::TriggerType::Cron),
        ..Default::default()
    };
    let job = JobBuilder::new("trigger-deep")
        .image("registry.example.com/worker:1.0")
        .trigger(trigger)
        .build();
    refused_at(job, "spec.triggers[0].configuration.tasks[0]");
}

/// The boundary, against the emulator: the deepest task the SDK sends is
/// taken, one level more is refused by the server itself.
async fn boundary(client: &Client, emu: &Emulator) {
    let started = client
        .job(JOB)
        .executions()
        .create()
        .task(Deep(TASK_DEPTH))
        .send()
        .await
        .expect("the deepest task the SDK allows is taken");
    assert!(started.execution_id.is_some());
    refused_at(
        client
            .job(JOB)
            .executions()
            .create()
            .task(Deep(TASK_DEPTH + 1))
            .build(),
        "tasks[0]",
    );
    let body = json!({ "tasks": [Value::Object(deep_map(TASK_DEPTH + 1))] }).to_string();
    let status = reqwest::Client::new()
        .post(format!("{}/jobs/{JOB}/executions", emu.base_url()))
        .bearer_auth(emu.api_key())
        .header("X-Blaxel-Workspace", WS)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .expect("an answer")
        .status();
    assert_eq!(
        status.as_u16(),
        400,
        "one level more is refused by the server"
    );
}

fn main() {
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let emu = server
        .block_on(Emulator::start_with(
            EmulatorConfig::default().clock(Clock::Manual),
        ))
        .expect("emulator");
    let client = Client::builder()
        .ignore_environment()
        .base_url(emu.base_url())
        .api_key(emu.api_key())
        .workspace(WS)
        .build()
        .expect("client");
    server.block_on(async {
        let job = JobBuilder::new(JOB)
            .image("registry.example.com/worker:1.0")
            .build()
            .unwrap();
        client.jobs().create(job).send().await.expect("job");
        boundary(&client, &emu).await;
    });
    let emu = std::sync::Arc::new(emu);
    let creates = {
        let emu = emu.clone();
        move || emu.request_count(Operation::CreateJobExecution)
    };

    // On the main thread.
    check_built_values(&client);
    let here = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for levels in [10_000, 100_000] {
        here.block_on(check(&client, &creates, levels, "main thread"));
    }

    // On a worker thread of a multi-threaded runtime (2 MiB of stack).
    let worker = {
        let client = client.clone();
        let creates = creates.clone();
        server.spawn(async move {
            check_built_values(&client);
            for levels in [10_000, 100_000] {
                check(&client, &creates, levels, "worker thread").await;
            }
        })
    };
    server.block_on(worker).expect("the worker's checks pass");
    eprintln!("deep values: ok");
}
