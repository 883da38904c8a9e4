//! Every operation of the generated client (builder interface) against the
//! generated httpmock mocks: method, exact path (with odd ids), query
//! parameters, JSON bodies, error statuses and the request hook.

mod common;

use blaxel_jobs_client::open_enum::{DeploymentStatus, ErrorCode};
use blaxel_jobs_client::{ByteStream, Client, Error, hooks::Hooks, types};
use blaxel_jobs_httpmock::MockServerExt;
use common::{collect_body, fixture, fixture_value};
use httpmock::{Mock, MockServer, When};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A job id with a space, a slash and a percent sign, and how
/// `progenitor_client::encode_path` writes it.
const ODD_JOB: &str = "nightly report/v2%";
const ODD_JOB_ENC: &str = "nightly%20report%2Fv2%25";
/// The same for an execution id.
const ODD_EXEC: &str = "exec 7/h%1c";
const ODD_EXEC_ENC: &str = "exec%207%2Fh%251c";

fn client(server: &MockServer) -> Client {
    Client::new(&server.base_url(), Hooks::new())
}

/// Requires the exact raw path, the generated client's standard headers
/// (and not progenitor's `api-version`, which `cargo xtask codegen` removes),
/// and exactly the given query parameter names (no others).
fn exact(when: When, path: &str, query: &[&str]) -> When {
    let mut expected: Vec<String> = query.iter().map(|s| s.to_string()).collect();
    expected.sort();
    when.path(path)
        .header("accept", "application/json")
        .header_missing("api-version")
        .is_true(move |req| {
            let mut names: Vec<String> = req.query_params().into_iter().map(|(k, _)| k).collect();
            names.sort();
            names == expected
        })
}

fn job_path() -> String {
    format!("/jobs/{ODD_JOB_ENC}")
}

fn exec_path() -> String {
    format!("/jobs/{ODD_JOB_ENC}/executions/{ODD_EXEC_ENC}")
}

#[test]
fn encode_path_escapes_space_slash_and_percent() {
    assert_eq!(progenitor_client::encode_path(ODD_JOB), ODD_JOB_ENC);
    assert_eq!(progenitor_client::encode_path(ODD_EXEC), ODD_EXEC_ENC);
    assert_eq!(
        progenitor_client::encode_path("nightly-report"),
        "nightly-report"
    );
}

#[tokio::test]
async fn list_jobs_sends_every_query_parameter() {
    let server = MockServer::start_async().await;
    let page: types::JobList = fixture("job_list_page.json");
    let cursor = "eyJvIjoyLCJzIjoibmFtZTphc2MifQ==";
    let q = "eu reports/2026 & co+x";
    let mock = server.list_jobs(|when, then| {
        let when = when
            .cursor(cursor)
            .limit(200)
            .sort(types::ListSort::NameAsc)
            .q(q)
            .anchor(types::ListAnchor::End)
            .status("DEPLOYED,FAILED");
        exact(
            when.into_inner(),
            "/jobs",
            &["anchor", "cursor", "limit", "q", "sort", "status"],
        )
        .method(httpmock::Method::GET);
        then.ok(&page);
    });
    let resp = client(&server)
        .list_jobs()
        .cursor(cursor)
        .limit(200)
        .sort(types::ListSort::NameAsc)
        .q(q)
        .anchor(types::ListAnchor::End)
        .status("DEPLOYED,FAILED")
        .send()
        .await
        .expect("list_jobs");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.into_inner(), page);
    mock.assert_async().await;
}

#[tokio::test]
async fn list_jobs_without_parameters_sends_no_query() {
    let server = MockServer::start_async().await;
    let page: types::JobList = fixture("job_list_page.json");
    let mock = server.list_jobs(|when, then| {
        let when = when
            .cursor(None)
            .limit(None)
            .sort(None)
            .q(None)
            .anchor(None)
            .status(None);
        exact(when.into_inner(), "/jobs", &[]);
        then.ok(&page);
    });
    let resp = client(&server).list_jobs().send().await.expect("list_jobs");
    assert_eq!(resp.into_inner().data.len(), 2);
    mock.assert_async().await;
}

#[tokio::test]
async fn create_job_posts_the_job_as_json() {
    let server = MockServer::start_async().await;
    let body: types::Job = fixture("create_job_seed.json");
    let stored: types::Job = fixture("job_full.json");
    let mock = server.create_job(|when, then| {
        let when = when.body(&body);
        exact(when.into_inner(), "/jobs", &[])
            .method(httpmock::Method::POST)
            .header("content-type", "application/json")
            // Byte for byte the fixture's JSON document, not only equal
            // after both sides went through the generated type.
            .json_body(fixture_value("create_job_seed.json"));
        then.ok(&stored);
    });
    let resp = client(&server)
        .create_job()
        .body(body.clone())
        .send()
        .await
        .expect("create_job");
    assert_eq!(resp.into_inner(), stored);
    mock.assert_async().await;
}

