//! The in-memory store: workspaces, their jobs ([`job`]), revisions and
//! executions ([`workspace`]).
//!
//! Workspaces are created on first use and fully isolated from each other:
//! each has its own lock, so a request in one never waits for another.
//! Jobs are kept with the generated API types; secrets are stored in clear
//! and masked when rendered. Executions are kept compactly (see
//! [`crate::execution`]) and forgotten once they have been final for the
//! retention period.
//!
//! # Catching up
//!
//! Each workspace has a queue of the simulated instants at which something
//! changes: a deployment completes, an execution starts, finishes or
//! expires. Before a workspace is read or changed, the events due by now are
//! applied in time order ([`Workspace::advance_to`]), so the work is in
//! proportion to what actually happens, whatever the number of live
//! executions. [`Workspace::advance_by`] does the same in bounded steps, so
//! that a long catch-up can be split between lock holds.

mod job;
mod settings;
mod workspace;

pub(crate) use settings::SimSettings;
pub(crate) use workspace::{
    ExecutionRequest, Mutation, Workspace, execution_not_found, job_not_found,
};

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// A workspace behind its own lock.
pub(crate) type SharedWorkspace = Arc<Mutex<Workspace>>;

/// Every workspace. The map's lock is only held to find or add one.
#[derive(Debug, Default)]
pub(crate) struct State {
    workspaces: Mutex<HashMap<String, SharedWorkspace>>,
}

impl State {
    /// The workspace, created empty on first use.
    pub(crate) fn workspace(&self, name: &str) -> SharedWorkspace {
        let mut map = self.workspaces.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(ws) = map.get(name) {
            return ws.clone();
        }
        let ws = Arc::new(Mutex::new(Workspace::new(name)));
        map.insert(name.to_owned(), ws.clone());
        ws
    }

    /// The workspace if it was ever used.
    pub(crate) fn existing(&self, name: &str) -> Option<SharedWorkspace> {
        let map = self.workspaces.lock().unwrap_or_else(|e| e.into_inner());
        map.get(name).cloned()
    }
}

/// Locks a workspace. A panic elsewhere never makes it unusable.
pub(crate) fn lock(ws: &SharedWorkspace) -> MutexGuard<'_, Workspace> {
    ws.lock().unwrap_or_else(|e| e.into_inner())
}
