//! Requests that break the document get 400s naming the field.

use crate::common::{H, Resp, send};
use blaxel_jobs_emulator::{Clock, EmulatorConfig};
use reqwest::Method;
use serde_json::{Value, json};

async fn create_error(h: &H, body: Value) -> String {
    h.post("/jobs", body)
        .await
        .api_error(400, "validation_error")
}

#[tokio::test]
async fn job_bodies_are_validated_against_the_document() {
    let h = H::manual().await;
    let cases = [
        (
            json!({"metadata": {"name": "Bad_Name"}, "spec": {}}),
            "metadata.name: must match ^[a-z0-9-]+$",
        ),
        (
            json!({"metadata": {"name": "ok"}, "spec": {"runtime": {"diskPercent": 5}}}),
            "spec.runtime.diskPercent: must be at least 10",
        ),
        (
            json!({"metadata": {"name": "ok"}, "spec": {"triggers": [
                {"type": "http-async", "configuration": {"timeout": 901}}]}}),
            "spec.triggers[0].configuration.timeout: must be at most 900",
        ),
        (
            json!({"metadata": {"name": "ok"}, "spec": {"runtime": {"ports": [{"name": "http"}]}}}),
            "spec.runtime.ports[0].target: is required",
        ),
        (
            json!({"metadata": {"name": "ok"}, "spec": {"runtime": {"generation": "mk9"}}}),
            "spec.runtime.generation: must be one of mk2, mk3",
        ),
        (json!({"spec": {}}), "metadata: is required"),
        (json!("a job"), "body: must be an object, not a string"),
    ];
    for (body, want) in cases {
        assert_eq!(create_error(&h, body).await, want);
    }
    assert!(
        h.emu.job_names("test-ws").is_empty(),
        "nothing invalid was stored"
    );
}

/// What Blaxel's document allows is accepted, even where older versions
/// of our document were stricter: hyphens at the ends of a name, any cron
/// schedule, bounds Blaxel does not state, and `valueFrom` env entries,
/// which are stored and read back.
#[tokio::test]
async fn what_blaxel_allows_is_accepted() {
    let h = H::manual().await;
    let spec = json!({
        "runtime": {"memory": 0, "maxRetries": -1, "ports": [{"target": 70000}],
                    "envs": [{"name": "DB", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}},
                             {"name": "", "value": "x"}]},
        "volumes": [{"name": "v", "mountPath": "relative", "type": "ephemeral", "sizeMb": 0}],
        "triggers": [{"type": "cron", "configuration": {"schedule": "@hourly"}},
                     {"type": "cron"}]
    });
    for name in ["-lead", "trail-", "a--b"] {
        h.create_job(name, spec.clone()).await;
    }
    let job = h.get("/jobs/trail-").await.expect(200);
    assert_eq!(
        job["spec"]["runtime"]["envs"][0]["valueFrom"],
        json!({"secretKeyRef": {"name": "db", "key": "pw"}})
    );
    assert_eq!(
        job["spec"]["triggers"][0]["configuration"]["schedule"],
        "@hourly"
    );
    h.put("/jobs/trail-", job).await.expect(200);
}

#[tokio::test]
async fn bodies_that_are_not_json_are_rejected() {
    let h = H::manual().await;
    let r = send(
        h.req(Method::POST, "/jobs")
            .header("Content-Type", "application/json")
            .body("{\"metadata\": "),
    )
    .await;
    assert!(
        r.api_error(400, "bad_request")
            .starts_with("body: not valid JSON")
    );
    let r = send(h.req(Method::POST, "/jobs")).await;
    assert_eq!(
        r.api_error(400, "validation_error"),
        "body: is required (a JSON document)"
    );
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let h = H::with(
        EmulatorConfig::default()
            .clock(Clock::Manual)
            .max_body_bytes(1024),
    )
    .await;
    let big = json!({"metadata": {"name": "big", "displayName": "x".repeat(2000)}, "spec": {}});
    let msg = too_large(&h.post("/jobs", big).await);
    assert!(msg.contains("1024"), "{msg}");
    // Just under the limit is processed (and here fails validation instead).
    let fits = json!({"metadata": {"name": "big", "displayName": "x".repeat(900)}, "spec": {}});
    h.post("/jobs", fits)
        .await
        .api_error(400, "validation_error");

    // The default limit is 1 MiB.
    let h = H::manual().await;
    let huge = "y".repeat(1024 * 1024 + 1);
    let r = send(
        h.req(Method::POST, "/jobs")
            .header("Content-Type", "application/json")
            .body(huge),
    )
    .await;
    too_large(&r);
    // The server is fine afterwards.
    assert_eq!(h.get("/jobs").await.status, 200);
}

