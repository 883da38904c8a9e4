//! Logs against the emulator: an execution's lines read whole (simulated
//! and process-run), filters, windows split across the emulator's cap
//! with nothing lost, following from start to end, the last lines of
//! failed batch tasks, a waiter streaming lines, and bad input.

use crate::common::{self, WS};
use blaxel_jobs::logs::{GapReason, LastLines, LogLine, parse_timestamp};
use blaxel_jobs::raw::operations::Operation;
use blaxel_jobs::types::LogSeverity;
use blaxel_jobs::{Error, ExecutionRef, JobBuilder};
use blaxel_jobs_emulator::{Clock, Emulator, EmulatorConfig};
use chrono::{DateTime, TimeDelta, Utc};
use futures_util::StreamExt;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Turns a hang into a failure; never reached when things work.
const HANG: Duration = Duration::from_secs(120);

/// A window around an execution: from a minute before its creation to an
/// hour after.
async fn span(execution: &ExecutionRef<'_>) -> (DateTime<Utc>, DateTime<Utc>) {
    let e = execution.get().send().await.expect("the execution");
    let created = parse_timestamp(e.metadata.created_at.as_deref().unwrap()).unwrap();
    (
        created - TimeDelta::minutes(1),
        created + TimeDelta::hours(1),
    )
}

/// The stream's next item, in time.
async fn next_item(follow: &mut blaxel_jobs::FollowLogs<'_>) -> Option<Result<LogLine, Error>> {
    tokio::time::timeout(HANG, follow.next())
        .await
        .expect("an item in time")
}