#[tokio::test]
async fn get_job_encodes_the_job_id_and_sends_show_secrets() {
    let server = MockServer::start_async().await;
    let job: types::Job = fixture("job_full.json");
    let mock = server.get_job(|when, then| {
        let when = when.show_secrets(true);
        exact(when.into_inner(), &job_path(), &["show_secrets"]).method(httpmock::Method::GET);
        then.ok(&job);
    });
    let resp = client(&server)
        .get_job()
        .job_id(ODD_JOB)
        .show_secrets(true)
        .send()
        .await
        .expect("get_job");
    assert_eq!(resp.into_inner(), job);
    mock.assert_async().await;

    // show_secrets=false is sent as such, and leaving it out sends nothing.
    let server = MockServer::start_async().await;
    let off = server.get_job(|when, then| {
        exact(
            when.show_secrets(false).into_inner(),
            &job_path(),
            &["show_secrets"],
        );
        then.ok(&job);
    });
    let unset = server.get_job(|when, then| {
        exact(when.show_secrets(None).into_inner(), &job_path(), &[]);
        then.ok(&job);
    });
    let c = client(&server);
    c.get_job()
        .job_id(ODD_JOB)
        .show_secrets(false)
        .send()
        .await
        .expect("false");
    c.get_job().job_id(ODD_JOB).send().await.expect("unset");
    off.assert_async().await;
    unset.assert_async().await;
}

#[tokio::test]
async fn update_job_puts_the_job_as_json() {
    let server = MockServer::start_async().await;
    let mut body: types::Job = fixture("create_job_seed.json");
    body.spec.runtime.as_mut().expect("runtime").memory = Some(8192);
    let sent = common::to_value(&body);
    assert_eq!(sent.pointer("/spec/runtime/memory"), Some(&json!(8192)));
    let stored: types::Job = fixture("job_full.json");
    let mock = server.update_job(|when, then| {
        let when = when.body(&body);
        exact(when.into_inner(), &job_path(), &[])
            .method(httpmock::Method::PUT)
            .header("content-type", "application/json")
            .json_body(sent.clone());
        then.ok(&stored);
    });
    let resp = client(&server)
        .update_job()
        .job_id(ODD_JOB)
        .body(body.clone())
        .send()
        .await
        .expect("update_job");
    assert_eq!(resp.into_inner(), stored);
    mock.assert_async().await;
}

#[tokio::test]
async fn delete_job_answers_with_the_deleting_job() {
    let server = MockServer::start_async().await;
    let mut deleting: types::Job = fixture("job_full.json");
    deleting.status = Some(DeploymentStatus::Deleting);
    let mock = server.delete_job(|when, then| {
        exact(when.into_inner(), &job_path(), &[]).method(httpmock::Method::DELETE);
        then.ok(&deleting);
    });
    let resp = client(&server)
        .delete_job()
        .job_id(ODD_JOB)
        .send()
        .await
        .expect("delete_job");
    assert_eq!(resp.into_inner().status, Some(DeploymentStatus::Deleting));
    mock.assert_async().await;
}

#[tokio::test]
async fn list_job_executions_sends_every_query_parameter() {
    let server = MockServer::start_async().await;
    let page: types::JobExecutionList = fixture("execution_list_page.json");
    let cursor = "eyJvIjozLCJmIjoiNmQ3YTljIn0";
    let mock = server.list_job_executions(|when, then| {
        let when = when
            .limit(100)
            .offset(40)
            .cursor(cursor)
            .sort(types::ListSort::CreatedAtAsc)
            .q("backfill");
        exact(
            when.into_inner(),
            &format!("/jobs/{ODD_JOB_ENC}/executions"),
            &["cursor", "limit", "offset", "q", "sort"],
        )
        .method(httpmock::Method::GET);
        then.ok(&page);
    });
    let resp = client(&server)
        .list_job_executions()
        .job_id(ODD_JOB)
        .limit(100)
        .offset(40)
        .cursor(cursor)
        .sort(types::ListSort::CreatedAtAsc)
        .q("backfill")
        .send()
        .await
        .expect("list_job_executions");
    assert_eq!(resp.into_inner(), page);
    mock.assert_async().await;
}

