//! ListLogs (`GET /v0/observability/logs`): the lines the emulator writes
//! for simulated tasks, the filters, the cap, the window, ordering, bad
//! input, and logs forgotten with their executions.

use crate::common::{H, Resp};
use blaxel_jobs_emulator::{Clock, EmulatorConfig};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::time::Duration;

/// A time as the query takes it.
fn at(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// When execution `id` of `job` was created.
async fn created(h: &H, job: &str, id: &str) -> DateTime<Utc> {
    let e = h.execution(job, id).await;
    e["metadata"]["createdAt"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .expect("createdAt")
        .to_utc()
}

async fn logs(h: &H, query: &str) -> Resp {
    h.get(&format!("/observability/logs?resourceType=jobs&{query}"))
        .await
}

/// The messages of `job`'s lines in an answer, as answered.
fn messages(body: &Value, job: &str) -> Vec<String> {
    body[job]["logs"]
        .as_array()
        .map(|l| {
            l.iter()
                .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// A job whose tasks retry twice, and an execution of three tasks: one
/// succeeds, one succeeds on its second attempt, one always fails. All
/// over after 10 simulated seconds.
async fn finished_run(h: &H) -> (String, DateTime<Utc>) {
    h.create_job("report", json!({"runtime": {"maxRetries": 2}}))
        .await;
    let id = h
        .start(
            "report",
            json!({"executionId": "nightly-run-7", "tasks": [
                {"durationSeconds": 2},
                {"durationSeconds": 1, "failAttempts": 1},
                {"durationSeconds": 1, "fail": true},
            ]}),
        )
        .await;
    h.advance_ms(10_000);
    assert_eq!(h.status("report", &id).await, "failed");
    let t = created(h, "report", &id).await;
    (id, t)
}

#[tokio::test]
async fn simulated_tasks_log_their_start_retries_and_end_newest_first() {
    let h = H::manual().await;
    let (id, t0) = finished_run(&h).await;
    let window = format!(
        "workloadIds=report&start={}&end={}",
        at(t0),
        at(t0 + chrono::Duration::minutes(1))
    );
    let body = logs(&h, &window).await.expect(200);
    let lines = body["report"]["logs"].as_array().unwrap();
    assert_eq!(body["report"]["totalCount"], lines.len());
    // 3 starts, 1 + 2 retries, 3 ends.
    assert_eq!(lines.len(), 9, "{body}");
    // Newest first, by timestamp.
    let stamps: Vec<DateTime<Utc>> = lines
        .iter()
        .map(|l| {
            DateTime::parse_from_rfc3339(l["timestamp"].as_str().unwrap())
                .unwrap()
                .to_utc()
        })
        .collect();
    assert!(stamps.windows(2).all(|w| w[0] >= w[1]), "{stamps:?}");
    // Nanosecond timestamps, as Blaxel's.
    assert_eq!(
        lines[0]["timestamp"].as_str().unwrap().len(),
        "2026-01-01T00:00:00.000000000Z".len()
    );
    let all = messages(&body, "report");
    for m in [
        "task 0 started",
        "task 0 succeeded",
        "task 1: attempt 1 failed; retrying (1 of 2 retries)",
        "task 1 succeeded after 2 attempts",
        "task 2: attempt 2 failed; retrying (2 of 2 retries)",
        "task 2 failed after 3 attempt(s)",
    ] {
        assert!(all.iter().any(|l| l == m), "{m:?} not in {all:?}");
    }
    // Severities are OpenTelemetry's numbers; labels name task and execution.
    let failed = lines
        .iter()
        .find(|l| l["message"] == "task 2 failed after 3 attempt(s)")
        .unwrap();
    assert_eq!(failed["severity"], 17);
    assert_eq!(failed["labels"]["blaxel-task"], "2");
    assert_eq!(failed["labels"]["blaxel-execution"], "7");
    assert_eq!(failed["trace_id"], "");
    let started = lines
        .iter()
        .find(|l| l["message"] == "task 0 started")
        .unwrap();
    assert_eq!(started["severity"], 9);

    // Filters: severity, search, task, execution (full id or label).
    let errors = logs(&h, &format!("{window}&severity=ERROR"))
        .await
        .expect(200);
    assert_eq!(
        messages(&errors, "report"),
        ["task 2 failed after 3 attempt(s)"]
    );
    let warnings = logs(
        &h,
        &format!("{window}&severity=warning,error&search=RETRYING"),
    )
    .await
    .expect(200);
    assert_eq!(messages(&warnings, "report").len(), 3);
    let task1 = logs(&h, &format!("{window}&taskId=1")).await.expect(200);
    assert_eq!(messages(&task1, "report").len(), 3);
    for e in [id.as_str(), "7"] {
        let body = logs(&h, &format!("{window}&executionId={e}"))
            .await
            .expect(200);
        assert_eq!(body["report"]["totalCount"], 9, "{e}");
    }
    let other = logs(&h, &format!("{window}&executionId=other"))
        .await
        .expect(200);
    assert_eq!(other, json!({}), "no member for a job without lines");
    // Another kind of resource has no lines here.
    let agents = h
        .get(&format!("/observability/logs?resourceType=agents&{window}"))
        .await
        .expect(200);
    assert_eq!(agents, json!({}));
}

#[tokio::test]
async fn a_limit_keeps_the_newest_lines_and_the_total_says_more_match() {
    let h = H::with(EmulatorConfig::default().clock(Clock::Manual).logs_cap(4)).await;
    let (_, t0) = finished_run(&h).await;
    let window = format!("workloadIds=report&start={}", at(t0));
    let all = logs(&h, &format!("{window}&limit=1000")).await.expect(200);
    // The cap lowers the limit.
    assert_eq!(all["report"]["logs"].as_array().unwrap().len(), 4);
    assert_eq!(all["report"]["totalCount"], 9);
    let two = logs(&h, &format!("{window}&limit=2")).await.expect(200);
    assert_eq!(
        messages(&two, "report"),
        messages(&all, "report")[..2].to_vec(),
        "the newest two"
    );
    assert_eq!(two["report"]["totalCount"], 9);
}

#[tokio::test]
async fn the_window_holds_the_seconds_it_names() {
    let h = H::manual().await;
    h.create_job("report", json!({})).await;
    let id = h
        .start("report", json!({"tasks": [{"durationSeconds": 30}]}))
        .await;
    h.advance_ms(60_000);
    assert_eq!(h.status("report", &id).await, "succeeded");
    let body = logs(&h, "workloadIds=report").await.expect(200);
    let end = body["report"]["logs"][0]["timestamp"].as_str().unwrap();
    let end = DateTime::parse_from_rfc3339(end).unwrap().to_utc();
    // A window of the one second in which the task ended holds its last line.
    let second = logs(
        &h,
        &format!("workloadIds=report&start={0}&end={0}", at(end)),
    )
    .await
    .expect(200);
    assert_eq!(messages(&second, "report"), ["task 0 succeeded"]);
    // A window that ends before it does not.
    let before = end - chrono::Duration::seconds(1);
    let body = logs(&h, &format!("workloadIds=report&end={}", at(before)))
        .await
        .expect(200);
    assert_eq!(messages(&body, "report"), ["task 0 started"]);
}

#[tokio::test]
async fn bad_queries_get_400_saying_what_is_wrong() {
    let h = H::with(
        EmulatorConfig::default()
            .clock(Clock::Manual)
            .logs_max_window(Duration::from_secs(3600)),
    )
    .await;
    let cases = [
        (
            "workloadIds=j&start=2026-01-02T00:00:00&end=2026-01-01T00:00:00",
            "query start: the window starts",
        ),
        ("workloadIds=j&limit=0", "query limit: must be at least 1"),
        ("workloadIds=j&limit=-5", "query limit: must be at least 1"),
        ("workloadIds=j&limit=lots", "limit"),
        (
            "workloadIds=j&severity=INFO,LOUD",
            "unknown severity \"LOUD\"",
        ),
        (
            "workloadIds=j&start=yesterday",
            "query start: \"yesterday\" is not a time",
        ),
        (
            "workloadIds=j&start=2026-01-01T00:00:00&end=2026-01-01T02:00:00",
            "the window is 7200 s long",
        ),
        (
            "start=2026-01-01T00:00:00",
            "query workloadIds: is required",
        ),
    ];
    for (query, fragment) in cases {
        let message = logs(&h, query).await.api_error(400, "validation_error");
        assert!(message.contains(fragment), "{query}: {message}");
    }
    let message = h
        .get("/observability/logs?workloadIds=j")
        .await
        .api_error(400, "validation_error");
    assert!(
        message.contains("query resourceType: is required"),
        "{message}"
    );
    // A window of exactly the longest is taken; so are the CLI's other
    // parameters, whose meaning is unknown.
    logs(
        &h,
        "workloadIds=j&start=2026-01-01T00:00:00&end=2026-01-01T01:00:00&offset=0&type=all&interval=60&traceId=",
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn logs_go_with_their_executions_and_retries_are_logged_within_bounds() {
    let h = H::with(
        EmulatorConfig::default()
            .clock(Clock::Manual)
            .execution_retention(Duration::from_secs(60)),
    )
    .await;
    h.create_job("report", json!({"runtime": {"maxRetries": 1000}}))
        .await;
    h.start(
        "report",
        json!({"tasks": [{"durationSeconds": 0.01, "fail": true}]}),
    )
    .await;
    h.advance_ms(20_000);
    let body = logs(&h, "workloadIds=report").await.expect(200);
    let all = messages(&body, "report");
    // Start, 10 retries, one line for the other 990, the end.
    assert_eq!(all.len(), 13, "{all:?}");
    assert!(
        all.iter().any(|l| l.contains("990 more attempts failed")),
        "{all:?}"
    );
    // Past the retention period the execution is forgotten, and its lines.
    h.advance_ms(120_000);
    assert_eq!(logs(&h, "workloadIds=report").await.expect(200), json!({}));
}
