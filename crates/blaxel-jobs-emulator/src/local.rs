//! Tasks that run as local processes instead of simulated scripts.
//!
//! A job runs its tasks for real when the emulator was given a command for
//! it ([`EmulatorConfig::task_command`](crate::EmulatorConfig::task_command))
//! or, with [`EmulatorConfig::run_local_images`](crate::EmulatorConfig::run_local_images),
//! when its `spec.runtime.image` is `local:<command>`. Each task of an
//! execution of such a job is `sh -c <command>`, started with the
//! environment the platform gives a task (see [`Launch::command`]).
//!
//! # Real time and simulated time
//!
//! Processes run in real time: the job's `timeout` is real seconds, and
//! moving the simulated clock neither speeds them up nor ends them. What
//! they do is recorded when it happens, stamped with the simulated clock's
//! time at that moment (with [`Clock::Manual`](crate::Clock::Manual) those
//! stamps only move when the clock is advanced). Capacity is shared: a
//! local execution takes a place from admission to its end, like a
//! simulated one, and waits in the same queue.

use crate::clock::Micros;
use crate::server::Shared;
use crate::sim::{TaskEnd, TaskState};
use crate::task_env::{TaskEnv, task_env};
use blaxel_jobs_client::open_enum::JobExecutionTaskStatus as TS;
use std::collections::VecDeque;
use std::fmt;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// The most lines kept per task; older lines are dropped first.
pub(crate) const MAX_LINES: usize = 1000;

/// The longest line kept, in bytes; the rest of a longer line is dropped.
pub(crate) const MAX_LINE_BYTES: usize = 8 * 1024;

/// The most text kept per task, in bytes; older lines are dropped first.
pub(crate) const MAX_OUTPUT_BYTES: usize = 256 * 1024;

/// How long, after a process ended, its output is still read (a process it
/// started may hold the pipes open).
const OUTPUT_GRACE: Duration = Duration::from_secs(2);

/// Which stream of a task's process a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputStream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// One line written by a task's process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLine {
    /// The stream it was written to.
    pub stream: OutputStream,
    /// The attempt that wrote it, from 1.
    pub attempt: u64,
    /// The line, without its end of line; invalid UTF-8 is replaced, and a
    /// line longer than 8 KiB is cut there.
    pub text: String,
}

/// What a task's process wrote, both streams in the order the lines were
/// read, bounded: the last 1,000 lines, and at most 256 KiB of text, are
/// kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskOutput {
    /// The lines kept, oldest first.
    pub lines: Vec<OutputLine>,
    /// How many older lines were dropped to keep the bound.
    pub dropped: u64,
}

