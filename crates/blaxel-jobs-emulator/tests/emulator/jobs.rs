//! Job lifecycle: deployment, revisions, secrets, deletion.

use crate::common::H;
use serde_json::{Value, json};

fn env<'a>(job: &'a Value, name: &str) -> &'a Value {
    job["spec"]["runtime"]["envs"]
        .as_array()
        .and_then(|envs| envs.iter().find(|e| e["name"] == name))
        .unwrap_or(&Value::Null)
}

#[tokio::test]
async fn a_new_job_deploys_after_the_deploy_delay() {
    let h = H::manual().await;
    let job = h
        .create_job("nightly", json!({"runtime": {"memory": 2048}}))
        .await;
    assert_eq!(job["status"], "DEPLOYING");
    let m = &job["metadata"];
    for field in [
        "createdAt",
        "updatedAt",
        "createdBy",
        "updatedBy",
        "url",
        "plan",
    ] {
        assert!(
            m[field].as_str().is_some_and(|s| !s.is_empty()),
            "{field}: {m}"
        );
    }
    assert_eq!(m["workspace"], "test-ws");
    assert!(m["createdAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(job["spec"]["enabled"], true);

    h.advance_ms(1_999);
    assert_eq!(
        h.get("/jobs/nightly").await.expect(200)["status"],
        "DEPLOYING"
    );
    h.advance_ms(1);
    let job = h.get("/jobs/nightly").await.expect(200);
    assert_eq!(job["status"], "DEPLOYED");
    let statuses: Vec<&str> = job["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, vec!["DEPLOYING", "DEPLOYED"]);
    assert_eq!(h.emu.job_names("test-ws"), vec!["nightly"]);
}

#[tokio::test]
async fn duplicate_names_conflict_and_unknown_jobs_are_404() {
    let h = H::manual().await;
    h.create_job("dup", json!({})).await;
    let r = h
        .post("/jobs", json!({"metadata": {"name": "dup"}, "spec": {}}))
        .await;
    assert!(r.api_error(409, "already_exists").contains("dup"));
    h.get("/jobs/ghost").await.api_error(404, "not_found");
    h.put(
        "/jobs/ghost",
        json!({"metadata": {"name": "ghost"}, "spec": {}}),
    )
    .await
    .api_error(404, "not_found");
    h.delete("/jobs/ghost").await.api_error(404, "not_found");
    h.get("/jobs/ghost/revisions")
        .await
        .api_error(404, "not_found");
    h.get("/jobs/ghost/executions")
        .await
        .api_error(404, "not_found");
    h.post("/jobs/ghost/executions", json!({}))
        .await
        .api_error(404, "not_found");
    h.get("/jobs/dup/executions/nope")
        .await
        .api_error(404, "not_found");
    h.delete("/jobs/dup/executions/nope")
        .await
        .api_error(404, "not_found");
    h.get("/jobs/dup/executions/nope/tasks")
        .await
        .api_error(404, "not_found");
}

#[tokio::test]
async fn updates_make_revisions_and_redeploy() {
    let h = H::manual().await;
    let created = h
        .create_job("job", json!({"runtime": {"memory": 1024}}))
        .await;
    h.advance_ms(5_000);
    // Read-only fields sent back by the client are ignored.
    let mut next = h.get("/jobs/job").await.expect(200);
    next["spec"]["runtime"]["memory"] = json!(4096);
    next["metadata"]["createdAt"] = json!("1999-01-01T00:00:00Z");
    next["status"] = json!("FAILED");
    let updated = h.put("/jobs/job", next).await.expect(200);
    assert_eq!(updated["status"], "DEPLOYING");
    assert_eq!(updated["spec"]["runtime"]["memory"], 4096);
    assert_eq!(
        updated["metadata"]["createdAt"],
        created["metadata"]["createdAt"]
    );
    assert_ne!(
        updated["metadata"]["updatedAt"],
        created["metadata"]["updatedAt"]
    );

    let revs = h.get("/jobs/job/revisions").await.expect(200);
    let revs = revs.as_array().unwrap();
    assert_eq!(revs.len(), 2);
    assert_eq!(revs[0]["active"], true);
    assert_eq!(revs[0]["trafficPercent"], 100);
    assert_eq!(revs[0]["status"], "DEPLOYING");
    assert_eq!(revs[1]["active"], false);
    assert_eq!(revs[1]["previousActive"], true);
    assert_eq!(revs[1]["status"], "DEPLOYED");
    assert_ne!(revs[0]["id"], revs[1]["id"]);
    assert!(revs[0]["createdAt"].is_string() && revs[0]["createdBy"].is_string());

    h.advance_ms(2_000);
    assert_eq!(h.get("/jobs/job").await.expect(200)["status"], "DEPLOYED");
    let revs = h.get("/jobs/job/revisions").await.expect(200);
    assert_eq!(revs[0]["status"], "DEPLOYED");

    // The name in the body must match the path.
    let msg = h
        .put(
            "/jobs/job",
            json!({"metadata": {"name": "other"}, "spec": {}}),
        )
        .await
        .api_error(400, "validation_error");
    assert!(msg.starts_with("metadata.name"), "{msg}");
}

#[tokio::test]
async fn deleting_a_job_answers_deleting_then_it_is_gone() {
    let h = H::manual().await;
    h.create_job("doomed", json!({})).await;
    let exec = h
        .start(
            "doomed",
            json!({"tasks": [{"durationSeconds": 100}, {"durationSeconds": 100}]}),
        )
        .await;
    let gone = h.delete("/jobs/doomed").await.expect(200);
    assert_eq!(gone["status"], "DELETING");
    assert_eq!(gone["metadata"]["name"], "doomed");
    h.get("/jobs/doomed").await.api_error(404, "not_found");
    assert!(h.emu.job_names("test-ws").is_empty());
    // The execution was cancelled and stays readable.
    assert_eq!(h.status("doomed", &exec).await, "cancelled");
    // The name can be used again, and the new job starts with no executions.
    h.create_job("doomed", json!({})).await;
    let page = h.get("/jobs/doomed/executions").await.expect(200);
    assert_eq!(page["meta"]["total"], 0);
    assert_eq!(h.emu.executions("test-ws", "doomed").len(), 1);
}

#[tokio::test]
async fn secret_values_are_masked_unless_asked_for() {
    let h = H::manual().await;
    let spec = json!({"runtime": {"envs": [
        {"name": "API_TOKEN", "value": "tok-123", "secret": true},
        {"name": "MODE", "value": "full"}
    ]}});
    let created = h.create_job("sec", spec.clone()).await;
    assert_eq!(env(&created, "API_TOKEN")["value"], "***");
    assert_eq!(env(&created, "MODE")["value"], "full");
    let got = h.get("/jobs/sec").await.expect(200);
    assert_eq!(env(&got, "API_TOKEN")["value"], "***");
    let listed = h.get("/jobs").await.expect(200);
    assert_eq!(env(&listed["data"][0], "API_TOKEN")["value"], "***");
    let shown = h.get("/jobs/sec?show_secrets=true").await.expect(200);
    assert_eq!(env(&shown, "API_TOKEN")["value"], "tok-123");
    assert!(
        !h.get("/jobs/sec?show_secrets=false")
            .await
            .text
            .contains("tok-123")
    );

    // Sending the masked job back keeps the secret.
    let updated = h.put("/jobs/sec", got).await.expect(200);
    assert_eq!(env(&updated, "API_TOKEN")["value"], "***");
    let shown = h.get("/jobs/sec?show_secrets=true").await.expect(200);
    assert_eq!(env(&shown, "API_TOKEN")["value"], "tok-123");

    // Execution env overrides are always masked.
    let id = h
        .start("sec", json!({"env": {"PASSWORD": "hunter2"}}))
        .await;
    let exec = h.execution("sec", &id).await;
    assert_eq!(exec["spec"]["envOverride"], json!({"PASSWORD": "***"}));
    let deleted = h.delete("/jobs/sec").await;
    assert!(!deleted.text.contains("tok-123"));
    assert_eq!(env(&deleted.json(), "API_TOKEN")["value"], "***");
}

#[tokio::test]
async fn show_secrets_needs_the_admin_role() {
    let h = H::with(
        blaxel_jobs_emulator::EmulatorConfig::default()
            .clock(blaxel_jobs_emulator::Clock::Manual)
            .member_api_key("member-key"),
    )
    .await;
    h.create_job(
        "sec",
        json!({"runtime": {"envs": [{"name": "API_TOKEN", "value": "tok-123", "secret": true}]}}),
    )
    .await;
    let as_member = |path: &str| {
        h.bare(reqwest::Method::GET, path)
            .bearer_auth("member-key")
            .header("X-Blaxel-Workspace", "test-ws")
            .header("Blaxel-Version", crate::common::V2)
    };
    let r = crate::common::send(as_member("/jobs/sec?show_secrets=true")).await;
    let error = r.api_error(403, "FORBIDDEN");
    assert!(error.contains("admin role"), "{error}");
    assert!(!r.text.contains("tok-123"));
    // Masked, the member may read it; the admin may read it in clear.
    let masked = crate::common::send(as_member("/jobs/sec"))
        .await
        .expect(200);
    assert_eq!(env(&masked, "API_TOKEN")["value"], "***");
    let shown = h.get("/jobs/sec?show_secrets=true").await.expect(200);
    assert_eq!(env(&shown, "API_TOKEN")["value"], "tok-123");
}

#[tokio::test]
async fn a_server_that_does_not_keep_masked_secrets_stores_the_mask() {
    let h = H::with(
        blaxel_jobs_emulator::EmulatorConfig::default()
            .clock(blaxel_jobs_emulator::Clock::Manual)
            .keep_masked_secrets(false),
    )
    .await;
    h.create_job(
        "sec",
        json!({"runtime": {"envs": [{"name": "API_TOKEN", "value": "tok-123", "secret": true}]}}),
    )
    .await;
    let got = h.get("/jobs/sec").await.expect(200);
    h.put("/jobs/sec", got).await.expect(200);
    let shown = h.get("/jobs/sec?show_secrets=true").await.expect(200);
    assert_eq!(env(&shown, "API_TOKEN")["value"], "***");
}

#[tokio::test]
async fn triggers_get_ids_and_callback_secrets() {
    let h = H::manual().await;
    let job = h
        .create_job(
            "trig",
            json!({"triggers": [
                {"type": "cron", "configuration": {"schedule": "0 3 * * *"}},
                {"id": "hook", "type": "http-async", "configuration": {"callbackUrl": "https://example.com/x", "callbackSecret": "mine"}}
            ]}),
        )
        .await;
    let triggers = job["spec"]["triggers"].as_array().unwrap();
    assert!(triggers[0]["id"].as_str().is_some_and(|id| !id.is_empty()));
    assert!(triggers[0]["configuration"]["callbackSecret"].is_null());
    assert_eq!(triggers[1]["id"], "hook");
    let secret = triggers[1]["configuration"]["callbackSecret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(secret, "mine", "callbackSecret is set by the server");
    // An update of the same trigger keeps its secret.
    let again = h.put("/jobs/trig", job.clone()).await.expect(200);
    assert_eq!(
        again["spec"]["triggers"][1]["configuration"]["callbackSecret"],
        secret.as_str()
    );
    assert_eq!(again["spec"]["triggers"][0]["id"], triggers[0]["id"]);
}