fn messages(lines: &[LogLine]) -> Vec<&str> {
    lines.iter().map(|l| l.message.as_str()).collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Creates job `name` retrying `retries` times, `parallel` tasks at once.
async fn job(client: &blaxel_jobs::Client, name: &str, retries: u32, parallel: u32) {
    let job = JobBuilder::new(name)
        .memory(512)
        .max_retries(retries)
        .max_concurrent_tasks(parallel)
        .build()
        .unwrap();
    client.jobs().create(job).send().await.unwrap();
}

#[tokio::test]
async fn an_executions_lines_are_read_oldest_first_typed_and_filtered() {
    let (emu, client) = common::manual().await;
    job(&client, "report", 2, 3).await;
    let job_ref = client.job("report");
    let id = common::start_execution(
        &job_ref,
        [
            json!({"durationSeconds": 2}),
            json!({"durationSeconds": 1, "failAttempts": 1}),
            json!({"durationSeconds": 1, "fail": true}),
        ],
    )
    .await;
    emu.advance(Duration::from_secs(10));
    let execution = job_ref.execution(&id);
    let (a, b) = span(&execution).await;

    let all = execution.logs().read(a, b).send().await.unwrap();
    assert!(!all.is_partial(), "{:?}", all.gaps);
    assert_eq!(all.lines.len(), 9, "{:?}", messages(&all.lines));
    assert!(
        all.lines
            .windows(2)
            .all(|w| w[0].timestamp <= w[1].timestamp)
    );
    // The job's lines are the execution's here.
    let of_job = job_ref.logs().read(a, b).send().await.unwrap();
    assert_eq!(of_job.lines, all.lines);

    // One task's lines, oldest first, typed.
    let task = execution
        .logs()
        .task_id("1")
        .read(a, b)
        .send()
        .await
        .unwrap();
    assert_eq!(
        messages(&task.lines),
        [
            "task 1 started",
            "task 1: attempt 1 failed; retrying (1 of 2 retries)",
            "task 1 succeeded after 2 attempts"
        ]
    );
    let label = id.rsplit('-').next().unwrap();
    for line in &task.lines {
        assert_eq!(line.task.as_deref(), Some("1"));
        assert_eq!(line.execution.as_deref(), Some(label));
        assert_eq!(line.resource, "report");
        assert_eq!(line.trace_id, None);
    }
    let names: Vec<_> = task
        .lines
        .iter()
        .map(|l| l.severity.opentelemetry_name())
        .collect();
    assert_eq!(
        names,
        [
            Some(LogSeverity::Info),
            Some(LogSeverity::Warning),
            Some(LogSeverity::Info)
        ]
    );

    // Severity and search filters, on the server.
    let errors = execution
        .logs()
        .severity([LogSeverity::Error])
        .read(a, b)
        .send()
        .await
        .unwrap();
    assert_eq!(
        messages(&errors.lines),
        ["task 2 failed after 3 attempt(s)"]
    );
    let retries = execution
        .logs()
        .severity([LogSeverity::Warning, LogSeverity::Error])
        .search("RETRYING")
        .read(a, b)
        .send()
        .await
        .unwrap();
    assert_eq!(retries.lines.len(), 3);
    // The plain request answers the server's shape, newest first.
    let raw = execution
        .logs()
        .start(a.format("%Y-%m-%dT%H:%M:%S").to_string())
        .end(b.format("%Y-%m-%dT%H:%M:%S").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(raw["report"].total_count, Some(9));
    assert_eq!(
        raw["report"].logs[0].message.as_deref(),
        all.lines.last().map(|l| l.message.as_str())
    );
}

#[tokio::test]
async fn a_window_longer_and_busier_than_one_answer_is_read_whole() {
    let (emu, client) = common::start(
        EmulatorConfig::default()
            .clock(Clock::Manual)
            .logs_cap(5)
            .logs_max_window(Duration::from_secs(600)),
    )
    .await;
    job(&client, "busy", 1, 1).await;
    let job_ref = client.job("busy");
    // One task at a time, two simulated seconds each, every other one
    // failing once: 30 starts, 15 retries and 30 ends, at most two lines
    // at one instant.
    let tasks = (0..30).map(|i| json!({"durationSeconds": 2, "failAttempts": i % 2}));
    let id = common::start_execution(&job_ref, tasks).await;
    emu.advance(Duration::from_secs(300));
    let execution = job_ref.execution(&id);
    let (a, b) = span(&execution).await;

    let logs = execution
        .logs()
        .read(a, b)
        .max_window(Duration::from_secs(600))
        .send()
        .await
        .unwrap();
    let mut expected = Vec::new();
    for i in 0..30 {
        expected.push(format!("task {i} started"));
        if i % 2 == 1 {
            expected.push(format!(
                "task {i}: attempt 1 failed; retrying (1 of 1 retries)"
            ));
            expected.push(format!("task {i} succeeded after 2 attempts"));
        } else {
            expected.push(format!("task {i} succeeded"));
        }
    }
    let got: Vec<String> = logs.lines.iter().map(|l| l.message.clone()).collect();
    assert_eq!(sorted(got), sorted(expected.clone()), "every line, once");
    assert!(!logs.is_partial(), "{:?}", logs.gaps);
    // Oldest first: each task's lines in order, the tasks one after another.
    let order: Vec<String> = logs.lines.iter().map(|l| l.message.clone()).collect();
    assert_eq!(order, expected);
    // The hour took pieces of at most 10 minutes, and the 75 lines answers
    // of at most 5: the emulator refused nothing.
    assert!(logs.requests > 75 / 5, "{}", logs.requests);
    assert_eq!(
        emu.request_count(Operation::ListLogs),
        u64::from(logs.requests)
    );
}

#[tokio::test]
async fn a_second_busier_than_one_answer_is_reported_not_dropped() {
    let (emu, client) =
        common::start(EmulatorConfig::default().clock(Clock::Manual).logs_cap(3)).await;
    job(&client, "crowd", 0, 5).await;
    let job_ref = client.job("crowd");
    // Five tasks start at one instant and end at five others.
    let tasks = (0..5).map(|i| json!({"durationSeconds": i + 1}));
    let id = common::start_execution(&job_ref, tasks).await;
    emu.advance(Duration::from_secs(30));
    let execution = job_ref.execution(&id);
    let (a, b) = span(&execution).await;
    let logs = execution.logs().read(a, b).send().await.unwrap();
    assert!(logs.is_partial());
    let crowded: Vec<_> = logs
        .gaps
        .iter()
        .filter(|g| g.reason == GapReason::Crowded)
        .collect();
    assert_eq!(crowded.len(), 1, "{:?}", logs.gaps);
    let started: Vec<_> = logs
        .lines
        .iter()
        .filter(|l| l.message.ends_with("started"))
        .collect();
    // The newest three of that second, and the gap covers them.
    assert_eq!(started.len(), 3);
    assert!(
        started
            .iter()
            .all(|l| crowded[0].start <= l.timestamp && l.timestamp < crowded[0].end)
    );
    let ended = logs
        .lines
        .iter()
        .filter(|l| l.message.ends_with("succeeded"))
        .count();
    assert_eq!(ended, 5, "lines outside the crowded second are all there");
}

#[tokio::test(start_paused = true)]
async fn following_gives_every_line_once_in_order_until_the_execution_ends() {
    let (emu, client) = common::manual().await;
    let emu = Arc::new(emu);
    job(&client, "follow", 1, 2).await;
    let job_ref = client.job("follow");
    let tasks = (0..8).map(|i| json!({"durationSeconds": 3, "failAttempts": i % 2}));
    let id = common::start_execution(&job_ref, tasks).await;
    let execution = job_ref.execution(&id);
    // Simulated time follows tokio's paused clock, a second at a time,
    // while the stream polls every 700 ms.
    let driver = {
        let emu = emu.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                emu.advance(Duration::from_secs(1));
            }
        })
    };
    let started = tokio::time::Instant::now();
    let received: Vec<(Duration, LogLine)> = tokio::time::timeout(
        HANG,
        execution
            .logs()
            .follow()
            .poll_interval(Duration::from_millis(700))
            .settle(Duration::ZERO)
            .map(|item| (started.elapsed(), item.expect("a line")))
            .collect(),
    )
    .await
    .expect("the stream ends with the execution");
    driver.abort();
    let ended = execution.get().send().await.unwrap();
    assert_eq!(ended.status.as_ref().map(|s| s.as_str()), Some("succeeded"));

    let (a, b) = span(&execution).await;
    let whole = execution.logs().read(a, b).send().await.unwrap();
    let lines: Vec<LogLine> = received.iter().map(|(_, l)| l.clone()).collect();
    // 8 starts, 4 retries, 8 ends: each once, in order, none lost.
    assert_eq!(lines.len(), 20, "{:?}", messages(&lines));
    assert_eq!(lines, whole.lines);
    // They came as they were written, over many polls, not at the end.
    let first = received.first().unwrap().0;
    let last = received.last().unwrap().0;
    assert!(
        last - first >= Duration::from_secs(5),
        "{first:?}..{last:?}"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn following_processes_still_writing_gives_equal_lines_each_once() {
    let dir = common::scratch("follow-processes");
    // The emulator's clock does not move: every line has the same
    // timestamp, and the three "same" of a task are told apart by count.
    let (emu, client) = common::start(EmulatorConfig::default().clock(Clock::Manual).task_command(
        "writer",
        r#"echo "start $TASK_INDEX"; echo same; echo same
while [ ! -f "$DIR/go" ]; do sleep 0.01; done
echo same; echo "end $TASK_INDEX""#,
    ))
    .await;
    let job = JobBuilder::new("writer")
        .memory(256)
        .env("DIR", dir.to_str().unwrap())
        .build()
        .unwrap();
    client.jobs().create(job).send().await.unwrap();
    let job_ref = client.job("writer");
    let id = common::start_execution(&job_ref, [json!({}), json!({})]).await;
    let execution = job_ref.execution(&id);
    let mut follow = execution
        .logs()
        .follow()
        .poll_interval(Duration::from_millis(20))
        .settle(Duration::ZERO);
    let mut lines: Vec<LogLine> = Vec::new();
    // The first three lines of each task, while both still run.
    while lines.len() < 6 {
        let line = next_item(&mut follow)
            .await
            .expect("more lines")
            .expect("a line");
        lines.push(line);
    }
    let running = execution.get().send().await.unwrap();
    assert_eq!(running.status.as_ref().map(|s| s.as_str()), Some("running"));
    std::fs::write(dir.join("go"), "").unwrap();
    while let Some(line) = next_item(&mut follow).await {
        lines.push(line.expect("a line"));
    }
    for task in ["0", "1"] {
        let of_task: Vec<&str> = lines
            .iter()
            .filter(|l| l.task.as_deref() == Some(task))
            .map(|l| l.message.as_str())
            .collect();
        assert_eq!(
            of_task,
            [
                format!("start {task}").as_str(),
                "same",
                "same",
                "same",
                format!("end {task}").as_str()
            ],
            "task {task}"
        );
    }
    assert_eq!(lines.len(), 10);
    // Plain lines on standard output have no severity name.
    assert!(
        lines
            .iter()
            .all(|l| l.severity.opentelemetry_name() == Some(LogSeverity::Unspecified))
    );
    drop(emu);
    let _ = std::fs::remove_dir_all(dir);
}

#[cfg(unix)]
#[tokio::test]
async fn json_lines_of_processes_give_their_severity_labels_and_trace() {
    let (emu, client) = common::start(EmulatorConfig::default().clock(Clock::Manual).task_command(
        "json",
        r#"echo '{"message":"slow disk","severity":"WARNING","labels":{"blaxel-task":"t'$TASK_INDEX'"},"trace_id":"abc"}' >&2; echo "oops" >&2; exit 3"#,
    ))
    .await;
    client
        .jobs()
        .create(JobBuilder::new("json").memory(256).build().unwrap())
        .send()
        .await
        .unwrap();
    let job_ref = client.job("json");
    let id = common::start_execution(&job_ref, [json!({})]).await;
    let done = |emu: &Emulator| {
        emu.executions(WS, "json")
            .iter()
            .all(|e| e.status.as_ref().is_some_and(|s| s.is_terminal()))
    };
    tokio::time::timeout(HANG, emu.wait_until(done))
        .await
        .unwrap();
    let execution = job_ref.execution(&id);
    let (a, b) = span(&execution).await;
    let logs = execution.logs().read(a, b).send().await.unwrap();
    assert_eq!(messages(&logs.lines), ["slow disk", "oops"]);
    let json_line = &logs.lines[0];
    assert_eq!(
        json_line.severity.opentelemetry_name(),
        Some(LogSeverity::Warning)
    );
    assert_eq!(json_line.task.as_deref(), Some("t0"));
    assert_eq!(json_line.trace_id.as_deref(), Some("abc"));
    assert_eq!(
        logs.lines[1].severity.opentelemetry_name(),
        Some(LogSeverity::Error),
        "a plain line on standard error"
    );
}

#[tokio::test]
async fn failed_batch_tasks_come_with_their_last_lines_bounded() {
    let (emu, client) = common::manual().await;
    job(&client, "triage", 1, 3).await;
    let job_ref = client.job("triage");
    let tasks = (0..6).map(|i| json!({"durationSeconds": 1, "fail": i == 4}));
    let submitted = job_ref
        .batch(tasks)
        .id("tri")
        .chunk_size(3)
        .submit()
        .await
        .unwrap();
    emu.advance(Duration::from_secs(30));
    let run = submitted.run();
    let failed = run.failed_tasks().await.unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!((failed[0].task_index, failed[0].index_in_chunk), (4, 1));

    let with = run
        .with_last_lines(failed.clone(), LastLines::new(2, 1000))
        .await
        .unwrap();
    let lines = with[0].last_lines.as_ref().expect("lines attached");
    assert_eq!(
        messages(&lines.lines),
        [
            "task 1: attempt 1 failed; retrying (1 of 1 retries)",
            "task 1 failed after 2 attempt(s)"
        ]
    );
    assert!(lines.truncated, "the start line was left out");
    assert!(lines.gaps.is_empty());
    // Bytes bound them too: the newest line's end.
    let tight = run
        .with_last_lines(failed.clone(), LastLines::new(20, 10))
        .await
        .unwrap();
    let lines = tight[0].last_lines.as_ref().unwrap();
    assert_eq!(messages(&lines.lines), ["attempt(s)"]);
    assert!(lines.truncated);
    // And tasks: none here.
    let none = run
        .with_last_lines(failed, LastLines::default().tasks(0))
        .await
        .unwrap();
    assert!(none[0].last_lines.is_none());
}

#[tokio::test(start_paused = true)]
async fn a_waiter_streams_the_lines_of_the_execution_it_waits_for() {
    let (emu, client) = common::manual().await;
    let emu = Arc::new(emu);
    job(&client, "waited", 0, 2).await;
    let job_ref = client.job("waited");
    let tasks = (0..4).map(|i| json!({"durationSeconds": 2, "fail": i == 3}));
    let id = common::start_execution(&job_ref, tasks).await;
    let driver = {
        let emu = emu.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                emu.advance(Duration::from_secs(1));
            }
        })
    };
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let log = seen.clone();
    let result = job_ref
        .execution(&id)
        .wait_until_succeeded()
        .poll_interval(common::fast_poll())
        .on_log_line(move |line| log.lock().unwrap().push(line.message.clone()))
        .wait(Duration::from_secs(600))
        .await;
    driver.abort();
    assert!(
        matches!(result, Err(Error::ExecutionEnded(_))),
        "{result:?}"
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 8, "{seen:?}");
    assert_eq!(
        seen.last().map(String::as_str),
        Some("task 3 failed after 1 attempt(s)")
    );
}

