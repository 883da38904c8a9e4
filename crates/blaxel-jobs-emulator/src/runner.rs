//! The runner of executions whose tasks run as local processes: it starts
//! each task's process (`sh -c <command>`) with the environment the
//! platform gives a task, at most `parallelism` at once, enforces the
//! timeout, retries failed attempts, reads the output, and records what
//! happens in the execution ([`crate::execution::LocalRun`]).
//!
//! Executions are handed to [`supervise`] as the store admits them (over a
//! channel that [`Shared`] holds); it runs each with [`run`] until the
//! emulator stops.

use crate::execution::{Launch, LocalTask, MAX_LINE_BYTES, OutputLine, OutputStream, TaskEnd};
use crate::ids::random_id;
use crate::shared::Shared;
use crate::task_env::{TaskEnv, task_env};
use blaxel_jobs_client::open_enum::JobExecutionTaskStatus as TS;
use blaxel_jobs_client::task_environment as platform;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// How long, after a process ended, its output is still read (a process it
/// started may hold the pipes open).
const OUTPUT_GRACE: Duration = Duration::from_secs(2);

/// Runs every execution handed over on `launches`, each with [`run`], until
/// the emulator stops; then waits for the runners, which kill their
/// processes and end.
pub(crate) async fn supervise(shared: Arc<Shared>, mut launches: mpsc::UnboundedReceiver<Launch>) {
    let mut stopping = shared.stopping();
    let mut runners = JoinSet::new();
    loop {
        tokio::select! {
            launch = launches.recv() => match launch {
                Some(l) => {
                    runners.spawn(run(shared.clone(), l));
                }
                None => break,
            },
            Some(_) = runners.join_next(), if !runners.is_empty() => {}
            _ = stopping.wait_for(|s| *s) => break,
        }
    }
    while runners.join_next().await.is_some() {}
}

/// The process of task `index` of `launch`: `sh -c <command>` with the
/// job's environment and the execution's overrides as [`task_env`] sorts
/// them (`env`), and what the platform sets (the names are the document's,
/// [`blaxel_jobs_client::task_environment`]): `BL_EXECUTION_DATA_URL`,
/// `BL_TASK_KEY` (`TASK_INDEX`), `TASK_INDEX`, `BL_EXECUTION_KEY`
/// (`BL_EXECUTION_ID`) and `BL_EXECUTION_ID`; the log prefixes
/// (`BL_TASK_PREFIX`, `BL_EXECUTION_PREFIX`) are left unset. The
/// emulator's own environment is inherited (for `PATH` and the like), in a
/// process group of its own (see [`crate::groups`]).
fn command(launch: &Launch, index: usize, data_url: &str, env: &TaskEnv) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(&launch.spec.command)
        .envs(env.vars.iter().map(|(k, v)| (k, v)))
        .env(platform::BL_EXECUTION_DATA_URL, data_url)
        .env(platform::BL_TASK_KEY, platform::TASK_INDEX)
        .env(platform::TASK_INDEX, index.to_string())
        .env(platform::BL_EXECUTION_KEY, platform::BL_EXECUTION_ID)
        .env(platform::BL_EXECUTION_ID, &launch.execution_id)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    cmd.process_group(0);
    cmd
}

/// How one attempt ended.
enum Attempt {
    Exited(Option<i32>),
    TimedOut,
    Killed,
    /// The process could not be started (retried like a failure).
    NotStarted(String),
    /// The process cannot be started whatever is tried (never retried).
    Unstartable(String),
}

