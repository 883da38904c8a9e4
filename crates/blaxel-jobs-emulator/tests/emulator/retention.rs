//! Finished executions are kept for the retention period, then forgotten.

use crate::common::H;
use blaxel_jobs_emulator::{Clock, EmulatorConfig};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn finished_executions_are_forgotten_after_the_retention_period() {
    let h = H::with(
        EmulatorConfig::default()
            .clock(Clock::Manual)
            .execution_retention(Duration::from_secs(3600)),
    )
    .await;
    h.create_job("job", json!({})).await;
    // Startup 0.5 s, then 10 s: over at 10.5 s.
    let done = h
        .start(
            "job",
            json!({"executionId": "run-1", "tasks": [{"durationSeconds": 10}]}),
        )
        .await;
    // Still running when the first one is forgotten.
    let long = h
        .start("job", json!({"tasks": [{"durationSeconds": 7200}]}))
        .await;
    h.advance_ms(10_500);
    assert_eq!(h.status("job", &done).await, "succeeded");
    h.advance_ms(3600 * 1000 - 1);
    assert_eq!(h.status("job", &done).await, "succeeded", "kept one hour");
    h.advance_ms(1);
    h.get(&format!("/jobs/job/executions/{done}"))
        .await
        .api_error(404, "not_found");
    h.get(&format!("/jobs/job/executions/{done}/tasks"))
        .await
        .api_error(404, "not_found");
    let list = h.get("/jobs/job/executions").await.expect(200);
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["metadata"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![long.as_str()], "the running one is kept");
    assert_eq!(list["meta"]["total"], 1);
    assert_eq!(h.emu.executions("test-ws", "job").len(), 1);
    // Its id is free again: the same executionId starts a new execution.
    let again = h
        .post(
            "/jobs/job/executions",
            json!({"executionId": "run-1", "tasks": [{"durationSeconds": 1}]}),
        )
        .await
        .expect(200);
    assert_eq!(again["executionId"], "run-1");
    assert_eq!(h.status("job", "run-1").await, "pending");
}

#[tokio::test]
async fn executions_of_a_deleted_job_are_forgotten_too() {
    let h = H::with(
        EmulatorConfig::default()
            .clock(Clock::Manual)
            .execution_retention(Duration::from_secs(60)),
    )
    .await;
    h.create_job("job", json!({})).await;
    let id = h
        .start("job", json!({"tasks": [{"durationSeconds": 5}]}))
        .await;
    h.advance_ms(1_000);
    h.delete("/jobs/job").await.expect(200);
    h.advance_ms(5_000);
    assert_eq!(h.emu.executions("test-ws", "job").len(), 1);
    assert_eq!(
        h.emu.executions("test-ws", "job")[0]
            .status
            .as_ref()
            .map(|s| s.as_str()),
        Some("cancelled")
    );
    h.advance_ms(60_000);
    assert!(h.emu.executions("test-ws", "job").is_empty(), "{id}");
}
