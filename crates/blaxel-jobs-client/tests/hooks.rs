//! The hand-written hooks of the generated client: prepare, on-request,
//! exec and on-response, in that order, on every request.

mod common;

use blaxel_jobs_client::hooks::Hooks;
use blaxel_jobs_client::{Client, Error, types};
use blaxel_jobs_httpmock::MockServerExt as _;
use httpmock::MockServer;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

fn job() -> types::Job {
    common::fixture("job_full.json")
}

#[tokio::test]
async fn hooks_run_in_order_on_every_request() {
    let server = MockServer::start_async().await;
    let mock = server.get_job(|when, then| {
        when.job_id("a")
            .into_inner()
            .header("x-from-request-hook", "1")
            .header("x-from-exec-hook", "1");
        then.ok(&job());
    });
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let (l1, l2, l3, l4) = (log.clone(), log.clone(), log.clone(), log.clone());
    let hooks = Hooks::on_request(move |req| {
        l2.lock().unwrap().push("request".into());
        req.headers_mut()
            .insert("x-from-request-hook", "1".parse().unwrap());
    })
    .with_prepare(move || {
        let l1 = l1.clone();
        async move {
            l1.lock().unwrap().push("prepare".into());
            Ok(())
        }
    })
    .with_exec(move |http, mut req, operation| {
        l3.lock().unwrap().push(format!("exec {operation}"));
        req.headers_mut()
            .insert("x-from-exec-hook", "1".parse().unwrap());
        async move { http.execute(req).await }
    })
    .with_on_response(move |result| {
        let status = result.as_ref().map(|r| r.status().as_u16()).unwrap_or(0);
        l4.lock().unwrap().push(format!("response {status}"));
    });
    let client = Client::new(&server.base_url(), hooks);
    for _ in 0..2 {
        client.get_job().job_id("a").send().await.unwrap();
    }
    mock.assert_calls(2);
    let expected = ["prepare", "request", "exec get_job", "response 200"];
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 8);
    assert_eq!(log[..4], expected);
    assert_eq!(log[4..], expected);
}

#[tokio::test]
async fn a_failing_prepare_step_stops_the_request_before_it_is_sent() {
    let server = MockServer::start_async().await;
    let mock = server.get_job(|when, then| {
        when.job_id("a");
        then.ok(&job());
    });
    let execs = Arc::new(AtomicUsize::new(0));
    let counted = execs.clone();
    let hooks = Hooks::new()
        .with_prepare(|| async { Err("no token".to_owned()) })
        .with_exec(move |http, req, _| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move { http.execute(req).await }
        });
    let client = Client::new(&server.base_url(), hooks);
    let err = client.get_job().job_id("a").send().await.unwrap_err();
    assert!(matches!(&err, Error::Custom(m) if m == "no token"), "{err}");
    assert_eq!(execs.load(Ordering::SeqCst), 0);
    mock.assert_calls(0);
}

#[test]
fn debug_shows_which_hooks_are_set() {
    let hooks = Hooks::new().with_on_response(|_| {});
    let text = format!("{hooks:?}");
    assert!(text.contains("on_response: true"), "{text}");
    assert!(text.contains("exec: false"), "{text}");
}
