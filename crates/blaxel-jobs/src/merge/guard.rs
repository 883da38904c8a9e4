//! What a read-modify-write update refuses to write back: what it could
//! not read in full. Each check compares the job as read with the job as
//! edited, and names what would be written back unread, unless the edit
//! set it.

use super::Ambiguous;
use super::refusal::{UpdateRefusal, UpdateRefused};
use blaxel_jobs_client::types;

// How the server masks a secret value it does not show (the document's
// `x-blaxel-secret-mask`). Used only to notice a value that was masked
// although it was asked for in clear (a server that does not honour
// `show_secrets`); without `show_secrets`, every secret value read counts as
// masked, whatever its spelling.
use blaxel_jobs_client::secrets::MASK;

fn envs(job: &types::Job) -> &[types::Env] {
    job.spec
        .runtime
        .as_ref()
        .map_or(&[][..], |runtime| &runtime.envs)
}

/// The secret env variables of `edited` whose value would be written back
/// as it was read, masked: read without `show_secrets` (`read_in_clear`
/// false), any secret whose value the edit did not set; read with it, a
/// secret whose value is still the mask. A secret taken from a `valueFrom`
/// reference has no value to lose.
pub(crate) fn masked_secrets(
    read: &types::Job,
    edited: &types::Job,
    read_in_clear: bool,
) -> Option<UpdateRefused> {
    let as_read = |env: &types::Env| {
        envs(read)
            .iter()
            .any(|r| r.name == env.name && r.is_secret() && r.value == env.value)
    };
    let fields: Vec<String> = envs(edited)
        .iter()
        .filter(|env| env.is_secret() && env.value_from.is_none() && as_read(env))
        .filter(|env| !read_in_clear || env.value.as_deref() == Some(MASK))
        .map(|env| {
            format!(
                "spec.runtime.envs[name={}]",
                env.name.as_deref().unwrap_or_default()
            )
        })
        .collect();
    (!fields.is_empty()).then_some(UpdateRefused {
        reason: UpdateRefusal::MaskedSecrets,
        fields,
        counts: None,
    })
}

/// The triggers of `edited` that would be written back without tasks the
/// server stores apart: a trigger whose configuration has a `tasksRef` and
/// no tasks, both as they were read (an edit that sets the tasks, or
/// changes or clears the reference, has set what is written).
pub(crate) fn unread_trigger_tasks(
    read: &types::Job,
    edited: &types::Job,
) -> Option<UpdateRefused> {
    let configs = |job: &types::Job| -> Vec<(Option<String>, types::TriggerConfiguration)> {
        job.spec
            .triggers
            .iter()
            .flat_map(|t| t.0.iter())
            .filter_map(|t| Some((t.id.clone(), t.configuration.clone()?)))
            .collect()
    };
    let read = configs(read);
    let unread = |c: &types::TriggerConfiguration| c.tasks_ref.is_some() && c.tasks.is_empty();
    let fields: Vec<String> = configs(edited)
        .iter()
        .enumerate()
        .filter(|(_, (_, c))| {
            unread(c)
                && read
                    .iter()
                    .any(|(_, r)| unread(r) && r.tasks_ref == c.tasks_ref)
        })
        .map(|(i, (id, _))| match id {
            Some(id) => format!("spec.triggers[id={id}]"),
            None => format!("spec.triggers[{i}]"),
        })
        .collect();
    (!fields.is_empty()).then_some(UpdateRefused {
        reason: UpdateRefusal::UnreadTriggerTasks,
        fields,
        counts: None,
    })
}

