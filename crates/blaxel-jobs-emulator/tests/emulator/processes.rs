//! No process a task starts outlives it, nor the emulator, however either
//! ends: a task's main process exiting, the `Emulator` dropped, a test
//! process that ends with tasks running (the emulator dropped, leaked, or
//! the process killed with SIGKILL); and what reaches a task's
//! environment.
//!
//! Processes die asynchronously (a SIGKILL is delivered when the process
//! is next scheduled, and a watchdog acts when it reads the end of its
//! pipe), so [`gone`] polls `/proc` until they are, with a generous bound
//! that only turns a leak into a failure.

use crate::common::H;
use blaxel_jobs_emulator::{Clock, Emulator, EmulatorConfig, OutputStream};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Turns a hang into a failure; never reached when things work.
const HANG: Duration = Duration::from_secs(120);

/// A task that starts a background `sleep`, records both process ids,
/// says `ready`, and waits.
const LINGERING: &str =
    r#"sleep 300 & echo $! > "$DIR/bg.pid"; echo $$ > "$DIR/main.pid"; echo ready; wait"#;

/// A fresh, empty directory for the pid files.
fn scratch(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "blaxel-emulator-procs-{name}-{}-{nanos}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Whether process `pid` is alive (a zombie, dead but not yet reaped, is
/// not).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| rest.to_owned()))
        .is_some_and(|rest| !rest.starts_with('Z') && !rest.starts_with('X'))
}