#[tokio::test]
async fn create_job_execution_posts_the_request_as_json() {
    let server = MockServer::start_async().await;
    let body: types::CreateJobExecutionRequest = fixture("create_execution_request.json");
    let output: types::CreateJobExecutionOutput = fixture("create_execution_output.json");
    let mock = server.create_job_execution(|when, then| {
        let when = when.body(&body);
        exact(
            when.into_inner(),
            &format!("/jobs/{ODD_JOB_ENC}/executions"),
            &[],
        )
        .method(httpmock::Method::POST)
        .header("content-type", "application/json")
        .json_body(fixture_value("create_execution_request.json"));
        then.ok(&output);
    });
    let resp = client(&server)
        .create_job_execution()
        .job_id(ODD_JOB)
        .body(body.clone())
        .send()
        .await
        .expect("create_job_execution");
    assert_eq!(resp.into_inner(), output);
    mock.assert_async().await;
}

#[tokio::test]
async fn get_job_execution_encodes_both_ids() {
    let server = MockServer::start_async().await;
    let exec: types::JobExecution = fixture("execution_running.json");
    let mock = server.get_job_execution(|when, then| {
        exact(when.into_inner(), &exec_path(), &[]).method(httpmock::Method::GET);
        then.ok(&exec);
    });
    let resp = client(&server)
        .get_job_execution()
        .job_id(ODD_JOB)
        .execution_id(ODD_EXEC)
        .send()
        .await
        .expect("get_job_execution");
    assert_eq!(resp.into_inner(), exec);
    mock.assert_async().await;
}

#[tokio::test]
async fn delete_job_execution_cancels_with_delete() {
    let server = MockServer::start_async().await;
    let exec: types::JobExecution = fixture("execution_cancelling.json");
    let mock = server.delete_job_execution(|when, then| {
        exact(when.into_inner(), &exec_path(), &[]).method(httpmock::Method::DELETE);
        then.ok(&exec);
    });
    let resp = client(&server)
        .delete_job_execution()
        .job_id(ODD_JOB)
        .execution_id(ODD_EXEC)
        .send()
        .await
        .expect("delete_job_execution");
    let got = resp.into_inner();
    assert_eq!(got, exec);
    assert_eq!(
        got.status,
        Some(blaxel_jobs_client::open_enum::JobExecutionStatus::Cancelling)
    );
    mock.assert_async().await;
}

#[tokio::test]
async fn list_job_execution_tasks_sends_every_query_parameter() {
    let server = MockServer::start_async().await;
    let page: types::JobExecutionTaskList = fixture("task_list_page.json");
    let cursor = "eyJvZmZzZXQiOjUwfQ==";
    let mock = server.list_job_execution_tasks(|when, then| {
        let when = when
            .cursor(cursor)
            .limit(50)
            .sort(types::ListSort::NameDesc)
            .q("task-1");
        exact(
            when.into_inner(),
            &format!("{}/tasks", exec_path()),
            &["cursor", "limit", "q", "sort"],
        )
        .method(httpmock::Method::GET);
        then.ok(&page);
    });
    let resp = client(&server)
        .list_job_execution_tasks()
        .job_id(ODD_JOB)
        .execution_id(ODD_EXEC)
        .cursor(cursor)
        .limit(50)
        .sort(types::ListSort::NameDesc)
        .q("task-1")
        .send()
        .await
        .expect("list_job_execution_tasks");
    assert_eq!(resp.into_inner(), page);
    mock.assert_async().await;
}

#[tokio::test]
async fn list_job_revisions_returns_the_bare_array() {
    let server = MockServer::start_async().await;
    let revs: Vec<types::RevisionMetadata> = fixture("revisions.json");
    let mock = server.list_job_revisions(|when, then| {
        exact(
            when.into_inner(),
            &format!("/jobs/{ODD_JOB_ENC}/revisions"),
            &[],
        )
        .method(httpmock::Method::GET);
        then.ok(&revs);
    });
    let resp = client(&server)
        .list_job_revisions()
        .job_id(ODD_JOB)
        .send()
        .await
        .expect("list_job_revisions");
    assert_eq!(resp.into_inner(), revs);
    mock.assert_async().await;
}

const PLAIN_JOB: &str = "nightly-report";
const PLAIN_EXEC: &str = "exec-7h1c5vde";

