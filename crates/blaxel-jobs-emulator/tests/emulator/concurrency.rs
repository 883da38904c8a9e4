//! Many clients at once, and stopping the server.

use crate::common::{H, send};
use blaxel_jobs_client::operations::Operation;
use blaxel_jobs_emulator::Emulator;
use reqwest::Method;
use serde_json::json;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_creates_store_two_hundred_jobs() {
    let h = Arc::new(H::manual().await);
    let mut set = tokio::task::JoinSet::new();
    for i in 0..200 {
        let h = h.clone();
        set.spawn(async move {
            send(
                h.req(Method::POST, "/jobs")
                    .json(&json!({"metadata": {"name": format!("job-{i:03}")}, "spec": {}})),
            )
            .await
            .status
        });
    }
    let mut ok = 0;
    while let Some(status) = set.join_next().await {
        if status.expect("task ran") == 200 {
            ok += 1;
        }
    }
    assert_eq!(ok, 200);
    assert_eq!(h.emu.job_names("test-ws").len(), 200);
    assert_eq!(h.emu.request_count(Operation::CreateJob), 200);
    let page = h.get("/jobs?limit=200").await.expect(200);
    assert_eq!(page["meta"]["total"], 200);
    assert_eq!(page["data"].as_array().unwrap().len(), 200);
    assert_eq!(page["meta"]["hasMore"], false);
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let emu = Emulator::start().await.unwrap();
    let url = format!("{}/jobs", emu.base_url());
    let http = blaxel_jobs_client::tls::http_client_builder()
        .build()
        .unwrap();
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    emu.shutdown().await;
    assert!(http.get(&url).send().await.is_err());

    let emu = Emulator::start().await.unwrap();
    let url = format!("{}/jobs", emu.base_url());
    drop(emu);
    assert!(
        blaxel_jobs_client::tls::http_client_builder()
            .build()
            .unwrap()
            .get(&url)
            .send()
            .await
            .is_err()
    );
}
