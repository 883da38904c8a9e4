//! Every operation and every parameter through the fluent API, request
//! bodies, job definitions from files, and the JobBuilder's output.

mod common;

use blaxel_jobs::types::{
    DeploymentStatus, Generation, JobExecutionStatus, ListAnchor, ListSort, PortProtocol,
};
use blaxel_jobs::{Error, Format, JobBuilder, job_from_file, parse_job, types};
use blaxel_jobs_httpmock::MockServerExt;
use common::{
    JOB, Recorder, TempPath, execution, execution_page, fixture_value, job, job_page,
    json_response, parse, task_page,
};
use httpmock::{MockServer, When};
use serde_json::{Value, json};
use std::time::Duration;

const EX: &str = "exec-7h1c5vde";

/// Requires exactly these query parameter names, no others.
fn only_params(when: When, names: &[&str]) -> When {
    let mut expected: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    expected.sort();
    when.is_true(move |req| {
        let mut got: Vec<String> = req.query_params().into_iter().map(|(k, _)| k).collect();
        got.sort();
        got == expected
    })
}

#[tokio::test]
async fn list_jobs_sends_every_parameter() {
    let server = MockServer::start_async().await;
    let mock = server.list_jobs(|w, t| {
        let w = w
            .limit(10)
            .sort(ListSort::NameAsc)
            .q("rep")
            .anchor(ListAnchor::End)
            .status("DEPLOYED,FAILED")
            .cursor("c");
        only_params(
            w.into_inner(),
            &["limit", "sort", "q", "anchor", "status", "cursor"],
        );
        t.ok(&job_page(&["nightly-report", "report-2"], None));
    });
    let raw = server.mock(|w, t| {
        w.method("GET")
            .path("/jobs")
            .query_param("sort", "name:asc");
        t.status(500);
    });
    let page = common::client(&server)
        .jobs()
        .list()
        .limit(10)
        .sort(ListSort::NameAsc)
        .q("rep")
        .anchor(ListAnchor::End)
        .status([DeploymentStatus::Deployed, DeploymentStatus::Failed])
        .cursor("c")
        .send()
        .await
        .unwrap();
    assert_eq!(page.data.len(), 2);
    assert_eq!(page.meta.unwrap().total, Some(42));
    assert_eq!(mock.calls(), 1);
    assert_eq!(raw.calls(), 0);
}

#[tokio::test]
async fn list_jobs_sends_no_parameter_by_default_and_takes_status_strings() {
    let server = MockServer::start_async().await;
    let bare = server.list_jobs(|w, t| {
        only_params(w.into_inner(), &[]);
        t.ok(&job_page(&[], None));
    });
    let by_status = server.list_jobs(|w, t| {
        w.status("DEPLOYED,BUILDING,SOMETHING_NEW");
        t.ok(&job_page(&[], None));
    });
    let client = common::client(&server);
    client.jobs().list().send().await.unwrap();
    client
        .jobs()
        .list()
        .status(["DEPLOYED", "building", "SOMETHING_NEW"])
        .send()
        .await
        .unwrap();
    assert_eq!((bare.calls(), by_status.calls()), (1, 1));
}

#[tokio::test]
async fn create_job_sends_the_definition() {
    let server = MockServer::start_async().await;
    let definition = JobBuilder::new(JOB)
        .image("ghcr.io/acme/report:1.4")
        .memory(2048)
        .build()
        .unwrap();
    let mock = server.create_job(|w, t| {
        w.body(&definition)
            .into_inner()
            .header("content-type", "application/json");
        t.ok(&job(JOB));
    });
    let created = common::client(&server)
        .jobs()
        .create(definition.clone())
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status, Some(DeploymentStatus::Deployed));
    assert_eq!(mock.calls(), 1);
}

#[tokio::test]
async fn get_job_with_and_without_show_secrets() {
    let server = MockServer::start_async().await;
    let with = server.get_job(|w, t| {
        w.job_id(JOB).show_secrets(true);
        t.ok(&job(JOB));
    });
    let without = server.get_job(|w, t| {
        only_params(w.job_id(JOB).into_inner(), &[]);
        t.ok(&job(JOB));
    });
    let client = common::client(&server);
    let found = client
        .job(JOB)
        .get()
        .show_secrets(true)
        .send()
        .await
        .unwrap();
    assert_eq!(found.metadata.name, JOB);
    client.job(JOB).get().send().await.unwrap();
    assert_eq!((with.calls(), without.calls()), (1, 1));
}

