//! Client-side validation: invalid values are reported, naming the field,
//! before anything is sent.

mod common;

use blaxel_jobs::types::PortProtocol;
use blaxel_jobs::{Client, Error, InvalidInput, JobBuilder, types};
use blaxel_jobs_httpmock::MockServerExt;
use common::{JOB, job, job_value, parse};
use httpmock::{Mock, MockServer};
use serde_json::json;
use std::time::Duration;

/// A server whose every request is counted (and answered 200).
async fn counting() -> (MockServer, Client) {
    let server = MockServer::start_async().await;
    let client = common::client(&server);
    (server, client)
}

fn any(server: &MockServer) -> Mock<'_> {
    server.mock(|w, t| {
        w.any_request();
        t.status(200);
    })
}

fn invalid(result: Result<impl std::fmt::Debug, Error>) -> InvalidInput {
    match result {
        Err(Error::InvalidInput(i)) => i,
        other => panic!("expected invalid input, got {other:?}"),
    }
}

fn job_with(edit: impl FnOnce(&mut serde_json::Value)) -> types::Job {
    let mut v = job_value(JOB);
    edit(&mut v);
    parse(v)
}

#[tokio::test]
async fn an_invalid_job_is_not_sent() {
    let (server, client) = counting().await;
    let all = any(&server);
    let cases: Vec<(types::Job, &str, &str)> = vec![
        (
            job_with(|v| v["metadata"]["name"] = json!("a".repeat(50))),
            "metadata.name",
            "at most 49",
        ),
        (
            job_with(|v| v["metadata"]["name"] = json!("Nightly_Report")),
            "metadata.name",
            "does not match",
        ),
        (
            job_with(|v| v["metadata"]["name"] = json!("")),
            "metadata.name",
            "empty",
        ),
        (
            job_with(|v| v["spec"]["runtime"]["diskPercent"] = json!(9)),
            "spec.runtime.diskPercent",
            "at least 10",
        ),
        (
            job_with(|v| v["spec"]["runtime"]["diskPercent"] = json!(96)),
            "spec.runtime.diskPercent",
            "at most 95",
        ),
        (
            job_with(|v| v["spec"]["triggers"][2]["configuration"]["timeout"] = json!(901)),
            "spec.triggers[2].configuration.timeout",
            "at most 900",
        ),
        (
            job_with(|v| v["metadata"]["displayName"] = json!("d".repeat(64))),
            "metadata.displayName",
            "at most 63",
        ),
        (
            job_with(|v| v["metadata"]["externalId"] = json!("ticket 4821")),
            "metadata.externalId",
            "",
        ),
    ];
    for (job, field, words) in cases {
        let create = invalid(client.jobs().create(job.clone()).send().await);
        assert_eq!(create.field(), Some(field), "{create}");
        assert!(create.message().contains(words), "{create}");
        // Update checks the same.
        let name = job.metadata.name.clone();
        if !name.is_empty() {
            let update = invalid(client.job(name).update(job).send().await);
            assert_eq!(update.field(), Some(field), "{update}");
        }
        let shown = Error::InvalidInput(create).to_string();
        assert!(
            shown.starts_with(&format!("invalid input: {field}: ")),
            "{shown}"
        );
    }
    assert_eq!(all.calls(), 0);
}

/// Values Blaxel's document does not rule out are sent as they are (with a
/// warning where they look wrong): the server is the authority.
#[tokio::test]
async fn values_the_document_allows_are_sent() {
    let server = MockServer::start_async().await;
    let recorder = common::Recorder::new();
    let all = server.mock(|w, t| {
        w.any_request();
        t.respond_with(recorder.responder(|_, req| {
            let body: serde_json::Value = serde_json::from_str(&req.body_string()).unwrap();
            common::json_response(200, &body)
        }));
    });
    let client = common::client(&server);
    type Edit = Box<dyn Fn(&mut serde_json::Value)>;
    let edits: Vec<Edit> = vec![
        Box::new(|v| v["metadata"]["name"] = json!("-lead")),
        Box::new(|v| v["metadata"]["name"] = json!("trail-")),
        Box::new(|v| v["spec"]["triggers"][0]["configuration"]["schedule"] = json!("@hourly")),
        Box::new(|v| v["spec"]["triggers"][0]["configuration"]["schedule"] = json!("0 0 3 * * *")),
        Box::new(|v| {
            v["spec"]["triggers"][0]["configuration"]
                .as_object_mut()
                .unwrap()
                .remove("schedule");
        }),
        Box::new(|v| v["spec"]["runtime"]["memory"] = json!(0)),
        Box::new(|v| v["spec"]["runtime"]["ports"][0]["target"] = json!(70000)),
        Box::new(|v| v["spec"]["volumes"][0]["mountPath"] = json!("scratch")),
        Box::new(|v| v["spec"]["volumes"][0]["sizeMb"] = json!(0)),
        Box::new(|v| v["spec"]["runtime"]["envs"][0]["name"] = json!("")),
    ];
    let mut sent = 0;
    for edit in &edits {
        let job = job_with(|v| edit(v));
        let name = job.metadata.name.clone();
        client.jobs().create(job.clone()).send().await.unwrap();
        client.job(name).update(job.clone()).send().await.unwrap();
        sent += 2;
        assert_eq!(recorder.count(), sent);
        let bodies = recorder.json_bodies();
        let expected = serde_json::to_value(&job).unwrap();
        assert_eq!(bodies[sent - 2], expected);
        assert_eq!(bodies[sent - 1], expected);
    }
    let job_ref = client.job(JOB);
    let executions = job_ref.executions();
    executions.create().env("", "x").send().await.unwrap();
    assert_eq!(all.calls(), sent + 1);
    assert_eq!(recorder.json_bodies()[sent]["env"], json!({"": "x"}));
}

