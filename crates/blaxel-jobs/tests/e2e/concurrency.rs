//! Many concurrent calls: nothing lost, nothing doubled.

use crate::common::{self, WS};
use blaxel_jobs::raw::operations::Operation;
use futures_util::future::try_join_all;
use serde_json::json;
use std::collections::BTreeSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_creations_and_executions() {
    let (emu, client) = common::manual().await;

    let names: Vec<String> = (0..200).map(|i| format!("concurrent-{i:03}")).collect();
    let created = try_join_all(names.iter().map(|name| {
        let client = client.clone();
        let job = common::job(name);
        async move { client.jobs().create(job).send().await }
    }))
    .await
    .unwrap();
    let created: BTreeSet<_> = created.into_iter().map(|j| j.metadata.name).collect();
    let expected: BTreeSet<_> = names.iter().cloned().collect();
    assert_eq!(created, expected);
    assert_eq!(
        emu.job_names(WS).into_iter().collect::<BTreeSet<_>>(),
        expected
    );
    assert_eq!(emu.request_count(Operation::CreateJob), 200);

    let started = try_join_all((0..200).map(|i| {
        let client = client.clone();
        async move {
            client
                .job("concurrent-000")
                .executions()
                .create()
                .task(json!({"n": i}))
                .send()
                .await
        }
    }))
    .await
    .unwrap();
    let ids: BTreeSet<_> = started
        .into_iter()
        .map(|s| s.execution_id.unwrap())
        .collect();
    assert_eq!(ids.len(), 200, "every execution has its own id");
    let stored: BTreeSet<_> = emu
        .executions(WS, "concurrent-000")
        .into_iter()
        .map(|e| e.metadata.id.unwrap())
        .collect();
    assert_eq!(
        stored, ids,
        "the emulator holds exactly the executions started"
    );
}