/// Runs the tasks of one execution, at most `parallelism` at once, in
/// submission order, and records what happens.
pub(crate) async fn run(shared: Arc<Shared>, launch: Launch) {
    let launch = Arc::new(launch);
    let env = Arc::new(task_env(&launch.spec.env));
    let token = random_id("", 32);
    shared.serve_task_data(&token, &launch.data);
    let data_url = Arc::<str>::from(format!("{}/_emulator/task-data/{token}", shared.origin));
    shared.record(&launch.workspace, launch.seq, |exec, now| {
        exec.local_started(now);
    });
    let mut cancel = launch.cancel.clone();
    let mut cancel_open = true;
    let stopping = shared.stopping();
    let mut set = JoinSet::new();
    let mut next = 0;
    loop {
        while set.len() < launch.parallelism.max(1)
            && next < launch.tasks
            && !*cancel.borrow()
            && !*stopping.borrow()
        {
            set.spawn(run_task(
                shared.clone(),
                launch.clone(),
                env.clone(),
                data_url.clone(),
                next,
            ));
            next += 1;
        }
        if set.is_empty() {
            break;
        }
        tokio::select! {
            _ = set.join_next() => {}
            changed = cancel.changed(), if cancel_open => cancel_open = changed.is_ok(),
        }
    }
    shared.finish_local(&launch.workspace, launch.seq);
    shared.forget_task_data(&token);
}

/// Runs the attempts of one task.
async fn run_task(
    shared: Arc<Shared>,
    launch: Arc<Launch>,
    env: Arc<Result<TaskEnv, String>>,
    data_url: Arc<str>,
    index: usize,
) {
    let mut attempt: u64 = 0;
    loop {
        attempt += 1;
        let started = shared.record_task(&launch, index, |task, now| {
            if task.status.is_terminal() {
                return false;
            }
            if task.started_at.is_none() {
                task.started_at = Some(now);
            }
            task.status = TS::Running;
            task.attempts = attempt;
            task.updated_at = now;
            true
        });
        if started != Some(true) {
            return;
        }
        let outcome = match env.as_ref() {
            Ok(env) => run_attempt(&shared, &launch, env, &data_url, index, attempt).await,
            Err(why) => Attempt::Unstartable(why.clone()),
        };
        let retry = shared.record_task(&launch, index, |task, now| {
            task.updated_at = now;
            let failed = |task: &mut LocalTask, exit_code| {
                task.status = TS::Failed;
                task.end = Some(TaskEnd::Failed {
                    attempts: attempt,
                    exit_code,
                });
            };
            let retry = match &outcome {
                Attempt::Exited(Some(0)) => {
                    task.status = TS::Succeeded;
                    false
                }
                Attempt::Exited(_) if attempt <= launch.max_retries => {
                    if *launch.cancel.borrow() {
                        // The execution is cancelling: no retry.
                        task.status = TS::Failed;
                        task.end = Some(TaskEnd::FailedWhileCancelling { attempts: attempt });
                        false
                    } else {
                        true
                    }
                }
                Attempt::Exited(code) => {
                    failed(task, *code);
                    false
                }
                Attempt::NotStarted(why) => {
                    task.push_line(
                        OutputLine {
                            stream: OutputStream::Stderr,
                            attempt,
                            text: format!("emulator: cannot start the task's process: {why}"),
                        },
                        now,
                    );
                    if attempt <= launch.max_retries && !*launch.cancel.borrow() {
                        true
                    } else {
                        failed(task, None);
                        false
                    }
                }
                Attempt::Unstartable(why) => {
                    task.push_line(
                        OutputLine {
                            stream: OutputStream::Stderr,
                            attempt,
                            text: format!("emulator: the task's process cannot start: {why}"),
                        },
                        now,
                    );
                    failed(task, None);
                    false
                }
                Attempt::TimedOut => {
                    task.status = TS::Failed;
                    task.end = Some(TaskEnd::TimedOut);
                    false
                }
                Attempt::Killed => {
                    task.status = TS::Cancelled;
                    task.end = Some(TaskEnd::Killed);
                    false
                }
            };
            if !retry {
                task.completed_at = Some(now);
            }
            retry
        });
        if retry != Some(true) {
            return;
        }
    }
}

