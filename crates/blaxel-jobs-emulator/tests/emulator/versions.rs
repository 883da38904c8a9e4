//! Blaxel-Version: bare arrays for the versions without paged lists (the
//! oldest, used without the header), pages for the others; every version
//! of the document is known, any other is rejected.

use crate::common::{H, send};
use blaxel_jobs_client::versions;
use reqwest::Method;
use serde_json::{Value, json};

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("a bare array")
        .iter()
        .map(|j| {
            j["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn without_a_version_list_jobs_is_a_bare_array_of_everything() {
    let h = H::manual().await;
    for n in ["one", "two", "three"] {
        h.create_job(n, json!({})).await;
    }
    let r = send(h.v1(Method::GET, "/jobs?limit=1")).await;
    assert_eq!(names(&r.expect(200)), vec!["three", "two", "one"]);
    // The new version pages.
    let page = h.get("/jobs?limit=1").await.expect(200);
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    assert_eq!(page["meta"]["hasMore"], true);
    assert_eq!(page["meta"]["total"], 3);
    // The oldest version, named, behaves like no version.
    let r = send(
        h.v1(Method::GET, "/jobs")
            .header("Blaxel-Version", versions::UNVERSIONED),
    )
    .await;
    assert_eq!(names(&r.expect(200)).len(), 3);
}

#[tokio::test]
async fn every_version_of_the_document_is_known_and_pages_as_it_says() {
    let h = H::manual().await;
    for n in ["one", "two"] {
        h.create_job(n, json!({})).await;
    }
    assert!(versions::find(versions::NEWEST).is_some());
    for v in versions::KNOWN {
        let r = send(
            h.v1(Method::GET, "/jobs?limit=1")
                .header("Blaxel-Version", v.name),
        )
        .await;
        let body = r.expect(200);
        if v.paged_lists {
            assert_eq!(body["data"].as_array().map(Vec::len), Some(1), "{}", v.name);
            assert_eq!(body["meta"]["hasMore"], true, "{}", v.name);
            assert_eq!(body["meta"]["totalIsPartial"], false, "{}", v.name);
        } else {
            assert_eq!(names(&body), vec!["two", "one"], "{}", v.name);
        }
    }
}

#[tokio::test]
async fn unknown_versions_are_rejected() {
    let h = H::manual().await;
    let preview = format!("{}.preview", versions::DEFAULT);
    for v in ["2030-01-01", "latest", preview.as_str()] {
        let r = send(h.v1(Method::GET, "/jobs").header("Blaxel-Version", v)).await;
        let msg = r.api_error(400, "invalid_api_version");
        assert!(msg.starts_with("Unknown API version"), "{msg}");
    }
}

#[tokio::test]
async fn legacy_execution_listing_uses_offset_and_limit() {
    let h = H::manual().await;
    h.create_job("job", json!({})).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(
            h.start("job", json!({"tasks": [{"durationSeconds": 1}, {}]}))
                .await,
        );
    }
    // Newest first: offset 1, limit 2 → the 4th and 3rd created.
    let r = send(h.v1(Method::GET, "/jobs/job/executions?offset=1&limit=2")).await;
    let list = r.expect(200);
    let got: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["metadata"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, vec![ids[3].as_str(), ids[2].as_str()]);
    // Default legacy limit is 20 and covers all five.
    let r = send(h.v1(Method::GET, "/jobs/job/executions")).await;
    assert_eq!(r.expect(200).as_array().unwrap().len(), 5);
    // With the new version, offset is ignored.
    let page = h
        .get("/jobs/job/executions?offset=3&limit=2")
        .await
        .expect(200);
    assert_eq!(page["data"][0]["metadata"]["id"], ids[4].as_str());

    // Tasks: a bare array without the version, a page with it.
    let path = format!("/jobs/job/executions/{}/tasks", ids[0]);
    let r = send(h.v1(Method::GET, &path)).await;
    assert_eq!(r.expect(200).as_array().unwrap().len(), 2);
    let page = h.get(&path).await.expect(200);
    assert_eq!(page["meta"]["total"], 2);
    assert_eq!(page["data"][0]["metadata"]["name"], "task-0");
}

#[tokio::test]
async fn revisions_are_always_a_bare_array() {
    let h = H::manual().await;
    h.create_job("job", json!({})).await;
    let with_version = h.get("/jobs/job/revisions").await.expect(200);
    assert_eq!(with_version.as_array().map(Vec::len), Some(1));
    let r = send(h.v1(Method::GET, "/jobs/job/revisions")).await;
    assert_eq!(r.expect(200).as_array().map(Vec::len), Some(1));
}
