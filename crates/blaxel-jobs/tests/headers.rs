//! The headers of every request: bearer credential, workspace, API version
//! and user agent; and the OAuth client-credentials token cache.

mod common;

use base64::Engine as _;
use blaxel_jobs::config::versions;
use blaxel_jobs::{Client, types};
use blaxel_jobs_httpmock::MockServerExt;
use common::raw::{RawServer, Reply};
use common::{
    JOB, KEY, Recorder, WS, builder_for, execution, execution_page, fast_retry, job, job_page,
    json_response, task_page,
};
use httpmock::{MockServer, When};
use serde_json::json;
use std::time::Duration;

fn user_agent() -> String {
    format!(
        "blaxel-jobs-rust/{} ({}/{})",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// Requires the SDK's headers with this bearer token and API version.
fn sdk_headers(when: When, token: &str, version: &str) -> When {
    when.header("authorization", format!("Bearer {token}"))
        .header("x-blaxel-workspace", WS)
        .header("blaxel-version", version)
        .header("user-agent", user_agent())
        .header_count("authorization", ".*", 1)
}

/// Mocks all 11 operations, each requiring the headers, then calls each once.
async fn call_every_operation(server: &MockServer, client: &Client, token: &str, version: &str) {
    let ex = "exec-7h1c5vde";
    let mocks = vec![
        server.list_jobs(|w, t| {
            sdk_headers(w.into_inner(), token, version);
            t.ok(&job_page(&["a"], None));
        }),
        server.create_job(|w, t| {
            sdk_headers(w.into_inner(), token, version);
            t.ok(&job(JOB));
        }),
        server.get_job(|w, t| {
            sdk_headers(w.job_id(JOB).into_inner(), token, version);
            t.ok(&job(JOB));
        }),
        server.update_job(|w, t| {
            sdk_headers(w.job_id(JOB).into_inner(), token, version);
            t.ok(&job(JOB));
        }),
        server.delete_job(|w, t| {
            sdk_headers(w.job_id(JOB).into_inner(), token, version);
            t.ok(&job(JOB));
        }),
        server.list_job_revisions(|w, t| {
            sdk_headers(w.job_id(JOB).into_inner(), token, version);
            t.ok(&common::parse(common::fixture_value("revisions.json")));
        }),
        server.list_job_executions(|w, t| {
            sdk_headers(w.job_id(JOB).into_inner(), token, version);
            t.ok(&execution_page(&[ex], None));
        }),
        server.create_job_execution(|w, t| {
            sdk_headers(w.job_id(JOB).into_inner(), token, version);
            t.ok(&common::parse(common::fixture_value(
                "create_execution_output.json",
            )));
        }),
        server.get_job_execution(|w, t| {
            sdk_headers(w.job_id(JOB).execution_id(ex).into_inner(), token, version);
            t.ok(&execution(ex, "running"));
        }),
        server.delete_job_execution(|w, t| {
            sdk_headers(w.job_id(JOB).execution_id(ex).into_inner(), token, version);
            t.ok(&execution(ex, "cancelling"));
        }),
        server.list_job_execution_tasks(|w, t| {
            sdk_headers(w.job_id(JOB).execution_id(ex).into_inner(), token, version);
            t.ok(&task_page(&["task-0"], None));
        }),
    ];

    let jobs = client.jobs();
    let job_ref = client.job(JOB);
    let executions = job_ref.executions();
    jobs.list().send().await.expect("ListJobs");
    jobs.create(job(JOB)).send().await.expect("CreateJob");
    job_ref.get().send().await.expect("GetJob");
    job_ref.update(job(JOB)).send().await.expect("UpdateJob");
    job_ref.delete().send().await.expect("DeleteJob");
    job_ref.revisions().send().await.expect("ListJobRevisions");
    executions.list().send().await.expect("ListJobExecutions");
    executions
        .create()
        .task(json!({"shard": 0}))
        .send()
        .await
        .expect("CreateJobExecution");
    job_ref
        .execution(ex)
        .get()
        .send()
        .await
        .expect("GetJobExecution");
    job_ref
        .execution(ex)
        .cancel()
        .send()
        .await
        .expect("DeleteJobExecution");
    job_ref
        .execution(ex)
        .tasks()
        .send()
        .await
        .expect("ListJobExecutionTasks");
    for (i, mock) in mocks.iter().enumerate() {
        assert_eq!(mock.calls(), 1, "operation #{i}");
    }
}

#[tokio::test]
async fn every_operation_carries_the_key_workspace_version_and_user_agent() {
    let server = MockServer::start_async().await;
    let client = common::client(&server);
    call_every_operation(&server, &client, KEY, versions::DEFAULT).await;
}

#[tokio::test]
async fn an_overridden_api_version_is_sent_on_every_operation() {
    let server = MockServer::start_async().await;
    let client = builder_for(&server.base_url())
        .api_version("2026-09-01.preview")
        .build()
        .unwrap();
    call_every_operation(&server, &client, KEY, "2026-09-01.preview").await;
}

#[tokio::test]
async fn bl_api_version_from_the_environment_is_sent() {
    let server = MockServer::start_async().await;
    let mock = server.get_job(|w, t| {
        w.job_id(JOB)
            .into_inner()
            .header("blaxel-version", versions::UNVERSIONED);
        t.ok(&job(JOB));
    });
    let client = Client::builder()
        .env_vars([
            ("BL_API_KEY", KEY),
            ("BL_WORKSPACE", WS),
            ("BL_API_URL", server.base_url().as_str()),
            ("BL_API_VERSION", versions::UNVERSIONED),
        ])
        .build()
        .unwrap();
    client.job(JOB).get().send().await.unwrap();
    assert_eq!(mock.calls(), 1);
}

fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

/// A token endpoint that hands out `tok-1`, `tok-2`, … with `expires_in`.
fn token_endpoint(server: &MockServer, expires_in: u64) -> (httpmock::Mock<'_>, Recorder) {
    let rec = Recorder::new();
    let mock = server.mock(|when, then| {
        when.method("POST")
            .path("/oauth/token")
            .header("authorization", basic("client-7", "cl1ent-s3cret-XYZ"))
            .json_body(json!({"grant_type": "client_credentials"}));
        then.respond_with(rec.responder(move |n, _| {
            json_response(
                200,
                &json!({
                    "access_token": format!("tok-{}", n + 1),
                    "refresh_token": "refresh-abc",
                    "expires_in": expires_in,
                    "token_type": "Bearer",
                }),
            )
        }));
    });
    (mock, rec)
}

fn oauth_client(server: &MockServer) -> Client {
    Client::builder()
        .ignore_environment()
        .base_url(server.base_url())
        .workspace(WS)
        .client_credentials("client-7", "cl1ent-s3cret-XYZ")
        .retry(fast_retry())
        .build()
        .unwrap()
}

#[tokio::test]
async fn client_credentials_fetch_one_token_for_many_requests() {
    let server = MockServer::start_async().await;
    let (token, _) = token_endpoint(&server, 3600);
    let client = oauth_client(&server);
    call_every_operation(&server, &client, "tok-1", versions::DEFAULT).await;
    // Clones share the cached token.
    let clone = client.clone();
    let get = server.get_job(|w, t| {
        w.job_id("other-job")
            .into_inner()
            .header("authorization", "Bearer tok-1");
        t.ok(&job("other-job"));
    });
    clone.job("other-job").get().send().await.unwrap();
    assert_eq!(get.calls(), 1);
    assert_eq!(token.calls(), 1, "one token for 12 requests");
}

#[tokio::test]
async fn concurrent_first_requests_share_one_token_fetch() {
    let server = MockServer::start_async().await;
    let (token, _) = token_endpoint(&server, 3600);
    let get = server.get_job(|w, t| {
        w.job_id(JOB)
            .into_inner()
            .header("authorization", "Bearer tok-1");
        t.ok(&job(JOB));
    });
    let client = oauth_client(&server);
    let calls = (0..8).map(|_| client.job(JOB).get().send());
    for r in futures_util::future::join_all(calls).await {
        r.unwrap();
    }
    assert_eq!(get.calls(), 8);
    assert_eq!(token.calls(), 1);
}

/// On a paused clock, against a loopback server that hands out `tok-1`,
/// `tok-2`, ... with a lifetime of 100 s: the token is refreshed once half
/// of its lifetime (50 s) has passed, and not before.
#[tokio::test(start_paused = true)]
async fn an_expiring_token_is_fetched_again() {
    let tokens = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let issued = std::sync::Arc::clone(&tokens);
    let server = RawServer::start(move |_, request| {
        if request.line().starts_with("POST /oauth/token") {
            let n = issued.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            let body = json!({"access_token": format!("tok-{n}"), "expires_in": 100});
            Reply::json("200 OK", &body.to_string())
        } else {
            Reply::json("200 OK", &common::job_value(JOB).to_string())
        }
    })
    .await;
    let client = Client::builder()
        .ignore_environment()
        .base_url(&server.url)
        .workspace(WS)
        .client_credentials("client-7", "cl1ent-s3cret-XYZ")
        .retry(fast_retry())
        .build()
        .unwrap();
    let bearer_of_last_get = || {
        let received = server.received();
        let last = received
            .last()
            .expect("a request")
            .head
            .to_ascii_lowercase();
        last.lines()
            .find_map(|l| l.strip_prefix("authorization: ").map(str::to_owned))
            .expect("an authorization header")
    };
    client.job(JOB).get().send().await.unwrap();
    tokio::time::advance(Duration::from_secs(49)).await;
    client.job(JOB).get().send().await.unwrap();
    assert_eq!(tokens.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(bearer_of_last_get(), "bearer tok-1");
    tokio::time::advance(Duration::from_secs(2)).await;
    client.job(JOB).get().send().await.unwrap();
    assert_eq!(tokens.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert_eq!(bearer_of_last_get(), "bearer tok-2");
    // Token, GET, GET, token, GET.
    assert_eq!(server.received().len(), 5);
}

#[tokio::test]
async fn a_failing_token_endpoint_is_an_api_error_and_no_api_request_is_sent() {
    let server = MockServer::start_async().await;
    let token = server.mock(|when, then| {
        when.method("POST").path("/oauth/token");
        then.status(401).json_body(json!({
            "code": 401, "error": "invalid_client", "message": "unknown client"
        }));
    });
    let get = server.get_job(|w, t| {
        w.job_id(JOB);
        t.ok(&job(JOB));
    });
    let client = oauth_client(&server);
    let err = client.job(JOB).get().send().await.unwrap_err();
    assert!(err.is_unauthorized(), "{err}");
    assert_eq!(
        err.api().unwrap().code().map(|c| c.as_str()),
        Some("invalid_client")
    );
    assert_eq!(token.calls(), 1, "401 is not retried");
    assert_eq!(get.calls(), 0);
}

#[tokio::test]
async fn a_token_endpoint_503_is_retried() {
    let server = MockServer::start_async().await;
    let rec = Recorder::new();
    let token = server.mock(|when, then| {
        when.method("POST").path("/oauth/token");
        then.respond_with(rec.responder(|n, _| {
            if n == 0 {
                json_response(503, &json!({"code": 503, "error": "unavailable"}))
            } else {
                json_response(200, &json!({"access_token": "tok-ok", "expires_in": 3600}))
            }
        }));
    });
    let get = server.get_job(|w, t| {
        w.job_id(JOB)
            .into_inner()
            .header("authorization", "Bearer tok-ok");
        t.ok(&job(JOB));
    });
    let client = oauth_client(&server);
    client.job(JOB).get().send().await.unwrap();
    assert_eq!(token.calls(), 2);
    assert_eq!(get.calls(), 1);
}

#[tokio::test]
async fn the_api_key_is_sent_as_given_and_only_in_authorization() {
    let server = MockServer::start_async().await;
    let mock = server.list_jobs(|w, t| {
        w.into_inner()
            .header("authorization", format!("Bearer {KEY}"))
            .header_missing("x-blaxel-authorization")
            .is_true(|req| {
                // The key appears in no other header and not in the URL.
                let elsewhere = req
                    .headers_vec()
                    .iter()
                    .filter(|(k, _)| !k.eq_ignore_ascii_case("authorization"))
                    .any(|(_, v)| v.contains(KEY));
                !elsewhere && !req.uri_str().contains(KEY)
            });
        t.ok(&job_page(&[], None));
    });
    let client = common::client(&server);
    let page: types::JobList = client.jobs().list().send().await.unwrap();
    assert!(page.data.is_empty());
    assert_eq!(mock.calls(), 1);
}
