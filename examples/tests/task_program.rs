//! End to end: the task program `collatz_task`, written with
//! `blaxel-jobs-task`, runs as real processes for the tasks of executions
//! on the emulator, started and read with the SDK.
//!
//! The processes run in real time. Nothing sleeps to wait:
//! `Emulator::wait_until` wakes up on each thing a process does, and a
//! generous timeout only turns a hang into a failure.
#![cfg(unix)] // The emulator runs task commands with `sh`.

use std::collections::BTreeSet;
use std::time::Duration;

use blaxel_jobs::{Client, JobBuilder, types};
use blaxel_jobs_emulator::{Clock, Emulator, EmulatorConfig, OutputStream, TaskOutput};
use serde_json::{Value, json};

/// The program under test, built by Cargo before these tests.
const PROGRAM: &str = env!("CARGO_BIN_EXE_collatz_task");
const WS: &str = "e2e";
const JOB: &str = "collatz";
/// Turns a hang into a failure; never reached when things work.
const HANG: Duration = Duration::from_secs(120);

/// An emulator that runs `PROGRAM` for the tasks of job `JOB`, a client
/// for it, and the job, created with `max_retries` and the variables
/// `env`, and a timeout of 60 s.
async fn setup(max_retries: u32, env: &[(&str, &str)]) -> (Emulator, Client) {
    setup_with_timeout(max_retries, env, Duration::from_secs(60)).await
}

/// As [`setup`], with the job's `timeout`.
async fn setup_with_timeout(
    max_retries: u32,
    env: &[(&str, &str)],
    timeout: Duration,
) -> (Emulator, Client) {
    let command = format!("'{}'", PROGRAM.replace('\'', r"'\''"));
    let emu = Emulator::start_with(
        EmulatorConfig::default()
            .clock(Clock::Manual)
            .task_command(JOB, command),
    )
    .await
    .unwrap();
    let client = Client::builder()
        .ignore_environment()
        .base_url(emu.base_url())
        .api_key(emu.api_key())
        .workspace(WS)
        .build()
        .unwrap();
    let job = env.iter().fold(
        JobBuilder::new(JOB)
            .image("registry.example.com/collatz-task:1.0")
            .memory(256)
            .max_concurrent_tasks(2)
            .max_retries(max_retries)
            .timeout(timeout)
            .env("BL_LOGGER", "json"),
        |job, (name, value)| job.env(*name, *value),
    );
    client
        .jobs()
        .create(job.build().unwrap())
        .send()
        .await
        .unwrap();
    (emu, client)
}

/// Starts an execution of `tasks`, with the overrides `env`, and waits
/// until it ends; returns it as the SDK reads it.
async fn run(
    emu: &Emulator,
    client: &Client,
    tasks: Vec<Value>,
    env: &[(&str, &str)],
) -> types::JobExecution {
    let executions = client.job(JOB).executions();
    let create = env
        .iter()
        .fold(executions.create().tasks(tasks), |c, (name, value)| {
            c.env(*name, *value)
        });
    let id = create.send().await.unwrap().execution_id.unwrap();
    finish(emu, client, &id).await
}

/// Waits until execution `id` ends; returns it as the SDK reads it.
async fn finish(emu: &Emulator, client: &Client, id: &str) -> types::JobExecution {
    let ended = |emu: &Emulator| {
        emu.executions(WS, JOB).iter().any(|e| {
            e.metadata.id.as_deref() == Some(id)
                && e.status.as_ref().is_some_and(|s| s.is_terminal())
        })
    };
    tokio::time::timeout(HANG, emu.wait_until(ended))
        .await
        .expect("the execution ends");
    client.job(JOB).execution(id).get().send().await.unwrap()
}

fn id(e: &types::JobExecution) -> &str {
    e.metadata.id.as_deref().unwrap()
}

fn status(e: &types::JobExecution) -> &str {
    e.status.as_ref().unwrap().as_str()
}

fn task_statuses(e: &types::JobExecution) -> Vec<&str> {
    e.tasks
        .iter()
        .map(|t| t.status.as_ref().unwrap().as_str())
        .collect()
}

fn output(emu: &Emulator, e: &types::JobExecution, task: usize) -> TaskOutput {
    emu.task_output(WS, JOB, id(e), task).unwrap()
}

/// The JSON result line a task printed on standard output.
fn result(emu: &Emulator, e: &types::JobExecution, task: usize) -> Value {
    let out = output(emu, e, task).text(OutputStream::Stdout);
    serde_json::from_str(&out).unwrap_or_else(|err| panic!("task {task} printed {out:?}: {err}"))
}