/// Runs one attempt of task `index` to its end; then no process of it is
/// left.
async fn run_attempt(
    shared: &Arc<Shared>,
    launch: &Arc<Launch>,
    env: &TaskEnv,
    data_url: &str,
    index: usize,
    attempt: u64,
) -> Attempt {
    if attempt == 1 {
        for note in &env.notes {
            shared.record_task(launch, index, |task, now| {
                task.push_line(
                    OutputLine {
                        stream: OutputStream::Stderr,
                        attempt,
                        text: note.clone(),
                    },
                    now,
                );
            });
        }
    }
    let mut child = match command(launch, index, data_url, env).spawn() {
        Ok(c) => c,
        Err(e) => return Attempt::NotStarted(e.to_string()),
    };
    // The process leads its group (see [`command`]), listed until
    // the attempt is over; a stopped emulator lists none.
    let group = child.id();
    let listed = group.is_some_and(|g| shared.groups.add(g));
    let mut readers = JoinSet::new();
    if let Some(out) = child.stdout.take() {
        readers.spawn(read_lines(
            shared.clone(),
            launch.clone(),
            index,
            attempt,
            OutputStream::Stdout,
            out,
        ));
    }
    if let Some(err) = child.stderr.take() {
        readers.spawn(read_lines(
            shared.clone(),
            launch.clone(),
            index,
            attempt,
            OutputStream::Stderr,
            err,
        ));
    }
    let mut cancel = launch.cancel.clone();
    let timeout = async {
        match launch.timeout {
            Some(t) => tokio::time::sleep(t).await,
            None => std::future::pending().await,
        }
    };
    let mut stopping = shared.stopping();
    let outcome = if !listed {
        Attempt::Killed
    } else {
        tokio::select! {
            status = child.wait() => Attempt::Exited(status.ok().and_then(|s| s.code())),
            _ = timeout => Attempt::TimedOut,
            _ = cancel.wait_for(|c| *c) => Attempt::Killed,
            _ = stopping.wait_for(|s| *s) => Attempt::Killed,
        }
    };
    // Whatever ended the attempt, the task's group goes with it: what the
    // main process left running too (a task's container ends with its main
    // process).
    if let Some(group) = group {
        shared.groups.end(group);
    }
    let _ = child.start_kill();
    let _ = child.wait().await;
    // Read what is left, for a bounded time.
    let _ = tokio::time::timeout(OUTPUT_GRACE, async {
        while readers.join_next().await.is_some() {}
    })
    .await;
    outcome
}

/// Reads a stream line by line into the task's output; lines are cut at
/// [`MAX_LINE_BYTES`].
async fn read_lines(
    shared: Arc<Shared>,
    launch: Arc<Launch>,
    index: usize,
    attempt: u64,
    stream: OutputStream,
    pipe: impl AsyncRead + Unpin,
) {
    let mut reader = BufReader::new(pipe);
    let mut line: Vec<u8> = Vec::new();
    loop {
        let (used, complete) = {
            let buf = match reader.fill_buf().await {
                Ok(b) => b,
                Err(_) => break,
            };
            if buf.is_empty() {
                break;
            }
            let (chunk, complete) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (&buf[..i], true),
                None => (buf, false),
            };
            let room = MAX_LINE_BYTES.saturating_sub(line.len());
            line.extend_from_slice(&chunk[..chunk.len().min(room)]);
            (chunk.len() + usize::from(complete), complete)
        };
        reader.consume(used);
        if complete {
            emit(&shared, &launch, index, attempt, stream, &mut line);
        }
    }
    if !line.is_empty() {
        emit(&shared, &launch, index, attempt, stream, &mut line);
    }
}

fn emit(
    shared: &Shared,
    launch: &Launch,
    index: usize,
    attempt: u64,
    stream: OutputStream,
    line: &mut Vec<u8>,
) {
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    let text = String::from_utf8_lossy(line).into_owned();
    line.clear();
    shared.record_task(launch, index, |task, now| {
        task.push_line(
            OutputLine {
                stream,
                attempt,
                text,
            },
            now,
        );
    });
}
