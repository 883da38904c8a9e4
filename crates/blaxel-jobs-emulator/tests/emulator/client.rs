//! The generated client against the emulator: every answer parses into the
//! generated types.

use crate::common::{H, V2};
use blaxel_jobs_client::open_enum::{DeploymentStatus, JobExecutionStatus};
use blaxel_jobs_client::types::{self, ListSort};
use blaxel_jobs_client::{Client, Error, hooks::Hooks};
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::json;

fn client(h: &H) -> Client {
    let mut headers = HeaderMap::new();
    headers.insert("Blaxel-Version", HeaderValue::from_static(V2));
    headers.insert("X-Blaxel-Workspace", HeaderValue::from_str(&h.ws).unwrap());
    headers.insert(
        "Authorization",
        HeaderValue::from_str(&format!("Bearer {}", h.emu.api_key())).unwrap(),
    );
    let http = blaxel_jobs_client::tls::http_client_builder()
        .default_headers(headers)
        .build()
        .unwrap();
    Client::new_with_client(&h.emu.base_url(), http, Hooks::new())
}

#[tokio::test]
async fn the_generated_client_round_trips() {
    let h = H::manual().await;
    let c = client(&h);
    let job: types::Job = serde_json::from_value(json!({
        "metadata": {"name": "typed", "labels": {"team": "data"}},
        "spec": {"runtime": {"memory": 2048, "maxRetries": 1, "generation": "mk3"}}
    }))
    .unwrap();
    let created = c.create_job().body(job).send().await.unwrap().into_inner();
    assert_eq!(created.status, Some(DeploymentStatus::Deploying));
    assert_eq!(created.metadata.workspace.as_deref(), Some("test-ws"));

    h.advance_ms(2_000);
    let got = c
        .get_job()
        .job_id("typed")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.status, Some(DeploymentStatus::Deployed));

    let page = c
        .list_jobs()
        .limit(10)
        .sort(ListSort::NameAsc)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.data.len(), 1);
    let meta = page.meta.unwrap();
    assert_eq!((meta.has_more, meta.total), (Some(false), Some(1)));

    let req: types::CreateJobExecutionRequest = serde_json::from_value(json!({
        "tasks": [{"durationSeconds": 1}, {"durationSeconds": 1, "failAttempts": 1}]
    }))
    .unwrap();
    let out = c
        .create_job_execution()
        .job_id("typed")
        .body(req)
        .send()
        .await
        .unwrap()
        .into_inner();
    let id = out.execution_id.unwrap();
    h.advance_ms(3_000);
    let exec = c
        .get_job_execution()
        .job_id("typed")
        .execution_id(&id)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(exec.status, Some(JobExecutionStatus::Succeeded));
    assert_eq!(exec.stats.unwrap().retried, Some(1));

    let tasks = c
        .list_job_execution_tasks()
        .job_id("typed")
        .execution_id(&id)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(tasks.data.len(), 2);
    let execs = c
        .list_job_executions()
        .job_id("typed")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(execs.data[0].metadata.id.as_deref(), Some(id.as_str()));
    let revs = c
        .list_job_revisions()
        .job_id("typed")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(revs.len(), 1);
    let cancelled = c
        .delete_job_execution()
        .job_id("typed")
        .execution_id(&id)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cancelled.status, Some(JobExecutionStatus::Succeeded));
    let deleted = c
        .delete_job()
        .job_id("typed")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(deleted.status, Some(DeploymentStatus::Deleting));
}

#[tokio::test]
async fn errors_reach_the_client_with_status_and_body() {
    let h = H::manual().await;
    let c = client(&h);
    match c.get_job().job_id("missing").send().await {
        Err(Error::ErrorResponse(resp)) => {
            assert_eq!(resp.status().as_u16(), 404);
        }
        other => panic!("expected a 404 error response, got {other:?}"),
    }
}