#[tokio::test]
async fn typed_path_matchers_match_plain_ids_only() {
    // The generated `job_id` / `execution_id` matchers, with ids that need
    // no encoding: the right id hits, another id does not.
    let server = MockServer::start_async().await;
    let job: types::Job = fixture("job_full.json");
    let exec: types::JobExecution = fixture("execution_running.json");
    let mocks = vec![
        server.get_job(|w, t| {
            w.job_id(PLAIN_JOB);
            t.ok(&job);
        }),
        server.update_job(|w, t| {
            w.job_id(PLAIN_JOB);
            t.ok(&job);
        }),
        server.delete_job(|w, t| {
            w.job_id(PLAIN_JOB);
            t.ok(&job);
        }),
        server.list_job_executions(|w, t| {
            w.job_id(PLAIN_JOB);
            t.ok(&fixture("execution_list_page.json"));
        }),
        server.create_job_execution(|w, t| {
            w.job_id(PLAIN_JOB);
            t.ok(&fixture("create_execution_output.json"));
        }),
        server.get_job_execution(|w, t| {
            w.job_id(PLAIN_JOB).execution_id(PLAIN_EXEC);
            t.ok(&exec);
        }),
        server.delete_job_execution(|w, t| {
            w.job_id(PLAIN_JOB).execution_id(PLAIN_EXEC);
            t.ok(&exec);
        }),
        server.list_job_execution_tasks(|w, t| {
            w.job_id(PLAIN_JOB).execution_id(PLAIN_EXEC);
            t.ok(&fixture("task_list_page.json"));
        }),
        server.list_job_revisions(|w, t| {
            w.job_id(PLAIN_JOB);
            t.ok(&fixture("revisions.json"));
        }),
    ];
    let c = client(&server);
    for op in PATH_OPERATIONS {
        // Another job id, or another execution id: no mock answers.
        let miss = call(&c, op, "weekly-report", PLAIN_EXEC).await;
        assert_eq!(status_of(&miss), Some(404), "{op} matched another job id");
        if op.contains("Execution") && *op != "ListJobExecutions" && *op != "CreateJobExecution" {
            let miss = call(&c, op, PLAIN_JOB, "exec-other").await;
            assert_eq!(
                status_of(&miss),
                Some(404),
                "{op} matched another execution id"
            );
        }
        call(&c, op, PLAIN_JOB, PLAIN_EXEC)
            .await
            .unwrap_or_else(|e| panic!("{op}: {e}"));
    }
    for m in &mocks {
        m.assert_async().await;
    }
}

#[tokio::test]
async fn typed_path_matchers_match_percent_encoded_odd_ids() {
    let server = MockServer::start_async().await;
    let job: types::Job = fixture("job_full.json");
    let mock = server.get_job(|w, t| {
        w.job_id(ODD_JOB);
        t.ok(&job);
    });
    client(&server)
        .get_job()
        .job_id(ODD_JOB)
        .send()
        .await
        .expect("the typed matcher should match the encoded odd id");
    mock.assert_async().await;
}

#[tokio::test]
async fn typed_path_matchers_take_ids_literally() {
    let server = MockServer::start_async().await;
    let job: types::Job = fixture("job_full.json");
    let dotted = server.get_job(|w, t| {
        w.job_id("v1.2");
        t.ok(&job);
    });
    // "v1x2" is another job; the '.' must not act as a regex wildcard.
    let r = client(&server).get_job().job_id("v1x2").send().await;
    assert_eq!(
        dotted.calls_async().await,
        0,
        "mock for v1.2 answered v1x2: {r:?}"
    );
}

/// KNOWN HAZARD (reported): `progenitor_client::encode_path` leaves `.` and
/// `\` as they are, and the URL parser then treats an id of `.` or `..` as a
/// dot segment and `\` as `/`, so the request leaves its path template.
/// Cancelling execution `..` sends `DELETE /jobs/{job}/`, which is the shape
/// of DeleteJob. Callers must reject such ids before they reach this client.
/// If this test starts failing, the generator fixed it: update the test.
#[tokio::test]
async fn dot_segment_and_backslash_ids_escape_their_path_template() {
    let server = MockServer::start_async().await;
    let job_shaped = server.mock(|when, then| {
        when.method(httpmock::Method::DELETE)
            .path("/v0/jobs/nightly-report/");
        then.status(418);
    });
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let hooks = {
        let seen = seen.clone();
        Hooks::on_request(move |req: &mut reqwest::Request| {
            seen.lock()
                .unwrap()
                .push(format!("{} {}", req.method(), req.url().path()));
        })
    };
    let c = Client::new(&format!("{}/v0", server.base_url()), hooks);
    let _ = c.get_job().job_id("..").send().await;
    let _ = c.get_job().job_id(".").send().await;
    let _ = c.get_job().job_id(r"a\b").send().await;
    let _ = c
        .delete_job_execution()
        .job_id("nightly-report")
        .execution_id("..")
        .send()
        .await;
    let _ = c
        .get_job_execution()
        .job_id("nightly-report")
        .execution_id(r"a\b")
        .send()
        .await;
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "GET /v0/",
            "GET /v0/jobs/",
            "GET /v0/jobs/a/b",
            "DELETE /v0/jobs/nightly-report/",
            "GET /v0/jobs/nightly-report/executions/a/b",
        ]
    );
    job_shaped.assert_async().await;
}

