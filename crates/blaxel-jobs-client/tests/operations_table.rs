//! The generated operations table (`operations.rs`) agrees with what the
//! generated client sends: each builder, sent through
//! `OperationBuilder::send_request`, makes a request with its operation's
//! method and path, and the table agrees with the document.

mod common;

use blaxel_jobs_client::operations::{BASE_PATH, Operation, OperationBuilder, RetrySafety};
use blaxel_jobs_client::{Client, hooks::Hooks, types};
use common::fixture;
use std::collections::BTreeSet;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Accepts one connection on loopback, reads the request head, answers 500
/// and returns the request line's method and path.
async fn serve_one(listener: TcpListener) -> (String, String) {
    let (mut sock, _) = listener.accept().await.expect("accept");
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
        let n = sock.read(&mut buf).await.expect("read");
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let _ = sock
        .write_all(
            b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        )
        .await;
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut line = text.lines().next().unwrap_or_default().split(' ');
    let method = line.next().unwrap_or_default().to_owned();
    let path = line.next().unwrap_or_default().to_owned();
    (method, path)
}

/// Sends `builder` through the table's trait and returns what the server saw.
async fn seen<B: OperationBuilder>(listener: TcpListener, builder: B) -> (String, String) {
    let server = tokio::spawn(serve_one(listener));
    let _ = builder.send_request().await;
    server.await.expect("server task")
}

const JOB: &str = "j1";
const EXEC: &str = "e1";

/// Sends the request of `op` with the path parameters above.
async fn send(op: Operation) -> (String, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let client = Client::new(
        &format!("http://{}", listener.local_addr().unwrap()),
        Hooks::new(),
    );
    let job: types::Job = fixture("job_full.json");
    let request: types::CreateJobExecutionRequest = fixture("create_execution_request.json");
    // Exhaustive: an operation added to the document needs a line here.
    match op {
        Operation::ListJobs => seen(listener, client.list_jobs()).await,
        Operation::CreateJob => seen(listener, client.create_job().body(job)).await,
        Operation::GetJob => seen(listener, client.get_job().job_id(JOB)).await,
        Operation::UpdateJob => seen(listener, client.update_job().job_id(JOB).body(job)).await,
        Operation::DeleteJob => seen(listener, client.delete_job().job_id(JOB)).await,
        Operation::ListJobRevisions => {
            seen(listener, client.list_job_revisions().job_id(JOB)).await
        }
        Operation::ListJobExecutions => {
            seen(listener, client.list_job_executions().job_id(JOB)).await
        }
        Operation::CreateJobExecution => {
            let b = client.create_job_execution().job_id(JOB).body(request);
            seen(listener, b).await
        }
        Operation::GetJobExecution => {
            let b = client.get_job_execution().job_id(JOB).execution_id(EXEC);
            seen(listener, b).await
        }
        Operation::DeleteJobExecution => {
            let b = client.delete_job_execution().job_id(JOB).execution_id(EXEC);
            seen(listener, b).await
        }
        Operation::ListJobExecutionTasks => {
            let b = client
                .list_job_execution_tasks()
                .job_id(JOB)
                .execution_id(EXEC);
            seen(listener, b).await
        }
        Operation::ListLogs => {
            let b = client.list_logs().resource_type("jobs").workload_ids(JOB);
            seen(listener, b).await
        }
    }
}

#[tokio::test]
async fn every_builder_sends_its_operations_method_and_path() {
    for op in Operation::ALL {
        let (method, path) = send(op).await;
        let mut want = op.path().to_owned();
        for p in op.path_params() {
            let value = if *p == "jobId" { JOB } else { EXEC };
            want = want.replace(&format!("{{{p}}}"), value);
        }
        let path = path.split('?').next().unwrap_or_default().to_owned();
        assert_eq!(
            (method.as_str(), path.as_str()),
            (op.method(), want.as_str()),
            "{op}"
        );
    }
}

#[test]
fn builders_name_their_operation() {
    assert_eq!(
        <blaxel_jobs_client::builder::CreateJob<'_> as OperationBuilder>::OPERATION,
        Operation::CreateJob
    );
    assert_eq!(
        <blaxel_jobs_client::builder::ListJobExecutionTasks<'_> as OperationBuilder>::OPERATION,
        Operation::ListJobExecutionTasks
    );
}

#[test]
fn the_table_agrees_with_the_document() {
    let doc = common::document();
    let mut from_doc = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let Some(id) = op.get("operationId").and_then(|v| v.as_str()) else {
                continue;
            };
            let retry = op["x-blaxel-retry"].as_str().expect("x-blaxel-retry");
            from_doc.insert((
                id.to_owned(),
                method.to_uppercase(),
                path.clone(),
                retry.to_owned(),
            ));
        }
    }
    let from_table: BTreeSet<_> = Operation::ALL
        .iter()
        .map(|op| {
            (
                op.name().to_owned(),
                op.method().to_owned(),
                op.path().to_owned(),
                op.retry().as_str().to_owned(),
            )
        })
        .collect();
    assert_eq!(from_table, from_doc);
    let server = doc["servers"][0]["url"].as_str().expect("server url");
    assert!(server.ends_with(BASE_PATH), "{server} vs {BASE_PATH}");
    for op in Operation::ALL {
        assert_eq!(Operation::from_name(op.name()), Some(op));
        assert_eq!(op.to_string(), op.name());
        assert_eq!(
            op.client_token().is_some(),
            op.retry() == RetrySafety::IdempotentWithClientToken,
            "{op}"
        );
    }
    assert_eq!(Operation::from_name("createJob"), None);
}

#[test]
fn only_create_job_may_do_its_work_twice() {
    let not_idempotent: Vec<Operation> = Operation::ALL
        .into_iter()
        .filter(|op| !op.retry().is_idempotent())
        .collect();
    assert_eq!(not_idempotent, [Operation::CreateJob]);
    assert_eq!(
        Operation::CreateJobExecution.client_token(),
        Some("executionId")
    );
}
