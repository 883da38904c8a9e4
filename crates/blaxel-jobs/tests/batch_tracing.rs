//! Tracing of a batch: an event per chunk, per back-off, per retry and per
//! finished submission, with target `blaxel_jobs::batch`. One test in its own
//! binary, because it installs a thread-local subscriber (see
//! `tracing.rs`).

mod common;

use blaxel_jobs_httpmock::MockServerExt;
use common::{JOB, Recorder, api_error, json_response};
use httpmock::MockServer;
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[test]
fn a_batch_traces_its_chunks_back_offs_and_end() {
    let buffer = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(buffer.clone())
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let server = MockServer::start_async().await;
            server.list_job_executions(|w, t| {
                w.job_id(JOB);
                t.ok(&common::execution_page(&[], None));
            });
            let rec = Recorder::new();
            server.create_job_execution(|w, t| {
                w.job_id(JOB);
                // Each create is sent once by the client: every 429 is a
                // back-off of the batch's, and the 503 a retry.
                t.into_inner().respond_with(rec.responder(|n, _| match n {
                    0..=2 => json_response(429, &api_error(429, "too_many", "slow down")),
                    3 => json_response(503, &api_error(503, "unavailable", "try again")),
                    _ => json_response(200, &json!({})),
                }));
            });
            let client = common::client(&server);
            client
                .job(JOB)
                .batch([json!({"a": 1}), json!({"a": 2})])
                .id("traced")
                .max_backoff(Duration::from_millis(1))
                .submit()
                .await
                .unwrap();
        });
    let text = String::from_utf8_lossy(&buffer.0.lock().unwrap()).into_owned();
    let lines = |what: &str| {
        text.lines()
            .filter(|l| l.contains("blaxel_jobs::batch") && l.contains(what))
            .count()
    };
    assert_eq!(lines("backing off"), 3, "{text}");
    assert_eq!(lines("trying again"), 1, "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("trying again") && l.contains("status=503")),
        "{text}"
    );
    // The back-offs, the retry and the chunk.
    assert_eq!(lines("chunk=0"), 5, "{text}");
    assert_eq!(lines("batch submitted"), 1, "{text}");
    assert!(
        text.contains("created=1") && text.contains("backoffs=3") && text.contains("retries=1"),
        "{text}"
    );
}
