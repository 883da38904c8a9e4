//! [`UpdateRefused`]: why a read-modify-write update wrote nothing.

use std::fmt;

/// Why [`JobRef::update_with`](crate::JobRef::update_with) wrote nothing:
/// writing the job back would have sent something it could not read in
/// full, or moved what it read, and the caller did not accept that.
/// Nothing was sent but the read.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateRefused {
    pub(crate) reason: UpdateRefusal,
    pub(crate) fields: Vec<String>,
    /// For [`UpdateRefusal::AmbiguousEntries`]: how many entries there
    /// were, and how many the edit left.
    pub(crate) counts: Option<(usize, usize)>,
}

/// What [`UpdateRefused`] is about.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateRefusal {
    /// Secret environment values came back masked (read without
    /// `show_secrets`, or masked by the server all the same) and would be
    /// written back masked. Whether Blaxel keeps a secret when its mask
    /// comes back is not documented; if it does not, the secret becomes
    /// the mask. Read them in clear with
    /// [`show_secrets`](crate::UpdateJobWith::show_secrets), set them in
    /// the edit, or accept the risk with
    /// [`allow_masked_secrets`](crate::UpdateJobWith::allow_masked_secrets).
    MaskedSecrets,
    /// Triggers whose task lists the server stores apart (`tasksRef`) came
    /// without their tasks and would be written back without them.
    /// Whether Blaxel keeps the stored tasks then is not documented; if it
    /// does not, they are lost. Set the tasks in the edit, or accept the
    /// risk with
    /// [`allow_unread_trigger_tasks`](crate::UpdateJobWith::allow_unread_trigger_tasks).
    UnreadTriggerTasks,
    /// The edit changed or removed entries of a list that share an `id` or
    /// `name` (or have neither), so which entry each edited one stands for
    /// cannot be told, and the candidates hold different fields this SDK
    /// does not know: writing would move those fields to another entry or
    /// drop them. Edit such entries in place (as many after as before), or
    /// replace the job as typed with [`update`](crate::JobRef::update).
    AmbiguousEntries,
}

impl UpdateRefused {
    /// What the refusal is about.
    pub fn reason(&self) -> UpdateRefusal {
        self.reason
    }

    /// Where, as paths into the job: `spec.runtime.envs[name=DB_PASSWORD]`,
    /// `spec.triggers[id=nightly]`, `spec.runtime.envs[name=A]`. Names and
    /// ids only, never a value.
    pub fn fields(&self) -> &[String] {
        &self.fields
    }
}

impl fmt::Display for UpdateRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = self.fields.join(", ");
        f.write_str("update_with wrote nothing: ")?;
        match self.reason {
            UpdateRefusal::MaskedSecrets => write!(
                f,
                "the secret values of {at} were read masked, and writing them back could \
                 replace the secrets with their mask (what Blaxel does with a mask it receives \
                 is not documented); read them in clear with `.show_secrets(true)` (needs the \
                 workspace admin role), set them in the edit, or accept the risk with \
                 `.allow_masked_secrets(true)`"
            ),
            UpdateRefusal::UnreadTriggerTasks => write!(
                f,
                "the tasks of {at} are stored apart (`tasksRef`) and were not in the answer, \
                 and writing the trigger back without them could delete them (what Blaxel \
                 does then is not documented); set the tasks in the edit, or accept the risk \
                 with `.allow_unread_trigger_tasks(true)`"
            ),
            UpdateRefusal::AmbiguousEntries => {
                let (before, after) = self.counts.unwrap_or_default();
                write!(
                    f,
                    "the edit left {after} of the {before} entries at {at}, which hold fields \
                     this SDK does not know, and which entry each edited one stands for \
                     cannot be told, so writing would move those fields to another entry or \
                     drop them; edit such entries in place, or replace the job as typed with \
                     `update`"
                )
            }
        }
    }
}

impl std::error::Error for UpdateRefused {}