impl TaskOutput {
    /// The text of the lines written to `stream`, joined with newlines.
    pub fn text(&self, stream: OutputStream) -> String {
        self.lines
            .iter()
            .filter(|l| l.stream == stream)
            .map(|l| l.text.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// One task of a local execution, as recorded.
#[derive(Debug, Clone)]
pub(crate) struct LocalTask {
    pub(crate) status: TS,
    started_at: Option<Micros>,
    completed_at: Option<Micros>,
    updated_at: Micros,
    /// Attempts started.
    attempts: u64,
    end: Option<TaskEnd>,
    output: VecDeque<OutputLine>,
    /// Bytes of text in `output`.
    output_bytes: usize,
    dropped: u64,
}

impl LocalTask {
    fn push_line(&mut self, line: OutputLine) {
        self.output_bytes = self.output_bytes.saturating_add(line.text.len());
        self.output.push_back(line);
        while self.output.len() > MAX_LINES || self.output_bytes > MAX_OUTPUT_BYTES {
            let Some(old) = self.output.pop_front() else {
                break;
            };
            self.output_bytes = self.output_bytes.saturating_sub(old.text.len());
            self.dropped = self.dropped.saturating_add(1);
        }
    }
}

/// What the processes of a local execution are started with.
pub(crate) struct LaunchSpec {
    /// Run with `sh -c`.
    pub(crate) command: String,
    /// The job's variables, then the execution's overrides (later ones win).
    pub(crate) env: Vec<(String, String)>,
}

impl fmt::Debug for LaunchSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values may be secret: names only.
        f.debug_struct("LaunchSpec")
            .field("command", &self.command)
            .field(
                "env",
                &self.env.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// The local side of an execution whose tasks run as processes.
#[derive(Debug, Clone)]
pub(crate) struct LocalRun {
    pub(crate) tasks: Vec<LocalTask>,
    /// Taken when the processes are launched (so that environment values
    /// are not kept longer than needed).
    pub(crate) launch: Option<Arc<LaunchSpec>>,
    /// Whether the runner was started.
    pub(crate) launched: bool,
    /// Tells the runner the execution was cancelled.
    pub(crate) cancel: Arc<watch::Sender<bool>>,
}

impl LocalRun {
    /// A run of `n` tasks, all pending, created at `now`.
    pub(crate) fn new(n: usize, spec: LaunchSpec, now: Micros) -> LocalRun {
        let task = LocalTask {
            status: TS::Pending,
            started_at: None,
            completed_at: None,
            updated_at: now,
            attempts: 0,
            end: None,
            output: VecDeque::new(),
            output_bytes: 0,
            dropped: 0,
        };
        LocalRun {
            tasks: vec![task; n],
            launch: Some(Arc::new(spec)),
            launched: false,
            cancel: Arc::new(watch::channel(false).0),
        }
    }

    /// The tasks as rendered.
    pub(crate) fn states(&self) -> Vec<TaskState> {
        self.tasks
            .iter()
            .map(|t| TaskState {
                status: t.status.clone(),
                started_at: t.started_at,
                completed_at: t.completed_at,
                updated_at: Some(t.updated_at),
                retries: t.attempts.saturating_sub(1),
                end: t.end,
            })
            .collect()
    }

    /// Marks tasks that never started as cancelled at `t` and tells the
    /// runner to kill the processes.
    pub(crate) fn cancel(&mut self, t: Micros) {
        for task in &mut self.tasks {
            if task.status == TS::Pending {
                task.status = TS::Cancelled;
                task.end = Some(TaskEnd::NotStarted);
                task.completed_at = Some(t);
                task.updated_at = t;
            }
        }
        let _ = self.cancel.send(true);
    }

    /// The output of task `index`.
    pub(crate) fn output(&self, index: usize) -> Option<TaskOutput> {
        self.tasks.get(index).map(|t| TaskOutput {
            lines: t.output.iter().cloned().collect(),
            dropped: t.dropped,
        })
    }

    /// The status the execution ends with, once every task is over.
    pub(crate) fn outcome(&self) -> LocalOutcome {
        if self.tasks.iter().any(|t| t.end == Some(TaskEnd::TimedOut)) {
            LocalOutcome::TimedOut
        } else if self
            .tasks
            .iter()
            .any(|t| matches!(t.status, TS::Failed | TS::Cancelled))
        {
            // Cancelled tasks in an execution that was not: the emulator
            // stopped and killed them.
            LocalOutcome::Failed
        } else {
            LocalOutcome::Succeeded
        }
    }
}

/// How a local execution that was not cancelled ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LocalOutcome {
    Succeeded,
    Failed,
    TimedOut,
}

/// Everything the runner of one execution needs, taken from the store when
/// the execution is admitted.
#[derive(Debug)]
pub(crate) struct Launch {
    pub(crate) workspace: String,
    pub(crate) seq: u64,
    pub(crate) execution_id: String,
    pub(crate) tasks: usize,
    pub(crate) parallelism: usize,
    pub(crate) timeout: Option<Duration>,
    pub(crate) max_retries: u64,
    /// `{"tasks": [...]}`, served at the execution data URL.
    pub(crate) data: String,
    pub(crate) spec: Arc<LaunchSpec>,
    pub(crate) cancel: watch::Receiver<bool>,
}

impl Launch {
    /// The process of task `index`: `sh -c <command>` with the job's
    /// environment and the execution's overrides as [`task_env`] sorts
    /// them (`env`), and what the platform sets: `BL_EXECUTION_DATA_URL`,
    /// `BL_TASK_KEY` (`TASK_INDEX`), `TASK_INDEX`, `BL_EXECUTION_KEY`
    /// (`BL_EXECUTION_ID`) and `BL_EXECUTION_ID`. The emulator's own
    /// environment is inherited (for `PATH` and the like), in a process
    /// group of its own (see [`crate::groups`]).
    pub(crate) fn command(&self, index: usize, data_url: &str, env: &TaskEnv) -> Command {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(&self.spec.command)
            .envs(env.vars.iter().map(|(k, v)| (k, v)))
            .env("BL_EXECUTION_DATA_URL", data_url)
            .env("BL_TASK_KEY", "TASK_INDEX")
            .env("TASK_INDEX", index.to_string())
            .env("BL_EXECUTION_KEY", "BL_EXECUTION_ID")
            .env("BL_EXECUTION_ID", &self.execution_id)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        #[cfg(unix)]
        cmd.process_group(0);
        cmd
    }
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
    let token = crate::state::random_id("", 32);
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
                    task.push_line(OutputLine {
                        stream: OutputStream::Stderr,
                        attempt,
                        text: format!("emulator: cannot start the task's process: {why}"),
                    });
                    if attempt <= launch.max_retries && !*launch.cancel.borrow() {
                        true
                    } else {
                        failed(task, None);
                        false
                    }
                }
                Attempt::Unstartable(why) => {
                    task.push_line(OutputLine {
                        stream: OutputStream::Stderr,
                        attempt,
                        text: format!("emulator: the task's process cannot start: {why}"),
                    });
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
            shared.record_task(launch, index, |task, _| {
                task.push_line(OutputLine {
                    stream: OutputStream::Stderr,
                    attempt,
                    text: note.clone(),
                });
            });
        }
    }
    let mut child = match launch.command(index, data_url, env).spawn() {
        Ok(c) => c,
        Err(e) => return Attempt::NotStarted(e.to_string()),
    };
    // The process leads its group (see `Launch::command`), listed until
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
    shared.record_task(launch, index, |task, _| {
        task.push_line(OutputLine {
            stream,
            attempt,
            text,
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_keeps_the_last_lines() {
        let spec = LaunchSpec {
            command: "true".into(),
            env: vec![("TOKEN".into(), "s3cret".into())],
        };
        assert!(!format!("{spec:?}").contains("s3cret"));
        let mut run = LocalRun::new(1, spec, 0);
        for i in 0..(MAX_LINES + 5) {
            run.tasks[0].push_line(OutputLine {
                stream: OutputStream::Stdout,
                attempt: 1,
                text: i.to_string(),
            });
        }
        let out = run.output(0).unwrap();
        assert_eq!(out.lines.len(), MAX_LINES);
        assert_eq!(out.dropped, 5);
        assert_eq!(out.lines[0].text, "5");
        assert!(run.output(1).is_none());
        // Long lines: the byte bound applies first.
        for _ in 0..40 {
            run.tasks[0].push_line(OutputLine {
                stream: OutputStream::Stderr,
                attempt: 2,
                text: "x".repeat(MAX_LINE_BYTES),
            });
        }
        let out = run.output(0).unwrap();
        assert_eq!(out.lines.len(), MAX_OUTPUT_BYTES / MAX_LINE_BYTES);
        assert!(out.lines.iter().all(|l| l.attempt == 2));
        assert_eq!(out.dropped, 5 + MAX_LINES as u64 + 8);
    }
}
