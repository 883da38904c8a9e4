//! Fan-out (`JobRef::batch`) against the emulator and misbehaving servers:
//! chunking, resume after a cancelled submission, back-pressure, progress,
//! waiting for a whole batch, and retrying failed tasks.

mod common;

use blaxel_jobs::batch::with_params;
use blaxel_jobs::{Client, Error, JobBuilder, Progress};
use blaxel_jobs_emulator::{Clock, Emulator, EmulatorConfig};
use blaxel_jobs_httpmock::MockServerExt;
use common::{JOB, Recorder, api_error, json_response};
use httpmock::MockServer;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const WS: &str = "batch-tests";

async fn emulator(clock: Clock) -> (Emulator, Client) {
    let emu = Emulator::start_with(EmulatorConfig::default().clock(clock))
        .await
        .expect("emulator");
    let client = Client::builder()
        .ignore_environment()
        .base_url(emu.base_url())
        .api_key(emu.api_key())
        .workspace(WS)
        .retry(common::fast_retry())
        .build()
        .expect("client");
    let job = JobBuilder::new(JOB)
        .image("registry.example.com/worker:1.0")
        .memory(1024)
        .max_retries(0)
        .build()
        .expect("job");
    client.jobs().create(job).send().await.expect("create job");
    (emu, client)
}

/// Executions per id, and the task count of each, as the emulator holds them.
fn executions(emu: &Emulator) -> BTreeMap<String, (usize, i64)> {
    let mut out = BTreeMap::new();
    for e in emu.executions(WS, JOB) {
        let id = e.metadata.id.clone().unwrap_or_default();
        let tasks = e.spec.task_count.unwrap_or(-1);
        out.entry(id).or_insert((0, tasks)).0 += 1;
    }
    out
}

#[tokio::test]
async fn tasks_are_cut_into_chunks_whose_ids_derive_from_the_batch_id() {
    let (emu, client) = emulator(Clock::Manual).await;
    let seen = Arc::new(Mutex::new(Vec::<Progress>::new()));
    let log = seen.clone();
    let done = client
        .job(JOB)
        .batch((0..10).map(|i| json!({"i": i})))
        .id("nightly")
        .chunk_size(3)
        .concurrency(2)
        .on_progress(move |p| log.lock().unwrap().push(p.clone()))
        .submit()
        .await
        .unwrap();
    assert_eq!(done.run().id(), "nightly");
    assert_eq!(done.run().chunks(), Some(4));
    assert_eq!((done.created_chunks(), done.skipped_chunks()), (4, 0));
    assert_eq!(done.progress().submitted, 10);
    let found = executions(&emu);
    let expected: BTreeMap<String, (usize, i64)> = [(0, 3), (1, 3), (2, 3), (3, 1)]
        .into_iter()
        .map(|(i, n)| (format!("nightly-{i}"), (1, n)))
        .collect();
    assert_eq!(found, expected);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 4, "one update per chunk");
    assert!(seen.windows(2).all(|w| w[0].tasks < w[1].tasks));
    assert_eq!(seen.last().unwrap().tasks, 10);
}