/// What an error answer brings to the caller.
struct ErrorSeen {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

async fn expect_error_response<T: std::fmt::Debug>(r: Result<T, Error<ByteStream>>) -> ErrorSeen {
    match r {
        Err(Error::ErrorResponse(rv)) => {
            let status = rv.status().as_u16();
            let headers = rv.headers().clone();
            let body = collect_body(rv.into_inner()).await;
            ErrorSeen {
                status,
                headers,
                body,
            }
        }
        other => panic!("expected Error::ErrorResponse, got {other:?}"),
    }
}

fn header<'a>(seen: &'a ErrorSeen, name: &str) -> Option<&'a str> {
    seen.headers.get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn not_found_reaches_the_caller_with_status_headers_and_body() {
    let server = MockServer::start_async().await;
    let body =
        json!({"code": 404, "error": "not_found", "message": "job nightly report/v2% not found"});
    let mock = server.get_job(|when, then| {
        exact(when.into_inner(), &job_path(), &[]);
        then.not_found(body.clone())
            .into_inner()
            .header("x-request-id", "req-5b1f9c");
    });
    let seen = expect_error_response(client(&server).get_job().job_id(ODD_JOB).send().await).await;
    assert_eq!(seen.status, 404);
    assert_eq!(header(&seen, "x-request-id"), Some("req-5b1f9c"));
    assert_eq!(header(&seen, "content-type"), Some("application/json"));
    let parsed: Value = serde_json::from_slice(&seen.body).expect("JSON body");
    assert_eq!(parsed, body);
    match serde_json::from_slice::<types::ErrorBody>(&seen.body).expect("ErrorBody") {
        types::ErrorBody::Error(e) => {
            assert_eq!(e.code, Some(404));
            assert_eq!(e.error.as_str(), "not_found");
        }
        other => panic!("expected the Error shape, got {other:?}"),
    }
    mock.assert_async().await;
}

