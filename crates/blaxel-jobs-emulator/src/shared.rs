//! [`Shared`]: what the request handlers, the runner of local executions
//! and the [`Emulator`](crate::Emulator) share: the configuration, the
//! clock, the store of workspaces, the faults, the tokens, and the
//! execution data served to task processes.
//!
//! Every change to a workspace goes through [`Shared::with_workspace`],
//! which first brings the workspace up to now. Executions whose tasks run
//! as local processes are handed, once admitted, to the runner (the
//! `runner` module, a layer up) over a channel: neither the store nor this
//! module calls up into the runner.

use crate::auth::TokenStore;
use crate::clock::{Micros, SimClock};
use crate::config::EmulatorConfig;
use crate::document::Spec;
use crate::execution::{Execution, Launch, LocalTask, TaskOutput};
use crate::faults::FaultBook;
use crate::groups::Groups;
use crate::ids::random_id;
use crate::store::{self, SimSettings, State, Workspace};
use blaxel_jobs_client::types;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, watch};

/// The work (events plus tasks looked at) of one step of a catch-up: well
/// under a millisecond.
const CATCH_UP_STEP: u64 = 4096;

/// Where the execution data of a local execution is served, followed by
/// its token.
pub(crate) const TASK_DATA_PATH: &str = "/_emulator/task-data/";

/// What every request handler, and the runner of local executions, shares.
pub(crate) struct Shared {
    pub(crate) config: EmulatorConfig,
    pub(crate) clock: SimClock,
    pub(crate) spec: &'static Spec,
    pub(crate) settings: SimSettings,
    pub(crate) faults: FaultBook,
    pub(crate) tokens: TokenStore,
    /// `http://127.0.0.1:<port>`.
    pub(crate) origin: String,
    state: State,
    request_prefix: String,
    request_counter: AtomicU64,
    /// Local executions admitted, for the runner.
    launches: mpsc::UnboundedSender<Launch>,
    /// Bumped whenever a local execution records something.
    changes: watch::Sender<u64>,
    /// Set when the emulator stops: local processes are killed.
    stopping: watch::Sender<bool>,
    /// Execution data URL token → `{"tasks": [...]}`, while the processes run.
    task_data: Mutex<HashMap<String, Arc<str>>>,
    /// The process groups of tasks that run for real.
    pub(crate) groups: Groups,
}

impl Shared {
    /// The shared state of an emulator served at `origin`, and the receiving
    /// end of the local executions it admits (for the runner).
    pub(crate) fn new(
        config: EmulatorConfig,
        spec: &'static Spec,
        origin: String,
    ) -> (Arc<Shared>, mpsc::UnboundedReceiver<Launch>) {
        let (launches, admitted) = mpsc::unbounded_channel();
        let shared = Shared {
            clock: SimClock::new(config.clock),
            settings: SimSettings::from_config(&config),
            config,
            spec,
            faults: FaultBook::default(),
            tokens: TokenStore::default(),
            origin,
            state: State::default(),
            request_prefix: random_id("req-", 8),
            request_counter: AtomicU64::new(1),
            launches,
            changes: watch::channel(0).0,
            stopping: watch::channel(false).0,
            task_data: Mutex::new(HashMap::new()),
            groups: Groups::default(),
        };
        (Arc::new(shared), admitted)
    }

    /// Runs `f` on the workspace (created on first use), advanced to now,
    /// under the workspace's own lock.
    pub(crate) fn with_workspace<R>(
        &self,
        workspace: &str,
        f: impl FnOnce(&mut Workspace, Micros) -> R,
    ) -> R {
        let ws = self.state.workspace(workspace);
        let mut ws = store::lock(&ws);
        let now = self.clock.now();
        ws.advance_to(now, &self.settings, &self.clock);
        let out = f(&mut ws, now);
        let launches = ws.take_launches();
        drop(ws);
        self.launch(launches);
        out
    }

    /// Hands the local executions that were admitted to the runner.
    fn launch(&self, launches: Vec<Launch>) {
        for l in launches {
            // Refused only once the runner has stopped with the emulator.
            let _ = self.launches.send(l);
        }
    }

