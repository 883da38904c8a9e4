//! What the simulation of a workspace needs to know of the emulator's
//! configuration.

use crate::clock::{Micros, micros};
use crate::config::EmulatorConfig;
use blaxel_jobs_client::types;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The settings the simulation needs.
#[derive(Debug, Clone)]
pub(crate) struct SimSettings {
    pub(crate) deploy_delay: Micros,
    pub(crate) startup: Micros,
    pub(crate) capacity: usize,
    /// How long a final execution is kept.
    pub(crate) retention: Micros,
    /// Whether `local:<command>` images run their command.
    pub(crate) run_local_images: bool,
    /// Job name → command its tasks run.
    pub(crate) task_commands: Arc<BTreeMap<String, String>>,
    /// Whether a secret sent back as its mask keeps the stored value (else
    /// the mask is stored).
    pub(crate) keep_masked_secrets: bool,
}

impl SimSettings {
    /// The settings of an emulator configured with `config`.
    pub(crate) fn from_config(config: &EmulatorConfig) -> SimSettings {
        SimSettings {
            deploy_delay: micros(config.deploy_delay),
            startup: micros(config.execution_startup),
            capacity: config.capacity,
            retention: micros(config.execution_retention),
            run_local_images: config.run_local_images,
            task_commands: Arc::new(config.task_commands.clone()),
            keep_masked_secrets: config.keep_masked_secrets,
        }
    }

    /// The command the tasks of job `name` (with this runtime) run as local
    /// processes, if they do.
    pub(crate) fn local_command(&self, name: &str, runtime: &types::JobRuntime) -> Option<String> {
        if let Some(c) = self.task_commands.get(name) {
            return Some(c.clone());
        }
        let image = runtime.image.as_deref()?;
        self.run_local_images
            .then(|| image.strip_prefix("local:"))
            .flatten()
            .map(str::to_owned)
    }
}