#[tokio::test]
async fn conflict_keeps_the_raw_body_byte_for_byte() {
    let server = MockServer::start_async().await;
    let raw = "{ \"code\": 409,\n  \"error\": \"already_exists\",\n  \"message\": \"job nightly-report already exists\" }";
    let mock = server.create_job(|when, then| {
        exact(when.into_inner(), "/jobs", &[]);
        then.into_inner()
            .status(409)
            .header("content-type", "application/json; charset=utf-8")
            .body(raw);
    });
    let body: types::Job = fixture("create_job_seed.json");
    let seen = expect_error_response(client(&server).create_job().body(body).send().await).await;
    assert_eq!(seen.status, 409);
    assert_eq!(
        header(&seen, "content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(String::from_utf8(seen.body).expect("utf-8"), raw);
    mock.assert_async().await;
}

#[tokio::test]
async fn too_many_requests_keeps_retry_after_and_the_platform_envelope() {
    let server = MockServer::start_async().await;
    let envelope = json!({
        "error": {
            "code": "USAGE_LIMIT_EXCEEDED",
            "message": "20 of 20 concurrent tasks in use",
            "origin": "scheduler",
            "retryable": true,
            "status": 429
        }
    });
    let mock = server.create_job_execution(|when, then| {
        exact(
            when.into_inner(),
            &format!("/jobs/{ODD_JOB_ENC}/executions"),
            &[],
        );
        then.too_many_requests(envelope.clone())
            .into_inner()
            .header("retry-after", "17")
            .header("x-blaxel-source", "platform");
    });
    let body: types::CreateJobExecutionRequest = fixture("create_execution_request.json");
    let result = client(&server)
        .create_job_execution()
        .job_id(ODD_JOB)
        .body(body)
        .send()
        .await;
    assert!(result.as_ref().is_err_and(|e| e.is_retryable()));
    let seen = expect_error_response(result).await;
    assert_eq!(seen.status, 429);
    assert_eq!(header(&seen, "retry-after"), Some("17"));
    assert_eq!(header(&seen, "x-blaxel-source"), Some("platform"));
    match serde_json::from_slice::<types::ErrorBody>(&seen.body).expect("ErrorBody") {
        types::ErrorBody::PlatformError(p) => {
            assert_eq!(p.error.code, Some(ErrorCode::UsageLimitExceeded));
            assert_eq!(p.error.retryable, Some(true));
        }
        other => panic!("expected the PlatformError shape, got {other:?}"),
    }
    mock.assert_async().await;
}

#[tokio::test]
async fn server_errors_keep_html_and_empty_bodies() {
    let server = MockServer::start_async().await;
    let html = "<html><body><h1>500 Internal Server Error</h1></body></html>\n";
    let m500 = server.list_jobs(|when, then| {
        exact(when.into_inner(), "/jobs", &[]);
        then.into_inner()
            .status(500)
            .header("content-type", "text/html")
            .body(html);
    });
    let m503 = server.list_job_executions(|when, then| {
        exact(
            when.into_inner(),
            &format!("/jobs/{ODD_JOB_ENC}/executions"),
            &[],
        );
        then.into_inner()
            .status(503)
            .header("retry-after", "Wed, 04 Nov 2026 03:00:00 GMT");
    });
    let c = client(&server);
    let seen = expect_error_response(c.list_jobs().send().await).await;
    assert_eq!(seen.status, 500);
    assert_eq!(header(&seen, "content-type"), Some("text/html"));
    assert_eq!(seen.body, html.as_bytes());

    let seen = expect_error_response(c.list_job_executions().job_id(ODD_JOB).send().await).await;
    assert_eq!(seen.status, 503);
    assert_eq!(
        header(&seen, "retry-after"),
        Some("Wed, 04 Nov 2026 03:00:00 GMT")
    );
    assert!(seen.body.is_empty());
    m500.assert_async().await;
    m503.assert_async().await;
}

#[tokio::test]
async fn undocumented_status_arrives_as_unexpected_response_with_its_body() {
    let server = MockServer::start_async().await;
    let mock = server.create_job(|when, then| {
        exact(when.into_inner(), "/jobs", &[]);
        then.into_inner()
            .status(413)
            .header("content-type", "text/plain")
            .body("request entity too large: 1048577 > 1048576 bytes");
    });
    let body: types::Job = fixture("create_job_seed.json");
    match client(&server).create_job().body(body).send().await {
        Err(Error::UnexpectedResponse(resp)) => {
            assert_eq!(resp.status().as_u16(), 413);
            assert_eq!(
                resp.headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok()),
                Some("text/plain")
            );
            assert_eq!(
                resp.text().await.expect("body"),
                "request entity too large: 1048577 > 1048576 bytes"
            );
        }
        other => panic!("expected Error::UnexpectedResponse, got {other:?}"),
    }
    mock.assert_async().await;
}

/// The operations with a path parameter.
const PATH_OPERATIONS: &[&str] = &[
    "GetJob",
    "UpdateJob",
    "DeleteJob",
    "ListJobExecutions",
    "CreateJobExecution",
    "GetJobExecution",
    "DeleteJobExecution",
    "ListJobExecutionTasks",
    "ListJobRevisions",
];

/// Calls one operation by its operationId, with minimal arguments.
async fn call(c: &Client, op: &str, job: &str, exec: &str) -> Result<(), Error<ByteStream>> {
    let body = || fixture::<types::Job>("create_job_seed.json");
    let request = || fixture::<types::CreateJobExecutionRequest>("create_execution_request.json");
    match op {
        "ListJobs" => c.list_jobs().send().await.map(drop),
        "CreateJob" => c.create_job().body(body()).send().await.map(drop),
        "GetJob" => c.get_job().job_id(job).send().await.map(drop),
        "UpdateJob" => c
            .update_job()
            .job_id(job)
            .body(body())
            .send()
            .await
            .map(drop),
        "DeleteJob" => c.delete_job().job_id(job).send().await.map(drop),
        "ListJobExecutions" => c.list_job_executions().job_id(job).send().await.map(drop),
        "CreateJobExecution" => c
            .create_job_execution()
            .job_id(job)
            .body(request())
            .send()
            .await
            .map(drop),
        "GetJobExecution" => c
            .get_job_execution()
            .job_id(job)
            .execution_id(exec)
            .send()
            .await
            .map(drop),
        "DeleteJobExecution" => c
            .delete_job_execution()
            .job_id(job)
            .execution_id(exec)
            .send()
            .await
            .map(drop),
        "ListJobExecutionTasks" => c
            .list_job_execution_tasks()
            .job_id(job)
            .execution_id(exec)
            .send()
            .await
            .map(drop),
        "ListJobRevisions" => c.list_job_revisions().job_id(job).send().await.map(drop),
        "ListLogs" => c
            .list_logs()
            .resource_type("jobs")
            .workload_ids(job)
            .execution_id(exec)
            .send()
            .await
            .map(drop),
        other => panic!("no call for operation {other}"),
    }
}

fn status_of(r: &Result<(), Error<ByteStream>>) -> Option<u16> {
    r.as_ref().err().and_then(Error::status).map(|s| s.as_u16())
}

/// operationId → (method, path template, documented response keys).
fn document_operations() -> BTreeMap<String, (String, String, Vec<String>)> {
    let doc = common::document();
    let mut out = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let Some(id) = op.get("operationId").and_then(Value::as_str) else {
                continue;
            };
            let codes = op["responses"]
                .as_object()
                .expect("responses")
                .keys()
                .cloned()
                .collect();
            out.insert(id.to_owned(), (method.to_uppercase(), path.clone(), codes));
        }
    }
    out
}