#[tokio::test]
async fn page_sizes_are_clamped_not_refused() {
    let server = MockServer::start_async().await;
    let clamped = server.mock(|w, t| {
        w.query_param("limit", "200");
        t.status(200)
            .json_body(json!({"data": [], "meta": {"hasMore": false}}));
    });
    let executions = server.mock(|w, t| {
        w.query_param("limit", "100");
        t.status(200)
            .json_body(json!({"data": [], "meta": {"hasMore": false}}));
    });
    let smallest = server.mock(|w, t| {
        w.query_param("limit", "1");
        t.status(200)
            .json_body(json!({"data": [], "meta": {"hasMore": false}}));
    });
    let client = common::client(&server);
    client.jobs().list().limit(500).send().await.unwrap();
    client.jobs().list().limit(0).send().await.unwrap();
    client
        .job(JOB)
        .executions()
        .list()
        .limit(100)
        .send()
        .await
        .unwrap();
    client
        .job(JOB)
        .execution("ex-1")
        .tasks()
        .limit(u32::MAX)
        .send()
        .await
        .unwrap();
    assert_eq!(clamped.calls(), 2);
    assert_eq!(executions.calls(), 1);
    assert_eq!(smallest.calls(), 1);
}

#[tokio::test]
async fn update_requires_the_same_name() {
    let (server, client) = counting().await;
    let all = any(&server);
    let e = invalid(client.job("other-job").update(job(JOB)).send().await);
    assert_eq!(e.field(), Some("metadata.name"));
    assert!(e.message().contains("other-job"), "{e}");
    assert_eq!(all.calls(), 0);
}

#[tokio::test]
async fn list_limits_and_queries_are_checked() {
    let (server, client) = counting().await;
    let all = any(&server);
    let e = invalid(client.jobs().list().q("q".repeat(201)).send().await);
    assert_eq!(e.field(), Some("q"));

    let job_ref = client.job(JOB);
    let executions = job_ref.executions();
    let e = invalid(executions.list().q("q".repeat(201)).send().await);
    assert_eq!(e.field(), Some("q"));
    // The executions' page size has a range the server does not say it
    // clamps: a value outside it is refused, naming the range.
    let e = invalid(executions.list().limit(101).send().await);
    assert_eq!(e.field(), Some("limit"));
    assert!(e.message().contains("at most 100"), "{e}");
    let e = invalid(
        job_ref
            .execution("ex-1")
            .tasks()
            .q("q".repeat(201))
            .send()
            .await,
    );
    assert_eq!(e.field(), Some("q"));

    // Streams report the problem as their only item, without a request.
    use futures_util::StreamExt as _;
    let items: Vec<_> = client
        .jobs()
        .list()
        .q("q".repeat(201))
        .into_stream()
        .collect()
        .await;
    assert_eq!(items.len(), 1);
    assert!(matches!(&items[0], Err(Error::InvalidInput(_))));

    assert_eq!(all.calls(), 0);
}

