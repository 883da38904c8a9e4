//! Running parts of a benchmark in another process: the benchmark binary
//! re-executes itself with a role argument.
//!
//! * The overhead benchmark runs the server in a child ([`ServerProcess`]),
//!   so that this process's CPU time is the clients' alone.
//! * The paging benchmark runs each client in a fresh child
//!   ([`run_child`]), so that each one's peak memory is its own.
//!
//! A child server exits when its standard input closes, so it never
//! outlives the benchmark, even one that is interrupted.

use std::io::{BufRead as _, BufReader, Read as _};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

/// The argument that makes a benchmark binary serve instead of measuring.
pub const SERVE_ARG: &str = "--serve";

/// What a child prints before its result, so that the line can be found.
pub const RESULT_PREFIX: &str = "BENCH-RESULT ";

/// A server running in a child process.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    addr: SocketAddr,
}

impl ServerProcess {
    /// Starts this executable with [`SERVE_ARG`] and waits for its address.
    pub fn start() -> std::io::Result<Self> {
        let exe = std::env::current_exe()?;
        let mut child = Command::new(exe)
            .arg(SERVE_ARG)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("no stdout"))?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let addr = line
            .trim()
            .strip_prefix("LISTENING ")
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("unexpected server output `{line}`")))?;
        Ok(ServerProcess { child, addr })
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // Closing stdin asks the server to exit; kill it in case it does not.
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The body of the `--serve` role: starts the server, prints
/// `LISTENING <addr>`, and exits when standard input closes.
pub fn serve_until_stdin_closes() -> ! {
    let addr = crate::server::start_on_thread().expect("the server starts");
    println!("LISTENING {addr}");
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    std::process::exit(0)
}

/// Runs this executable with `args` and returns the text after
/// [`RESULT_PREFIX`] on its standard output.
pub fn run_child(args: &[String]) -> std::io::Result<String> {
    let exe = std::env::current_exe()?;
    let output = Command::new(exe)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()?;
    if !output.status.success() {
        return Err(std::io::Error::other(format!(
            "child {args:?} failed: {}",
            output.status
        )));
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|l| l.strip_prefix(RESULT_PREFIX).map(str::to_owned))
        .ok_or_else(|| std::io::Error::other(format!("child {args:?} printed no result")))
}
