//! `JobRef::update_with`: a read-modify-write against a server whose jobs
//! carry fields the SDK does not model, at the top level, nested in `spec`
//! and `runtime`, and inside list elements. The PUT must carry every one of
//! them back exactly as the server wrote it.

mod common;

use blaxel_jobs::{Error, UpdateRefusal, types};
use common::{JOB, Recorder};
use httpmock::{Mock, MockServer};
use serde_json::{Value, json};

/// A job as a newer server might answer it: the fields marked `u_` (and
/// `gpu`, `observability`, ...) are unknown to the SDK; the spacing and the
/// number forms (`0.50`, `1.0`, `1e3`) are the server's own.
const ORIGINAL: &str = r#"{
  "metadata": {"name": "nightly-report", "resourceVersion": "17", "labels": {"team": "data"},
               "createdAt": "2026-11-02T08:15:00Z"},
  "spec": {
    "enabled": true,
    "u_r\u00e9gion" : "eu-west",
    "priorityClass": {"tier": "high", "weight": 0.50},
    "runtime": {
      "memory": 2048,
      "gpu": { "type": "l4", "count": 1.0 },
      "envs": [
        {"name": "LOG_LEVEL", "value": "info", "u_source": {"kind": "console", "at": 1e3}},
        {"name": "DB_PASSWORD", "secret": true, "value": "***", "u_rotation": "30d"},
        {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "api", "key": "token"}}, "u_note": null}
      ],
      "ports": [{"target": 8080, "u_appProtocol": "h2c"}]
    },
    "triggers": [
      {"id": "nightly", "type": "cron", "configuration": {"schedule": "@daily", "u_bucket": "b-1"}},
      {"id": "hook", "type": "http", "configuration": {"path": "/run"}, "u_owner": "bl"}
    ],
    "volumes": [{"name": "scratch", "mountPath": "/scratch", "type": "ephemeral", "sizeMb": 10240, "u_storageClass": "fast"}]
  },
  "status": "DEPLOYED",
  "observability": { "traces" : true, "rate" : 0.50 },
  "events": [{"type": "deployment", "status": "DEPLOYED", "u_actor": "bl"}]
}"#;

/// Exact pieces of `ORIGINAL` that an edit elsewhere must not touch: the
/// text of unknown values, and the key spellings and spacing of the
/// members around them, in objects the edit changed too.
const KEPT_TEXT: &[&str] = &[
    r#""resourceVersion": "17""#,
    r#"{"tier": "high", "weight": 0.50}"#,
    r#"{ "type": "l4", "count": 1.0 }"#,
    r#"{ "traces" : true, "rate" : 0.50 }"#,
    r#"[{"type": "deployment", "status": "DEPLOYED", "u_actor": "bl"}]"#,
    r#"{"id": "hook", "type": "http", "configuration": {"path": "/run"}, "u_owner": "bl"}"#,
    r#""u_storageClass": "fast""#,
    r#""u_appProtocol": "h2c""#,
    r#""u_r\u00e9gion" : "eu-west","#,
];

struct Server {
    server: MockServer,
    get: Recorder,
    put: Recorder,
}

impl Server {
    /// GetJob answers `original`; UpdateJob answers what it was sent. Both
    /// answer only requests with the SDK's credential, workspace, version
    /// and content headers.
    async fn start(original: impl Into<String>) -> Self {
        let original: String = original.into();
        let server = MockServer::start_async().await;
        let (get, put) = (Recorder::new(), Recorder::new());
        let bearer = format!("Bearer {}", common::KEY);
        server.mock(|w, t| {
            w.method("GET")
                .path(format!("/jobs/{JOB}"))
                .header("authorization", &bearer)
                .header("x-blaxel-workspace", common::WS)
                .header_exists("blaxel-version")
                .header("accept", "application/json");
            t.respond_with(get.responder(move |_, _| {
                common::response(
                    200,
                    &[("content-type", "application/json")],
                    original.clone(),
                )
            }));
        });
        server.mock(|w, t| {
            w.method("PUT")
                .path(format!("/jobs/{JOB}"))
                .header("authorization", &bearer)
                .header("x-blaxel-workspace", common::WS)
                .header_exists("blaxel-version")
                .header("content-type", "application/json");
            t.respond_with(put.responder(|_, req| {
                common::response(
                    200,
                    &[("content-type", "application/json")],
                    req.body_string(),
                )
            }));
        });
        Server { server, get, put }
    }