#[tokio::test]
async fn bad_input_gets_clear_typed_errors() {
    let (emu, client) = common::manual().await;
    job(&client, "bad", 0, 1).await;
    let id = common::start_execution(&client.job("bad"), [json!({})]).await;
    let execution = client.job("bad").execution(&id);
    let (a, b) = span(&execution).await;

    // Checked before sending.
    let err = execution.logs().read(b, a).send().await.unwrap_err();
    match &err {
        Error::InvalidInput(i) => assert_eq!(i.field(), Some("window"), "{err}"),
        other => panic!("{other}"),
    }
    for (read, field) in [
        (execution.logs().read(a, b).page_size(0), "page_size"),
        (execution.logs().read(a, b).max_lines(0), "max_lines"),
        (
            execution
                .logs()
                .read(a, b)
                .max_window(Duration::from_secs(1)),
            "max_window",
        ),
    ] {
        match read.send().await.unwrap_err() {
            Error::InvalidInput(i) => assert_eq!(i.field(), Some(field)),
            other => panic!("{field}: {other}"),
        }
    }
    assert_eq!(emu.request_count(Operation::ListLogs), 0);

    // Refused by the server (the emulator), naming what is wrong.
    let refused = |message: &str, err: Error| {
        let api = err.api().unwrap_or_else(|| panic!("an API error: {err}"));
        assert_eq!(api.status().as_u16(), 400, "{err}");
        assert!(api.message().unwrap_or("").contains(message), "{err}");
    };
    let inverted = execution
        .logs()
        .start("2026-01-02T00:00:00")
        .end("2026-01-01T00:00:00")
        .send()
        .await
        .unwrap_err();
    refused("the window starts", inverted);
    for limit in [0, -1, i64::MIN] {
        let err = execution.logs().limit(limit).send().await.unwrap_err();
        refused("query limit: must be at least 1", err);
    }
    let err = execution
        .logs()
        .severity([LogSeverity::Error, LogSeverity::from("LOUD")])
        .read(a, b)
        .send()
        .await
        .unwrap_err();
    refused("unknown severity \"LOUD\"", err);
    // An absurdly large limit is the emulator's cap.
    let big = execution.logs().limit(i64::MAX).send().await.unwrap();
    assert!(big.values().all(|r| r.logs.len() <= 1000));

    // Following an execution that does not exist ends with its 404.
    let items: Vec<_> = client
        .job("bad")
        .execution("ghost")
        .logs()
        .follow()
        .collect()
        .await;
    assert_eq!(items.len(), 1);
    assert!(items[0].as_ref().unwrap_err().is_not_found());
}
