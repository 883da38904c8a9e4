//! The whole loop, offline: a task program written with `blaxel-jobs-task`
//! runs as the tasks of a job on the emulator, driven with the SDK.
//!
//! ```text
//! cargo run --example task_loop
//! ```
//!
//! 1. It builds the task program, `collatz_task` (`collatz_task.rs` beside
//!    this file), with the `cargo` that runs this example.
//! 2. It starts the emulator in this process, with the job's tasks run for
//!    real: each task is the program as a local process, with the
//!    environment a task gets on the platform (`BL_EXECUTION_DATA_URL`,
//!    `TASK_INDEX`, the job's variables).
//! 3. It creates the job and starts one execution of 100 tasks, each the
//!    Collatz chains of 10,000 numbers (1 to 1,000,000 in all), 4 at a
//!    time, and one more task given an empty range on purpose, which
//!    fails; then waits for it with the SDK's waiter, which streams the
//!    execution's warning and error log lines as they are written.
//! 4. It reads each task's output from the emulator and prints the totals;
//!    then finds the failed task and prints its last log lines, read
//!    through the SDK (the logs endpoint, which the emulator serves from
//!    the tasks' output); and exits with an error if anything else
//!    failed.
//!
//! Unlike the other examples it always uses the emulator: on Blaxel the
//! program would be built into the job's container image. It needs `sh`
//! (Unix), which the emulator runs task commands with.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use blaxel_jobs::logs::parse_timestamp;
use blaxel_jobs::types::LogSeverity;
use blaxel_jobs::{Client, Error as SdkError, JobBuilder, PollInterval, types};
use blaxel_jobs_emulator::{Emulator, EmulatorConfig, OutputStream};
use serde::Deserialize;
use serde_json::{Value, json};

