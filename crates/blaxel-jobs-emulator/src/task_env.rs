//! The environment of a task's process: what the job and the execution ask
//! for, what the platform sets, and what the emulator keeps to itself.
//!
//! - The platform's own variables (the document's
//!   `info.x-blaxel-task-environment`, generated as
//!   [`task_environment::ALL`]) always have the values the platform gives
//!   (or none, for the log prefixes, which the emulator does not set): an
//!   entry of the job or the execution with one of those names is ignored,
//!   as on Blaxel.
//! - Variables that decide which program runs and what code it loads on
//!   this machine ([`kept_from_emulator`]: `PATH`, the dynamic loader's
//!   `LD_*` and `DYLD_*`, and the start-up, function and trace variables
//!   of shells) keep the emulator's own values: an entry of the job or the
//!   execution with one of those names is ignored too. Whoever holds the
//!   API key can set a job's or an execution's variables; with a
//!   configured task command they could otherwise make that command load
//!   or run code of their choosing. Set such variables in the emulator's
//!   own environment, or in the command itself.
//! - A name or value a process environment cannot carry (an empty name, a
//!   name with `=`, a NUL anywhere) would reach the process as something
//!   else (`A=B` with value `C` reads as `A` = `B=C`), so the task does
//!   not start, and says why.
//!
//! Every ignored entry is named (never its value) in the task's output.

use blaxel_jobs_client::task_environment;

/// Whether a variable keeps the emulator's own value, and why.
pub(crate) fn kept_from_emulator(name: &str) -> Option<&'static str> {
    if name == "PATH" {
        return Some("it decides which program runs");
    }
    if name.starts_with("LD_") || name.starts_with("DYLD_") {
        return Some("the dynamic loader reads it");
    }
    let shell = ["ENV", "BASH_ENV", "SHELLOPTS", "BASHOPTS", "PS4", "IFS"];
    if shell.contains(&name) || name.starts_with("BASH_FUNC_") {
        return Some("shells read it to run code or change how they parse");
    }
    None
}

/// The variables a task's process gets from the job and the execution.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct TaskEnv {
    /// To set, in order (later entries win).
    pub(crate) vars: Vec<(String, String)>,
    /// What was ignored and why, a line each, for the task's output.
    pub(crate) notes: Vec<String>,
}

/// Sorts the job's variables, then the execution's (`requested`, later
/// entries win), into what the process gets; `Err` says why the task
/// cannot start.
pub(crate) fn task_env(requested: &[(String, String)]) -> Result<TaskEnv, String> {
    let mut out = TaskEnv::default();
    for (name, value) in requested {
        let shown = || format!("{:?}", clip(name));
        if name.is_empty() {
            return Err("an environment variable has an empty name".to_owned());
        }
        if name.contains('\0') || value.contains('\0') {
            return Err(format!(
                "the environment variable {} has a NUL character in its {}, which no process \
                 environment can carry",
                shown(),
                if name.contains('\0') { "name" } else { "value" }
            ));
        }
        if name.contains('=') {
            return Err(format!(
                "the environment variable name {} contains '=', which no process environment \
                 can carry (the process would read another name and value)",
                shown()
            ));
        }
        if task_environment::ALL.contains(&name.as_str()) {
            out.notes.push(format!(
                "emulator: ignored {name} from the job or execution environment: the platform \
                 sets it"
            ));
            continue;
        }
        if let Some(why) = kept_from_emulator(name) {
            out.notes.push(format!(
                "emulator: ignored {} from the job or execution environment: {why}, so it keeps \
                 the emulator's own value",
                clip(name)
            ));
            continue;
        }
        out.vars.push((name.clone(), value.clone()));
    }
    Ok(out)
}

/// A name, cut at 64 characters for messages.
fn clip(name: &str) -> String {
    match name.char_indices().nth(64) {
        Some((at, _)) => format!("{}…", &name[..at]),
        None => name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn names_and_values_no_environment_can_carry_stop_the_task() {
        for (pairs, needle) in [
            (
                vars(&[("BL_EXECUTION_DATA_URL=http://127.0.0.1:9/evil?x", "")]),
                "contains '='",
            ),
            (vars(&[("A=B", "C")]), "contains '='"),
            (vars(&[("A\0B", "x")]), "NUL character in its name"),
            (vars(&[("A", "x\0y")]), "NUL character in its value"),
            (vars(&[("", "x")]), "empty name"),
        ] {
            let e = task_env(&pairs).unwrap_err();
            assert!(e.contains(needle), "{pairs:?}: {e}");
        }
        let long = "N=".repeat(200);
        let e = task_env(&vars(&[(&long, "")])).unwrap_err();
        assert!(e.len() < 300, "{e}");
    }

    #[test]
    fn the_platform_s_and_the_loader_s_variables_are_never_taken_from_a_request() {
        let got = task_env(&vars(&[
            ("MODE", "full"),
            ("BL_EXECUTION_DATA_URL", "http://127.0.0.1:9/evil"),
            ("TASK_INDEX", "7"),
            ("BL_TASK_PREFIX", "evil-"),
            ("PATH", "/tmp/evil"),
            ("LD_PRELOAD", "/tmp/evil.so"),
            ("LD_LIBRARY_PATH", "/tmp"),
            ("DYLD_INSERT_LIBRARIES", "/tmp/evil.dylib"),
            ("BASH_ENV", "/tmp/evil.sh"),
            ("BASH_FUNC_ls%%", "() { evil; }"),
            ("SHELLOPTS", "xtrace"),
            ("PS4", "$(evil)"),
            ("Path", "kept: names are case-sensitive"),
            ("MODE", "last wins"),
        ]))
        .unwrap();
        assert_eq!(
            got.vars,
            vars(&[
                ("MODE", "full"),
                ("Path", "kept: names are case-sensitive"),
                ("MODE", "last wins")
            ])
        );
        assert_eq!(got.notes.len(), 11);
        assert!(
            got.notes.iter().all(|n| !n.contains("evil")),
            "{:?}",
            got.notes
        );
        assert!(
            got.notes[0].contains("BL_EXECUTION_DATA_URL") && got.notes[0].contains("platform")
        );
        assert!(got.notes[2].contains("BL_TASK_PREFIX") && got.notes[2].contains("platform"));
        assert!(got.notes[4].contains("LD_PRELOAD") && got.notes[4].contains("loader"));
    }
}
