//! The generated client follows no redirect: `Client::new` and
//! `tls::http_client_builder` answer a 3xx as it is, with its `Location`,
//! and send nothing to the `Location`.

use blaxel_jobs_client::{Client, Error, hooks::Hooks, types};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

/// A loopback server that answers every request with `response` and
/// counts the connections it accepts.
async fn server(response: String) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            let response = response.clone();
            tokio::spawn(async move {
                // Read the head and a declared body, then answer and close.
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let Ok(n) = stream.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf);
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text[..end]
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (url, count)
}

fn redirect_to(status: &str, location: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nlocation: {location}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    )
}

fn job() -> types::Job {
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": "a"},
        "spec": {"runtime": {"envs": [{"name": "DB_PASSWORD", "secret": true, "value": "hunter2"}]}}
    }))
    .unwrap()
}

/// `client` sends an UpdateJob (a body with a secret) to a server that
/// redirects it: the 3xx is the answer, and the `Location` hears nothing.
async fn assert_not_followed(make: impl FnOnce(&str) -> Client) {
    let ok = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 40\r\n\
              connection: close\r\n\r\n{\"metadata\":{\"name\":\"a\"},\"spec\":{}}    ";
    let (elsewhere, reached) = server(ok.to_owned()).await;
    let location = format!("{elsewhere}/jobs/a");
    let (api, _) = server(redirect_to("307 Temporary Redirect", &location)).await;
    let client = make(&api);
    let err = client
        .update_job()
        .job_id("a")
        .body(job())
        .send()
        .await
        .unwrap_err();
    match err {
        Error::UnexpectedResponse(response) => {
            assert_eq!(response.status().as_u16(), 307);
            assert_eq!(
                response
                    .headers()
                    .get("location")
                    .unwrap()
                    .to_str()
                    .unwrap(),
                location
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        reached.load(Ordering::SeqCst),
        0,
        "the Location was reached"
    );
}

#[tokio::test]
async fn client_new_follows_no_redirect() {
    assert_not_followed(|url| Client::new(url, Hooks::new())).await;
}

#[tokio::test]
async fn the_tls_builder_follows_no_redirect() {
    assert_not_followed(|url| {
        let http = blaxel_jobs_client::tls::http_client_builder()
            .build()
            .unwrap();
        Client::new_with_client(url, http, Hooks::new())
    })
    .await;
}
