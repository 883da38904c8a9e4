//! Retries against injected faults: request counts follow the retry policy,
//! nothing is done twice, and Retry-After is honoured.

use crate::common::{self, WS};
use blaxel_jobs::raw::operations::Operation;
use blaxel_jobs::{Error, TransportErrorKind};
use blaxel_jobs_emulator::Fault;
use serde_json::json;
use std::time::Duration;
use tokio::time::Instant;

fn status(code: u16) -> Fault {
    Fault::Status {
        status: code,
        retry_after: None,
        body: None,
    }
}

#[tokio::test]
async fn reads_are_retried_until_they_succeed_or_attempts_run_out() {
    let (emu, client) = common::manual().await;
    client.jobs().create(common::job("a")).send().await.unwrap();

    emu.inject(Operation::GetJob, status(503), 2);
    client.job("a").get().send().await.unwrap();
    assert_eq!(emu.request_count(Operation::GetJob), 3);

    emu.inject(Operation::GetJob, status(502), 3);
    let err = client.job("a").get().send().await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(502));
    assert_eq!(err.api().unwrap().attempts(), 3);
    assert_eq!(emu.request_count(Operation::GetJob), 6);

    emu.inject(Operation::GetJob, Fault::HtmlError { status: 504 }, 1);
    client.job("a").get().send().await.unwrap();
    assert_eq!(emu.request_count(Operation::GetJob), 8);

    // A client error is never retried.
    emu.inject(Operation::GetJob, status(409), 1);
    let err = client.job("a").get().send().await.unwrap_err();
    assert!(err.is_conflict());
    assert_eq!(emu.request_count(Operation::GetJob), 9);
}

#[tokio::test]
async fn create_job_is_not_retried_when_the_server_may_have_processed_it() {
    let (emu, client) = common::manual().await;

    emu.inject(Operation::CreateJob, status(500), 1);
    let err = client
        .jobs()
        .create(common::job("a"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(500));
    assert_eq!(emu.request_count(Operation::CreateJob), 1);

    // The connection drops after the job was stored: no second attempt, so
    // no second job and no spurious conflict.
    emu.inject(
        Operation::CreateJob,
        Fault::DropConnection {
            after_processing: true,
        },
        1,
    );
    let err = client
        .jobs()
        .create(common::job("b"))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Transport(t) if t.kind() != TransportErrorKind::Connect),
        "{err}"
    );
    assert_eq!(emu.request_count(Operation::CreateJob), 2);
    assert_eq!(emu.job_names(WS), ["b"]);

    // 503 with Retry-After says the server did not process it: retried.
    emu.inject(
        Operation::CreateJob,
        Fault::Status {
            status: 503,
            retry_after: Some("0".into()),
            body: None,
        },
        1,
    );
    client.jobs().create(common::job("c")).send().await.unwrap();
    assert_eq!(emu.request_count(Operation::CreateJob), 4);
    assert_eq!(emu.job_names(WS), ["b", "c"]);
}

/// On a paused tokio clock (the emulator's manual clock does not tick on
/// its own): the client waits the second the server asked for.
#[tokio::test(start_paused = true)]
async fn a_429_with_retry_after_is_honoured() {
    let (emu, client) = common::manual().await;
    emu.inject(
        Operation::CreateJob,
        Fault::Status {
            status: 429,
            retry_after: Some("1".into()),
            body: None,
        },
        1,
    );
    let started = Instant::now();
    client.jobs().create(common::job("a")).send().await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_secs(1));
    assert_eq!(emu.request_count(Operation::CreateJob), 2);
    assert_eq!(emu.job_names(WS), ["a"]);
}