    fn client(&self) -> blaxel_jobs::Client {
        common::client(&self.server)
    }

    /// The one PUT body, as text.
    fn put_body(&self) -> String {
        let bodies = self.put.bodies();
        assert_eq!(bodies.len(), 1, "one PUT");
        bodies[0].clone()
    }
}

fn original() -> Value {
    serde_json::from_str(ORIGINAL).unwrap()
}

fn runtime(job: &mut types::Job) -> &mut types::JobRuntime {
    job.spec.runtime.get_or_insert_with(Default::default)
}

#[tokio::test]
async fn an_edit_keeps_every_unknown_field_byte_for_byte() {
    let s = Server::start(ORIGINAL).await;
    let stored = s
        .client()
        .job(JOB)
        .update_with(|job| runtime(job).memory = Some(4096))
        // The masked DB_PASSWORD goes back as read (see the secret tests).
        .allow_masked_secrets(true)
        .send()
        .await
        .unwrap();
    assert_eq!(stored.spec.runtime.unwrap().memory, Some(4096));

    let body = s.put_body();
    for kept in KEPT_TEXT {
        assert!(body.contains(kept), "{kept} is not in the PUT body: {body}");
    }
    // Semantically: the original with exactly one change.
    let mut want = original();
    want["spec"]["runtime"]["memory"] = json!(4096);
    let sent: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(sent, want);
    // And as text: the server's bytes with only that value replaced (keys
    // as escaped, whitespace, number forms, order).
    assert_eq!(
        body,
        ORIGINAL.replace(r#""memory": 2048"#, r#""memory": 4096"#)
    );
    assert_eq!(s.get.count(), 1);
}

#[tokio::test]
async fn env_entries_keep_their_unknown_fields_by_name() {
    let s = Server::start(ORIGINAL).await;
    s.client()
        .job(JOB)
        .update_with(|job| {
            let envs = &mut runtime(job).envs;
            // Change one, drop one, reorder, add one.
            envs.retain(|e| e.name.as_deref() != Some("DB_PASSWORD"));
            envs.reverse();
            envs[1].value = Some("debug".into());
            envs.push(types::Env {
                name: Some("NEW".into()),
                value: Some("1".into()),
                secret: None,
                value_from: None,
            });
        })
        .send()
        .await
        .unwrap();
    let body = s.put_body();
    // The untouched entry is the server's text, unknown member and all.
    assert!(
        body.contains(r#"{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "api", "key": "token"}}, "u_note": null}"#),
        "{body}"
    );
    let sent: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        sent["spec"]["runtime"]["envs"],
        json!([
            {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "api", "key": "token"}}, "u_note": null},
            {"name": "LOG_LEVEL", "value": "debug", "u_source": {"kind": "console", "at": 1e3}},
            {"name": "NEW", "value": "1"}
        ])
    );
    // The changed entry keeps the exact text of its unknown member, key
    // and spacing included; only the edited value is the SDK's.
    assert!(
        body.contains(
            r#"{"name": "LOG_LEVEL", "value": "debug", "u_source": {"kind": "console", "at": 1e3}}"#
        ),
        "{body}"
    );
    for kept in KEPT_TEXT {
        assert!(body.contains(kept), "{kept}: {body}");
    }
}

