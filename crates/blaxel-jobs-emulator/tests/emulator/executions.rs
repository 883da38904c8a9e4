//! Executions in simulated time: outcomes, retries, timeouts, parallelism,
//! cancellation, idempotency and capacity.

use crate::common::H;
use blaxel_jobs_emulator::{Clock, EmulatorConfig};
use serde_json::{Value, json};

fn stat(exec: &Value, name: &str) -> i64 {
    exec["stats"][name].as_i64().unwrap_or(-1)
}

fn task_statuses(exec: &Value) -> Vec<String> {
    exec["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn an_execution_runs_to_success() {
    let h = H::manual().await;
    h.create_job("job", json!({"runtime": {"timeout": 60}}))
        .await;
    let out = h
        .post(
            "/jobs/job/executions",
            json!({"id": "msg-1", "tasks": [{"durationSeconds": 2}, {"durationSeconds": 3, "extra": "kept"}]}),
        )
        .await
        .expect(200);
    assert_eq!(out["id"], "msg-1");
    assert_eq!(out["jobId"], "job");
    assert_eq!(out["workspaceId"], "test-ws");
    assert_eq!(out["tasks"][1]["extra"], "kept");
    let id = out["executionId"].as_str().unwrap().to_owned();

    let e = h.execution("job", &id).await;
    assert_eq!(e["status"], "pending");
    assert_eq!(e["metadata"]["id"], id.as_str());
    assert_eq!(e["metadata"]["job"], "job");
    assert_eq!(e["spec"]["timeout"], 60);
    assert_eq!(e["spec"]["parallelism"], 2);
    assert_eq!(e["tasks"][0]["spec"]["timeout"], "60s");
    assert_eq!(task_statuses(&e), vec!["pending", "pending"]);

    h.advance_ms(500);
    let e = h.execution("job", &id).await;
    assert_eq!(e["status"], "running");
    assert_eq!(stat(&e, "running"), 2);
    assert!(e["metadata"]["startedAt"].is_string());

    h.advance_ms(2_000);
    let e = h.execution("job", &id).await;
    assert_eq!(task_statuses(&e), vec!["succeeded", "running"]);
    assert!(e["metadata"]["completedAt"].is_null());

    h.advance_ms(1_000);
    let e = h.execution("job", &id).await;
    assert_eq!(e["status"], "succeeded");
    assert_eq!(
        (stat(&e, "total"), stat(&e, "success"), stat(&e, "failure")),
        (2, 2, 0)
    );
    assert!(e["metadata"]["completedAt"].is_string());
    assert!(e["tasks"][1]["metadata"]["completedAt"].is_string());
    // The library view agrees with the API.
    let lib = h.emu.executions("test-ws", "job");
    assert_eq!(lib.len(), 1);
    assert_eq!(
        lib[0].status.as_ref().map(|s| s.as_str()),
        Some("succeeded")
    );
}

#[tokio::test]
async fn failing_tasks_fail_the_execution() {
    let h = H::manual().await;
    h.create_job("job", json!({})).await;
    let id = h
        .start(
            "job",
            json!({"tasks": [{"durationSeconds": 1}, {"durationSeconds": 1, "fail": true}]}),
        )
        .await;
    h.advance_ms(1_500);
    let e = h.execution("job", &id).await;
    assert_eq!(e["status"], "failed");
    assert_eq!(
        (
            stat(&e, "success"),
            stat(&e, "failure"),
            stat(&e, "retried")
        ),
        (1, 1, 0)
    );
    let cond = &e["tasks"][1]["conditions"][0];
    assert_eq!(cond["reason"], "TaskFailed");
    assert_eq!(cond["severity"], "ERROR");
    assert!(cond["message"].is_string() && cond["type"].is_string() && cond["state"].is_string());
}

#[tokio::test]
async fn tasks_longer_than_the_timeout_time_out() {
    let h = H::manual().await;
    h.create_job("job", json!({"runtime": {"timeout": 5, "maxRetries": 3}}))
        .await;
    let id = h
        .start(
            "job",
            json!({"tasks": [{"durationSeconds": 10}, {"durationSeconds": 1, "fail": true}]}),
        )
        .await;
    h.advance_ms(5_499);
    assert_eq!(h.status("job", &id).await, "running");
    h.advance_ms(1);
    let e = h.execution("job", &id).await;
    assert_eq!(e["status"], "timeout");
    assert_eq!(task_statuses(&e), vec!["failed", "failed"]);
    let reasons: Vec<&str> = e["tasks"][0]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        vec!["DeadlineExceeded"],
        "a timeout is not retried"
    );
    // The failing task was retried three times before failing.
    assert_eq!(stat(&e, "retried"), 3);
}

