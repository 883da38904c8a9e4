//! Tasks that run for real, as local `sh -c` processes.
//!
//! These tests run real processes in real time. They never sleep to wait:
//! `Emulator::wait_until` wakes up on each thing a process does, and a
//! generous timeout only turns a hang into a failure.

use crate::common::{H, send};
use blaxel_jobs_emulator::{Clock, Emulator, EmulatorConfig, OutputStream, TaskOutput};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

/// Turns a hang into a failure; never reached when things work.
const HANG: Duration = Duration::from_secs(120);

fn config() -> EmulatorConfig {
    EmulatorConfig::default().clock(Clock::Manual)
}

fn is_final(e: &Value) -> bool {
    ["succeeded", "failed", "timeout", "cancelled"].contains(&e["status"].as_str().unwrap_or(""))
}

/// Waits (in real time) until execution `id` of `job` is final; returns it.
async fn finished(h: &H, job: &str, id: &str) -> Value {
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
    let e = h.execution(job, id).await;
    assert!(is_final(&e), "{e}");
    e
}

/// Waits until task `task` wrote a line containing `needle`.
async fn output_with(h: &H, job: &str, id: &str, task: usize, needle: &str) -> TaskOutput {
    let ws = h.ws.clone();
    let has = |emu: &Emulator| {
        emu.task_output(&ws, job, id, task)
            .is_some_and(|o| o.lines.iter().any(|l| l.text.contains(needle)))
    };
    tokio::time::timeout(HANG, h.emu.wait_until(has))
        .await
        .unwrap_or_else(|_| panic!("task {task} never wrote {needle:?}"));
    h.emu.task_output(&h.ws, job, id, task).unwrap()
}

fn statuses(e: &Value) -> Vec<&str> {
    e["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap())
        .collect()
}

/// A fresh, empty directory for files tasks share.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "blaxel-emulator-{name}-{}-{}",
        std::process::id(),
        fastrand_suffix()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn fastrand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::from(d.subsec_nanos()))
        .unwrap_or(0)
}