#[tokio::test]
async fn update_delete_and_revisions() {
    let server = MockServer::start_async().await;
    let mut changed = job(JOB);
    changed.spec.runtime.as_mut().unwrap().memory = Some(8192);
    let update = server.update_job(|w, t| {
        w.job_id(JOB).body(&changed);
        t.ok(&changed);
    });
    let mut deleting = job(JOB);
    deleting.status = Some(DeploymentStatus::Deleting);
    let delete = server.delete_job(|w, t| {
        w.job_id(JOB);
        t.ok(&deleting);
    });
    let revisions = server.list_job_revisions(|w, t| {
        w.job_id(JOB);
        t.ok(&parse(fixture_value("revisions.json")));
    });
    let client = common::client(&server);
    let updated = client
        .job(JOB)
        .update(changed.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(updated.spec.runtime.unwrap().memory, Some(8192));
    client
        .job(JOB)
        .update(changed.clone())
        .send()
        .await
        .unwrap();
    let deleted = client.job(JOB).delete().send().await.unwrap();
    assert_eq!(deleted.status, Some(DeploymentStatus::Deleting));
    client.job(JOB).delete().send().await.unwrap();
    let revs = client.job(JOB).revisions().send().await.unwrap();
    assert_eq!(revs.len(), 3);
    assert_eq!(revs[1].id.as_deref(), Some("rev-7c1e2f0a"));
    assert_eq!(revs[1].active, Some(true));
    client.job(JOB).revisions().send().await.unwrap();
    assert_eq!(
        (update.calls(), delete.calls(), revisions.calls()),
        (2, 2, 2)
    );
}

#[tokio::test]
async fn list_executions_sends_every_parameter() {
    let server = MockServer::start_async().await;
    let mock = server.list_job_executions(|w, t| {
        let w = w
            .job_id(JOB)
            .limit(20)
            .offset(40)
            .sort(ListSort::CreatedAtAsc)
            .q("nightly")
            .cursor("x1");
        only_params(w.into_inner(), &["limit", "offset", "sort", "q", "cursor"]);
        t.ok(&execution_page(&["e1", "e2"], None));
    });
    let page = common::client(&server)
        .job(JOB)
        .executions()
        .list()
        .limit(20)
        .offset(40)
        .sort(ListSort::CreatedAtAsc)
        .q("nightly")
        .cursor("x1")
        .send()
        .await
        .unwrap();
    assert_eq!(page.data.len(), 2);
    assert_eq!(mock.calls(), 1);
}

#[tokio::test]
async fn create_execution_sends_every_field() {
    let server = MockServer::start_async().await;
    let rec = Recorder::new();
    let create =
        server.create_job_execution(|w, t| {
            w.job_id(JOB)
                .into_inner()
                .header("content-type", "application/json");
            t.into_inner().respond_with(rec.responder(|_, _| {
                json_response(200, &fixture_value("create_execution_output.json"))
            }));
        });
    let out = common::client(&server)
        .job(JOB)
        .executions()
        .create()
        .task(json!({"region": "emea"}))
        .tasks([json!({"region": "amer"}), json!({"region": "apac"})])
        .env("MODE", "full")
        .env("DATE", "2026-10-31")
        .memory(2048)
        .allow_queue(false)
        .execution_id("exec-backfill-2026-10")
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .unwrap();
    assert_eq!(out.execution_id.as_deref(), Some("exec-backfill-2026-10"));
    assert_eq!(out.tasks.len(), 2);
    // Memory is checked against the job's by the server: one request.
    assert_eq!(create.calls(), 1);

    let mut body = rec.json_bodies().remove(0);
    let id = body.as_object_mut().unwrap().remove("id").unwrap();
    assert!(uuid::Uuid::parse_str(id.as_str().unwrap()).is_ok(), "{id}");
    assert_eq!(
        body,
        json!({
            "allowQueue": false,
            "env": {"MODE": "full", "DATE": "2026-10-31"},
            "executionId": "exec-backfill-2026-10",
            "memory": 2048,
            "tasks": [{"region": "emea"}, {"region": "amer"}, {"region": "apac"}],
        })
    );
}

#[tokio::test]
async fn a_whole_request_is_sent_with_ids_filled_in() {
    let server = MockServer::start_async().await;
    let rec = Recorder::new();
    server.create_job_execution(|w, t| {
        w.job_id(JOB);
        t.into_inner()
            .respond_with(rec.responder(|_, _| json_response(200, &json!({"executionId": "x"}))));
    });
    let request: types::CreateJobExecutionRequest =
        parse(fixture_value("create_execution_request.json"));
    let client = common::client(&server);
    let job_ref = client.job(JOB);
    let executions = job_ref.executions();

    // build() shows the request as it will be sent.
    let mut bare = request.clone();
    bare.execution_id = None;
    bare.id = None;
    let built = executions.create().request(bare.clone()).build().unwrap();
    assert!(built.execution_id.as_deref().is_some_and(|s| !s.is_empty()));
    assert!(built.id.as_deref().is_some_and(|s| !s.is_empty()));
    assert_eq!(built.tasks, bare.tasks);

    // The fixture overrides memory (2048 MB): the server checks it against
    // the job's, and the request goes as it is.
    executions
        .create()
        .request(request.clone())
        .send()
        .await
        .unwrap();
    let sent = rec.json_bodies().remove(0);
    assert_eq!(sent, fixture_value("create_execution_request.json"));
}

#[tokio::test]
async fn get_cancel_and_list_tasks() {
    let server = MockServer::start_async().await;
    let get = server.get_job_execution(|w, t| {
        w.job_id(JOB).execution_id(EX);
        t.ok(&execution(EX, "running"));
    });
    let cancel = server.delete_job_execution(|w, t| {
        w.job_id(JOB).execution_id(EX);
        t.ok(&execution(EX, "cancelling"));
    });
    let tasks = server.list_job_execution_tasks(|w, t| {
        let w = w
            .job_id(JOB)
            .execution_id(EX)
            .limit(50)
            .sort(ListSort::NameDesc)
            .q("task")
            .cursor("t1");
        only_params(w.into_inner(), &["limit", "sort", "q", "cursor"]);
        t.ok(&task_page(&["task-2", "task-1"], None));
    });
    let client = common::client(&server);
    let job_ref = client.job(JOB);
    let found = job_ref.execution(EX).get().send().await.unwrap();
    assert_eq!(found.status, Some(JobExecutionStatus::Running));
    assert_eq!(found.stats.unwrap().total, Some(3));
    let cancelled = job_ref.execution(EX).cancel().send().await.unwrap();
    assert_eq!(cancelled.status, Some(JobExecutionStatus::Cancelling));
    let page = job_ref
        .execution(EX)
        .tasks()
        .limit(50)
        .sort(ListSort::NameDesc)
        .q("task")
        .cursor("t1")
        .send()
        .await
        .unwrap();
    assert_eq!(page.data.len(), 2);
    assert_eq!((get.calls(), cancel.calls(), tasks.calls()), (1, 1, 1));
}

#[tokio::test]
async fn ids_are_encoded_in_paths() {
    let server = MockServer::start_async().await;
    let mock = server.mock(|w, t| {
        w.method("GET")
            .path("/jobs/nightly-report/executions/exec%207%2Fh%251c");
        t.status(200)
            .json_body(serde_json::to_value(execution("exec 7/h%1c", "running")).unwrap());
    });
    let found = common::client(&server)
        .job(JOB)
        .execution("exec 7/h%1c")
        .get()
        .send()
        .await
        .unwrap();
    assert_eq!(found.metadata.id.as_deref(), Some("exec 7/h%1c"));
    assert_eq!(mock.calls(), 1);
}

#[tokio::test]
async fn the_raw_client_carries_the_credentials_but_does_not_retry() {
    let server = MockServer::start_async().await;
    let mock = server.get_job(|w, t| {
        w.job_id(JOB)
            .into_inner()
            .header("authorization", format!("Bearer {}", common::KEY))
            .header("x-blaxel-workspace", common::WS);
        t.server_error(503, json!({"code": 503, "error": "unavailable"}));
    });
    let client = common::client(&server);
    let err = client.raw().get_job().job_id(JOB).send().await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(mock.calls(), 1);
    assert_eq!(client.job(JOB).job_id(), JOB);
    assert_eq!(client.config().workspace(), common::WS);
}

const YAML_DEFINITION: &str = r#"
metadata:
  name: nightly-report
  displayName: Nightly sales report
  labels:
    team: analytics
spec:
  enabled: true
  region: eu-lon-1
  runtime:
    image: ghcr.io/acme-analytics/nightly-report:1.4.2
    memory: 4096
    timeout: 3600
    maxRetries: 3
    generation: mk3
    envs:
      - name: LOG_LEVEL
        value: info
      - name: DATABASE_URL
        value: postgres://db
        secret: true
  triggers:
    - type: cron
      configuration:
        schedule: "0 3 * * *"
        tasks:
          - region: emea
"#;

fn expected_definition() -> Value {
    json!({
        "metadata": {
            "name": "nightly-report",
            "displayName": "Nightly sales report",
            "labels": {"team": "analytics"}
        },
        "spec": {
            "enabled": true,
            "region": "eu-lon-1",
            "runtime": {
                "image": "ghcr.io/acme-analytics/nightly-report:1.4.2",
                "memory": 4096,
                "timeout": 3600,
                "maxRetries": 3,
                "generation": "mk3",
                "envs": [
                    {"name": "LOG_LEVEL", "value": "info"},
                    {"name": "DATABASE_URL", "value": "postgres://db", "secret": true}
                ]
            },
            "triggers": [{
                "type": "cron",
                "configuration": {"schedule": "0 3 * * *", "tasks": [{"region": "emea"}]}
            }]
        }
    })
}

#[test]
fn job_from_file_reads_yaml_and_json() {
    let yaml = TempPath::file("job.yaml", YAML_DEFINITION);
    let json_file = TempPath::file("job.json", &expected_definition().to_string());
    let yml = TempPath::file("job.yml", YAML_DEFINITION);
    let from_yaml = job_from_file(yaml.path()).unwrap();
    let from_json = job_from_file(json_file.path()).unwrap();
    let from_yml = job_from_file(yml.path()).unwrap();
    assert_eq!(
        serde_json::to_value(&from_yaml).unwrap(),
        expected_definition()
    );
    assert_eq!(from_yaml, from_json);
    assert_eq!(from_yaml, from_yml);
    assert_eq!(
        parse_job(YAML_DEFINITION, Format::Yaml).unwrap(),
        parse_job(&expected_definition().to_string(), Format::Json).unwrap()
    );
}

#[test]
fn job_from_file_errors_name_the_field_and_the_file() {
    let bad = TempPath::file(
        "bad.yaml",
        "metadata:\n  name: nightly-report\nspec:\n  runtime:\n    memory: lots\n",
    );
    match job_from_file(bad.path()).unwrap_err() {
        Error::InvalidInput(i) => {
            assert_eq!(i.field(), Some("spec.runtime.memory"));
            assert!(i.message().contains(&bad.display()), "{i}");
        }
        other => panic!("unexpected {other:?}"),
    }
    let invalid = TempPath::file(
        "bad-name.json",
        r#"{"metadata":{"name":"Bad Name"},"spec":{}}"#,
    );
    match job_from_file(invalid.path()).unwrap_err() {
        Error::InvalidInput(i) => assert_eq!(i.field(), Some("metadata.name")),
        other => panic!("unexpected {other:?}"),
    }
    let broken = TempPath::file("broken.json", "{\"metadata\": ");
    match job_from_file(broken.path()).unwrap_err() {
        Error::InvalidInput(i) => assert!(i.message().contains("JSON"), "{i}"),
        other => panic!("unexpected {other:?}"),
    }
    let missing = common::temp_path("missing.yaml");
    match job_from_file(&missing).unwrap_err() {
        Error::InvalidInput(i) => {
            assert!(i.message().contains(&missing.display().to_string()), "{i}")
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn the_job_builder_produces_the_expected_document() {
    let job = JobBuilder::new("nightly-report")
        .display_name("Nightly report")
        .label("team", "data")
        .external_id("ticket-4821")
        .image("registry.example.com/report:1.4")
        .memory(2048)
        .timeout(Duration::from_secs(900))
        .max_retries(2)
        .max_concurrent_tasks(4)
        .generation(Generation::Mk3)
        .disk_percent(50)
        .env("LOG_LEVEL", "info")
        .secret_env("DB_PASSWORD", "s3cr3t")
        .region("eu-lon-1")
        .policy("eu-only")
        .volume("scratch", "/scratch", 1024)
        .port("metrics", 9090, PortProtocol::Http)
        .cron("0 3 * * *", [json!({"day": "yesterday"})])
        .http_trigger("/run")
        .http_async_trigger(
            "/backfill",
            "https://hooks.example.com/done",
            Duration::from_secs(600),
        )
        .enabled(false)
        .build()
        .unwrap();
    let expected = json!({
        "metadata": {
            "name": "nightly-report",
            "displayName": "Nightly report",
            "labels": {"team": "data"},
            "externalId": "ticket-4821"
        },
        "spec": {
            "enabled": false,
            "region": "eu-lon-1",
            "policies": ["eu-only"],
            "runtime": {
                "image": "registry.example.com/report:1.4",
                "memory": 2048,
                "timeout": 900,
                "maxRetries": 2,
                "maxConcurrentTasks": 4,
                "generation": "mk3",
                "diskPercent": 50,
                "envs": [
                    {"name": "LOG_LEVEL", "value": "info", "secret": false},
                    {"name": "DB_PASSWORD", "value": "s3cr3t", "secret": true}
                ],
                "ports": [{"name": "metrics", "target": 9090, "protocol": "HTTP"}]
            },
            "volumes": [{
                "name": "scratch", "mountPath": "/scratch", "sizeMb": 1024, "type": "ephemeral"
            }],
            "triggers": [
                {
                    "type": "cron", "enabled": true,
                    "configuration": {"schedule": "0 3 * * *", "tasks": [{"day": "yesterday"}]}
                },
                {"type": "http", "enabled": true, "configuration": {"path": "/run"}},
                {
                    "type": "http-async", "enabled": true,
                    "configuration": {
                        "path": "/backfill",
                        "callbackUrl": "https://hooks.example.com/done",
                        "timeout": 600
                    }
                }
            ]
        }
    });
    assert_eq!(serde_json::to_value(&job).unwrap(), expected);

    // A minimal job: a name, enabled.
    let minimal = JobBuilder::new("etl").build().unwrap();
    assert_eq!(
        serde_json::to_value(&minimal).unwrap(),
        json!({"metadata": {"name": "etl"}, "spec": {"enabled": true}})
    );
    // From an existing definition, for an update.
    let edited = JobBuilder::from(job.clone()).memory(4096).build().unwrap();
    assert_eq!(edited.spec.runtime.unwrap().memory, Some(4096));
}

#[tokio::test]
async fn an_empty_status_list_sends_no_status_parameter() {
    let server = MockServer::start_async().await;
    let mock = server.list_jobs(|w, t| {
        w.status(None);
        t.ok(&job_page(&["a"], None));
    });
    common::client(&server)
        .jobs()
        .list()
        .status(Vec::<DeploymentStatus>::new())
        .send()
        .await
        .unwrap();
    assert_eq!(mock.calls(), 1);
}

#[tokio::test]
async fn a_raw_request_executed_with_client_credentials_carries_a_token() {
    let server = MockServer::start_async().await;
    server.mock(|w, t| {
        w.method("POST").path("/oauth/token");
        t.status(200)
            .json_body(json!({"access_token": "tok-raw", "expires_in": 3600}));
    });
    let mock = server.get_job(|w, t| {
        w.job_id(JOB)
            .into_inner()
            .header("authorization", "Bearer tok-raw");
        t.ok(&job(JOB));
    });
    let client = blaxel_jobs::Client::builder()
        .ignore_environment()
        .base_url(server.base_url())
        .workspace(common::WS)
        .client_credentials("client-7", "secret")
        .build()
        .unwrap();
    // Sent through the SDK, a request built with the generated client
    // carries the access token, as the SDK's own do.
    let found = client.execute(client.raw().get_job().job_id(JOB)).await;
    assert!(found.is_ok(), "{:?}", found.err());
    assert_eq!(mock.calls(), 1);
}

#[test]
fn a_yaml_syntax_error_is_reported_on_one_line() {
    let broken = TempPath::file("broken.yaml", "metadata: [unterminated\n");
    let err = job_from_file(broken.path()).unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    let shown = err.to_string();
    assert!(!shown.contains('\n'), "{shown}");
}