#[tokio::test]
async fn failed_attempts_are_retried_up_to_max_retries() {
    let h = H::manual().await;
    h.create_job("job", json!({"runtime": {"maxRetries": 2}}))
        .await;
    let ok = h
        .start(
            "job",
            json!({"tasks": [{"durationSeconds": 1, "failAttempts": 2}]}),
        )
        .await;
    let ko = h
        .start(
            "job",
            json!({"tasks": [{"durationSeconds": 1, "failAttempts": 3}]}),
        )
        .await;
    h.advance_ms(500 + 1_500);
    let e = h.execution("job", &ok).await;
    assert_eq!(e["status"], "running");
    assert_eq!(stat(&e, "retried"), 1, "one retry so far");
    h.advance_ms(1_500);
    let e = h.execution("job", &ok).await;
    assert_eq!(e["status"], "succeeded");
    assert_eq!(stat(&e, "retried"), 2);
    assert_eq!(e["tasks"][0]["spec"]["maxRetries"], 2);
    let e = h.execution("job", &ko).await;
    assert_eq!(e["status"], "failed");
    assert_eq!(stat(&e, "retried"), 2);
    let conditions = e["tasks"][0]["conditions"].as_array().unwrap();
    assert_eq!(
        conditions.len(),
        3,
        "two retries and the failure: {conditions:?}"
    );
}

#[tokio::test]
async fn max_concurrent_tasks_limits_parallelism() {
    let h = H::manual().await;
    h.create_job("job", json!({"runtime": {"maxConcurrentTasks": 2}}))
        .await;
    let tasks: Vec<Value> = (0..5).map(|_| json!({"durationSeconds": 1})).collect();
    let id = h.start("job", json!({ "tasks": tasks })).await;
    h.advance_ms(500);
    let e = h.execution("job", &id).await;
    assert_eq!(e["spec"]["parallelism"], 2);
    assert_eq!(stat(&e, "running"), 2);
    h.advance_ms(1_000);
    let e = h.execution("job", &id).await;
    assert_eq!((stat(&e, "success"), stat(&e, "running")), (2, 2));
    h.advance_ms(1_000);
    assert_eq!(stat(&h.execution("job", &id).await, "running"), 1);
    h.advance_ms(1_000);
    assert_eq!(h.status("job", &id).await, "succeeded");
}

#[tokio::test]
async fn empty_task_lists_run_one_task() {
    let h = H::manual().await;
    h.create_job("job", json!({})).await;
    let out = h
        .post("/jobs/job/executions", json!({"tasks": []}))
        .await
        .expect(200);
    assert_eq!(out["tasks"], json!([{}]));
    let id = out["executionId"].as_str().unwrap();
    h.advance_ms(1_500);
    let e = h.execution("job", id).await;
    assert_eq!(e["status"], "succeeded");
    assert_eq!(stat(&e, "total"), 1);
}

#[tokio::test]
async fn cancelling_lets_running_tasks_finish_and_skips_the_rest() {
    let h = H::manual().await;
    h.create_job("job", json!({"runtime": {"maxConcurrentTasks": 1}}))
        .await;
    let id = h
        .start(
            "job",
            json!({"tasks": [{"durationSeconds": 10}, {"durationSeconds": 10}]}),
        )
        .await;
    h.advance_ms(3_000);
    let e = h
        .delete(&format!("/jobs/job/executions/{id}"))
        .await
        .expect(200);
    assert_eq!(e["status"], "cancelling");
    assert_eq!(task_statuses(&e), vec!["running", "cancelled"]);
    h.advance_ms(7_499);
    assert_eq!(h.status("job", &id).await, "cancelling");
    h.advance_ms(1);
    let e = h.execution("job", &id).await;
    assert_eq!(e["status"], "cancelled");
    assert_eq!((stat(&e, "success"), stat(&e, "cancelled")), (1, 1));
    // Cancelling a final execution changes nothing.
    let again = h
        .delete(&format!("/jobs/job/executions/{id}"))
        .await
        .expect(200);
    assert_eq!(again["status"], "cancelled");
    assert_eq!(
        again["metadata"]["completedAt"],
        e["metadata"]["completedAt"]
    );

    let done = h
        .start("job", json!({"tasks": [{"durationSeconds": 1}]}))
        .await;
    h.advance_ms(2_000);
    let e = h
        .delete(&format!("/jobs/job/executions/{done}"))
        .await
        .expect(200);
    assert_eq!(e["status"], "succeeded");
}

