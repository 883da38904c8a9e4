//! A hostile HTTP/1.1 server on loopback, written on plain tokio sockets:
//! it answers whatever a test tells it to, however wrong (huge headers,
//! endless bodies, redirects, silence), and records what reached it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// What the server does with one request.
pub enum Reply {
    /// Writes these bytes (a whole response) and closes the connection.
    Raw(Vec<u8>),
    /// Writes `head` (status line and headers, without the blank line),
    /// then a body of `prefix` followed by `filler` repeated until `total`
    /// bytes were written (`None`: forever), with `Content-Length` when
    /// `declare` is set and chunked encoding otherwise. The body is made as
    /// it is written: the server never holds more than one chunk of it.
    Stream {
        head: String,
        prefix: Vec<u8>,
        filler: u8,
        total: Option<u64>,
        declare: bool,
    },
    /// Reads the request and never answers (the connection stays open).
    Hang,
}

impl Reply {
    /// A complete response with this status line, headers and body.
    pub fn http(status: &str, headers: &[(&str, &str)], body: &str) -> Reply {
        let mut out = format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\n", body.len());
        for (k, v) in headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str("connection: close\r\n\r\n");
        out.push_str(body);
        Reply::Raw(out.into_bytes())
    }

    /// A JSON response.
    pub fn json(status: &str, body: &str) -> Reply {
        Reply::http(status, &[("content-type", "application/json")], body)
    }
}

/// One request as received: its head (request line and headers) and body.
#[derive(Clone, Debug)]
pub struct Received {
    pub head: String,
    pub body: Vec<u8>,
}

impl Received {
    /// The request line, such as `GET /jobs/a HTTP/1.1`.
    pub fn line(&self) -> &str {
        self.head.lines().next().unwrap_or_default()
    }
}

/// A running hostile server.
pub struct RawServer {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
    connections: Arc<AtomicUsize>,
}

impl RawServer {
    /// Starts a server whose `n`-th request (0-based) gets `reply(n, request)`.
    pub async fn start(
        reply: impl Fn(usize, &Received) -> Reply + Send + Sync + 'static,
    ) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let received = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let (log, count) = (Arc::clone(&received), Arc::clone(&connections));
        let reply = Arc::new(reply);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let (log, reply) = (Arc::clone(&log), Arc::clone(&reply));
                tokio::spawn(async move {
                    let _ = serve(stream, log, move |n, r| reply(n, r)).await;
                });
            }
        });
        RawServer {
            url,
            received,
            connections,
        }
    }

    /// A server that accepts connections and records them, but reads
    /// nothing and never answers: the "other origin" of redirect tests.
    pub async fn silent() -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let connections = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&connections);
        tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                open.push(stream);
            }
        });
        RawServer {
            url,
            received: Arc::default(),
            connections,
        }
    }

    /// The requests received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// How many connections were accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

async fn serve(
    mut stream: TcpStream,
    log: Arc<Mutex<Vec<Received>>>,
    reply: impl Fn(usize, &Received) -> Reply,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
    };
    let head = String::from_utf8_lossy(&buf[..end]).to_string();
    let length = super::content_length(&head);
    while buf.len() < end + 4 + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body_end = buf.len().min(end + 4 + length);
    let request = Received {
        head,
        body: buf[end + 4..body_end].to_vec(),
    };
    let n = {
        let mut log = log.lock().unwrap();
        log.push(request.clone());
        log.len() - 1
    };
    match reply(n, &request) {
        Reply::Raw(bytes) => {
            stream.write_all(&bytes).await?;
            stream.shutdown().await?;
        }
        Reply::Hang => {
            // Keep the connection open until the client gives up.
            let _ = stream.read(&mut chunk).await;
        }
        Reply::Stream {
            head,
            prefix,
            filler,
            total,
            declare,
        } => {
            let mut out = head;
            match (declare, total) {
                (true, Some(t)) => out.push_str(&format!("\r\ncontent-length: {t}")),
                _ => out.push_str("\r\ntransfer-encoding: chunked"),
            }
            out.push_str("\r\n\r\n");
            stream.write_all(out.as_bytes()).await?;
            let chunked = !(declare && total.is_some());
            let block = vec![filler; 64 * 1024];
            let mut written: u64 = 0;
            let mut first = Some(prefix);
            loop {
                let piece: &[u8] = match &first {
                    Some(p) => p,
                    None => &block,
                };
                let piece = match total {
                    Some(t) if written >= t => break,
                    Some(t) => {
                        &piece[..piece
                            .len()
                            .min(usize::try_from(t - written).unwrap_or(usize::MAX))]
                    }
                    None => piece,
                };
                if piece.is_empty() {
                    // An empty chunk would end a chunked body.
                    first = None;
                    continue;
                }
                if chunked {
                    stream
                        .write_all(format!("{:x}\r\n", piece.len()).as_bytes())
                        .await?;
                }
                stream.write_all(piece).await?;
                if chunked {
                    stream.write_all(b"\r\n").await?;
                }
                written += piece.len() as u64;
                first = None;
            }
            if chunked {
                stream.write_all(b"0\r\n\r\n").await?;
            }
        }
    }
    Ok(())
}
