//! Loading parameters from the execution data URL against a loopback
//! server that misbehaves on purpose: error statuses, `Retry-After`,
//! truncated, huge and slow bodies. Every timing runs on tokio's paused
//! clock, so waits are exact and instant.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use blaxel_jobs_task::{Environment, Error, FetchError, Loader, RetryPolicy, Source, Task};
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

/// What the server does with one connection.
#[derive(Clone)]
enum Reply {
    /// Writes these bytes and closes.
    Raw(Vec<u8>),
    /// Reads the request and never answers.
    Hang,
    /// Writes `head`, then each chunk after waiting `every`, then closes.
    Drip {
        head: Vec<u8>,
        chunk: Vec<u8>,
        count: usize,
        every: Duration,
    },
}

fn ok(body: &str) -> Reply {
    Reply::Raw(
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

fn status(code: u16, headers: &str) -> Reply {
    Reply::Raw(
        format!(
            "HTTP/1.1 {code} Whatever\r\ncontent-length: 0\r\nconnection: close\r\n{headers}\r\n"
        )
        .into_bytes(),
    )
}

struct Server {
    url: String,
    hits: Arc<AtomicUsize>,
}

/// Serves `replies` in order, one per connection, repeating the last.
async fn serve(replies: Vec<Reply>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let reply = replies[n.min(replies.len() - 1)].clone();
            tokio::spawn(answer(stream, reply));
        }
    });
    Server {
        // The path and query stand for a signed URL's secret parts.
        url: format!("http://{addr}/executions/data?signature=sk-query-secret"),
        hits,
    }
}

async fn answer(mut stream: TcpStream, reply: Reply) {
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    match reply {
        Reply::Raw(bytes) => {
            let _ = stream.write_all(&bytes).await;
            let _ = stream.shutdown().await;
        }
        Reply::Hang => {
            std::future::pending::<()>().await;
        }
        Reply::Drip {
            head,
            chunk,
            count,
            every,
        } => {
            let _ = stream.write_all(&head).await;
            for _ in 0..count {
                tokio::time::sleep(every).await;
                if stream.write_all(&chunk).await.is_err() {
                    return;
                }
            }
            let _ = stream.shutdown().await;
        }
    }
}

#[derive(Debug, Deserialize, PartialEq)]
struct Params {
    n: u32,
    #[serde(default)]
    label: Option<String>,
}

const THREE: &str = r#"{"tasks": [{"n": 10}, {"n": 11, "label": "b"}, {"n": 12}], "extra": {"ignored": [1, 2, 3]}}"#;

fn env(server: &Server) -> Environment {
    Environment::new().var("BL_EXECUTION_DATA_URL", &server.url)
}

fn loader(env: Environment) -> Loader {
    Loader::with_environment(env)
}

/// Seeds this thread's jitter source (the loader draws from it, and runs
/// on the test's current-thread runtime) and returns the waits the default
/// policy will choose before retries `0..n` when the server gives no
/// `Retry-After`: the same draws from the same seed, each rounded up to
/// the millisecond as tokio's timer does. With them, virtual waits are
/// asserted exactly rather than within the jitter range.
fn seeded_backoffs(n: u32) -> Vec<Duration> {
    const SEED: u64 = 0x5eed_da7a;
    fastrand::seed(SEED);
    let policy = RetryPolicy::default();
    let waits = (0..n)
        .map(|retry| {
            let wait = policy.delay(retry, fastrand::f64(), None);
            let ms = wait.as_nanos().div_ceil(1_000_000);
            Duration::from_millis(u64::try_from(ms).expect("a short wait"))
        })
        .collect();
    fastrand::seed(SEED);
    waits
}