/// Whether process `pid` dies within [`HANG`].
fn gone(pid: u32) -> bool {
    let end = std::time::Instant::now() + HANG;
    while std::time::Instant::now() < end {
        if !alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

fn pid(dir: &Path, name: &str) -> u32 {
    std::fs::read_to_string(dir.join(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .trim()
        .parse()
        .unwrap()
}

/// Starts an execution of `LINGERING` on a job run by `h`, and waits until
/// its task is ready; answers the task's main and background processes.
async fn lingering(h: &H, dir: &Path) -> (u32, u32) {
    h.create_job("linger", json!({})).await;
    let id = h
        .start(
            "linger",
            json!({"env": {"DIR": dir.to_str().unwrap()}, "tasks": [{}]}),
        )
        .await;
    let ws = h.ws.clone();
    let ready = |emu: &Emulator| {
        emu.task_output(&ws, "linger", &id, 0)
            .is_some_and(|o| o.text(OutputStream::Stdout).contains("ready"))
    };
    tokio::time::timeout(HANG, h.emu.wait_until(ready))
        .await
        .expect("the task gets ready");
    let (main, bg) = (pid(dir, "main.pid"), pid(dir, "bg.pid"));
    assert!(alive(main) && alive(bg));
    (main, bg)
}

fn config() -> EmulatorConfig {
    EmulatorConfig::default()
        .clock(Clock::Manual)
        .task_command("linger", LINGERING)
}

#[tokio::test]
async fn what_a_task_leaves_in_the_background_ends_with_its_main_process() {
    let dir = scratch("background");
    let h = H::with(EmulatorConfig::default().clock(Clock::Manual).task_command(
        "quick",
        r#"sleep 300 & echo $! > "$DIR/bg.pid"; echo started"#,
    ))
    .await;
    h.create_job("quick", json!({})).await;
    let id = h
        .start(
            "quick",
            json!({"env": {"DIR": dir.to_str().unwrap()}, "tasks": [{}]}),
        )
        .await;
    let ws = h.ws.clone();
    let done = |emu: &Emulator| {
        emu.executions(&ws, "quick")
            .iter()
            .any(|e| e.status.as_ref().is_some_and(|s| s.is_terminal()))
    };
    tokio::time::timeout(HANG, h.emu.wait_until(done))
        .await
        .expect("the execution ends");
    assert_eq!(h.status("quick", &id).await, "succeeded");
    assert!(gone(pid(&dir, "bg.pid")), "the background sleep was killed");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn dropping_the_emulator_kills_every_process_of_its_tasks() {
    let dir = scratch("drop");
    let h = H::with(config()).await;
    let (main, bg) = lingering(&h, &dir).await;
    drop(h);
    assert!(gone(main), "the task's shell");
    assert!(gone(bg), "what the task started");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn shutting_down_kills_what_tasks_started_too() {
    let dir = scratch("shutdown");
    let h = H::with(config()).await;
    let (main, bg) = lingering(&h, &dir).await;
    tokio::time::timeout(HANG, h.emu.shutdown())
        .await
        .expect("shutdown ends");
    assert!(gone(main) && gone(bg));
    let _ = std::fs::remove_dir_all(dir);
}

/// The variable that makes [`child_test_with_tasks_running`] run: `MODE
/// DIR`.
const CHILD: &str = "BLAXEL_EMULATOR_CHILD_TEST";

/// Run as a child process by [`a_test_process_that_ends_with_tasks_running_leaves_none`]
/// (it does nothing otherwise): a `#[tokio::test]` that ends with a task
/// running, the emulator dropped at its end (`drop`), leaked (`leak`), or
/// the process killed by the parent (`kill`).
#[tokio::test]
async fn child_test_with_tasks_running() {
    let Ok(spec) = std::env::var(CHILD) else {
        return;
    };
    let (mode, dir) = spec.split_once(' ').unwrap();
    let dir = PathBuf::from(dir);
    let h = H::with(config()).await;
    lingering(&h, &dir).await;
    match mode {
        "drop" => {}
        "leak" => std::mem::forget(h),
        "kill" => {
            std::fs::write(dir.join("ready"), "").unwrap();
            std::future::pending::<()>().await;
        }
        other => panic!("mode {other}"),
    }
}

#[test]
fn a_test_process_that_ends_with_tasks_running_leaves_none() {
    for mode in ["drop", "leak", "kill"] {
        let dir = scratch(mode);
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "processes::child_test_with_tasks_running",
                "--exact",
                "--nocapture",
            ])
            .env(CHILD, format!("{mode} {}", dir.display()))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        if mode == "kill" {
            let end = std::time::Instant::now() + HANG;
            while !dir.join("ready").exists() {
                assert!(std::time::Instant::now() < end, "the child never got ready");
                assert!(child.try_wait().unwrap().is_none(), "the child ended");
                std::thread::sleep(Duration::from_millis(10));
            }
            child.kill().unwrap();
            child.wait().unwrap();
        } else {
            let status = child.wait().unwrap();
            assert!(status.success(), "{mode}: {status}");
        }
        let (main, bg) = (pid(&dir, "main.pid"), pid(&dir, "bg.pid"));
        assert!(
            gone(main),
            "{mode}: the task's shell outlived the test process"
        );
        assert!(
            gone(bg),
            "{mode}: what the task started outlived the test process"
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Waits until execution `id` of `job` ends; answers its task's output.
async fn ended(h: &H, job: &str, id: &str) -> blaxel_jobs_emulator::TaskOutput {
    let ws = h.ws.clone();
    let done = |emu: &Emulator| {
        emu.executions(&ws, job).iter().any(|e| {
            e.metadata.id.as_deref() == Some(id)
                && e.status.as_ref().is_some_and(|s| s.is_terminal())
        })
    };
    tokio::time::timeout(HANG, h.emu.wait_until(done))
        .await
        .expect("the execution ends");
    h.emu.task_output(&h.ws, job, id, 0).unwrap()
}

#[tokio::test]
async fn a_name_or_value_no_environment_can_carry_stops_the_task_and_says_why() {
    let h = H::with(
        EmulatorConfig::default()
            .clock(Clock::Manual)
            .task_command("env", r#"echo "url=$BL_EXECUTION_DATA_URL a=$A""#),
    )
    .await;
    h.create_job("env", json!({})).await;
    for (env, why) in [
        (
            json!({"BL_EXECUTION_DATA_URL=http://127.0.0.1:9/evil?x": ""}),
            "contains '='",
        ),
        (json!({"A=B": "C"}), "contains '='"),
        (json!({"A\u{0}B": "x"}), "NUL character in its name"),
        (json!({"A": "x\u{0}y"}), "NUL character in its value"),
    ] {
        let id = h.start("env", json!({"env": env, "tasks": [{}]})).await;
        let out = ended(&h, "env", &id).await;
        let e = h.execution("env", &id).await;
        assert_eq!(e["status"], "failed", "{env}: {e}");
        assert_eq!(e["stats"]["retried"], 0, "{env}: not retried");
        assert_eq!(
            out.text(OutputStream::Stdout),
            "",
            "{env}: the task never ran"
        );
        let err = out.text(OutputStream::Stderr);
        assert!(
            err.contains("cannot start") && err.contains(why),
            "{env}: {err}"
        );
    }
}

#[tokio::test]
async fn the_platform_s_and_the_loader_s_variables_keep_their_values() {
    let h = H::with(EmulatorConfig::default().clock(Clock::Manual).task_command(
        "env",
        r#"echo "path=$PATH"; echo "preload=${LD_PRELOAD-unset}"; echo "bashenv=${BASH_ENV-unset}"; echo "url=$BL_EXECUTION_DATA_URL"; echo "index=$TASK_INDEX"; echo "mode=$MODE""#,
    ))
    .await;
    h.create_job(
        "env",
        json!({"runtime": {"envs": [{"name": "PATH", "value": "/job/bin"}]}}),
    )
    .await;
    let id = h
        .start(
            "env",
            json!({"env": {
                "PATH": "/tmp/evil",
                "LD_PRELOAD": "/tmp/evil.so",
                "BASH_ENV": "/tmp/evil.sh",
                "BL_EXECUTION_DATA_URL": "http://127.0.0.1:9/evil",
                "TASK_INDEX": "7",
                "MODE": "full"
            }, "tasks": [{}]}),
        )
        .await;
    let out = ended(&h, "env", &id).await;
    let stdout = out.text(OutputStream::Stdout);
    let ours = std::env::var("PATH").unwrap_or_default();
    let preload = std::env::var("LD_PRELOAD").unwrap_or_else(|_| "unset".to_owned());
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], format!("path={ours}"), "{stdout}");
    assert_eq!(lines[1], format!("preload={preload}"), "{stdout}");
    assert!(!lines[2].contains("evil"), "{stdout}");
    assert!(
        lines[3].starts_with("url=http://127.0.0.1:") && !lines[3].contains("evil"),
        "{stdout}"
    );
    assert_eq!(&lines[4..], ["index=0", "mode=full"], "{stdout}");
    // Each ignored entry is named, never its value.
    let stderr = out.text(OutputStream::Stderr);
    for name in [
        "PATH",
        "LD_PRELOAD",
        "BASH_ENV",
        "BL_EXECUTION_DATA_URL",
        "TASK_INDEX",
    ] {
        assert!(
            stderr.contains(&format!("ignored {name} ")),
            "{name}: {stderr}"
        );
    }
    assert!(
        !stderr.contains("evil") && !stderr.contains("/job/bin"),
        "{stderr}"
    );
}
