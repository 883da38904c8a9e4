//! Connections that stall: a client that stops sending its request body is
//! answered 408 and disconnected, on a paused tokio clock.

use blaxel_jobs_emulator::{Clock, Emulator, EmulatorConfig};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// Sends the headers of a create request announcing a 100-byte body, then
/// 10 bytes of it, and reads whatever comes back until the server closes
/// the connection (or `give_up` passes). Returns the answer and when the
/// connection closed.
async fn stall_mid_body(emu: &Emulator, give_up: Duration) -> (String, Option<Duration>) {
    let addr = emu.local_addr();
    let mut s = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v0/jobs HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         X-Blaxel-Workspace: w\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n",
        emu.api_key()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(br#"{"metadata"#).await.unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let closed = tokio::time::timeout(give_up, s.read_to_end(&mut answer)).await;
    let closed_after = closed.ok().map(|_| started.elapsed());
    (String::from_utf8_lossy(&answer).into_owned(), closed_after)
}

#[tokio::test(start_paused = true)]
async fn a_body_that_stops_arriving_gets_408_and_the_connection_closes() {
    let emu = Emulator::start_with(EmulatorConfig::default().clock(Clock::Manual))
        .await
        .unwrap();
    let (answer, closed_after) = stall_mid_body(&emu, Duration::from_secs(600)).await;
    let closed_after = closed_after.unwrap_or_else(|| {
        panic!("the connection was still open after 600 s; answer so far: {answer:?}")
    });
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    // The default: as long as a client has to send its headers.
    assert!(
        closed_after >= Duration::from_secs(30) && closed_after < Duration::from_secs(31),
        "{closed_after:?}"
    );
    assert!(emu.job_names("w").is_empty(), "nothing was created");
}

#[tokio::test(start_paused = true)]
async fn the_body_read_timeout_is_configurable() {
    let emu = Emulator::start_with(
        EmulatorConfig::default()
            .clock(Clock::Manual)
            .body_read_timeout(Duration::from_secs(5)),
    )
    .await
    .unwrap();
    let (answer, closed_after) = stall_mid_body(&emu, Duration::from_secs(600)).await;
    let closed_after = closed_after.expect("the connection closes");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        closed_after >= Duration::from_secs(5) && closed_after < Duration::from_secs(6),
        "{closed_after:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_body_that_arrives_slowly_but_in_time_is_processed() {
    let emu = Emulator::start_with(EmulatorConfig::default().clock(Clock::Manual))
        .await
        .unwrap();
    let addr = emu.local_addr();
    let body = br#"{"metadata": {"name": "slow"}, "spec": {}}"#;
    let mut s = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v0/jobs HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         X-Blaxel-Workspace: w\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        emu.api_key(),
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    for chunk in body.chunks(10) {
        tokio::time::sleep(Duration::from_secs(5)).await;
        s.write_all(chunk).await.unwrap();
    }
    let mut answer = String::new();
    s.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(emu.job_names("w"), vec!["slow".to_owned()]);
}
