//! The entry points as the platform sees them: the `primes` example (and a
//! blocking task) run as child processes, with their exit codes, standard
//! error and log lines checked.
//!
//! This test has its own `main` (`harness = false`): run with
//! `BLAXEL_TASK_TEST_CHILD` set, the binary is the task program itself, so
//! the child is the example's real code and entry point, with real process
//! arguments and environment.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, ExitCode, Output};

use blaxel_jobs_task::{BoxError, Task};

#[path = "../examples/primes.rs"]
#[allow(dead_code)]
mod primes;

const CHILD: &str = "BLAXEL_TASK_TEST_CHILD";

fn main() -> ExitCode {
    match std::env::var(CHILD).as_deref() {
        Ok("primes") => return primes::main(),
        Ok("blocking") => return blocking_task(),
        _ => {}
    }
    let tests: &[(&str, fn())] = &[
        ("arguments_success_exits_0", arguments_success_exits_0),
        (
            "task_error_exits_1_with_the_chain",
            task_error_exits_1_with_the_chain,
        ),
        (
            "bad_parameters_exit_2_naming_the_field",
            bad_parameters_exit_2_naming_the_field,
        ),
        ("data_url_with_json_logs", data_url_with_json_logs),
        (
            "json_failure_is_one_error_line",
            json_failure_is_one_error_line,
        ),
        ("data_url_failure_exits_2", data_url_failure_exits_2),
        ("blocking_variant_exit_codes", blocking_variant_exit_codes),
    ];
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let mut ran = 0;
    for (name, test) in tests {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        print!("test {name} ... ");
        test();
        println!("ok");
        ran += 1;
    }
    println!("\ntest result: ok. {ran} passed");
    ExitCode::SUCCESS
}

/// A blocking task: `{"fail": bool, "panic": bool}`.
fn blocking_task() -> ExitCode {
    #[derive(serde::Deserialize)]
    struct P {
        #[serde(default)]
        fail: bool,
        #[serde(default)]
        panic: bool,
    }
    blaxel_jobs_task::run_blocking(|task: Task<P>| {
        if task.params().panic {
            panic!("the blocking task panicked on purpose");
        }
        if task.params().fail {
            let io = std::io::Error::other("disk quota exceeded");
            return Err(BoxError::from(Wrapped(io)));
        }
        Ok(())
    })
}

#[derive(Debug)]
struct Wrapped(std::io::Error);
impl std::fmt::Display for Wrapped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("writing the report failed")
    }
}
impl std::error::Error for Wrapped {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

fn child(mode: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.env_clear().env(CHILD, mode).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Serves `status` and `body` to every connection, on a thread.
fn serve(status: u16, body: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}/data?sig=sk-query-secret")
}

fn arguments_success_exits_0() {
    let out = child("primes", &["--start", "10", "--end", "30"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // 11, 13, 17, 19, 23 and 29.
    assert_eq!(
        text(&out.stdout).trim(),
        r#"{"task":0,"start":10,"end":30,"primes":6}"#
    );
    // Text logs on standard error.
    let err = text(&out.stderr);
    assert!(
        err.contains("INFO    counting primes start=10 end=30 task=0 of=?"),
        "{err}"
    );
    let out = child("primes", &["--start", "0", "--end", "1000000"], &[]);
    assert!(
        text(&out.stdout).contains("\"primes\":78498"),
        "{}",
        text(&out.stdout)
    );
}

fn task_error_exits_1_with_the_chain() {
    let out = child("primes", &["--start", "30", "--end", "10"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = text(&out.stderr);
    assert!(
        err.contains("error: the range 30..10 is empty: `end` must be greater than `start`"),
        "{err}"
    );
    let out = child("blocking", &["--fail"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("error: writing the report failed\n  caused by: disk quota exceeded"),
        "{err}"
    );
}

fn bad_parameters_exit_2_naming_the_field() {
    let out = child(
        "primes",
        &["--start", "sk-not-a-number", "--end", "20"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("`start`") && err.contains("invalid type: string, expected u64"),
        "{err}"
    );
    assert!(!err.contains("sk-not-a-number"), "{err}");
    let out = child(
        "primes",
        &["--start", "1", "--end", "20", "--stop", "x"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown field `stop`"));
    let out = child("primes", &["--end", "20"], &[("TASK_INDEX", "-1")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("TASK_INDEX is `-1`"));
}

const TASKS: &str =
    r#"{"tasks": [{"start": 0, "end": 10}, {"start": 10, "end": 30}, {"start": 5, "end": 1}]}"#;

fn json_lines(stderr: &str) -> Vec<serde_json::Value> {
    stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn data_url_with_json_logs() {
    let url = serve(200, TASKS);
    let env = [
        ("BL_EXECUTION_DATA_URL", url.as_str()),
        ("TASK_INDEX", "1"),
        ("BL_EXECUTION_ID", "job-exec-x7k2"),
        ("BL_LOGGER", "json"),
        ("BL_TASK_PREFIX", "t-"),
        ("BL_LOGGER_LABELS", "logging.googleapis.com/labels"),
    ];
    let out = child("primes", &["--start", "999"], &env);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).trim(),
        r#"{"task":1,"start":10,"end":30,"primes":6}"#
    );
    let lines = json_lines(&text(&out.stderr));
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(
        lines[0],
        serde_json::json!({
            "message": "counting primes start=10 end=30 task=1 of=3",
            "severity": "INFO",
            "logging.googleapis.com/labels": {"blaxel-task": "t-1", "blaxel-execution": "x7k2"},
        })
    );
    assert_eq!(lines[1]["message"], "done primes=6");
}

fn json_failure_is_one_error_line() {
    let url = serve(200, TASKS);
    let env = [
        ("BL_EXECUTION_DATA_URL", url.as_str()),
        ("TASK_INDEX", "2"),
        ("BL_EXECUTION_ID", "exec-1"),
        ("BL_LOGGER", "json"),
    ];
    let out = child("primes", &[], &env);
    assert_eq!(out.status.code(), Some(1));
    let lines = json_lines(&text(&out.stderr));
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["severity"], "ERROR");
    assert_eq!(
        lines[0]["message"],
        "the range 5..1 is empty: `end` must be greater than `start`"
    );
    assert_eq!(
        lines[0]["labels"],
        serde_json::json!({"blaxel-task": "2", "blaxel-execution": "1"})
    );
    // A panic in JSON mode leaves a JSON line too (then Rust's own message).
    let out = child("blocking", &["--panic"], &[("BL_LOGGER", "json")]);
    assert_eq!(out.status.code(), Some(101));
    let err = text(&out.stderr);
    let first: serde_json::Value = serde_json::from_str(err.lines().next().unwrap()).unwrap();
    assert_eq!(first["severity"], "ERROR");
    assert!(
        first["message"]
            .as_str()
            .unwrap()
            .contains("panicked on purpose"),
        "{err}"
    );
}

fn data_url_failure_exits_2() {
    // 404 is not retried, so this is quick.
    let url = serve(404, "");
    let out = child("primes", &[], &[("BL_EXECUTION_DATA_URL", url.as_str())]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    let host = url.trim_start_matches("http://").split('/').next().unwrap();
    assert!(
        err.contains(&format!(
            "error: could not load the task parameters from BL_EXECUTION_DATA_URL (host {host}) after 1 attempt\n  caused by: the server answered HTTP 404"
        )),
        "{err}"
    );
    assert!(!err.contains("sk-query-secret"), "{err}");
}

fn blocking_variant_exit_codes() {
    let out = child("blocking", &[], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    let out = child("blocking", &["--fail", "maybe"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("`fail`"));
}