    /// Records something a local execution's processes did, at now.
    pub(crate) fn record<R>(
        &self,
        workspace: &str,
        seq: u64,
        f: impl FnOnce(&mut Execution, Micros) -> R,
    ) -> Option<R> {
        let out = self.with_workspace(workspace, |ws, now| {
            ws.execution_mut(seq).map(|e| f(e, now))
        });
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
        out
    }

    /// Records something task `index` of a local execution did, at now.
    pub(crate) fn record_task<R>(
        &self,
        launch: &Launch,
        index: usize,
        f: impl FnOnce(&mut LocalTask, Micros) -> R,
    ) -> Option<R> {
        self.record(&launch.workspace, launch.seq, |e, now| {
            e.local_task_mut(index, now).map(|t| f(t, now))
        })
        .flatten()
    }

    /// Records that the processes of a local execution are all over.
    pub(crate) fn finish_local(&self, workspace: &str, seq: u64) {
        self.with_workspace(workspace, |ws, now| {
            ws.finish_local(seq, now, &self.settings);
        });
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Tells when a local execution records something.
    pub(crate) fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Tells when the emulator stops.
    pub(crate) fn stopping(&self) -> watch::Receiver<bool> {
        self.stopping.subscribe()
    }

    /// Marks the emulator as stopping: the runner starts no more processes
    /// and kills those running.
    pub(crate) fn stop(&self) {
        let _ = self.stopping.send(true);
    }

    /// Serves `body` at [`TASK_DATA_PATH`]`<token>`.
    pub(crate) fn serve_task_data(&self, token: &str, body: &str) {
        let mut map = self.task_data.lock().unwrap_or_else(|e| e.into_inner());
        map.insert(token.to_owned(), body.into());
    }

    /// Stops serving the execution data behind `token`.
    pub(crate) fn forget_task_data(&self, token: &str) {
        let mut map = self.task_data.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(token);
    }

    /// The execution data served behind `token`, while its execution runs.
    pub(crate) fn task_data(&self, token: &str) -> Option<Arc<str>> {
        let map = self.task_data.lock().unwrap_or_else(|e| e.into_inner());
        map.get(token).cloned()
    }

    /// Brings an existing workspace up to now in bounded steps, releasing
    /// its lock and yielding to the runtime between steps: a long catch-up
    /// (after a big jump of simulated time) never blocks a runtime thread,
    /// or other requests to the workspace, for long.
    pub(crate) async fn catch_up(&self, workspace: &str) {
        let Some(ws) = self.state.existing(workspace) else {
            return;
        };
        loop {
            let done = {
                let mut ws = store::lock(&ws);
                let now = self.clock.now();
                let done = ws.advance_by(now, &self.settings, &self.clock, CATCH_UP_STEP);
                let launches = ws.take_launches();
                drop(ws);
                self.launch(launches);
                done
            };
            if done {
                return;
            }
            tokio::task::yield_now().await;
        }
    }

    /// The id of the next request: the emulator's prefix and a counter.
    pub(crate) fn next_request_id(&self) -> String {
        let n = self.request_counter.fetch_add(1, Ordering::Relaxed);
        format!("{}-{n:06}", self.request_prefix)
    }

    /// The names of the jobs stored in `workspace`, sorted.
    pub(crate) fn job_names(&self, workspace: &str) -> Vec<String> {
        self.state
            .existing(workspace)
            .map(|ws| store::lock(&ws).job_names())
            .unwrap_or_default()
    }

    /// The executions recorded under the job name `job` in `workspace`, as
    /// GetJobExecution would show them now, oldest first.
    pub(crate) fn executions(&self, workspace: &str, job: &str) -> Vec<types::JobExecution> {
        let Some(ws) = self.state.existing(workspace) else {
            return Vec::new();
        };
        let mut ws = store::lock(&ws);
        let now = self.clock.now();
        ws.advance_to(now, &self.settings, &self.clock);
        let out = ws
            .executions_named(job)
            .map(|e| e.render(now, &self.clock))
            .collect();
        let launches = ws.take_launches();
        drop(ws);
        self.launch(launches);
        out
    }

    /// What the process of task `task` of a local execution wrote.
    pub(crate) fn task_output(
        &self,
        workspace: &str,
        job: &str,
        execution_id: &str,
        task: usize,
    ) -> Option<TaskOutput> {
        let ws = self.state.existing(workspace)?;
        let ws = store::lock(&ws);
        ws.execution(job, execution_id)?
            .local
            .as_ref()?
            .output(task)
    }
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("config", &self.config)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Clock;
    use crate::store::{ExecutionRequest, Mutation};
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;

    fn shared() -> Arc<Shared> {
        let config = EmulatorConfig::default()
            .clock(Clock::Manual)
            .capacity(10_000);
        let spec = Spec::embedded().unwrap();
        Shared::new(config, spec, "http://127.0.0.1:9".to_owned()).0
    }

    /// Fills workspace `w` with `n` executions of 20 tasks of 1 to 60
    /// simulated seconds, one task at a time.
    fn fill(shared: &Shared, workspace: &str, n: usize) {
        shared.with_workspace(workspace, |ws, now| {
            let ctx = Mutation {
                now,
                principal: "me",
                origin: &shared.origin,
                clock: &shared.clock,
                settings: &shared.settings,
            };
            let job: types::Job = serde_json::from_value(serde_json::json!({
                "metadata": {"name": "job"},
                "spec": {"runtime": {"maxConcurrentTasks": 1}}
            }))
            .unwrap();
            ws.create_job(job, &ctx).unwrap();
            for i in 0..n {
                let tasks = (0..20)
                    .map(|k| {
                        let p = serde_json::json!({"durationSeconds": 1 + (i + k * 7) % 60});
                        p.as_object().unwrap().clone()
                    })
                    .collect();
                let req = ExecutionRequest {
                    execution_id: None,
                    message_id: None,
                    tasks,
                    env: Default::default(),
                    memory: None,
                    allow_queue: true,
                };
                ws.create_execution("job", req, &ctx).unwrap();
            }
        });
    }

    #[tokio::test]
    async fn a_locked_workspace_does_not_hold_up_another() {
        let shared = shared();
        fill(&shared, "a", 1);
        let a = shared.state.workspace("a");
        let _held = store::lock(&a);
        // With one lock for every workspace, this would wait for `_held`
        // forever (on this very thread).
        let names = shared.with_workspace("b", |ws, _| {
            assert!(ws.job_names().is_empty());
            ws.job_names()
        });
        assert!(names.is_empty());
        assert!(a.try_lock().is_err(), "a is still locked");
        let b = shared.state.workspace("b");
        assert!(!Arc::ptr_eq(&a, &b));
        assert!(Arc::ptr_eq(&b, &shared.state.workspace("b")));
    }

    #[tokio::test]
    async fn a_long_catch_up_yields_to_the_runtime_between_steps() {
        let shared = shared();
        fill(&shared, "w", 2_000);
        shared.clock.advance(Duration::from_secs(6 * 3600));
        // On this single-threaded runtime, the spawned task only runs if
        // the catch-up gives the thread back before it is done.
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        let other = tokio::spawn(async move { flag.store(true, Ordering::SeqCst) });
        shared.catch_up("w").await;
        assert!(ran.load(Ordering::SeqCst), "the catch-up never yielded");
        other.await.unwrap();
        // And it is complete: every execution is over.
        let statuses = shared.executions("w", "job");
        assert_eq!(statuses.len(), 2_000);
        assert!(
            statuses
                .iter()
                .all(|e| e.status.as_ref().is_some_and(|s| s.is_terminal()))
        );
    }

    #[tokio::test]
    async fn a_short_catch_up_does_not_yield() {
        let shared = shared();
        fill(&shared, "w", 2);
        shared.clock.advance(Duration::from_secs(6 * 3600));
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        let other = tokio::spawn(async move { flag.store(true, Ordering::SeqCst) });
        shared.catch_up("w").await;
        assert!(!ran.load(Ordering::SeqCst));
        other.await.unwrap();
        assert!(ran.load(Ordering::SeqCst));
    }
}