#[tokio::test]
async fn an_execution_memory_is_the_servers_to_judge() {
    // The document states the rule (at most the job's memory) in words
    // only, so the server applies it: the SDK sends any value, without
    // reading the job first, and reports the server's refusal.
    let server = MockServer::start_async().await;
    let get = server.get_job(|w, t| {
        w.job_id(JOB);
        t.ok(&job(JOB)); // 4096 MB
    });
    let refused = server.create_job_execution(|w, t| {
        w.job_id(JOB)
            .into_inner()
            .json_body_includes(r#"{"memory": 8192}"#);
        t.bad_request(common::api_error(
            400,
            "bad_request",
            "memory: must be at most the job's memory (4096 MB), not 8192",
        ));
    });
    let taken = server.create_job_execution(|w, t| {
        w.job_id(JOB)
            .into_inner()
            .json_body_includes(r#"{"memory": 0}"#);
        t.ok(&parse(json!({"executionId": "e-1"})));
    });
    let client = common::client(&server);
    let executions = client.job(JOB).executions();
    let e = executions.create().memory(8192).send().await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(400), "{e}");
    assert!(e.to_string().contains("4096"), "{e}");
    executions.create().memory(0).send().await.unwrap();
    assert_eq!((get.calls(), refused.calls(), taken.calls()), (0, 1, 1));
}

#[tokio::test]
async fn tasks_must_be_json_objects() {
    let (server, client) = counting().await;
    let all = any(&server);
    let job_ref = client.job(JOB);
    let executions = job_ref.executions();
    let e = invalid(executions.create().task(json!(42)).send().await);
    assert_eq!(e.field(), Some("tasks[0]"));
    assert!(e.message().contains("object"), "{e}");
    let e = invalid(
        executions
            .create()
            .tasks([json!({"a": 1}), json!(["not", "an", "object"])])
            .send()
            .await,
    );
    assert_eq!(e.field(), Some("tasks[1]"));
    let e = invalid(executions.create().task("a string").build());
    assert_eq!(e.field(), Some("tasks[0]"));
    assert_eq!(all.calls(), 0);
}

#[tokio::test]
async fn empty_job_and_execution_ids_are_refused() {
    let (server, client) = counting().await;
    let all = any(&server);
    assert_eq!(
        invalid(client.job("").get().send().await).field(),
        Some("jobId")
    );
    assert_eq!(
        invalid(client.job("").delete().send().await).field(),
        Some("jobId")
    );
    assert_eq!(
        invalid(client.job(" ").revisions().send().await).field(),
        Some("jobId")
    );
    let no_job = client.job("").executions();
    assert_eq!(invalid(no_job.list().send().await).field(), Some("jobId"));
    assert_eq!(invalid(no_job.create().send().await).field(), Some("jobId"));
    assert_eq!(
        invalid(client.job("").execution("e").get().send().await).field(),
        Some("jobId")
    );
    let job_ref = client.job(JOB);
    for e in [
        invalid(job_ref.execution("").get().send().await),
        invalid(job_ref.execution("").cancel().send().await),
        invalid(job_ref.execution("  ").tasks().send().await),
    ] {
        assert_eq!(e.field(), Some("executionId"), "{e}");
    }
    let e = invalid(
        client
            .job("")
            .wait_until_deployed()
            .wait(Duration::from_secs(1))
            .await,
    );
    assert_eq!(e.field(), Some("jobId"));
    assert_eq!(all.calls(), 0);
}

#[test]
fn the_job_builder_checks_its_result() {
    let e = invalid(JobBuilder::new("Bad_Name").build());
    assert_eq!(e.field(), Some("metadata.name"));
    let e = invalid(JobBuilder::new("ok").disk_percent(99).build());
    assert_eq!(e.field(), Some("spec.runtime.diskPercent"));
    JobBuilder::new("ok")
        .cron("@daily", [json!({})])
        .build()
        .unwrap();
    let e = invalid(JobBuilder::new("ok").cron("0 3 * * *", [json!(1)]).build());
    assert!(e.field().unwrap().contains("tasks[0]"), "{e}");
    let e = invalid(
        JobBuilder::new("ok")
            .http_async_trigger(
                "/run",
                "https://hooks.example.com/x",
                Duration::from_secs(901),
            )
            .build(),
    );
    assert_eq!(e.field(), Some("spec.triggers[0].configuration.timeout"));
    // Rules of the SDK's own are warnings, not refusals.
    JobBuilder::new("ok")
        .port("metrics", 0, PortProtocol::Http)
        .volume("v", "data", 0)
        .env("", "x")
        .build()
        .unwrap();
    JobBuilder::new("a".repeat(49)).build().unwrap();
    JobBuilder::new("-a-").build().unwrap();
}

#[test]
fn a_bad_cron_task_names_the_trigger_index() {
    let e = invalid(
        JobBuilder::new("ok")
            .http_trigger("/run")
            .cron("0 3 * * *", [json!({}), json!("not an object")])
            .build(),
    );
    assert_eq!(e.field(), Some("spec.triggers[1].configuration.tasks[1]"));
}