#[tokio::test]
async fn tasks_get_the_platform_environment_and_their_output_is_kept() {
    let h = H::with(config().task_command(
        "report",
        r#"echo "task=$TASK_INDEX key=$BL_TASK_KEY exec=$BL_EXECUTION_ID ekey=$BL_EXECUTION_KEY mode=$MODE extra=$EXTRA"; echo "url=$BL_EXECUTION_DATA_URL"; echo "to stderr" >&2"#,
    ))
    .await;
    h.create_job(
        "report",
        json!({"runtime": {"envs": [
            {"name": "MODE", "value": "full"},
            {"name": "EXTRA", "value": "from-job"},
            {"name": "TOKEN", "value": "s3cret", "secret": true}
        ]}}),
    )
    .await;
    let id = h
        .start(
            "report",
            json!({"executionId": "run-1", "env": {"EXTRA": "overridden"},
                   "tasks": [{"n": 1}, {"n": 2}]}),
        )
        .await;
    let e = finished(&h, "report", &id).await;
    assert_eq!(e["status"], "succeeded", "{e}");
    assert_eq!(e["stats"]["success"], 2);
    assert_eq!(statuses(&e), vec!["succeeded", "succeeded"]);
    assert!(e["metadata"]["completedAt"].is_string());
    for task in 0..2 {
        let out = h.emu.task_output(&h.ws, "report", &id, task).unwrap();
        assert_eq!(
            out.text(OutputStream::Stdout).lines().next().unwrap(),
            format!(
                "task={task} key=TASK_INDEX exec=run-1 ekey=BL_EXECUTION_ID mode=full extra=overridden"
            )
        );
        assert_eq!(out.text(OutputStream::Stderr), "to stderr");
        assert!(out.lines.iter().all(|l| l.attempt == 1));
        assert_eq!(out.dropped, 0);
    }
    assert!(h.emu.task_output(&h.ws, "report", &id, 2).is_none());
    // The data URL is only served while the processes run.
    let out = h.emu.task_output(&h.ws, "report", &id, 0).unwrap();
    let url = out
        .lines
        .iter()
        .find_map(|l| l.text.strip_prefix("url="))
        .unwrap()
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let r = send(h.http.request(Method::GET, &url)).await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn the_data_url_serves_every_task_and_cancelling_kills_the_processes() {
    let h = H::with(config().task_command(
        "slow",
        r#"echo "url=$BL_EXECUTION_DATA_URL"; sleep 60; echo never"#,
    ))
    .await;
    h.create_job("slow", json!({})).await;
    let tasks = json!([{"city": "Paris"}, {"city": "Lima", "n": 2.5}]);
    let id = h.start("slow", json!({"tasks": tasks})).await;
    let out = output_with(&h, "slow", &id, 1, "url=").await;
    let url = out.lines[0].text.strip_prefix("url=").unwrap().to_owned();
    // Served without credentials, like the platform's.
    let data = send(h.http.request(Method::GET, &url)).await.expect(200);
    assert_eq!(data, json!({"tasks": tasks}));
    let running = h.execution("slow", &id).await;
    assert_eq!(running["status"], "running");
    assert_eq!(running["stats"]["running"], 2);

    let r = h
        .delete(&format!("/jobs/slow/executions/{id}"))
        .await
        .expect(200);
    assert_eq!(r["status"], "cancelling");
    let e = finished(&h, "slow", &id).await;
    assert_eq!(e["status"], "cancelled");
    assert_eq!(statuses(&e), vec!["cancelled", "cancelled"]);
    assert_eq!(e["stats"]["cancelled"], 2);
    let reason = &e["tasks"][0]["conditions"][0]["message"];
    assert!(reason.as_str().unwrap().contains("killed"), "{reason}");
    for task in 0..2 {
        let out = h.emu.task_output(&h.ws, "slow", &id, task).unwrap();
        assert!(!out.text(OutputStream::Stdout).contains("never"));
    }
}

#[tokio::test]
async fn failed_attempts_are_retried_up_to_max_retries() {
    let dir = scratch("retries");
    let h = H::with(config().task_command(
        "flaky",
        // Task 0 succeeds on its second attempt; task 1 always exits 3.
        r#"f="$DIR/count-$TASK_INDEX"; n=$(cat "$f" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$f"
echo "attempt $n"
if [ "$TASK_INDEX" = 0 ] && [ $n -ge 2 ]; then exit 0; fi
exit 3"#,
    ))
    .await;
    h.create_job("flaky", json!({"runtime": {"maxRetries": 2}}))
        .await;
    let id = h
        .start(
            "flaky",
            json!({"env": {"DIR": dir.to_str().unwrap()}, "tasks": [{}, {}]}),
        )
        .await;
    let e = finished(&h, "flaky", &id).await;
    assert_eq!(e["status"], "failed", "{e}");
    assert_eq!(statuses(&e), vec!["succeeded", "failed"]);
    assert_eq!(e["stats"]["retried"], 1 + 2);
    let t1 = &e["tasks"][1]["conditions"];
    let last = t1.as_array().unwrap().last().unwrap();
    assert_eq!(last["reason"], "TaskFailed");
    assert!(
        last["message"]
            .as_str()
            .unwrap()
            .contains("attempt 3 exited with code 3"),
        "{last}"
    );
    let out = h.emu.task_output(&h.ws, "flaky", &id, 1).unwrap();
    let attempts: Vec<(u64, &str)> = out
        .lines
        .iter()
        .map(|l| (l.attempt, l.text.as_str()))
        .collect();
    assert_eq!(
        attempts,
        vec![(1, "attempt 1"), (2, "attempt 2"), (3, "attempt 3")]
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_task_longer_than_the_timeout_is_killed() {
    let h = H::with(config().task_command("stuck", "echo start; sleep 60; echo end")).await;
    h.create_job("stuck", json!({"runtime": {"timeout": 1, "maxRetries": 3}}))
        .await;
    let id = h.start("stuck", json!({})).await;
    let e = finished(&h, "stuck", &id).await;
    assert_eq!(e["status"], "timeout", "{e}");
    assert_eq!(e["stats"]["retried"], 0, "a timeout is not retried");
    let cond = &e["tasks"][0]["conditions"][0];
    assert_eq!(cond["reason"], "DeadlineExceeded");
    let out = h.emu.task_output(&h.ws, "stuck", &id, 0).unwrap();
    assert_eq!(out.text(OutputStream::Stdout), "start");
}

#[tokio::test]
async fn max_concurrent_tasks_is_honoured() {
    let dir = scratch("concurrency");
    let h = H::with(config().task_command(
        "one-at-a-time",
        r#"if [ -e "$DIR/busy" ]; then echo overlap; fi; touch "$DIR/busy"; sleep 0.2; rm "$DIR/busy"; echo "done $TASK_INDEX""#,
    ))
    .await;
    h.create_job(
        "one-at-a-time",
        json!({"runtime": {"maxConcurrentTasks": 1}}),
    )
    .await;
    let id = h
        .start(
            "one-at-a-time",
            json!({"env": {"DIR": dir.to_str().unwrap()}, "tasks": [{}, {}, {}]}),
        )
        .await;
    let e = finished(&h, "one-at-a-time", &id).await;
    assert_eq!(e["status"], "succeeded", "{e}");
    for task in 0..3 {
        // No "overlap" line: no task saw another one running.
        let out = h
            .emu
            .task_output(&h.ws, "one-at-a-time", &id, task)
            .unwrap();
        assert_eq!(out.text(OutputStream::Stdout), format!("done {task}"));
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn queued_local_executions_wait_for_capacity_and_cancel_at_once() {
    let h = H::with(
        config()
            .capacity(1)
            .task_command("long", "echo up; sleep 60"),
    )
    .await;
    h.create_job("long", json!({})).await;
    let a = h.start("long", json!({})).await;
    let b = h.start("long", json!({})).await;
    output_with(&h, "long", &a, 0, "up").await;
    assert_eq!(h.status("long", &b).await, "queued");
    h.delete(&format!("/jobs/long/executions/{b}"))
        .await
        .expect(200);
    assert_eq!(h.status("long", &b).await, "cancelled");
    assert!(
        h.emu
            .task_output(&h.ws, "long", &b, 0)
            .unwrap()
            .lines
            .is_empty()
    );
    h.delete(&format!("/jobs/long/executions/{a}"))
        .await
        .expect(200);
    assert_eq!(finished(&h, "long", &a).await["status"], "cancelled");
}

#[tokio::test]
async fn local_images_run_only_when_allowed() {
    let job = json!({"runtime": {"image": "local:echo hello from $TASK_INDEX"}});
    let h = H::with(config().run_local_images(true)).await;
    h.create_job("img", job.clone()).await;
    let id = h.start("img", json!({})).await;
    assert_eq!(finished(&h, "img", &id).await["status"], "succeeded");
    let out = h.emu.task_output(&h.ws, "img", &id, 0).unwrap();
    assert_eq!(out.text(OutputStream::Stdout), "hello from 0");

    // Without the option the image is just a string: tasks are simulated.
    let h = H::manual().await;
    h.create_job("img", job).await;
    let id = h.start("img", json!({})).await;
    h.advance_ms(2_000);
    assert_eq!(h.status("img", &id).await, "succeeded");
    assert!(h.emu.task_output(&h.ws, "img", &id, 0).is_none());
    let r = send(h.req(Method::GET, "/jobs/img")).await;
    assert_eq!(r.status, 200);
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn shutting_down_kills_the_processes() {
    let h = H::with(config().task_command("forever", "echo pid=$$; sleep 60")).await;
    h.create_job("forever", json!({})).await;
    let id = h.start("forever", json!({})).await;
    let out = output_with(&h, "forever", &id, 0, "pid=").await;
    let pid = out.lines[0].text.strip_prefix("pid=").unwrap().to_owned();
    let proc_dir = std::path::PathBuf::from(format!("/proc/{pid}"));
    assert!(proc_dir.exists(), "the task's shell runs");
    tokio::time::timeout(HANG, h.emu.shutdown())
        .await
        .expect("shutdown ends");
    assert!(!proc_dir.exists(), "the task's shell was killed and reaped");
}

#[tokio::test]
async fn process_output_is_served_as_log_lines() {
    let h = H::with(config().task_command(
        "report",
        r#"echo '{"message":"rows=3","severity":"INFO","labels":{"blaxel-task":"p'$TASK_INDEX'"},"trace_id":"t1"}' >&2
echo "plain out"; echo "plain err" >&2; echo "plain out""#,
    ))
    .await;
    h.create_job("report", json!({})).await;
    let id = h
        .start("report", json!({"executionId": "run-9", "tasks": [{}, {}]}))
        .await;
    finished(&h, "report", &id).await;
    let body = h
        .get("/observability/logs?resourceType=jobs&workloadIds=report&executionId=run-9&taskId=1")
        .await
        .expect(200);
    let lines = body["report"]["logs"].as_array().unwrap();
    // One entry per line; two equal lines stay two.
    assert_eq!(body["report"]["totalCount"], 4, "{body}");
    let find = |m: &str| -> Vec<&Value> { lines.iter().filter(|l| l["message"] == m).collect() };
    assert_eq!(find("plain out").len(), 2);
    let json_line = find("rows=3")[0];
    assert_eq!(json_line["severity"], 9);
    assert_eq!(json_line["trace_id"], "t1");
    assert_eq!(
        json_line["labels"]["blaxel-task"], "p1",
        "the line's own label"
    );
    assert_eq!(
        json_line["labels"]["blaxel-execution"], "9",
        "the emulator's"
    );
    assert_eq!(find("plain out")[0]["severity"], 0, "stdout: UNKNOWN");
    assert_eq!(find("plain err")[0]["severity"], 17, "stderr: ERROR");
    // The task's own label selects it too.
    let by_label = h
        .get("/observability/logs?resourceType=jobs&workloadIds=report&taskId=p1&severity=INFO")
        .await
        .expect(200);
    assert_eq!(by_label["report"]["totalCount"], 1, "{by_label}");
}