/// The refusal of a merge that could not pair the entries of the list at
/// `at`.
pub(crate) fn ambiguous(at: &str, ambiguous: Ambiguous) -> UpdateRefused {
    let field = match &ambiguous.identity {
        Some((kind, value)) => format!("{at}[{kind}={value}]"),
        None => format!("{at} (entries without `id` or `name`)"),
    };
    UpdateRefused {
        reason: UpdateRefusal::AmbiguousEntries,
        fields: vec![field],
        counts: Some((ambiguous.before, ambiguous.after)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job(envs: serde_json::Value, triggers: serde_json::Value) -> types::Job {
        serde_json::from_value(json!({
            "metadata": {"name": "a"},
            "spec": {"runtime": {"envs": envs}, "triggers": triggers}
        }))
        .unwrap()
    }

    fn secrets() -> types::Job {
        job(
            json!([
                {"name": "DB", "secret": true, "value": "***"},
                {"name": "REF", "secret": true, "valueFrom": {"secretKeyRef": {"name": "x"}}},
                {"name": "PLAIN", "value": "1"}
            ]),
            json!([]),
        )
    }

    #[test]
    fn a_masked_secret_written_back_as_read_is_named() {
        let read = secrets();
        let mut edited = read.clone();
        edited.spec.runtime.as_mut().unwrap().envs[2].value = Some("2".into());
        let refused = masked_secrets(&read, &edited, false).unwrap();
        assert_eq!(refused.reason(), UpdateRefusal::MaskedSecrets);
        assert_eq!(refused.fields(), ["spec.runtime.envs[name=DB]"]);
        assert!(!refused.to_string().contains("***"), "{refused}");
        // Read in clear, the value is the secret itself (unless it is
        // still the mask: a server that masked it anyway).
        assert!(masked_secrets(&read, &edited, true).is_some());
        let mut clear = read.clone();
        clear.spec.runtime.as_mut().unwrap().envs[0].value = Some("hunter2".into());
        assert!(masked_secrets(&clear, &clear.clone(), true).is_none());
        assert!(masked_secrets(&clear, &clear.clone(), false).is_some());
    }

    #[test]
    fn a_secret_the_edit_set_or_removed_is_not() {
        let read = secrets();
        let mut set = read.clone();
        set.spec.runtime.as_mut().unwrap().envs[0].value = Some("new".into());
        assert!(masked_secrets(&read, &set, false).is_none());
        let mut removed = read.clone();
        removed.spec.runtime.as_mut().unwrap().envs.remove(0);
        assert!(masked_secrets(&read, &removed, false).is_none());
        let mut unsecret = read.clone();
        unsecret.spec.runtime.as_mut().unwrap().envs[0].secret = None;
        assert!(masked_secrets(&read, &unsecret, false).is_none());
    }

    #[test]
    fn trigger_tasks_stored_apart_must_be_set_by_the_edit() {
        let read = job(
            json!([]),
            json!([
                {"id": "t1", "type": "cron", "configuration": {"schedule": "@daily", "tasksRef": "s3://x"}},
                {"id": "t2", "type": "cron", "configuration": {"tasks": [{"a": 1}]}}
            ]),
        );
        let refused = unread_trigger_tasks(&read, &read.clone()).unwrap();
        assert_eq!(refused.reason(), UpdateRefusal::UnreadTriggerTasks);
        assert_eq!(refused.fields(), ["spec.triggers[id=t1]"]);
        let config = |j: &mut types::Job| {
            j.spec.triggers.as_mut().unwrap().0[0]
                .configuration
                .as_mut()
                .unwrap()
                .clone()
        };
        let mut set = read.clone();
        let mut c = config(&mut set);
        c.tasks = vec![types::TriggerConfigurationTask(serde_json::Map::new())];
        set.spec.triggers.as_mut().unwrap().0[0].configuration = Some(c);
        assert!(unread_trigger_tasks(&read, &set).is_none());
        let mut cleared = read.clone();
        let mut c = config(&mut cleared);
        c.tasks_ref = None;
        cleared.spec.triggers.as_mut().unwrap().0[0].configuration = Some(c);
        assert!(unread_trigger_tasks(&read, &cleared).is_none());
        let mut removed = read.clone();
        removed.spec.triggers.as_mut().unwrap().0.remove(0);
        assert!(unread_trigger_tasks(&read, &removed).is_none());
    }
}