#[tokio::test(start_paused = true)]
async fn the_indexed_task_is_loaded_with_the_count_and_execution_id() {
    let server = serve(vec![ok(THREE)]).await;
    let env = env(&server)
        .var("TASK_INDEX", "1")
        .var("BL_EXECUTION_ID", "exec-20261201-x7k2")
        .args(["--n", "99"]);
    let task: Task<Params> = loader(env).load().await.unwrap();
    assert_eq!(
        task.params(),
        &Params {
            n: 11,
            label: Some("b".into())
        }
    );
    assert_eq!(task.index(), 1);
    assert_eq!(task.count(), Some(3));
    assert_eq!(task.execution_id(), Some("exec-20261201-x7k2"));
    assert_eq!(task.source(), Source::ExecutionData { index: 1 });
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn bl_task_key_names_the_index_variable() {
    let server = serve(vec![ok(THREE)]).await;
    let env = env(&server)
        .var("TASK_INDEX", "0")
        .var("BL_TASK_KEY", "SHARD")
        .var("SHARD", "2");
    let task: Task<Params> = loader(env).load().await.unwrap();
    assert_eq!((task.index(), task.params().n), (2, 12));
}

#[tokio::test(start_paused = true)]
async fn without_an_index_variable_the_first_task_is_loaded() {
    let server = serve(vec![ok(THREE)]).await;
    let task: Task<Params> = loader(env(&server)).load().await.unwrap();
    assert_eq!((task.index(), task.params().n), (0, 10));
}

#[tokio::test(start_paused = true)]
async fn an_index_past_the_end_gives_an_empty_object() {
    #[derive(Debug, Deserialize, Default, PartialEq)]
    struct Optional {
        #[serde(default)]
        n: Option<u32>,
    }
    let server = serve(vec![ok(THREE)]).await;
    let task: Task<Optional> = loader(env(&server).var("TASK_INDEX", "7"))
        .load()
        .await
        .unwrap();
    assert_eq!(task.params(), &Optional { n: None });
    assert_eq!(task.source(), Source::OutOfRange { index: 7, count: 3 });
    // A type that needs fields says why it got none.
    let err = loader(env(&server).var("TASK_INDEX", "7"))
        .load::<Params>()
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("past the 3 tasks"), "{text}");
    assert!(text.contains("missing field `n`"), "{text}");
}