#[tokio::test]
async fn a_queued_execution_cancels_at_once() {
    let h = H::with(EmulatorConfig::default().clock(Clock::Manual).capacity(1)).await;
    h.create_job("job", json!({})).await;
    let first = h
        .start("job", json!({"tasks": [{"durationSeconds": 10}]}))
        .await;
    let second = h.start("job", json!({})).await;
    assert_eq!(h.status("job", &second).await, "queued");
    let e = h
        .delete(&format!("/jobs/job/executions/{second}"))
        .await
        .expect(200);
    assert_eq!(e["status"], "cancelling");
    assert_eq!(h.status("job", &second).await, "cancelled");
    assert_eq!(h.status("job", &first).await, "pending");
}

#[tokio::test]
async fn an_execution_id_makes_creation_idempotent() {
    let h = H::manual().await;
    h.create_job("job", json!({})).await;
    let body = json!({"executionId": "my-run-1", "tasks": [{"durationSeconds": 1}]});
    let a = h
        .post("/jobs/job/executions", body.clone())
        .await
        .expect(200);
    let b = h
        .post(
            "/jobs/job/executions",
            json!({"executionId": "my-run-1", "tasks": [{}, {}]}),
        )
        .await
        .expect(200);
    assert_eq!(a["executionId"], "my-run-1");
    assert_eq!(a, b, "the retry returns the original execution");
    assert_eq!(h.emu.executions("test-ws", "job").len(), 1);
    assert_eq!(h.execution("job", "my-run-1").await["stats"]["total"], 1);
    assert_eq!(
        h.post("/jobs/job/executions", json!({"executionId": ""}))
            .await
            .api_error(400, "validation_error"),
        "executionId: must not be empty"
    );
}

#[tokio::test]
async fn capacity_queues_or_refuses_executions() {
    let h = H::with(EmulatorConfig::default().clock(Clock::Manual).capacity(2)).await;
    h.create_job("job", json!({})).await;
    let a = h
        .start("job", json!({"tasks": [{"durationSeconds": 2}]}))
        .await;
    let b = h
        .start(
            "job",
            json!({"tasks": [{"durationSeconds": 4}], "allowQueue": false}),
        )
        .await;
    // Full: refused without queueing, and nothing is created.
    let r = h
        .post(
            "/jobs/job/executions",
            json!({"allowQueue": false, "executionId": "refused"}),
        )
        .await;
    let message = r.api_error(429, "capacity_exceeded");
    assert!(
        message.starts_with("Maximum parallel executions limit reached"),
        "{message}"
    );
    assert!(
        r.header("retry-after")
            .is_some_and(|v| v.parse::<u64>().is_ok())
    );
    assert_eq!(h.emu.executions("test-ws", "job").len(), 2);
    h.get("/jobs/job/executions/refused")
        .await
        .api_error(404, "not_found");

    // Queued by default.
    let c = h
        .start("job", json!({"tasks": [{"durationSeconds": 1}]}))
        .await;
    assert_eq!(h.status("job", &c).await, "queued");
    h.advance_ms(500 + 2_000);
    // `a` finished, so `c` was admitted.
    assert_eq!(h.status("job", &a).await, "succeeded");
    assert_eq!(h.status("job", &c).await, "pending");
    h.advance_ms(1_500);
    assert_eq!(h.status("job", &c).await, "succeeded");
    assert_eq!(h.status("job", &b).await, "running");
    // Room again: allowQueue false is accepted.
    let d = h.start("job", json!({"allowQueue": false})).await;
    assert_eq!(h.status("job", &d).await, "pending");
}

#[tokio::test]
async fn running_executions_keep_the_configuration_they_started_with() {
    let h = H::manual().await;
    h.create_job("job", json!({"runtime": {"timeout": 100, "memory": 4096}}))
        .await;
    let id = h
        .start(
            "job",
            json!({"memory": 4096, "tasks": [{"durationSeconds": 50}]}),
        )
        .await;
    h.advance_ms(1_000);
    let mut job = h.get("/jobs/job").await.expect(200);
    job["spec"]["runtime"]["timeout"] = json!(10);
    h.put("/jobs/job", job).await.expect(200);
    h.advance_ms(60_000);
    let e = h.execution("job", &id).await;
    assert_eq!(e["status"], "succeeded");
    assert_eq!(e["spec"]["timeout"], 100);
    assert_eq!(e["spec"]["memoryOverride"], 4096);
    // New executions use the new timeout.
    let later = h
        .start("job", json!({"tasks": [{"durationSeconds": 50}]}))
        .await;
    h.advance_ms(60_000);
    assert_eq!(h.status("job", &later).await, "timeout");
}