#[tokio::test]
async fn triggers_and_volumes_pair_by_id_and_name() {
    let s = Server::start(ORIGINAL).await;
    s.client()
        .job(JOB)
        .update_with(|job| {
            let triggers = &mut job.spec.triggers.as_mut().unwrap().0;
            triggers[0].configuration.as_mut().unwrap().schedule = Some("0 4 * * *".into());
            let volumes = &mut job.spec.volumes.as_mut().unwrap().0;
            volumes[0].size_mb = 20480;
        })
        .allow_masked_secrets(true)
        .send()
        .await
        .unwrap();
    let sent: Value = serde_json::from_str(&s.put_body()).unwrap();
    let mut want = original();
    want["spec"]["triggers"][0]["configuration"]["schedule"] = json!("0 4 * * *");
    want["spec"]["volumes"][0]["sizeMb"] = json!(20480);
    assert_eq!(sent, want);
}

#[tokio::test]
async fn emptying_a_list_sends_it_empty_and_none_leaves_a_field_out() {
    let s = Server::start(ORIGINAL).await;
    s.client()
        .job(JOB)
        .update_with(|job| {
            runtime(job).envs.clear();
            job.metadata.labels = None;
        })
        .send()
        .await
        .unwrap();
    let body = s.put_body();
    let sent: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(sent["spec"]["runtime"]["envs"], json!([]));
    assert!(sent["metadata"].get("labels").is_none(), "{body}");
    let mut want = original();
    want["spec"]["runtime"]["envs"] = json!([]);
    want["metadata"].as_object_mut().unwrap().remove("labels");
    assert_eq!(sent, want);
}

#[tokio::test]
async fn an_edit_that_changes_nothing_writes_nothing() {
    let s = Server::start(ORIGINAL).await;
    let job = s
        .client()
        .job(JOB)
        .update_with(|job| runtime(job).memory = Some(2048))
        .send()
        .await
        .unwrap();
    assert_eq!(job.metadata.name, JOB);
    assert_eq!((s.get.count(), s.put.count()), (1, 0));
}

#[tokio::test]
async fn a_renamed_or_invalid_job_is_not_written() {
    let s = Server::start(ORIGINAL).await;
    let client = s.client();
    let err = client
        .job(JOB)
        .update_with(|job| job.metadata.name = "other".into())
        .send()
        .await
        .unwrap_err();
    match err {
        Error::InvalidInput(i) => assert_eq!(i.field(), Some("metadata.name")),
        other => panic!("{other:?}"),
    }
    let err = client
        .job(JOB)
        .update_with(|job| runtime(job).disk_percent = Some(99))
        .send()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("diskPercent"), "{err}");
    assert_eq!(s.put.count(), 0);
}

#[tokio::test]
async fn show_secrets_reads_in_clear() {
    let server = MockServer::start_async().await;
    let get: Mock = server.mock(|w, t| {
        w.method("GET")
            .path(format!("/jobs/{JOB}"))
            .query_param("show_secrets", "true");
        t.status(200)
            .header("content-type", "application/json")
            .body(ORIGINAL);
    });
    let job = common::client(&server)
        .job(JOB)
        .update_with(|_| {})
        .show_secrets(true)
        .send()
        .await
        .unwrap();
    assert_eq!(job.metadata.name, JOB);
    get.assert();
}

#[tokio::test]
async fn read_failures_are_typed_and_nothing_is_written() {
    let server = MockServer::start_async().await;
    server.mock(|w, t| {
        w.method("GET").path("/jobs/missing");
        t.status(404)
            .header("content-type", "application/json")
            .body(common::api_error(404, "not_found", "no such job").to_string());
    });
    server.mock(|w, t| {
        w.method("GET").path("/jobs/broken");
        t.status(200)
            .header("content-type", "application/json")
            .body(r#"{"metadata": {"name": "broken"}, "spec": {"runtime": {"memory": "big"}}}"#);
    });
    server.mock(|w, t| {
        w.method("GET").path("/jobs/binary");
        t.status(200)
            .header("content-type", "application/json")
            .body([0xff_u8, 0xfe, b'{', b'}']);
    });
    let put = server.mock(|w, t| {
        w.method("PUT");
        t.status(200);
    });
    let client = common::client(&server);
    let err = client
        .job("binary")
        .update_with(|_| {})
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode(_)), "{err:?}");
    let err = client
        .job("missing")
        .update_with(|_| {})
        .send()
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let err = client
        .job("broken")
        .update_with(|_| {})
        .send()
        .await
        .unwrap_err();
    match err {
        Error::Decode(d) => assert_eq!(d.path(), "spec.runtime.memory"),
        other => panic!("{other:?}"),
    }
    assert_eq!(put.calls(), 0);
}

