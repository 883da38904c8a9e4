//! What the API gained with the newest SDK's document: `spec.taskCount`,
//! `meta.totalIsPartial`, the `externalId` filter of ListJobs, and task
//! lists stored apart (`spec.tasksRef`).

use crate::common::H;
use blaxel_jobs_emulator::{Clock, EmulatorConfig};
use serde_json::{Value, json};

fn manual() -> EmulatorConfig {
    EmulatorConfig::default().clock(Clock::Manual)
}

fn tasks(n: usize) -> Value {
    json!({"tasks": vec![json!({"durationSeconds": 1}); n]})
}

#[tokio::test]
async fn executions_carry_their_task_count() {
    let h = H::manual().await;
    h.create_job("job", json!({})).await;
    let id = h.start("job", tasks(3)).await;
    let exec = h.execution("job", &id).await;
    assert_eq!(exec["spec"]["taskCount"], 3);
    assert_eq!(exec["tasks"].as_array().map(Vec::len), Some(3));
    assert!(exec["spec"].get("tasksRef").is_none(), "{exec}");
    // An empty task list runs one task.
    let id = h.start("job", json!({"tasks": []})).await;
    assert_eq!(h.execution("job", &id).await["spec"]["taskCount"], 1);
}

#[tokio::test]
async fn large_task_lists_can_be_stored_apart() {
    let h = H::with(manual().store_tasks_apart_from(3)).await;
    h.create_job("job", json!({})).await;
    let small = h.start("job", tasks(2)).await;
    let large = h.start("job", tasks(5)).await;

    let exec = h.execution("job", &small).await;
    assert_eq!(exec["tasks"].as_array().map(Vec::len), Some(2));
    assert!(exec["spec"].get("tasksRef").is_none(), "{exec}");

    let exec = h.execution("job", &large).await;
    assert!(exec.get("tasks").is_none(), "tasks left out: {exec}");
    assert!(
        exec["spec"].get("tasks").is_none(),
        "spec.tasks left out: {exec}"
    );
    assert_eq!(exec["spec"]["taskCount"], 5);
    assert_eq!(exec["stats"]["total"], 5);
    let reference = exec["spec"]["tasksRef"].as_str().expect("tasksRef");
    assert!(
        reference.ends_with(&format!("/executions/{large}/tasks")),
        "{reference}"
    );

    // Listed and cancelled executions are answered the same way.
    let page = h.get("/jobs/job/executions").await.expect(200);
    let listed = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["metadata"]["id"] == large.as_str())
        .expect("the large execution is listed");
    assert!(listed.get("tasks").is_none(), "{listed}");
    let cancelled = h
        .delete(&format!("/jobs/job/executions/{large}"))
        .await
        .expect(200);
    assert!(cancelled.get("tasks").is_none(), "{cancelled}");
    assert!(cancelled["spec"]["tasksRef"].is_string(), "{cancelled}");

    // ListJobExecutionTasks still lists every task.
    let page = h
        .get(&format!("/jobs/job/executions/{large}/tasks"))
        .await
        .expect(200);
    assert_eq!(page["data"].as_array().map(Vec::len), Some(5));
    assert_eq!(page["meta"]["total"], 5);
}

#[tokio::test]
async fn totals_past_the_count_limit_are_marked_partial() {
    let h = H::with(manual().count_limit(2)).await;
    for n in ["a1", "a2", "a3", "a4"] {
        h.create_job(n, json!({})).await;
    }
    let mut seen = 0;
    let mut cursor = String::new();
    loop {
        let page = h
            .get(&format!("/jobs?limit=3&cursor={cursor}"))
            .await
            .expect(200);
        assert_eq!(page["meta"]["total"], 2, "a lower bound: {page}");
        assert_eq!(page["meta"]["totalIsPartial"], true, "{page}");
        seen += page["data"].as_array().unwrap().len();
        if page["meta"]["hasMore"] != true {
            break;
        }
        cursor = page["meta"]["nextCursor"].as_str().unwrap().to_owned();
    }
    assert_eq!(seen, 4, "following the cursor reaches every job");

    // Within the limit the total is exact.
    let h = H::with(manual().count_limit(10)).await;
    h.create_job("only", json!({})).await;
    let page = h.get("/jobs").await.expect(200);
    assert_eq!(page["meta"]["total"], 1);
    assert_eq!(page["meta"]["totalIsPartial"], false);
}

#[tokio::test]
async fn list_jobs_filters_by_external_id() {
    let h = H::manual().await;
    for (name, external) in [
        ("a", Some("ticket-1")),
        ("b", Some("ticket-2")),
        ("c", None),
    ] {
        let mut metadata = json!({"name": name});
        if let Some(x) = external {
            metadata["externalId"] = json!(x);
        }
        h.post("/jobs", json!({"metadata": metadata, "spec": {}}))
            .await
            .expect(200);
    }
    let page = h.get("/jobs?externalId=ticket-2").await.expect(200);
    let names: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["b"]);
    let page = h.get("/jobs?externalId=ticket-9").await.expect(200);
    assert_eq!(page["data"].as_array().map(Vec::len), Some(0));
    // Without the filter, every job.
    let page = h.get("/jobs").await.expect(200);
    assert_eq!(page["data"].as_array().map(Vec::len), Some(3));

    // A cursor is bound to its externalId.
    let first = h.get("/jobs?limit=1").await.expect(200);
    let cursor = first["meta"]["nextCursor"].as_str().unwrap();
    let r = h
        .get(&format!(
            "/jobs?limit=1&externalId=ticket-1&cursor={cursor}"
        ))
        .await;
    r.api_error(400, "invalid_cursor");
}