#[tokio::test]
async fn a_retried_execution_after_a_dropped_connection_exists_once() {
    let (emu, client) = common::manual().await;
    client.jobs().create(common::job("a")).send().await.unwrap();
    emu.inject(
        Operation::CreateJobExecution,
        Fault::DropConnection {
            after_processing: true,
        },
        1,
    );
    let started = client
        .job("a")
        .executions()
        .create()
        .task(json!({"durationSeconds": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(emu.request_count(Operation::CreateJobExecution), 2);
    let stored = emu.executions(WS, "a");
    assert_eq!(stored.len(), 1, "exactly one execution");
    assert_eq!(stored[0].metadata.id, started.execution_id);
}

#[tokio::test]
async fn a_dropped_connection_before_processing_is_retried_for_reads() {
    let (emu, client) = common::manual().await;
    client.jobs().create(common::job("a")).send().await.unwrap();
    emu.inject(
        Operation::ListJobs,
        Fault::DropConnection {
            after_processing: false,
        },
        2,
    );
    let page = client.jobs().list().send().await.unwrap();
    assert_eq!(page.data.len(), 1);
    assert_eq!(emu.request_count(Operation::ListJobs), 3);
}

#[tokio::test]
async fn a_slow_answer_times_out_and_is_retried() {
    let (emu, client) = common::manual().await;
    client.jobs().create(common::job("a")).send().await.unwrap();
    emu.inject(Operation::GetJob, Fault::Delay(Duration::from_secs(5)), 1);
    let job = client
        .job("a")
        .get()
        .timeout(Duration::from_millis(200))
        .send()
        .await
        .unwrap();
    assert_eq!(job.metadata.name, "a");
    assert_eq!(emu.request_count(Operation::GetJob), 2);

    emu.inject(Operation::GetJob, Fault::Delay(Duration::from_secs(5)), 3);
    let err = client
        .job("a")
        .get()
        .timeout(Duration::from_millis(100))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
}

#[tokio::test]
async fn bodies_that_do_not_decode_are_decode_errors_and_not_retried() {
    let (emu, client) = common::manual().await;
    client.jobs().create(common::job("a")).send().await.unwrap();

    emu.inject(Operation::GetJob, Fault::MalformedBody, 1);
    let err = client.job("a").get().send().await.unwrap_err();
    assert!(
        matches!(&err, Error::Decode(d) if d.status().as_u16() == 200),
        "{err}"
    );
    assert_eq!(emu.request_count(Operation::GetJob), 1);

    emu.inject(Operation::ListJobs, Fault::TruncatedBody, 1);
    let err = client.jobs().list().send().await.unwrap_err();
    match err {
        Error::Decode(d) => assert!(!d.body().is_empty()),
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn an_html_gateway_page_is_kept_as_the_raw_body() {
    let (emu, client) = common::manual().await;
    emu.inject(Operation::ListJobs, Fault::HtmlError { status: 502 }, 3);
    let err = client.jobs().list().send().await.unwrap_err();
    let api = err.api().expect("an API error");
    assert_eq!(api.status().as_u16(), 502);
    assert!(
        api.body_text().to_lowercase().contains("<html"),
        "{}",
        api.body_text()
    );
    assert!(api.code().is_none());
    assert!(err.to_string().contains("502"), "{err}");
}

/// A job runs execution `x`, is deleted and created again under the same
/// name at the same (manual clock) instant; a new create with id `x` loses
/// its first attempt before the server sees it, and the retry is answered
/// 409 for the earlier job's execution. Equal times show nothing: it is a
/// conflict, never a success, for a single create and for a batch's chunk.
#[tokio::test]
async fn an_earlier_job_s_execution_under_the_same_id_is_never_taken_for_this_one() {
    let (emu, client) = common::manual().await;
    client.jobs().create(common::job("a")).send().await.unwrap();
    let job = client.job("a");
    for id in ["x", "b-0"] {
        job.executions()
            .create()
            .execution_id(id)
            .task(json!({"durationSeconds": 1}))
            .send()
            .await
            .unwrap();
    }
    job.delete().send().await.unwrap();
    client.jobs().create(common::job("a")).send().await.unwrap();
    let before = emu.executions(WS, "a").len();

    emu.inject(
        Operation::CreateJobExecution,
        Fault::DropConnection {
            after_processing: false,
        },
        1,
    );
    let err = job
        .executions()
        .create()
        .execution_id("x")
        .task(json!({"durationSeconds": 1}))
        .send()
        .await
        .unwrap_err();
    match &err {
        Error::ExecutionConflict(c) => {
            assert_eq!(c.execution_id(), "x");
            assert_eq!(c.error().attempts(), 2);
            assert!(
                c.reason().contains("same time as the job"),
                "{}",
                c.reason()
            );
        }
        other => panic!("a false success or another error: {other:?}"),
    }

    // A batch whose chunk 0 is the earlier job's `b-0`.
    let err = job
        .batch([json!({"durationSeconds": 1})])
        .id("b")
        .submit()
        .await
        .unwrap_err();
    match &err {
        Error::Chunk(c) => match c.error() {
            Error::ExecutionConflict(c) => {
                assert_eq!(c.execution_id(), "b-0");
                assert!(
                    c.reason().contains("same time as the job"),
                    "{}",
                    c.reason()
                );
            }
            other => panic!("{other:?}"),
        },
        other => panic!("a false success or another error: {other:?}"),
    }
    assert_eq!(emu.executions(WS, "a").len(), before, "nothing started");
}