#[tokio::test]
async fn a_write_answered_with_garbage_is_a_decode_error() {
    let server = MockServer::start_async().await;
    server.mock(|w, t| {
        w.method("GET").path(format!("/jobs/{JOB}"));
        t.status(200)
            .header("content-type", "application/json")
            .body(ORIGINAL);
    });
    let put = server.mock(|w, t| {
        w.method("PUT").path(format!("/jobs/{JOB}"));
        t.status(200).body("<html>gateway</html>");
    });
    let err = common::client(&server)
        .job(JOB)
        .update_with(|job| runtime(job).memory = Some(512))
        .allow_masked_secrets(true)
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode(_)), "{err:?}");
    assert_eq!(put.calls(), 1, "a decode failure is not retried");
}

#[tokio::test]
async fn a_failed_write_is_retried_with_the_same_body() {
    let server = MockServer::start_async().await;
    server.mock(|w, t| {
        w.method("GET").path(format!("/jobs/{JOB}"));
        t.status(200)
            .header("content-type", "application/json")
            .body(ORIGINAL);
    });
    let put = Recorder::new();
    server.mock(|w, t| {
        w.method("PUT").path(format!("/jobs/{JOB}"));
        t.respond_with(put.responder(|n, req| {
            if n == 0 {
                common::json_response(503, &common::api_error(503, "unavailable", "busy"))
            } else {
                common::response(
                    200,
                    &[("content-type", "application/json")],
                    req.body_string(),
                )
            }
        }));
    });
    common::client(&server)
        .job(JOB)
        .update_with(|job| runtime(job).memory = Some(1024))
        .allow_masked_secrets(true)
        .send()
        .await
        .unwrap();
    let bodies = put.bodies();
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0], bodies[1]);
    assert!(bodies[0].contains(r#"{ "type": "l4", "count": 1.0 }"#));
}

/// The refusal in `err`, asserting it is one.
fn refusal(err: Error) -> blaxel_jobs::UpdateRefused {
    match err {
        Error::UpdateRefused(r) => *r,
        other => panic!("not a refusal: {other:?}"),
    }
}

/// A job whose envs are `envs` (JSON text), as a server writes it.
fn job_with_envs(envs: &str) -> String {
    format!(
        r#"{{"metadata": {{"name": "{JOB}"}}, "spec": {{"runtime": {{"memory": 512, "envs": {envs}}}}}}}"#
    )
}

#[tokio::test]
async fn entries_of_the_same_name_keep_their_own_unknown_fields() {
    // The issue's case: the survivor took the removed entry's unknown field.
    let s = Server::start(job_with_envs(
        r#"[{"name":"A","value":"1","u":"first"},{"name":"A","value":"2","u":"second"}]"#,
    ))
    .await;
    s.client()
        .job(JOB)
        .update_with(|job| {
            runtime(job).envs.remove(0);
        })
        .send()
        .await
        .unwrap();
    let sent: Value = serde_json::from_str(&s.put_body()).unwrap();
    assert_eq!(
        sent["spec"]["runtime"]["envs"],
        json!([{"name": "A", "value": "2", "u": "second"}])
    );
}

#[tokio::test]
async fn an_edit_that_cannot_tell_same_name_entries_apart_is_refused() {
    let s = Server::start(job_with_envs(
        r#"[{"name":"A","value":"1","u":"first"},{"name":"A","value":"2","u":"second"}]"#,
    ))
    .await;
    let err = s
        .client()
        .job(JOB)
        .update_with(|job| {
            let envs = &mut runtime(job).envs;
            envs.remove(0);
            envs[0].value = Some("3".into());
        })
        .send()
        .await
        .unwrap_err();
    let refused = refusal(err);
    assert_eq!(refused.reason(), UpdateRefusal::AmbiguousEntries);
    assert_eq!(refused.fields(), ["spec.runtime.envs[name=A]"]);
    let text = refused.to_string();
    assert!(text.contains("1 of the 2 entries"), "{text}");
    assert_eq!(s.put.count(), 0, "nothing is written");
}

#[tokio::test]
async fn masked_secrets_are_not_written_back_unless_allowed() {
    let s = Server::start(ORIGINAL).await;
    let client = s.client();
    // Read masked, an edit elsewhere would send the mask back.
    let err = client
        .job(JOB)
        .update_with(|job| runtime(job).memory = Some(4096))
        .send()
        .await
        .unwrap_err();
    let refused = refusal(err);
    assert_eq!(refused.reason(), UpdateRefusal::MaskedSecrets);
    assert_eq!(refused.fields(), ["spec.runtime.envs[name=DB_PASSWORD]"]);
    let text = refused.to_string();
    for hint in ["show_secrets(true)", "allow_masked_secrets(true)"] {
        assert!(text.contains(hint), "{text}");
    }
    // Asked in clear, a value that is still the mask is refused too (a
    // server that did not honour show_secrets).
    let err = client
        .job(JOB)
        .update_with(|job| runtime(job).memory = Some(4096))
        .show_secrets(true)
        .send()
        .await
        .unwrap_err();
    assert_eq!(refusal(err).reason(), UpdateRefusal::MaskedSecrets);
    assert_eq!(s.put.count(), 0, "nothing is written");

    // An edit that sets the secret sends it, and nothing masked.
    client
        .job(JOB)
        .update_with(|job| {
            let envs = &mut runtime(job).envs;
            let secret = envs.iter_mut().find(|e| e.is_secret()).unwrap();
            secret.value = Some(common::SECRET_VALUE.into());
        })
        .send()
        .await
        .unwrap();
    let body = s.put_body();
    assert!(
        body.contains(common::SECRET_VALUE) && !body.contains("***"),
        "{body}"
    );
}

/// A job with a cron trigger whose tasks the server stores apart.
const TASKS_APART: &str = r#"{"metadata": {"name": "nightly-report"}, "spec": {
  "runtime": {"memory": 512},
  "triggers": [
    {"id": "nightly", "type": "cron", "configuration": {"schedule": "@daily", "tasksRef": "store://t/nightly"}},
    {"id": "hourly", "type": "cron", "configuration": {"schedule": "@hourly", "tasks": [{"shard": 1}]}}
  ]}}"#;