/// The job's name.
const JOB: &str = "collatz";
/// The workspace on the emulator.
const WORKSPACE: &str = "task-loop";
/// Tasks in the execution.
const TASKS: u64 = 100;
/// Numbers per task.
const SPAN: u64 = 10_000;
/// Task processes running at once (the machine's cores are shared with
/// the emulator and this driver).
const CONCURRENCY: u32 = 4;
/// The task whose log lines are shown.
const SHOWN_TASK: u64 = 42;
/// The index of the task given an empty range, which fails on purpose.
const BROKEN_TASK: u64 = TASKS;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    let program = task_program()?;
    println!("Task program: {}", program.display());

    // The emulator runs `sh -c <command>` for each task of job JOB.
    let config = EmulatorConfig::default().task_command(JOB, shell_quote(&program));
    let emulator = Emulator::start_with(config).await?;
    let client = Client::builder()
        .ignore_environment()
        .base_url(emulator.base_url())
        .api_key(emulator.api_key())
        .workspace(WORKSPACE)
        .build()?;
    println!("Emulator at {}", emulator.base_url());

    let job = JobBuilder::new(JOB)
        // Only a label here: the emulator runs the task command instead.
        .image("registry.example.com/collatz-task:1.0")
        .memory(256)
        .max_concurrent_tasks(CONCURRENCY)
        .max_retries(1)
        .timeout(Duration::from_secs(60))
        .env("BL_LOGGER", "json")
        .env("COLLATZ_MAX_STEPS", "1000")
        .build()?;
    client.jobs().create(job).send().await?;

    let ranges = (0..TASKS)
        .map(|i| json!({"start": 1 + i * SPAN, "end": 1 + (i + 1) * SPAN}))
        // One more task, whose empty range makes it fail: to show triage.
        .chain([json!({"start": 5, "end": 5})]);
    let executions = client.job(JOB).executions();
    let started = executions.create().tasks(ranges).send().await?;
    let id = started
        .execution_id
        .ok_or("the emulator did not return an execution id")?;
    println!(
        "Execution {id}: {} tasks, {CONCURRENCY} at a time (task {BROKEN_TASK} fails on purpose)",
        TASKS + 1
    );

    let outcome = client
        .job(JOB)
        .execution(&id)
        .wait_until_succeeded()
        .poll_interval(PollInterval::new(
            Duration::from_millis(50),
            Duration::from_millis(250),
        ))
        .on_progress({
            let mut last = String::new();
            move |e| {
                let status = e.status.as_ref().map_or("?", |s| s.as_str());
                let stats = e.stats.as_ref();
                let count = |f: fn(&types::JobExecutionStats) -> Option<i64>| {
                    stats.and_then(f).unwrap_or(0)
                };
                let line = format!(
                    "  {status:<10} {:>3} done, {} failed, {} running",
                    count(|s| s.success),
                    count(|s| s.failure),
                    count(|s| s.running)
                );
                // Only what changed since the last poll.
                if line != last {
                    println!("{line}");
                    last = line;
                }
            }
        })
        // The execution's warnings and errors, as they are written.
        .on_log_line(|line| {
            let severity = line.severity.opentelemetry_name();
            if matches!(
                severity,
                Some(LogSeverity::Warning | LogSeverity::Error | LogSeverity::Fatal)
            ) {
                let task = line.task.as_deref().unwrap_or("?");
                let name = severity.as_ref().map_or("?", |s| s.as_str());
                println!("  log: task {task} {name}: {}", line.message);
            }
        })
        .wait(Duration::from_secs(300))
        .await;

    // Each task printed one JSON line with its result on standard output.
    let mut failed_tasks = Vec::new();
    let mut longest = Longest { n: 0, steps: 0 };
    let mut total_steps: u64 = 0;
    for task in 0..TASKS {
        let output = emulator
            .task_output(WORKSPACE, JOB, &id, task as usize)
            .ok_or("the emulator kept no output for the execution")?;
        let result = output
            .lines
            .iter()
            .filter(|l| l.stream == OutputStream::Stdout)
            .find_map(|l| serde_json::from_str::<TaskResult>(&l.text).ok());
        let Some(result) = result else {
            failed_tasks.push(task);
            continue;
        };
        if result.longest.steps > longest.steps {
            longest = result.longest;
        }
        total_steps = total_steps.saturating_add(result.total_steps);
    }
    let finished = TASKS - failed_tasks.len() as u64;
    println!(
        "Numbers 1 to {} ({finished} of {TASKS} tasks with a result): the longest chain starts \
         at {} ({} steps); {total_steps} steps in all",
        TASKS * SPAN,
        longest.n,
        longest.steps
    );

    println!("Log lines of task {SHOWN_TASK} (standard error, with the attempt that wrote them):");
    if let Some(output) = emulator.task_output(WORKSPACE, JOB, &id, SHOWN_TASK as usize) {
        for line in output.lines.iter() {
            if line.stream == OutputStream::Stderr {
                println!("  [attempt {}] {}", line.attempt, line.text);
            }
        }
    }

    // Triage, through the SDK: which tasks failed, and their last lines.
    let execution = client.job(JOB).execution(&id);
    let read = execution.get().send().await?;
    let at = |t: Option<&str>| {
        t.and_then(parse_timestamp)
            .map(std::time::SystemTime::from)
            .ok_or("the execution has no times")
    };
    let minute = Duration::from_secs(60);
    let window = (
        at(read.metadata.created_at.as_deref())? - minute,
        at(read.metadata.completed_at.as_deref())? + minute,
    );
    let mut tasks = std::pin::pin!(execution.tasks().into_stream());
    let mut index = 0u64;
    while let Some(task) = futures_util::StreamExt::next(&mut tasks).await {
        let task = task?;
        if task.status.as_ref().map(|s| s.as_str()) == Some("failed") {
            let logs = execution
                .logs()
                .task_id(index.to_string())
                .read(window.0, window.1)
                .max_lines(4)
                .send()
                .await?;
            println!("Task {index} failed; its last log lines, read through the SDK:");
            for line in &logs.lines {
                let severity = line.severity.opentelemetry_name();
                println!(
                    "  {} {} {}",
                    line.timestamp.format("%H:%M:%S%.3f"),
                    severity.as_ref().map_or("?", |s| s.as_str()),
                    line.message
                );
            }
        }
        index += 1;
    }

    if !failed_tasks.is_empty() {
        return Err(format!("tasks without a result: {failed_tasks:?}").into());
    }
    // Every task but the broken one succeeded, so the execution failed.
    let execution = match outcome {
        Err(SdkError::ExecutionEnded(ended)) => ended.into_execution(),
        Ok(_) => return Err(format!("task {BROKEN_TASK} was meant to fail").into()),
        Err(e) => return Err(e.into()),
    };
    let stats = execution.stats.unwrap_or_default();
    println!(
        "Execution {id} ended {}: {} of {} tasks succeeded, {} failed, {} retried",
        execution.status.as_ref().map_or("?", |s| s.as_str()),
        stats.success.unwrap_or(0),
        stats.total.unwrap_or(0),
        stats.failure.unwrap_or(0),
        stats.retried.unwrap_or(0)
    );
    if stats.failure != Some(1) {
        return Err("only the broken task should have failed".into());
    }
    client.job(JOB).delete().send().await?;
    emulator.shutdown().await;
    Ok(())
}