#[tokio::test(start_paused = true)]
async fn parameters_that_do_not_match_name_the_field_not_the_value() {
    let server = serve(vec![ok(r#"{"tasks": [{"n": "sk-value-secret"}]}"#)]).await;
    let err = loader(env(&server)).load::<Params>().await.unwrap_err();
    match &err {
        Error::Parameters { origin, path, .. } => {
            assert_eq!(*origin, Source::ExecutionData { index: 0 });
            assert_eq!(path, "n");
        }
        other => panic!("{other:?}"),
    }
    let text = format!("{err} {err:?}");
    assert!(!text.contains("sk-value-secret"), "{text}");
    assert!(
        text.contains("invalid type: string, expected u32"),
        "{text}"
    );
    // The server answered: a mismatch is not retried.
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn server_errors_are_retried_with_backoff() {
    let server = serve(vec![status(500, ""), status(502, ""), ok(THREE)]).await;
    let waits = seeded_backoffs(2);
    // 1 s then 2 s, each scaled by a jitter in [0.5, 1].
    assert!(waits[0] >= Duration::from_millis(500) && waits[0] <= Duration::from_secs(1));
    assert!(waits[1] >= Duration::from_secs(1) && waits[1] <= Duration::from_secs(2));
    let start = Instant::now();
    let task: Task<Params> = loader(env(&server)).load().await.unwrap();
    assert_eq!(task.params().n, 10);
    assert_eq!(server.hits.load(Ordering::SeqCst), 3);
    assert_eq!(start.elapsed(), waits.iter().sum::<Duration>());
}

#[tokio::test(start_paused = true)]
async fn after_the_last_retry_the_error_names_the_variable_and_host_only() {
    let server = serve(vec![status(503, "")]).await;
    let waits = seeded_backoffs(3);
    let start = Instant::now();
    let err = loader(env(&server)).load::<Params>().await.unwrap_err();
    assert_eq!(start.elapsed(), waits.iter().sum::<Duration>());
    assert_eq!(server.hits.load(Ordering::SeqCst), 4);
    let Error::DataUrl {
        variable,
        host,
        attempts,
        source,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(variable, "BL_EXECUTION_DATA_URL");
    assert!(server.url.contains(host.as_str()) && host.starts_with("127.0.0.1:"));
    assert_eq!(*attempts, 4);
    assert!(
        matches!(source, FetchError::Status { status: 503 }),
        "{source:?}"
    );
    let text = format!("{err} / {source} / {err:?}");
    assert!(text.contains("BL_EXECUTION_DATA_URL") && text.contains(host.as_str()));
    assert!(
        !text.contains("sk-query-secret") && !text.contains("/executions"),
        "{text}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_429_waits_as_long_as_retry_after_says() {
    let server = serve(vec![status(429, "retry-after: 7\r\n"), ok(THREE)]).await;
    let start = Instant::now();
    let task: Task<Params> = loader(env(&server)).load().await.unwrap();
    assert_eq!(task.params().n, 10);
    assert_eq!(start.elapsed(), Duration::from_secs(7));
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_capped_by_the_policy() {
    let server = serve(vec![status(429, "retry-after: 86400\r\n"), ok(THREE)]).await;
    let start = Instant::now();
    let _: Task<Params> = loader(env(&server)).load().await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(30));
}

#[tokio::test(start_paused = true)]
async fn client_errors_are_not_retried() {
    for code in [400, 403, 404] {
        let server = serve(vec![status(code, ""), ok(THREE)]).await;
        let err = loader(env(&server)).load::<Params>().await.unwrap_err();
        assert!(
            matches!(&err, Error::DataUrl { attempts: 1, source: FetchError::Status { status }, .. } if *status == code),
            "{err:?}"
        );
        assert_eq!(server.hits.load(Ordering::SeqCst), 1);
    }
}

#[tokio::test(start_paused = true)]
async fn redirects_are_followed_a_few_times() {
    let server = serve(vec![
        status(302, "location: /moved?sig=2\r\n"),
        status(307, "location: /again\r\n"),
        ok(THREE),
    ])
    .await;
    let task: Task<Params> = loader(env(&server)).load().await.unwrap();
    assert_eq!(task.params().n, 10);
    assert_eq!(server.hits.load(Ordering::SeqCst), 3);

    let server = serve(vec![status(301, "location: /loop\r\n")]).await;
    let err = loader(env(&server)).load::<Params>().await.unwrap_err();
    assert!(
        matches!(
            &err,
            Error::DataUrl {
                attempts: 1,
                source: FetchError::Redirect(_),
                ..
            }
        ),
        "{err:?}"
    );
    // The first request and 5 redirects.
    assert_eq!(server.hits.load(Ordering::SeqCst), 6);
}

#[tokio::test(start_paused = true)]
async fn a_body_shorter_than_its_content_length_is_retried() {
    let cut = format!(
        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
        THREE.len(),
        &THREE[..20]
    );
    let server = serve(vec![Reply::Raw(cut.into_bytes()), ok(THREE)]).await;
    let task: Task<Params> = loader(env(&server)).load().await.unwrap();
    assert_eq!(task.params().n, 10);
    assert_eq!(server.hits.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn a_truncated_body_without_length_is_retried_then_reported() {
    // No content-length: the body ends when the connection closes, and
    // only the JSON shows it was cut.
    let cut = format!(
        "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n{}",
        &THREE[..30]
    );
    let server = serve(vec![Reply::Raw(cut.into_bytes())]).await;
    let err = loader(env(&server)).load::<Params>().await.unwrap_err();
    assert!(
        matches!(
            &err,
            Error::DataUrl {
                attempts: 4,
                source: FetchError::Syntax { eof: true, .. },
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(server.hits.load(Ordering::SeqCst), 4);
}

/// JSON that ends early in a body that arrived whole (its length met) is
/// taken for a truncated body, as the documentation says: retried, then
/// reported as a syntax error at the end of the input.
#[tokio::test(start_paused = true)]
async fn json_that_ends_early_in_a_whole_body_is_retried_as_truncated() {
    let short = &THREE[..30];
    let server = serve(vec![ok(short), ok(short), ok(THREE)]).await;
    let task: Task<Params> = loader(env(&server)).load().await.unwrap();
    assert_eq!(task.params().n, 10);
    assert_eq!(server.hits.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn malformed_json_is_not_retried() {
    let server = serve(vec![ok(r#"{"tasks": [{"n": 1},, ]}"#)]).await;
    let err = loader(env(&server)).load::<Params>().await.unwrap_err();
    assert!(
        matches!(
            &err,
            Error::DataUrl {
                attempts: 1,
                source: FetchError::Syntax {
                    eof: false,
                    line: 1,
                    ..
                },
                ..
            }
        ),
        "{err:?}"
    );
    let server = serve(vec![ok(r#"["not", "execution", "data"]"#)]).await;
    let err = loader(env(&server)).load::<Params>().await.unwrap_err();
    assert!(
        matches!(
            &err,
            Error::DataUrl {
                attempts: 1,
                source: FetchError::Shape(_),
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_declared_huge_body_is_refused_before_reading() {
    let head = "HTTP/1.1 200 OK\r\ncontent-length: 1000000000000\r\nconnection: close\r\n\r\n{\"tasks\": [";
    let server = serve(vec![Reply::Raw(head.as_bytes().to_vec())]).await;
    let err = loader(env(&server)).load::<Params>().await.unwrap_err();
    assert!(
        matches!(&err, Error::DataUrl { attempts: 1, source: FetchError::TooLarge { limit }, .. } if *limit == Loader::DEFAULT_MAX_BODY_BYTES),
        "{err:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn an_undeclared_huge_body_stops_at_the_limit() {
    // A chunked body that would go on for 64 MiB; the limit is 64 KiB.
    let chunk = {
        let data = " ".repeat(4096);
        format!("{:x}\r\n{data}\r\n", data.len()).into_bytes()
    };
    let server = serve(vec![Reply::Drip {
        head: b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
            .to_vec(),
        chunk,
        count: 16 * 1024,
        every: Duration::from_millis(1),
    }])
    .await;
    let start = Instant::now();
    let err = loader(env(&server))
        .max_body_bytes(64 * 1024)
        .load::<Params>()
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::DataUrl {
                attempts: 1,
                source: FetchError::TooLarge { limit: 65536 },
                ..
            }
        ),
        "{err:?}"
    );
    // It stopped at the 17th chunk (1 ms of virtual time each), the first
    // past the 16 that fill 64 KiB, not after 16,384.
    assert_eq!(start.elapsed(), Duration::from_millis(17));
}

#[tokio::test(start_paused = true)]
async fn a_server_that_never_answers_times_out_and_is_retried() {
    let server = serve(vec![Reply::Hang, ok(THREE)]).await;
    let waits = seeded_backoffs(1);
    let start = Instant::now();
    let task: Task<Params> = loader(env(&server))
        .timeout(Duration::from_secs(10))
        .load()
        .await
        .unwrap();
    assert_eq!(task.params().n, 10);
    // 10 s of timeout, then the backoff.
    assert_eq!(start.elapsed(), Duration::from_secs(10) + waits[0]);
}

#[tokio::test(start_paused = true)]
async fn a_body_that_trickles_in_is_bounded_by_the_timeout_as_a_whole() {
    // Each byte arrives within a second, but the whole body would take 100 s.
    let body = THREE.as_bytes();
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len() * 100
    );
    let server = serve(vec![Reply::Drip {
        head: head.into_bytes(),
        chunk: body.to_vec(),
        count: 100,
        every: Duration::from_secs(1),
    }])
    .await;
    let waits = seeded_backoffs(1);
    let start = Instant::now();
    let err = loader(env(&server))
        .timeout(Duration::from_secs(5))
        .retry(RetryPolicy {
            max_retries: 1,
            ..Default::default()
        })
        .load::<Params>()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::DataUrl { attempts: 2, source: FetchError::Timeout(t), .. } if *t == Duration::from_secs(5)),
        "{err:?}"
    );
    // Two attempts of 5 s each, and the backoff between them.
    assert_eq!(start.elapsed(), Duration::from_secs(10) + waits[0]);
}

#[tokio::test(start_paused = true)]
async fn a_refused_connection_is_retried_then_reported_as_a_network_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let env = Environment::new().var("BL_EXECUTION_DATA_URL", format!("http://{addr}/d?t=sk-1"));
    let err = loader(env).load::<Params>().await.unwrap_err();
    let Error::DataUrl {
        attempts: 4,
        source: FetchError::Network(inner),
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    let text = format!("{err} {inner} {err:?}");
    assert!(!text.contains("sk-1"), "{text}");
}

#[tokio::test(start_paused = true)]
async fn an_https_url_to_a_server_that_does_not_speak_tls_is_a_network_error() {
    // The TLS handshake meets a plain HTTP answer: rustls (with ring and the
    // platform verifier) rejects it, and the attempts are retried.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let _ = stream
                .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                .await;
            let _ = stream.shutdown().await;
        }
    });
    let env = Environment::new().var("BL_EXECUTION_DATA_URL", format!("https://{addr}/data"));
    let err = loader(env).load::<Params>().await.unwrap_err();
    assert!(
        matches!(
            &err,
            Error::DataUrl {
                attempts: 4,
                source: FetchError::Network(_),
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn without_a_data_url_parameters_come_from_the_arguments() {
    let env = Environment::new()
        .var("TASK_INDEX", "4")
        .var("BL_EXECUTION_ID", "local")
        .args(["--n", "5", "--label=five"]);
    let task: Task<Params> = loader(env).load().await.unwrap();
    assert_eq!(
        task.params(),
        &Params {
            n: 5,
            label: Some("five".into())
        }
    );
    assert_eq!(task.source(), Source::Arguments);
    assert_eq!((task.index(), task.count()), (4, None));
    assert_eq!(task.execution_id(), Some("local"));
}

#[tokio::test]
async fn a_bad_index_or_url_fails_before_any_request() {
    let err = loader(Environment::new().var("TASK_INDEX", "two"))
        .load::<Params>()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidIndex { variable, value } if variable == "TASK_INDEX" && value == "two")
    );
    let err = loader(Environment::new().var("BL_EXECUTION_DATA_URL", "gopher://x/sk-1"))
        .load::<Params>()
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("BL_EXECUTION_DATA_URL") && !text.contains("sk-1"),
        "{text}"
    );
}