#[tokio::test]
async fn trigger_tasks_stored_apart_are_not_written_back_unread() {
    let s = Server::start(TASKS_APART).await;
    let client = s.client();
    let err = client
        .job(JOB)
        .update_with(|job| runtime(job).memory = Some(1024))
        .send()
        .await
        .unwrap_err();
    let refused = refusal(err);
    assert_eq!(refused.reason(), UpdateRefusal::UnreadTriggerTasks);
    assert_eq!(refused.fields(), ["spec.triggers[id=nightly]"]);
    assert!(
        refused
            .to_string()
            .contains("allow_unread_trigger_tasks(true)"),
        "{refused}"
    );
    assert_eq!(s.put.count(), 0, "nothing is written");

    // An edit that sets the tasks writes them.
    client
        .job(JOB)
        .update_with(|job| {
            let trigger = &mut job.spec.triggers.as_mut().unwrap().0[0];
            let config = trigger.configuration.as_mut().unwrap();
            let task = json!({"shard": 0}).as_object().cloned().unwrap();
            config.tasks = vec![types::TriggerConfigurationTask(task)];
        })
        .send()
        .await
        .unwrap();
    let sent: Value = serde_json::from_str(&s.put.bodies()[0]).unwrap();
    assert_eq!(
        sent["spec"]["triggers"][0]["configuration"]["tasks"],
        json!([{"shard": 0}])
    );

    // Accepting the risk writes the trigger as read: its reference, no tasks.
    client
        .job(JOB)
        .update_with(|job| runtime(job).memory = Some(1024))
        .allow_unread_trigger_tasks(true)
        .send()
        .await
        .unwrap();
    let sent: Value = serde_json::from_str(&s.put.bodies()[1]).unwrap();
    let config = &sent["spec"]["triggers"][0]["configuration"];
    assert_eq!(config["tasksRef"], "store://t/nightly");
    assert!(config.get("tasks").is_none(), "{config}");
}