/// What a task prints on standard output (the fields used here).
#[derive(Debug, Deserialize)]
struct TaskResult {
    longest: Longest,
    total_steps: u64,
}

/// The number of a range with the longest chain.
#[derive(Debug, Deserialize)]
struct Longest {
    n: u64,
    steps: u64,
}

/// The path of the task program, built now.
///
/// Cargo builds a package's binaries before its integration tests, not
/// before its examples, so this example asks the `cargo` that runs it (in
/// `CARGO`) to build the binary, in the same profile (an up-to-date build
/// takes a fraction of a second), and takes the path from Cargo's own
/// report of what it built: that works whatever the target directory or
/// target triple. Run without Cargo, it looks for the
/// program next to the directory that holds this example.
fn task_program() -> Result<PathBuf, Box<dyn Error>> {
    const BIN: &str = "collatz_task";
    let Some(cargo) = std::env::var_os("CARGO") else {
        let exe = std::env::current_exe()?;
        let beside = exe
            .parent()
            .and_then(Path::parent)
            .map(|dir| dir.join(format!("{BIN}{}", std::env::consts::EXE_SUFFIX)))
            .filter(|p| p.is_file());
        return beside.ok_or_else(|| {
            format!("{BIN} not found: run this example with `cargo run --example task_loop`").into()
        });
    };
    // The workspace's manifest, and no `--package`: Cargo then resolves
    // features as for `cargo run --example task_loop` in the workspace, so
    // the two builds share their dependencies instead of rebuilding them
    // in turn.
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let mut build = Command::new(cargo);
    build
        .args(["build", "--quiet", "--manifest-path"])
        .arg(workspace)
        .args([
            "--bin",
            BIN,
            "--example",
            "task_loop",
            "--message-format=json-render-diagnostics",
        ]);
    // `cargo run` describes this package to the example in variables that
    // build scripts watch (ring's reads `CARGO_MANIFEST_DIR`): passed on,
    // they would make Cargo rebuild dependencies each time.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_PKG_") || RUN_VARIABLES.contains(&&*name) {
            build.env_remove(&*name);
        }
    }
    if !cfg!(debug_assertions) {
        build.arg("--release");
    }
    let out = build.stderr(std::process::Stdio::inherit()).output()?;
    if !out.status.success() {
        return Err(format!("building {BIN} failed ({})", out.status).into());
    }
    // One JSON message per line; the artifact of the binary has its path.
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == BIN)
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| format!("cargo built {BIN} but did not say where").into())
}

/// The variables, besides `CARGO_PKG_*`, that `cargo run` sets for the
/// program it runs.
const RUN_VARIABLES: &[&str] = &[
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
    "CARGO_PRIMARY_PACKAGE",
];

/// `path` quoted for `sh`: in single quotes, each `'` written `'\''`.
fn shell_quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}