/// The JSON log lines a task wrote on standard error.
fn logs(emu: &Emulator, e: &types::JobExecution, task: usize) -> Vec<(u64, Value)> {
    output(emu, e, task)
        .lines
        .into_iter()
        .filter(|l| l.stream == OutputStream::Stderr)
        .map(|l| {
            let line = serde_json::from_str(&l.text)
                .unwrap_or_else(|err| panic!("not a JSON log line: {:?}: {err}", l.text));
            (l.attempt, line)
        })
        .collect()
}

/// Steps from `n` to 1, by recursion rather than the program's loop.
fn reference_steps(n: u64) -> u64 {
    match n {
        1 => 0,
        n if n.is_multiple_of(2) => 1 + reference_steps(n / 2),
        n => 1 + reference_steps(3 * n + 1),
    }
}

/// What the program should print for `start..end`, computed here.
fn expected(task: usize, start: u64, end: u64, max_steps: u64) -> Value {
    let mut longest = (start, 0);
    let mut total = 0;
    for n in start..end {
        let steps = reference_steps(n);
        total += steps;
        if steps > longest.1 {
            longest = (n, steps);
        }
    }
    json!({
        "task": task,
        "start": start,
        "end": end,
        "longest": {"n": longest.0, "steps": longest.1},
        "total_steps": total,
        "max_steps": max_steps,
    })
}

#[tokio::test]
async fn every_task_prints_its_result_and_logs_json_lines() {
    let (emu, client) = setup(0, &[]).await;
    let ranges = [(1, 10), (10, 100), (27, 28), (100, 1000), (1, 2)];
    let tasks = ranges
        .iter()
        .map(|(start, end)| json!({"start": start, "end": end}))
        .collect();
    let e = run(&emu, &client, tasks, &[]).await;

    assert_eq!(status(&e), "succeeded");
    assert_eq!(task_statuses(&e), ["succeeded"; 5]);
    let stats = e.stats.as_ref().unwrap();
    assert_eq!((stats.success, stats.failure), (Some(5), Some(0)));
    for (task, (start, end)) in ranges.into_iter().enumerate() {
        assert_eq!(result(&emu, &e, task), expected(task, start, end, 1000));
        let logs = logs(&emu, &e, task);
        assert_eq!(logs.len(), 2, "{logs:?}");
        for (attempt, line) in &logs {
            assert_eq!(*attempt, 1);
            assert_eq!(line["severity"], "INFO");
            assert_eq!(line["labels"]["blaxel-task"], task.to_string());
        }
        assert!(
            logs[0].1["message"]
                .as_str()
                .unwrap()
                .contains(&format!("start={start} end={end}")),
            "{logs:?}"
        );
    }
    // 27 is the classic long chain below 30.
    assert_eq!(
        result(&emu, &e, 2)["longest"],
        json!({"n": 27, "steps": 111})
    );
}

#[tokio::test]
async fn a_failing_task_is_retried_then_fails_the_execution() {
    let (emu, client) = setup(2, &[]).await;
    // A range starting at 0 is refused by the program, on every attempt.
    let tasks = vec![
        json!({"start": 1, "end": 50}),
        json!({"start": 0, "end": 5}),
    ];
    let e = run(&emu, &client, tasks, &[]).await;

    assert_eq!(status(&e), "failed");
    assert_eq!(task_statuses(&e), ["succeeded", "failed"]);
    assert_eq!(e.stats.as_ref().unwrap().retried, Some(2));
    assert_eq!(result(&emu, &e, 0), expected(0, 1, 50, 1000));

    // Three attempts (the first and two retries), each ending with the
    // runtime's ERROR line for the task function's error.
    let logs = logs(&emu, &e, 1);
    let attempts: BTreeSet<u64> = logs.iter().map(|(attempt, _)| *attempt).collect();
    assert_eq!(attempts, BTreeSet::from([1, 2, 3]));
    for attempt in 1..=3 {
        let errors: Vec<&Value> = logs
            .iter()
            .filter(|(a, line)| *a == attempt && line["severity"] == "ERROR")
            .map(|(_, line)| line)
            .collect();
        assert_eq!(errors.len(), 1, "attempt {attempt}: {logs:?}");
        assert!(
            errors[0]["message"]
                .as_str()
                .unwrap()
                .contains("the range 0..5 is not valid"),
            "{errors:?}"
        );
    }
    assert!(output(&emu, &e, 1).text(OutputStream::Stdout).is_empty());
    let message = e.tasks[1]
        .conditions
        .iter()
        .filter_map(|c| c.message.as_deref())
        .collect::<Vec<_>>()
        .join("; ");
    assert!(
        message.contains("attempt 3 exited with code 1"),
        "{message}"
    );
}

