//! A job as stored: its definition (secrets in clear), its revisions and
//! deployment events, and what the server fills in or masks.

use super::settings::SimSettings;
use crate::clock::{Micros, SimClock};
use crate::ids::random_id;
use blaxel_jobs_client::open_enum::{DeploymentStatus, TriggerType};
use blaxel_jobs_client::secrets::MASK;
use blaxel_jobs_client::types;

/// A job as stored.
#[derive(Debug, Clone)]
pub(crate) struct StoredJob {
    /// Identifies this incarnation of the name.
    pub(crate) uid: u64,
    /// Creation order in the workspace.
    pub(crate) seq: u64,
    /// The job with secrets in clear.
    pub(crate) job: types::Job,
    /// When the current deployment completes.
    pub(crate) deploy_at: Option<Micros>,
    /// Oldest first.
    pub(crate) revisions: Vec<types::RevisionMetadata>,
}

impl StoredJob {
    /// The job's name.
    pub(crate) fn name(&self) -> &str {
        &self.job.metadata.name
    }

    /// The caller's own id of the job (`metadata.externalId`).
    pub(crate) fn external_id(&self) -> Option<&str> {
        self.job.metadata.external_id.as_deref()
    }

    /// The deployment status.
    pub(crate) fn status(&self) -> DeploymentStatus {
        self.job
            .status
            .clone()
            .unwrap_or(DeploymentStatus::Deploying)
    }

    /// The job as answered, secrets masked unless `show_secrets`.
    pub(crate) fn render(&self, show_secrets: bool) -> types::Job {
        let mut job = self.job.clone();
        if !show_secrets {
            mask_secrets(&mut job);
        }
        job
    }

    /// Revisions, newest first.
    pub(crate) fn revisions(&self) -> Vec<types::RevisionMetadata> {
        self.revisions.iter().rev().cloned().collect()
    }

    /// Whether `q` (already lowercased) matches the name, display name or a
    /// label key or value.
    pub(crate) fn matches(&self, q: &str) -> bool {
        let m = &self.job.metadata;
        m.name.to_lowercase().contains(q)
            || m.display_name
                .as_deref()
                .is_some_and(|d| d.to_lowercase().contains(q))
            || m.labels.as_ref().is_some_and(|l| {
                l.iter()
                    .any(|(k, v)| k.to_lowercase().contains(q) || v.to_lowercase().contains(q))
            })
    }

    pub(crate) fn add_event(
        &mut self,
        status: &str,
        message: String,
        revision: Option<String>,
        time: String,
    ) {
        let events = self
            .job
            .events
            .get_or_insert_with(|| types::CoreEvents(Vec::new()));
        events.0.push(types::CoreEvent {
            type_: Some("deployment".to_owned()),
            status: Some(status.to_owned()),
            message: Some(message),
            revision,
            canary_revision: None,
            time: Some(time),
        });
    }

    /// Starts a deployment of a new revision at `now`.
    pub(crate) fn deploy(
        &mut self,
        now: Micros,
        settings: &SimSettings,
        clock: &SimClock,
        by: &str,
    ) {
        let rev_id = random_id("rev-", 10);
        let previous_deploying = self.deploy_at.is_some();
        for (i, r) in self.revisions.iter_mut().rev().enumerate() {
            if i == 0 {
                r.previous_active = Some(true);
                if previous_deploying {
                    // Superseded before it was ever deployed.
                    r.status = Some(DeploymentStatus::Terminated.as_str().to_owned());
                }
            } else {
                r.previous_active = Some(false);
            }
            r.active = Some(false);
            r.traffic_percent = Some(0);
        }
        self.revisions.push(types::RevisionMetadata {
            id: Some(rev_id.clone()),
            created_at: Some(clock.timestamp(now)),
            created_by: Some(by.to_owned()),
            status: Some(DeploymentStatus::Deploying.as_str().to_owned()),
            active: Some(true),
            canary: Some(false),
            previous_active: Some(false),
            traffic_percent: Some(100),
        });
        self.job.status = Some(DeploymentStatus::Deploying);
        self.deploy_at = Some(now.saturating_add(settings.deploy_delay));
        self.add_event(
            DeploymentStatus::Deploying.as_str(),
            format!("deploying revision {rev_id}"),
            Some(rev_id),
            clock.timestamp(now),
        );
    }

    pub(crate) fn finish_deploy(&mut self, clock: &SimClock) {
        let Some(at) = self.deploy_at.take() else {
            return;
        };
        self.job.status = Some(DeploymentStatus::Deployed);
        let rev_id = self.revisions.last_mut().and_then(|r| {
            r.status = Some(DeploymentStatus::Deployed.as_str().to_owned());
            r.id.clone()
        });
        self.add_event(
            DeploymentStatus::Deployed.as_str(),
            format!("revision {} deployed", rev_id.as_deref().unwrap_or("?")),
            rev_id,
            clock.timestamp(at),
        );
    }
}

/// Replaces secret values by [`MASK`].
fn mask_secrets(job: &mut types::Job) {
    if let Some(rt) = job.spec.runtime.as_mut() {
        for env in &mut rt.envs {
            if env.secret == Some(true) && env.value.is_some() {
                env.value = Some(MASK.to_owned());
            }
        }
    }
}

/// A client that read a job (with masked secrets) and sends it back keeps the
/// stored secret values: a secret sent as `***` keeps its previous value.
pub(crate) fn keep_masked_secrets(new: &mut types::JobSpec, old: &types::JobSpec) {
    let (Some(rt), Some(old_rt)) = (new.runtime.as_mut(), old.runtime.as_ref()) else {
        return;
    };
    for env in &mut rt.envs {
        if env.secret == Some(true)
            && env.value.as_deref() == Some(MASK)
            && let Some(prev) = old_rt
                .envs
                .iter()
                .find(|o| o.name == env.name && o.secret == Some(true))
        {
            env.value = prev.value.clone();
        }
    }
}

/// Fills in what the server sets in a spec: trigger ids and the callback
/// secrets of `http-async` triggers (kept across updates of the same trigger).
pub(crate) fn prepare_spec(spec: &mut types::JobSpec, previous: Option<&types::JobSpec>) {
    let Some(triggers) = spec.triggers.as_mut() else {
        return;
    };
    for trigger in &mut triggers.0 {
        if trigger.id.is_none() {
            trigger.id = Some(random_id("trigger-", 8));
        }
        if trigger.type_ == Some(TriggerType::HttpAsync) {
            let old_secret = previous
                .and_then(|p| p.triggers.as_ref())
                .and_then(|ts| ts.0.iter().find(|t| t.id == trigger.id))
                .and_then(|t| t.configuration.as_ref())
                .and_then(|c| c.callback_secret.clone());
            let cfg = trigger.configuration.get_or_insert_with(Default::default);
            cfg.callback_secret = Some(old_secret.unwrap_or_else(|| random_id("whsec_", 32)));
        } else if let Some(cfg) = trigger.configuration.as_mut() {
            cfg.callback_secret = None;
        }
    }
}