fn documented(codes: &[String], status: u16) -> bool {
    codes.iter().any(|c| {
        let s = status.to_string();
        *c == s || (c.len() == 3 && c.ends_with("XX") && c.starts_with(&s[..1]))
    })
}

#[tokio::test]
async fn error_statuses_are_classified_as_the_document_lists_them() {
    let ops = document_operations();
    assert_eq!(
        ops.len(),
        12,
        "the document should have the 11 job operations and ListLogs"
    );
    for status in [
        400u16, 401, 403, 404, 409, 413, 422, 429, 500, 502, 503, 599,
    ] {
        let server = MockServer::start_async().await;
        let body = format!("status {status}");
        let mock = server.mock(|_when, then| {
            then.status(status).body(body.as_str());
        });
        let c = client(&server);
        for (op, (method, path, codes)) in &ops {
            let result = call(&c, op, ODD_JOB, ODD_EXEC).await;
            let expect_documented = documented(codes, status);
            match result {
                Err(Error::ErrorResponse(rv)) => {
                    assert!(
                        expect_documented,
                        "{method} {path} {status}: ErrorResponse for an undocumented status"
                    );
                    assert_eq!(rv.status().as_u16(), status);
                    assert_eq!(collect_body(rv.into_inner()).await, body.as_bytes());
                }
                Err(Error::UnexpectedResponse(resp)) => {
                    assert!(
                        !expect_documented,
                        "{method} {path} {status}: documented status arrived as UnexpectedResponse"
                    );
                    assert_eq!(resp.status().as_u16(), status);
                    assert_eq!(resp.text().await.expect("body"), body);
                }
                other => panic!("{op} {status}: unexpected result {other:?}"),
            }
        }
        mock.assert_calls_async(ops.len()).await;
    }
}

/// Mocks all eleven operations, each also requiring `require`; the paths use
/// the odd ids.
fn mock_all_operations<'a>(server: &'a MockServer, require: fn(When) -> When) -> Vec<Mock<'a>> {
    let job: types::Job = fixture("job_full.json");
    let exec: types::JobExecution = fixture("execution_running.json");
    let executions = format!("/jobs/{ODD_JOB_ENC}/executions");
    vec![
        server.list_jobs(|w, t| {
            require(exact(w.into_inner(), "/jobs", &[]));
            t.ok(&fixture("job_list_page.json"));
        }),
        server.create_job(|w, t| {
            require(exact(w.into_inner(), "/jobs", &[]));
            t.ok(&job);
        }),
        server.get_job(|w, t| {
            require(exact(w.into_inner(), &job_path(), &[]));
            t.ok(&job);
        }),
        server.update_job(|w, t| {
            require(exact(w.into_inner(), &job_path(), &[]));
            t.ok(&job);
        }),
        server.delete_job(|w, t| {
            require(exact(w.into_inner(), &job_path(), &[]));
            t.ok(&job);
        }),
        server.list_job_executions(|w, t| {
            require(exact(w.into_inner(), &executions, &[]));
            t.ok(&fixture("execution_list_page.json"));
        }),
        server.create_job_execution(|w, t| {
            require(exact(w.into_inner(), &executions, &[]));
            t.ok(&fixture("create_execution_output.json"));
        }),
        server.get_job_execution(|w, t| {
            require(exact(w.into_inner(), &exec_path(), &[]));
            t.ok(&exec);
        }),
        server.delete_job_execution(|w, t| {
            require(exact(w.into_inner(), &exec_path(), &[]));
            t.ok(&exec);
        }),
        server.list_job_execution_tasks(|w, t| {
            require(exact(
                w.into_inner(),
                &format!("{}/tasks", exec_path()),
                &[],
            ));
            t.ok(&fixture("task_list_page.json"));
        }),
        server.list_job_revisions(|w, t| {
            require(exact(
                w.into_inner(),
                &format!("/jobs/{ODD_JOB_ENC}/revisions"),
                &[],
            ));
            t.ok(&fixture("revisions.json"));
        }),
        server.list_logs(|w, t| {
            require(exact(
                w.into_inner(),
                "/observability/logs",
                &["executionId", "resourceType", "workloadIds"],
            ));
            t.ok(&types::LogsByResource(Default::default()));
        }),
    ]
}