#[tokio::test]
async fn environment_overrides_reach_the_program() {
    let (emu, client) = setup(0, &[("COLLATZ_MAX_STEPS", "1000")]).await;
    let tasks = || {
        vec![
            json!({"start": 1, "end": 10}),
            json!({"start": 20, "end": 30}),
        ]
    };

    // The job's value: 27's 111 steps are allowed.
    let e = run(&emu, &client, tasks(), &[]).await;
    assert_eq!(status(&e), "succeeded");
    assert_eq!(result(&emu, &e, 0), expected(0, 1, 10, 1000));
    assert_eq!(result(&emu, &e, 1), expected(1, 20, 30, 1000));

    // The execution's value wins over the job's: at most 100 steps.
    let e = run(&emu, &client, tasks(), &[("COLLATZ_MAX_STEPS", "100")]).await;
    assert_eq!(status(&e), "failed");
    assert_eq!(task_statuses(&e), ["succeeded", "failed"]);
    assert_eq!(result(&emu, &e, 0), expected(0, 1, 10, 100));
    let lines = logs(&emu, &e, 1);
    let error = lines
        .iter()
        .find(|(_, line)| line["severity"] == "ERROR")
        .unwrap_or_else(|| panic!("no ERROR line: {lines:?}"));
    assert!(
        error.1["message"]
            .as_str()
            .unwrap()
            .contains("27 needs more than 100 steps"),
        "{error:?}"
    );

    // A value the program cannot read fails every task, with the reason.
    let e = run(&emu, &client, tasks(), &[("COLLATZ_MAX_STEPS", "many")]).await;
    assert_eq!(task_statuses(&e), ["failed", "failed"]);
    for task in 0..2 {
        let logs = logs(&emu, &e, task);
        assert!(
            logs.iter().any(|(_, line)| line["message"]
                .as_str()
                .unwrap()
                .contains("COLLATZ_MAX_STEPS=\"many\" is not a number of steps")),
            "{logs:?}"
        );
    }
}

#[tokio::test]
async fn cancelling_stops_the_remaining_tasks() {
    let (emu, client) = setup(0, &[]).await;
    // Two at a time, far more tasks than can finish before the cancel.
    let tasks: Vec<Value> = (0..200u64)
        .map(|i| json!({"start": 1 + i * 100, "end": 1 + (i + 1) * 100}))
        .collect();
    let executions = client.job(JOB).executions();
    let id = executions
        .create()
        .tasks(tasks)
        .send()
        .await
        .unwrap()
        .execution_id
        .unwrap();
    // Once task 2 wrote something, task 0 or 1 has ended (it took their
    // slot): cancel then.
    let third_started = |emu: &Emulator| {
        emu.task_output(WS, JOB, &id, 2)
            .is_some_and(|o| !o.lines.is_empty())
    };
    tokio::time::timeout(HANG, emu.wait_until(third_started))
        .await
        .expect("task 2 starts");
    client
        .job(JOB)
        .execution(&id)
        .cancel()
        .send()
        .await
        .unwrap();
    let e = finish(&emu, &client, &id).await;

    assert_eq!(status(&e), "cancelled");
    let statuses = task_statuses(&e);
    // A task killed after it printed its result is cancelled all the same.
    assert!(statuses[..2].contains(&"succeeded"), "{statuses:?}");
    assert_eq!(statuses[199], "cancelled");
    for (task, status) in statuses.iter().enumerate() {
        assert!(
            ["succeeded", "cancelled"].contains(status),
            "task {task}: {status}"
        );
        if *status == "succeeded" {
            let start = 1 + task as u64 * 100;
            assert_eq!(
                result(&emu, &e, task),
                expected(task, start, start + 100, 1000)
            );
        }
    }
    let stats = e.stats.as_ref().unwrap();
    assert_eq!(stats.failure, Some(0));
    assert!(stats.cancelled.unwrap() >= 1, "{stats:?}");
}

#[tokio::test]
async fn a_task_past_the_timeout_is_stopped_without_retry() {
    let (emu, client) = setup_with_timeout(2, &[], Duration::from_secs(1)).await;
    // A billion numbers: minutes of work, stopped after 1 s.
    let tasks = vec![
        json!({"start": 1, "end": 20}),
        json!({"start": 1, "end": 1_000_000_001u64}),
    ];
    let e = run(&emu, &client, tasks, &[]).await;

    assert_eq!(status(&e), "timeout");
    assert_eq!(task_statuses(&e), ["succeeded", "failed"]);
    assert_eq!(result(&emu, &e, 0), expected(0, 1, 20, 1000));
    let reasons: Vec<&str> = e.tasks[1]
        .conditions
        .iter()
        .filter_map(|c| c.reason.as_deref())
        .collect();
    assert!(reasons.contains(&"DeadlineExceeded"), "{reasons:?}");
    // It was stopped before it printed a result, and not retried although
    // the job allows 2 retries.
    let logs = logs(&emu, &e, 1);
    assert!(logs.iter().all(|(attempt, _)| *attempt == 1), "{logs:?}");
    assert!(output(&emu, &e, 1).text(OutputStream::Stdout).is_empty());
    assert_eq!(e.stats.as_ref().unwrap().retried, Some(0));
}