/// Asserts Blaxel's answer to an oversized body: 413 from the platform,
/// `REQUEST_ENTITY_TOO_LARGE`; returns its message.
fn too_large(r: &Resp) -> String {
    let body = r.expect(413);
    assert_eq!(body["error"]["code"], "REQUEST_ENTITY_TOO_LARGE", "{body}");
    assert_eq!(body["error"]["origin"], "platform", "{body}");
    assert_eq!(body["error"]["status"], 413, "{body}");
    assert_eq!(r.header("x-blaxel-source"), Some("platform"));
    body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// A body far larger than the limit (and than what the server used to read
/// of it) still gets its 413, never a reset connection: the server reads
/// it to the end before answering.
#[tokio::test]
async fn a_body_of_tens_of_megabytes_gets_413_not_a_reset() {
    let h = H::manual().await;
    let huge = format!(r#"{{"tasks": [{{"blob": "{}"}}]}}"#, "z".repeat(40 << 20));
    for _ in 0..3 {
        let r = send(
            h.req(Method::POST, "/jobs/none/executions")
                .header("Content-Type", "application/json")
                .body(huge.clone()),
        )
        .await;
        too_large(&r);
    }
}

#[tokio::test]
async fn execution_requests_are_checked_against_the_job() {
    let h = H::manual().await;
    h.create_job("small", json!({"runtime": {"memory": 2048}}))
        .await;
    let bad = |body: Value| h.post("/jobs/small/executions", body);
    assert_eq!(
        bad(json!({"memory": 4096}))
            .await
            .api_error(400, "validation_error"),
        "memory: must be at most the job's memory (2048 MB), not 4096"
    );
    // Blaxel states no lower bound on a memory override: the server decides.
    assert_eq!(bad(json!({"memory": 0})).await.status, 200);
    assert_eq!(
        bad(json!({"env": {"A": 1}}))
            .await
            .api_error(400, "validation_error"),
        "env.A: must be a string, not a number"
    );
    assert_eq!(
        bad(json!({"tasks": [{}, {"durationSeconds": "soon"}]}))
            .await
            .api_error(400, "validation_error"),
        "tasks[1].durationSeconds: must be a non-negative number (emulator task script)"
    );
    assert_eq!(
        bad(json!({"tasks": ["not an object"]}))
            .await
            .api_error(400, "validation_error"),
        "tasks[0]: must be an object, not a string"
    );
    assert!(
        bad(json!({"jobId": "other"}))
            .await
            .api_error(400, "validation_error")
            .starts_with("jobId")
    );
    assert_eq!(
        h.post("/jobs/small/executions", json!({"memory": 2048}))
            .await
            .status,
        200
    );

    h.create_job("off", json!({"enabled": false})).await;
    let msg = h
        .post("/jobs/off/executions", json!({}))
        .await
        .api_error(400, "bad_request");
    assert!(msg.contains("disabled"), "{msg}");
    assert!(h.emu.executions("test-ws", "off").is_empty());
}

#[tokio::test]
async fn query_parameters_are_typed() {
    let h = H::manual().await;
    h.create_job("job", json!({})).await;
    assert_eq!(
        h.get("/jobs/job?show_secrets=maybe")
            .await
            .api_error(400, "validation_error"),
        "query show_secrets: must be true or false, not \"maybe\""
    );
    assert_eq!(
        h.get(&format!("/jobs?q={}", "q".repeat(201)))
            .await
            .api_error(400, "validation_error"),
        "query q: must be at most 200 character(s) long"
    );
    // Unknown query parameters are ignored.
    assert_eq!(h.get("/jobs/job?verbose=1").await.status, 200);
}

#[tokio::test]
async fn unknown_routes_and_methods_get_json_errors() {
    let h = H::manual().await;
    let r = h.get("/nothing-here").await;
    assert!(
        r.api_error(404, "route_not_found")
            .contains("/v0/nothing-here")
    );
    assert!(r.header("x-request-id").is_some());
    let r = send(h.req(Method::PATCH, "/jobs/x")).await;
    r.api_error(405, "method_not_allowed");
}

#[tokio::test]
async fn every_answer_has_a_unique_request_id() {
    let h = H::manual().await;
    let mut ids = std::collections::HashSet::new();
    for path in ["/jobs", "/jobs/none", "/jobs?limit=0", "/nowhere"] {
        let r = h.get(path).await;
        let id = r.header("x-request-id").expect("x-request-id").to_owned();
        assert!(ids.insert(id), "request ids repeat");
    }
    let r = send(h.bare(Method::GET, "/jobs")).await;
    assert!(ids.insert(r.header("x-request-id").unwrap().to_owned()));
}