#[tokio::test]
async fn on_request_hook_runs_before_every_request() {
    let server = MockServer::start_async().await;
    let mocks = mock_all_operations(&server, |w| {
        w.header("x-blaxel-workspace", "acme-analytics")
    });
    let calls = Arc::new(AtomicUsize::new(0));
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let hooks = {
        let (calls, seen) = (calls.clone(), seen.clone());
        Hooks::on_request(move |req: &mut reqwest::Request| {
            calls.fetch_add(1, Ordering::SeqCst);
            seen.lock()
                .unwrap()
                .push(format!("{} {}", req.method(), req.url().path()));
            req.headers_mut().insert(
                "x-blaxel-workspace",
                reqwest::header::HeaderValue::from_static("acme-analytics"),
            );
        })
    };
    let c = Client::new(&server.base_url(), hooks);
    let ops = document_operations();
    for op in ops.keys() {
        call(&c, op, ODD_JOB, ODD_EXEC)
            .await
            .unwrap_or_else(|e| panic!("{op}: {e}"));
    }
    assert_eq!(calls.load(Ordering::SeqCst), ops.len());
    for m in &mocks {
        m.assert_async().await;
    }
    // The hook sees the final request: method and encoded path.
    let expected: Vec<String> = ops
        .values()
        .map(|(method, path, _)| {
            format!(
                "{method} {}",
                path.replace("{jobId}", ODD_JOB_ENC)
                    .replace("{executionId}", ODD_EXEC_ENC)
            )
        })
        .collect();
    assert_eq!(*seen.lock().unwrap(), expected);

    // Without the hook the header is missing and no mock answers.
    let plain = client(&server);
    let miss = call(&plain, "GetJob", ODD_JOB, ODD_EXEC).await;
    assert_eq!(status_of(&miss), Some(404));
    for m in &mocks {
        assert_eq!(m.calls_async().await, 1);
    }
}

#[tokio::test]
async fn new_with_client_keeps_the_reqwest_clients_default_headers() {
    let server = MockServer::start_async().await;
    let mocks = mock_all_operations(&server, |w| {
        w.header("blaxel-version", blaxel_jobs_client::versions::DEFAULT)
            .header("x-blaxel-authorization", "Bearer bl_test_key")
    });
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "blaxel-version",
        reqwest::header::HeaderValue::from_static(blaxel_jobs_client::versions::DEFAULT),
    );
    headers.insert(
        "x-blaxel-authorization",
        reqwest::header::HeaderValue::from_static("Bearer bl_test_key"),
    );
    let http = blaxel_jobs_client::tls::http_client_builder()
        .default_headers(headers)
        .build()
        .expect("reqwest client");
    let c = Client::new_with_client(&server.base_url(), http, Hooks::new());
    for op in document_operations().keys() {
        call(&c, op, ODD_JOB, ODD_EXEC)
            .await
            .unwrap_or_else(|e| panic!("{op}: {e}"));
    }
    for m in &mocks {
        m.assert_async().await;
    }
}

#[tokio::test]
async fn base_url_path_prefix_is_kept() {
    // Blaxel's base URL has a path (`/v0`); operations append to it.
    let server = MockServer::start_async().await;
    let job: types::Job = fixture("job_full.json");
    let mock = server.mock(|when, then| {
        when.method(httpmock::Method::GET)
            .path(format!("/v0/jobs/{ODD_JOB_ENC}"));
        then.status(200)
            .header("content-type", "application/json")
            .json_body_obj(&job);
    });
    let c = Client::new(&format!("{}/v0", server.base_url()), Hooks::new());
    let got = c.get_job().job_id(ODD_JOB).send().await.expect("get_job");
    assert_eq!(got.into_inner(), job);
    mock.assert_async().await;
}