#[tokio::test]
async fn the_tasks_of_each_chunk_are_sent_in_order() {
    let (emu, client) = emulator(Clock::Manual).await;
    client
        .job(JOB)
        .batch((0..7).map(|i| json!({"i": i})))
        .id("ordered")
        .chunk_size(4)
        .submit()
        .await
        .unwrap();
    drop(emu);
    // The chunk's tasks as the server lists them carry no parameters, so the
    // order is checked on what the client sends, through a mock.
    let server = MockServer::start_async().await;
    server.list_job_executions(|w, t| {
        w.job_id(JOB);
        t.ok(&common::execution_page(&[], None));
    });
    let rec = Recorder::new();
    server.create_job_execution(|w, t| {
        w.job_id(JOB);
        t.into_inner()
            .respond_with(rec.responder(|_, _| json_response(200, &json!({}))));
    });
    common::client(&server)
        .job(JOB)
        .batch((0..7).map(|i| json!({"i": i})))
        .id("ordered")
        .chunk_size(4)
        .concurrency(1)
        .submit()
        .await
        .unwrap();
    let bodies = rec.json_bodies();
    let ids: Vec<_> = bodies.iter().map(|b| b["executionId"].clone()).collect();
    assert_eq!(ids, [json!("ordered-0"), json!("ordered-1")]);
    let tasks: Vec<_> = bodies
        .iter()
        .flat_map(|b| b["tasks"].as_array().unwrap().clone())
        .collect();
    assert_eq!(tasks, (0..7).map(|i| json!({"i": i})).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_submission_cancelled_half_way_resumes_without_creating_any_chunk_twice() {
    let (emu, client) = emulator(Clock::Manual).await;
    let tasks = || (0..100).map(|i| json!({"i": i}));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut stop = Some(stop);
    let first = client
        .job(JOB)
        .batch(tasks())
        .id("resume")
        .chunk_size(5)
        .concurrency(3)
        .on_progress(move |p| {
            if p.chunks == 8 {
                stop.take().map(|s| s.send(()));
            }
        })
        .submit();
    tokio::select! {
        r = first => panic!("the submission should have been cancelled: {r:?}"),
        _ = stopped => {}
    }
    let before = executions(&emu);
    assert!(before.len() >= 8 && before.len() < 20, "{}", before.len());

    let again = client
        .job(JOB)
        .batch(tasks())
        .id("resume")
        .chunk_size(5)
        .concurrency(3)
        .submit()
        .await
        .unwrap();
    assert_eq!(again.created_chunks() + again.skipped_chunks(), 20);
    // Creates in flight when the first run was cancelled may land after it:
    // they are found and skipped too.
    assert!(again.skipped_chunks() >= before.len() as u64);
    assert!(again.created_chunks() <= 20 - before.len() as u64);
    assert_eq!(again.progress().skipped, 5 * again.skipped_chunks());
    let after = executions(&emu);
    assert_eq!(after.len(), 20);
    for i in 0..20 {
        assert_eq!(
            after.get(&format!("resume-{i}")),
            Some(&(1, 5)),
            "chunk {i}"
        );
    }
    // A third run has nothing left to do.
    let third = client
        .job(JOB)
        .batch(tasks())
        .id("resume")
        .chunk_size(5)
        .submit()
        .await
        .unwrap();
    assert_eq!((third.created_chunks(), third.skipped_chunks()), (0, 20));
    assert_eq!(executions(&emu).len(), 20);
}

#[tokio::test]
async fn back_pressure_is_waited_out_and_never_fails_the_batch() {
    let server = MockServer::start_async().await;
    server.list_job_executions(|w, t| {
        w.job_id(JOB);
        t.ok(&common::execution_page(&[], None));
    });
    let rec = Recorder::new();
    let create = server.create_job_execution(|w, t| {
        w.job_id(JOB);
        t.into_inner().respond_with(rec.responder(|n, _| match n {
            // Three 429s, then one of Blaxel's capacity answers: the batch
            // sends each create once (the client's own retries are off for
            // it), so each is a back-off of the batch's, reported.
            0..=2 => common::response(
                429,
                &[("retry-after", "0")],
                api_error(429, "too_many", "slow down").to_string(),
            ),
            3 => json_response(
                400,
                &json!({"error": "Maximum parallel executions limit reached"}),
            ),
            _ => json_response(200, &json!({})),
        }));
    });
    let client = common::client(&server);
    let done = client
        .job(JOB)
        .batch([json!({"a": 1})])
        .id("paced")
        .allow_queue(false)
        .max_backoff(Duration::from_millis(1))
        .submit()
        .await
        .unwrap();
    assert_eq!(create.calls(), 5);
    assert_eq!(done.progress().backoffs, 4);
    assert_eq!(done.progress().retries, 0);
    assert_eq!(done.created_chunks(), 1);
    let bodies = rec.json_bodies();
    assert!(
        bodies
            .iter()
            .all(|b| b["executionId"] == "paced-0" && b["allowQueue"] == false)
    );
}

/// On a paused tokio clock, against a plain loopback server: the waits
/// between creates of one chunk are 1 s, 2 s, 4 s, ... capped at
/// `max_backoff`, at least the server's `Retry-After` (itself capped), and
/// start again from 1 s for the next chunk. The SDK's own retries are off
/// (one attempt per call), so every wait measured is the batch's.
#[tokio::test(start_paused = true)]
async fn back_pressure_waits_double_honour_retry_after_and_are_capped_in_virtual_time() {
    use common::raw::{RawServer, Reply};
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn too_many(retry_after: Option<&str>) -> Reply {
        let body = api_error(429, "too_many", "slow down").to_string();
        let mut headers = vec![("content-type", "application/json")];
        if let Some(after) = retry_after {
            headers.push(("retry-after", after));
        }
        Reply::http("429 Too Many Requests", &headers, &body)
    }

    let started = tokio::time::Instant::now();
    let creates = Arc::new(AtomicUsize::new(0));
    let at = Arc::new(Mutex::new(Vec::<Duration>::new()));
    let (count, log) = (creates.clone(), at.clone());
    let empty_page = serde_json::to_string(&common::execution_page(&[], None)).unwrap();
    let server = RawServer::start(move |_, req| {
        if !req.line().starts_with("POST ") {
            return Reply::json("200 OK", &empty_page);
        }
        log.lock().unwrap().push(started.elapsed());
        match count.fetch_add(1, Ordering::SeqCst) {
            // Chunk 0: 1 s, 2 s, then Retry-After 5 s over the 4 s of
            // backoff, then 8 s capped at 6 s.
            0 | 1 => too_many(None),
            2 => too_many(Some("5")),
            3 => too_many(None),
            // Chunk 1: a Retry-After of 30 s is capped at 6 s too.
            5 => too_many(Some("30")),
            _ => Reply::json("200 OK", "{}"),
        }
    })
    .await;
    let client = common::builder_for(&server.url)
        .retry(common::fast_retry().with_max_attempts(1))
        .build()
        .unwrap();
    let done = client
        .job(JOB)
        .batch([json!({"a": 1}), json!({"a": 2})])
        .id("paced")
        .chunk_size(1)
        .concurrency(1)
        .allow_queue(false)
        .max_backoff(Duration::from_secs(6))
        .submit()
        .await
        .unwrap();

    let secs = Duration::from_secs;
    assert_eq!(
        *at.lock().unwrap(),
        [
            secs(0),
            secs(1),
            secs(3),
            secs(8),
            secs(14),
            secs(14),
            secs(20)
        ]
    );
    assert_eq!(started.elapsed(), secs(20));
    assert_eq!(creates.load(Ordering::SeqCst), 7);
    assert_eq!(done.progress().backoffs, 5);
    assert_eq!(done.progress().submitted, 2);
    assert_eq!(done.created_chunks(), 2);
    // Every attempt of a chunk carries its derived id; one execution per
    // chunk, and chunk 1 was not sent before chunk 0 was created.
    let ids: Vec<String> = server
        .received()
        .iter()
        .filter(|r| r.line().starts_with("POST "))
        .map(|r| {
            let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(body["allowQueue"], false);
            body["executionId"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        ids,
        [
            "paced-0", "paced-0", "paced-0", "paced-0", "paced-0", "paced-1", "paced-1"
        ]
    );
}

#[tokio::test]
async fn an_answer_that_is_not_back_pressure_fails_the_batch() {
    let server = MockServer::start_async().await;
    server.list_job_executions(|w, t| {
        w.job_id(JOB);
        t.ok(&common::execution_page(&[], None));
    });
    server.create_job_execution(|w, t| {
        w.job_id(JOB);
        t.into_inner()
            .respond_with(|_: &httpmock::HttpMockRequest| {
                json_response(
                    400,
                    &api_error(400, "bad_request", "the execution can never fit"),
                )
            });
    });
    let err = common::client(&server)
        .job(JOB)
        .batch([json!({"a": 1})])
        .id("never")
        .allow_queue(false)
        .submit()
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
    match &err {
        Error::Chunk(c) => {
            assert_eq!(
                (c.chunk(), c.execution_id(), c.attempts()),
                (0, "never-0", 1)
            );
            assert!(
                matches!(c.error(), Error::Api(e) if e.status().as_u16() == 400),
                "{err:?}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_workspace_at_capacity_paces_the_batch_on_the_emulator() {
    let emu = Emulator::start_with(EmulatorConfig::default().clock(Clock::Manual).capacity(1))
        .await
        .unwrap();
    // One attempt per call, so that each refusal reaches the batch.
    let client = Client::builder()
        .ignore_environment()
        .base_url(emu.base_url())
        .api_key(emu.api_key())
        .workspace(WS)
        .retry(common::fast_retry().with_max_attempts(1))
        .build()
        .unwrap();
    let job = JobBuilder::new(JOB)
        .image("registry.example.com/worker:1.0")
        .build()
        .unwrap();
    client.jobs().create(job).send().await.unwrap();
    let done = client
        .job(JOB)
        .batch((0..3).map(|_| json!({"durationSeconds": 1})))
        .id("capacity")
        .chunk_size(1)
        .concurrency(1)
        .allow_queue(false)
        .max_backoff(Duration::from_millis(1))
        // Simulated time moves (and the running execution ends) only when
        // the batch backs off.
        .on_progress(|p| {
            if p.backoffs > p.chunks.saturating_sub(1) {
                emu.advance(Duration::from_secs(3600));
            }
        })
        .submit()
        .await
        .unwrap();
    assert_eq!(done.created_chunks(), 3);
    // The second and third chunks each met a running execution once.
    assert_eq!(done.progress().backoffs, 2, "{:?}", done.progress());
    let found = executions(&emu);
    assert_eq!(found.len(), 3);
    assert!(found.values().all(|(n, _)| *n == 1));
}

#[tokio::test]
async fn waiting_counts_the_whole_batch_and_failed_tasks_are_retried_alone() {
    let (emu, client) = emulator(Clock::Scaled(1000.0)).await;
    let failing = [3u64, 11, 12];
    let tasks = || {
        (0..20u64).map(move |i| {
            if failing.contains(&i) {
                json!({"i": i, "durationSeconds": 1, "fail": true})
            } else {
                json!({"i": i, "durationSeconds": 1})
            }
        })
    };
    let submitted = client
        .job(JOB)
        .batch(tasks())
        .id("triage")
        .chunk_size(5)
        .submit()
        .await
        .unwrap();
    let run = submitted.run();
    let polls = Arc::new(Mutex::new(0u32));
    let counter = polls.clone();
    let done = run
        .wait_until_done()
        .poll_interval(Duration::from_millis(5))
        .on_progress(move |_| *counter.lock().unwrap() += 1)
        .wait(Duration::from_secs(60))
        .await
        .unwrap();
    assert!(*polls.lock().unwrap() >= 1);
    assert_eq!((done.executions, done.ended), (4, 4));
    assert_eq!((done.succeeded, done.failed), (17, 3));
    assert_eq!((done.queued, done.running), (0, 0));

    let failed = run.failed_tasks().await.unwrap();
    let indices: Vec<_> = failed.iter().map(|t| t.task_index).collect();
    assert_eq!(indices, failing);
    assert_eq!(failed[1].execution_id, "triage-2");
    assert_eq!(failed[1].index_in_chunk, 1);
    assert!(failed.iter().all(|t| t.params.is_none()));

    let mut failed = with_params(failed, tasks()).unwrap();
    for t in &failed {
        assert_eq!(t.params.as_ref().unwrap()["i"], json!(t.task_index));
    }
    // Fix what made them fail, and run them again as retry round 1.
    for t in &mut failed {
        t.params.as_mut().unwrap().remove("fail");
    }
    let retried = run.retry(failed, 1).unwrap().submit().await.unwrap();
    assert_eq!(retried.run().id(), "triage-r1");
    assert_eq!(retried.progress().submitted, 3);
    let again = retried
        .run()
        .wait_until_done()
        .poll_interval(Duration::from_millis(5))
        .wait(Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!((again.succeeded, again.failed, again.executions), (3, 0, 1));
    let all = executions(&emu);
    assert_eq!(all.len(), 5);
    assert_eq!(all.get("triage-r1-0"), Some(&(1, 3)));
    // The original batch still counts only its own chunks.
    let original = run
        .wait_until_done()
        .wait(Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!((original.executions, original.failed), (4, 3));
}

#[tokio::test]
async fn bad_batch_ids_and_tasks_are_refused_before_anything_is_sent() {
    let server = MockServer::start_async().await;
    let client = common::client(&server);
    let err = client
        .job(JOB)
        .batch([json!({})])
        .id("Not Valid")
        .submit()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    let list = server.list_job_executions(|w, t| {
        w.job_id(JOB);
        t.ok(&common::execution_page(&[], None));
    });
    let create = server.create_job_execution(|w, t| {
        w.job_id(JOB);
        t.into_inner()
            .respond_with(|_: &httpmock::HttpMockRequest| json_response(200, &json!({})));
    });
    let err = client
        .job(JOB)
        .batch([json!({"ok": true}), json!("not an object")])
        .id("typed")
        .submit()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("tasks[1]"), "{err}");
    assert_eq!(list.calls(), 1);
    assert_eq!(create.calls(), 0);
}

/// A mock where the batch's chunk 0 answers 409, and reading it back
/// finds `found`.
async fn conflict_on_chunk_zero(found: serde_json::Value) -> (MockServer, Result<u64, Error>) {
    let server = MockServer::start_async().await;
    server.list_job_executions(|w, t| {
        w.job_id(JOB);
        t.ok(&common::execution_page(&[], None));
    });
    server.create_job_execution(|w, t| {
        w.job_id(JOB);
        t.into_inner()
            .respond_with(|_: &httpmock::HttpMockRequest| {
                json_response(409, &api_error(409, "already_exists", "execution exists"))
            });
    });
    server.get_job(|w, t| {
        w.job_id(JOB);
        t.ok(&common::job(JOB));
    });
    server.get_job_execution(move |w, t| {
        w.job_id(JOB).execution_id("dup-0");
        let found = found.clone();
        t.into_inner()
            .respond_with(move |_: &httpmock::HttpMockRequest| json_response(200, &found));
    });
    let client = common::client(&server);
    let result = client
        .job(JOB)
        .batch([json!({"a": 1})])
        .id("dup")
        .submit()
        .await
        .map(|s| s.skipped_chunks());
    (server, result)
}

/// The fixture execution, as the chunk `dup-0` of one task without
/// environment overrides would be.
fn chunk_zero() -> serde_json::Value {
    let mut found = common::execution_value("dup-0", "running");
    found["spec"]["envOverride"] = json!({});
    found["spec"]["taskCount"] = json!(1);
    found["tasks"] = json!([found["tasks"][0].clone()]);
    found
}

#[tokio::test]
async fn a_conflict_on_a_derived_id_is_a_chunk_already_created_once_shown_to_be_this_job_s() {
    let (_server, skipped) = conflict_on_chunk_zero(chunk_zero()).await;
    assert_eq!(skipped.unwrap(), 1);

    let conflict = |err: Error| match err {
        Error::Chunk(c) => match c.into_error() {
            Error::ExecutionConflict(c) => {
                assert_eq!(c.execution_id(), "dup-0");
                c.reason().to_owned()
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    };
    let mut other = chunk_zero();
    other["metadata"]["job"] = json!("another-job");
    let (_server, err) = conflict_on_chunk_zero(other).await;
    let reason = conflict(err.unwrap_err());
    assert!(reason.contains("another-job"), "{reason}");

    // What the execution holds must agree with what the chunk sent.
    let (_server, err) = conflict_on_chunk_zero(common::execution_value("dup-0", "running")).await;
    let reason = conflict(err.unwrap_err());
    assert!(reason.contains("has 3 tasks"), "{reason}");
}

#[tokio::test]
async fn an_asynchronous_stream_of_tasks_is_submitted_like_an_iterator() {
    use futures_util::StreamExt as _;
    let (emu, client) = emulator(Clock::Manual).await;
    let tasks = futures_util::stream::iter(0..7).then(|i| async move {
        tokio::task::yield_now().await;
        json!({"i": i})
    });
    let done = blaxel_jobs::Batch::from_stream(&client, JOB, tasks)
        .id("streamed")
        .chunk_size(4)
        .submit()
        .await
        .unwrap();
    assert_eq!((done.created_chunks(), done.progress().tasks), (2, 7));
    let found = executions(&emu);
    assert_eq!(found.get("streamed-0"), Some(&(1, 4)));
    assert_eq!(found.get("streamed-1"), Some(&(1, 3)));
}

/// A raw loopback server for a batch: listings answer an empty page, and
/// the `n`-th create (0-based) gets `create(n)`. Answers the server and a
/// log of the virtual time of each create since `started`.
async fn batch_server(
    create: impl Fn(usize) -> common::raw::Reply + Send + Sync + 'static,
) -> (
    common::raw::RawServer,
    Arc<Mutex<Vec<Duration>>>,
    tokio::time::Instant,
) {
    use common::raw::{RawServer, Reply};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let started = tokio::time::Instant::now();
    let creates = Arc::new(AtomicUsize::new(0));
    let at = Arc::new(Mutex::new(Vec::<Duration>::new()));
    let log = at.clone();
    let empty_page = serde_json::to_string(&common::execution_page(&[], None)).unwrap();
    let server = RawServer::start(move |_, req| {
        if !req.line().starts_with("POST ") {
            return Reply::json("200 OK", &empty_page);
        }
        log.lock().unwrap().push(started.elapsed());
        create(creates.fetch_add(1, Ordering::SeqCst))
    })
    .await;
    (server, at, started)
}

/// The ids of the creates `server` received.
fn sent_ids(server: &common::raw::RawServer) -> Vec<String> {
    server
        .received()
        .iter()
        .filter(|r| r.line().starts_with("POST "))
        .map(|r| {
            let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            format!(
                "{} {}",
                body["executionId"].as_str().unwrap(),
                body["id"].as_str().unwrap()
            )
        })
        .collect()
}

fn status(code: &str, body: &str) -> common::raw::Reply {
    common::raw::Reply::json(code, body)
}

/// A short outage does not end a submission: twelve 503s, ten dropped
/// connections and an unreadable 200 in a row are waited out, on a paused
/// clock, within the batch's patience; every attempt carries the chunk's
/// id and message id, and each retry is reported before it is made.
#[tokio::test(start_paused = true)]
async fn an_outage_shorter_than_the_patience_is_waited_out_without_duplicates() {
    use common::raw::Reply;
    let (server, at, started) = batch_server(|n| match n {
        0..=11 => status(
            "503 Service Unavailable",
            &api_error(503, "unavailable", "down").to_string(),
        ),
        12..=21 => Reply::Raw(Vec::new()),
        22 => status("200 OK", "<<not json>>"),
        _ => status("200 OK", "{}"),
    })
    .await;
    // The SDK's own retries are left on: the batch turns them off for its
    // creates, so each failure reaches the batch once.
    let client = common::builder_for(&server.url).build().unwrap();
    let seen = Arc::new(Mutex::new(Vec::<u64>::new()));
    let log = seen.clone();
    let done = client
        .job(JOB)
        .batch([json!({"a": 1})])
        .id("blip")
        .max_backoff(Duration::from_secs(4))
        .patience(Duration::from_secs(120))
        .on_progress(move |p| log.lock().unwrap().push(p.retries))
        .submit()
        .await
        .unwrap();
    assert_eq!(done.created_chunks(), 1);
    assert_eq!(done.progress().retries, 23);
    assert_eq!(done.progress().backoffs, 0);
    // Reported once each, in order, then the chunk.
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen, (1..=23).chain([23]).collect::<Vec<_>>());
    // Waits of 1, 2 and 4 s, then 4 s (the cap) each: 24 attempts.
    let secs = |s: u64| Duration::from_secs(s);
    let mut expected = vec![secs(0), secs(1), secs(3)];
    expected.extend((0..21).map(|i| secs(7 + 4 * i)));
    assert_eq!(*at.lock().unwrap(), expected);
    assert_eq!(started.elapsed(), secs(87));
    let ids = sent_ids(&server);
    assert_eq!(ids.len(), 24);
    assert!(ids.iter().all(|i| *i == ids[0]), "{ids:?}");
    assert!(ids[0].starts_with("blip-0 "));
}

/// Failures that last longer than the patience end the submission with
/// the last of them, naming the chunk, at the virtual time the patience
/// allows.
#[tokio::test(start_paused = true)]
async fn failures_longer_than_the_patience_end_the_submission_naming_the_chunk() {
    let (server, at, started) = batch_server(|_| {
        status(
            "502 Bad Gateway",
            &api_error(502, "bad_gateway", "upstream down").to_string(),
        )
    })
    .await;
    let client = common::builder_for(&server.url).build().unwrap();
    let err = client
        .job(JOB)
        .batch((0..5).map(|i| json!({"i": i})))
        .id("down")
        .chunk_size(2)
        .concurrency(1)
        .max_backoff(Duration::from_secs(10))
        .patience(Duration::from_secs(60))
        .submit()
        .await
        .unwrap_err();
    // Waits of 1, 2, 4, 8, 10, 10, 10, 10 s (55 s); 10 more would pass 60 s.
    assert_eq!(started.elapsed(), Duration::from_secs(55));
    let secs = |s: &[u64]| {
        s.iter()
            .map(|s| Duration::from_secs(*s))
            .collect::<Vec<_>>()
    };
    assert_eq!(*at.lock().unwrap(), secs(&[0, 1, 3, 7, 15, 25, 35, 45, 55]));
    assert_eq!(err.status().map(|s| s.as_u16()), Some(502));
    match &err {
        Error::Chunk(c) => {
            assert_eq!(c.chunk(), 0);
            assert_eq!(c.execution_id(), "down-0");
            assert_eq!((c.first_task(), c.tasks(), c.attempts()), (0, 2, 9));
            assert!(matches!(c.error(), Error::Api(_)));
        }
        other => panic!("{other:?}"),
    }
    let shown = err.to_string();
    assert!(
        shown.contains("chunk 0 of batch down") && shown.contains("tasks 0 to 1"),
        "{shown}"
    );
    // The cause is the error's source, for error reporters.
    let source = std::error::Error::source(&err)
        .expect("a source")
        .to_string();
    assert!(source.contains("502"), "{source}");
    let ids = sent_ids(&server);
    assert_eq!(ids.len(), 9);
    assert!(ids.iter().all(|i| *i == ids[0]), "{ids:?}");
}

/// An answer that will never succeed ends the submission at once: one
/// attempt, the answer kept, the chunk named.
#[tokio::test(start_paused = true)]
async fn answers_that_never_succeed_end_the_submission_at_once() {
    let platform_413 = json!({"error": {
        "code": "REQUEST_ENTITY_TOO_LARGE", "message": "body too large",
        "origin": "platform", "status": 413}});
    let cases = [
        ("400 Bad Request", api_error(400, "bad_request", "no")),
        (
            "401 Unauthorized",
            api_error(401, "AUTHENTICATION_FAILED", "no"),
        ),
        ("403 Forbidden", api_error(403, "FORBIDDEN", "no")),
        ("404 Not Found", api_error(404, "not_found", "no job")),
        ("413 Payload Too Large", platform_413),
    ];
    for (line, body) in cases {
        let started = tokio::time::Instant::now();
        let body = body.to_string();
        let (server, _, _) = batch_server(move |_| status(line, &body)).await;
        let client = common::builder_for(&server.url).build().unwrap();
        let err = client
            .job(JOB)
            .batch((0..3).map(|i| json!({"i": i})))
            .id("final")
            .chunk_size(3)
            .submit()
            .await
            .unwrap_err();
        let code: u16 = line[..3].parse().unwrap();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(code), "{line}");
        assert_eq!(sent_ids(&server).len(), 1, "{line}: never sent again");
        assert_eq!(started.elapsed(), Duration::ZERO, "{line}: no wait");
        match &err {
            Error::Chunk(c) => {
                assert_eq!((c.chunk(), c.attempts(), c.tasks()), (0, 1, 3), "{line}");
                assert!(matches!(c.error(), Error::Api(_)), "{line}");
            }
            other => panic!("{line}: {other:?}"),
        }
        if code == 413 {
            let api = err.api().unwrap();
            assert_eq!(
                api.code(),
                Some(&blaxel_jobs::types::ErrorCode::RequestEntityTooLarge)
            );
            assert!(api.is_platform());
            assert!(err.to_string().contains("chunk 0 of batch final"), "{err}");
        }
    }
}

/// A chunk larger than the server accepts is a 413 from the emulator,
/// reported at once and naming the chunk, whatever the size of its body
/// (20 MiB: more than the emulator used to read before answering).
#[tokio::test]
async fn a_chunk_too_large_for_the_server_is_reported_at_once() {
    use blaxel_jobs::raw::operations::Operation;
    let (emu, client) = emulator(Clock::Manual).await;
    let blob = "x".repeat(20 << 20);
    let err = client
        .job(JOB)
        .batch([json!({"small": 1}), json!({"blob": blob})])
        .id("huge")
        .chunk_size(1)
        .concurrency(1)
        .submit()
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(413), "{err:?}");
    match &err {
        Error::Chunk(c) => {
            assert_eq!((c.chunk(), c.first_task(), c.attempts()), (1, 1, 1));
            assert_eq!(c.execution_id(), "huge-1");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(emu.request_count(Operation::CreateJobExecution), 2);
    assert_eq!(executions(&emu).len(), 1, "the first chunk stays");
}

/// Chunk sizes no request could carry are refused before any task is read
/// or anything sent; the largest accepted is sendable.
#[tokio::test]
async fn absurd_chunk_sizes_are_refused_before_anything_is_read_or_sent() {
    use blaxel_jobs::batch::MAX_CHUNK_SIZE;
    use blaxel_jobs::raw::operations::Operation;
    let (emu, client) = emulator(Clock::Manual).await;
    for size in [
        usize::MAX,
        1_000_000_000_000,
        1_000_000_000,
        MAX_CHUNK_SIZE + 1,
    ] {
        let untouchable =
            std::iter::from_fn(|| -> Option<serde_json::Value> { panic!("a task was read") });
        let err = client
            .job(JOB)
            .batch(untouchable)
            .chunk_size(size)
            .submit()
            .await
            .unwrap_err();
        match &err {
            Error::InvalidInput(e) => assert_eq!(e.field(), Some("chunk_size"), "{e}"),
            other => panic!("{size}: {other:?}"),
        }
        assert!(
            blaxel_jobs::BatchRun::new(&client, JOB, "b", size).is_err(),
            "{size}"
        );
    }
    assert_eq!(emu.request_count(Operation::ListJobExecutions), 0);
    assert_eq!(emu.request_count(Operation::CreateJobExecution), 0);

    // The largest chunk size, at the smallest tasks, fits in the
    // emulator's default body limit.
    let done = client
        .job(JOB)
        .batch((0..MAX_CHUNK_SIZE).map(|_| json!({})))
        .id("largest")
        .chunk_size(MAX_CHUNK_SIZE)
        .submit()
        .await
        .unwrap();
    assert_eq!(done.created_chunks(), 1);
    assert_eq!(
        executions(&emu).get("largest-0"),
        Some(&(1, MAX_CHUNK_SIZE as i64))
    );
}

/// The listing that finds existing chunks (and polls progress) asks for
/// pages by the tasks they bring: few executions per page while they come
/// with their tasks, 100 once they come without.
#[tokio::test]
async fn listing_pages_are_sized_by_the_tasks_they_bring() {
    let server = MockServer::start_async().await;
    let limits = Arc::new(Mutex::new(Vec::<String>::new()));
    let log = limits.clone();
    let with_tasks = |id: &str, tasks: usize| {
        let mut e = common::execution_value(id, "succeeded");
        let task = e["tasks"][0].clone();
        e["tasks"] = json!(vec![task; tasks]);
        e
    };
    let pages = [
        json!({"data": [with_tasks("sized-0", 500), with_tasks("sized-1", 500)],
               "meta": {"hasMore": true, "nextCursor": "c1"}}),
        json!({"data": [with_tasks("sized-2", 0)],
               "meta": {"hasMore": true, "nextCursor": "c2"}}),
        json!({"data": [], "meta": {"hasMore": false}}),
    ];
    server.mock(|when, then| {
        when.method("GET").path(format!("/jobs/{JOB}/executions"));
        then.respond_with(move |req: &httpmock::HttpMockRequest| {
            let query = req.uri().query().unwrap_or_default().to_owned();
            let limit = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("limit="))
                .unwrap_or("none")
                .to_owned();
            let page = match query.split('&').find_map(|kv| kv.strip_prefix("cursor=")) {
                None => 0,
                Some("c1") => 1,
                Some(_) => 2,
            };
            log.lock().unwrap().push(limit);
            json_response(200, &pages[page])
        });
    });
    let create = server.create_job_execution(|w, t| {
        w.job_id(JOB);
        t.into_inner()
            .respond_with(|_: &httpmock::HttpMockRequest| json_response(200, &json!({})));
    });
    let client = common::client(&server);
    let done = client
        .job(JOB)
        .batch((0..2000).map(|i| json!({"i": i})))
        .id("sized")
        .submit()
        .await
        .unwrap();
    assert_eq!((done.skipped_chunks(), done.created_chunks()), (3, 1));
    assert_eq!(create.calls(), 1);
    // 1,000 listed tasks a page: 2 executions of the chunk size at first,
    // as many again after executions of 500 tasks, then 100.
    assert_eq!(*limits.lock().unwrap(), ["2", "2", "100"]);
}

/// A poll of a batch that fails in a way that may pass (here, two 503s) is
/// sent once and the wait goes on: the next poll comes on schedule, and the
/// wait ends with the counts once every chunk has ended. A poll error that
/// cannot pass (403) ends the wait at once.
#[tokio::test]
async fn waiting_for_a_batch_polls_through_errors_that_may_pass() {
    use blaxel_jobs::raw::operations::Operation;
    use blaxel_jobs_emulator::Fault;
    let (emu, client) = emulator(Clock::Scaled(1000.0)).await;
    let submitted = client
        .job(JOB)
        .batch((0..10u64).map(|i| json!({"i": i, "durationSeconds": 1})))
        .id("through")
        .chunk_size(5)
        .submit()
        .await
        .unwrap();
    let before = emu.request_count(Operation::ListJobExecutions);
    let unavailable = Fault::Status {
        status: 503,
        retry_after: None,
        body: None,
    };
    emu.inject(Operation::ListJobExecutions, unavailable, 2);
    let done = submitted
        .run()
        .wait_until_done()
        .poll_interval(Duration::from_millis(5))
        .wait(Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!((done.executions, done.ended, done.succeeded), (2, 2, 10));
    // The two failed polls were one request each, then at least one that
    // answered (one page: the batch's two executions).
    let polls = emu.request_count(Operation::ListJobExecutions) - before;
    assert!(polls >= 3, "{polls}");

    let forbidden = Fault::Status {
        status: 403,
        retry_after: None,
        body: None,
    };
    emu.inject(Operation::ListJobExecutions, forbidden, 1);
    let before = emu.request_count(Operation::ListJobExecutions);
    let err = submitted
        .run()
        .wait_until_done()
        .poll_interval(Duration::from_millis(5))
        .wait(Duration::from_secs(60))
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(403), "{err}");
    assert_eq!(emu.request_count(Operation::ListJobExecutions) - before, 1);
}