#[tokio::test]
async fn null_members_read_as_absent_and_go_back_as_they_were() {
    let original = r#"{"metadata": {"name": "nightly-report", "labels": null}, "spec": {"enabled": null, "runtime": {"memory": 512, "envs": null, "ports": null}, "triggers": null}}"#;
    let s = Server::start(original).await;
    let client = s.client();
    let job = client.job(JOB).get().send().await.unwrap();
    assert!(job.spec.enabled, "null reads as the default");
    assert!(job.spec.runtime.as_ref().unwrap().envs.is_empty());
    client
        .job(JOB)
        .update_with(|job| runtime(job).memory = Some(1024))
        .send()
        .await
        .unwrap();
    assert_eq!(
        s.put_body(),
        original.replace(r#""memory": 512"#, r#""memory": 1024"#)
    );
    client
        .job(JOB)
        .update_with(|job| {
            runtime(job).envs.push(types::Env {
                name: Some("MODE".into()),
                value: Some("full".into()),
                secret: None,
                value_from: None,
            })
        })
        .send()
        .await
        .unwrap();
    let sent: Value = serde_json::from_str(&s.put.bodies()[1]).unwrap();
    assert_eq!(
        sent["spec"]["runtime"]["envs"],
        json!([{"name": "MODE", "value": "full"}])
    );
    assert_eq!(sent["spec"]["enabled"], Value::Null, "untouched: as read");
}

#[tokio::test]
async fn values_no_json_library_holds_survive_an_edit_of_their_list() {
    // Numbers beyond f64 and u64, a negative zero, a surrogate pair and a
    // duplicate key, inside entries of a list the edit reorders and
    // changes: each entry is the server's text but for the edited value.
    let envs = r#"[
      {"name": "A", "value": "1", "u_big": 1e400, "u_int": 12345678901234567890},
      {"name": "B", "value": "2", "u_zero": -0, "u_emoji": "\ud83d\ude00", "u_dup": 1, "u_dup": 2}
    ]"#;
    let s = Server::start(job_with_envs(envs)).await;
    s.client()
        .job(JOB)
        .update_with(|job| {
            let envs = &mut runtime(job).envs;
            envs.swap(0, 1);
            envs[1].value = Some("one".into());
        })
        .send()
        .await
        .unwrap();
    let body = s.put_body();
    for kept in [
        r#"{"name": "B", "value": "2", "u_zero": -0, "u_emoji": "\ud83d\ude00", "u_dup": 1, "u_dup": 2}"#,
        r#"{"name": "A", "value": "one", "u_big": 1e400, "u_int": 12345678901234567890}"#,
    ] {
        assert!(body.contains(kept), "{kept} not in {body}");
    }
    assert!(
        body.find(r#""name": "B""#) < body.find(r#""name": "A""#),
        "{body}"
    );
}
