//! The `blaxel-jobs-emulator` binary.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

/// Kills the child when the test ends, even by a failed assertion.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const BIN: &str = env!("CARGO_BIN_EXE_blaxel-jobs-emulator");

#[test]
fn bad_arguments_exit_2_with_usage() {
    for args in [
        &["--port", "nope"][..],
        &["--speed", "0"],
        &["--what"],
        &["--api-key"],
        &["--client-credentials", "no-secret"],
    ] {
        let out = Command::new(BIN).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.starts_with("error: ") && err.contains("usage: blaxel-jobs-emulator"),
            "{err}"
        );
    }
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--speed X"));
}

#[test]
fn the_binary_serves_and_prints_what_to_export() {
    let mut child = Running(
        Command::new(BIN)
            .args(["--api-key", "cli-key", "--speed", "5"])
            .args(["--client-credentials", "cli-client:cli:secret"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first
        .strip_prefix("Blaxel Jobs emulator listening on ")
        .unwrap_or_else(|| panic!("{first}"))
        .to_owned();
    let mut banner = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let done = line.contains("Ctrl-C");
        banner.push(line);
        if done {
            break;
        }
    }
    let banner = banner.join("\n");
    assert!(
        banner.contains(&format!("export BL_API_URL={url}")),
        "{banner}"
    );
    assert!(banner.contains("export BL_API_KEY=cli-key"), "{banner}");
    assert!(banner.contains("export BL_WORKSPACE="), "{banner}");
    assert!(banner.contains("cli-client / cli:secret"), "{banner}");

    // Raw HTTP requests: authenticated, but without a workspace.
    let addr = url.trim_start_matches("http://").trim_end_matches("/v0");
    let answer = exchange(
        addr,
        &format!("GET /v0/jobs HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer cli-key\r\n"),
        "",
    );
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("workspace_required"), "{answer}");
    // The client credentials given on the command line get a token.
    let body = r#"{"grant_type":"client_credentials"}"#;
    let answer = exchange(
        addr,
        &format!(
            "POST /v0/oauth/token HTTP/1.1\r\nHost: {addr}\r\n\
             Authorization: Basic Y2xpLWNsaWVudDpjbGk6c2VjcmV0\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ),
        body,
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"refresh_token\""), "{answer}");
}

/// Sends one request (`head` without its final empty line) and reads the
/// whole answer.
fn exchange(addr: &str, head: &str, body: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(s, "{head}Connection: close\r\n\r\n{body}").unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
fn until_stdin_closes_stops_when_the_parent_lets_go() {
    let mut child = Running(
        Command::new(BIN)
            .args(["--api-key", "cli-key", "--until-stdin-closes"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(
        first.starts_with("Blaxel Jobs emulator listening on "),
        "{first}"
    );
    // Closing the pipe is all it takes, as when the parent dies.
    drop(child.0.stdin.take());
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    assert!(
        rest.iter().any(|l| l == "standard input closed"),
        "{rest:?}"
    );
    assert_eq!(
        rest.last().map(String::as_str),
        Some("stopping"),
        "{rest:?}"
    );
    assert!(child.0.wait().unwrap().success());
}

/// One raw HTTP request to the binary; answers the whole response.
fn request(addr: &str, key: &str, method: &str, path: &str, body: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "{method} /v0{path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\n\
         X-Blaxel-Workspace: w\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer
}

/// Whether process `pid` is alive (a zombie is not).
#[cfg(target_os = "linux")]
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| rest.to_owned()))
        .is_some_and(|rest| !rest.starts_with('Z') && !rest.starts_with('X'))
}

/// Polls until `done` holds, for at most two minutes (processes die, and
/// files appear, asynchronously).
#[cfg(target_os = "linux")]
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !done() {
        assert!(std::time::Instant::now() < end, "never: {what}");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// However the binary is stopped (SIGTERM, as `kill`, Docker and systemd
/// do; SIGHUP, a closed terminal; SIGKILL, which it cannot see), no
/// process its tasks started survives it; the first two stop it cleanly.
#[cfg(target_os = "linux")]
#[test]
fn no_task_process_outlives_the_binary_however_it_is_stopped() {
    for signal in ["TERM", "HUP", "KILL"] {
        let dir = std::env::temp_dir().join(format!(
            "blaxel-emulator-bin-{signal}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut child = Running(
            Command::new(BIN)
                .args([
                    "--task-command",
                    r#"linger=sleep 300 & echo $! > "$DIR/bg.pid"; echo $$ > "$DIR/main.pid"; wait"#,
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
        let mut banner = Vec::new();
        for line in lines.by_ref() {
            let line = line.unwrap();
            let done = line.contains("Ctrl-C");
            banner.push(line);
            if done {
                break;
            }
        }
        let url = banner[0]
            .strip_prefix("Blaxel Jobs emulator listening on ")
            .unwrap()
            .to_owned();
        let key = banner
            .iter()
            .find_map(|l| l.strip_prefix("API key:"))
            .unwrap()
            .trim()
            .to_owned();
        assert_ne!(key, "emulator-api-key", "a random key where commands run");
        let addr = url.trim_start_matches("http://").trim_end_matches("/v0");
        let answer = request(
            addr,
            &key,
            "POST",
            "/jobs",
            r#"{"metadata": {"name": "linger"}, "spec": {}}"#,
        );
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        let run = format!(
            r#"{{"env": {{"DIR": "{}"}}, "tasks": [{{}}]}}"#,
            dir.display()
        );
        let answer = request(addr, &key, "POST", "/jobs/linger/executions", &run);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        eventually("the task wrote its pids", || {
            dir.join("bg.pid").exists() && dir.join("main.pid").exists()
        });
        let pid = |name: &str| -> u32 {
            std::fs::read_to_string(dir.join(name))
                .unwrap()
                .trim()
                .parse()
                .unwrap()
        };
        eventually("both pids are written", || {
            std::fs::read_to_string(dir.join("main.pid")).is_ok_and(|s| s.ends_with('\n'))
        });
        let (main, bg) = (pid("main.pid"), pid("bg.pid"));
        assert!(alive(main) && alive(bg));
        let status = Command::new("kill")
            .args([format!("-{signal}"), child.0.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = child.0.wait().unwrap();
        if signal == "KILL" {
            assert!(!exit.success());
        } else {
            assert!(exit.success(), "{signal}: {exit}");
            let rest: Vec<String> = lines.map_while(Result::ok).collect();
            assert!(
                rest.iter().any(|l| l == &format!("stopping (SIG{signal})")),
                "{signal}: {rest:?}"
            );
        }
        eventually(&format!("{signal}: the task's shell is gone"), || {
            !alive(main)
        });
        eventually(&format!("{signal}: what the task started is gone"), || {
            !alive(bg)
        });
        let _ = std::fs::remove_dir_all(dir);
    }
}
