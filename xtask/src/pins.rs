//! The generator and the runtime of the generated code stay in step.
//!
//! The generated client calls into `progenitor-client` (`ClientHooks`,
//! `OperationInfo`, `encode_path`, ...), whose surface changes between
//! progenitor releases. The generator, `progenitor`, is pinned exactly in
//! `xtask/Cargo.toml`; the crates users depend on carry an ordinary (caret)
//! requirement on `progenitor-client`, so that they resolve together with
//! other crates in a user's tree. What keeps the generated code and its
//! runtime in step:
//!
//! * the workspace requirement on `progenitor-client` is a caret
//!   requirement on exactly the generator's version (its minimum is the
//!   version the code was generated for, and a caret never crosses a 0.x
//!   minor, where progenitor makes breaking changes);
//! * `Cargo.lock` resolves both crates to the same version, so CI (which
//!   builds with `--locked`) compiles and tests the checked-in code against
//!   the runtime it was generated for.
//!
//! `cargo xtask codegen` (and `--check`) fails when either does not hold.

use std::path::Path;

/// The generator's package.
pub const GENERATOR: &str = "progenitor";
/// The runtime package of the generated code.
pub const RUNTIME: &str = "progenitor-client";

/// The versions of `name` that a `Cargo.lock` resolves to.
pub fn locked_versions(lock: &str, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for block in lock.split("[[package]]").skip(1) {
        let field = |key: &str| {
            block.lines().find_map(|l| {
                l.trim()
                    .strip_prefix(key)
                    .and_then(|r| r.trim_start().strip_prefix('='))
                    .map(|v| v.trim().trim_matches('"').to_owned())
            })
        };
        if field("name").as_deref() == Some(name)
            && let Some(v) = field("version")
        {
            out.push(v);
        }
    }
    out
}

/// The version requirement of `name` in a manifest's text: the string of
/// `name = "..."` or of `version = "..."` in `name = { ... }`, first
/// occurrence.
pub fn requirement(manifest: &str, name: &str) -> Option<String> {
    manifest.lines().find_map(|l| {
        let rest = l
            .trim()
            .strip_prefix(name)?
            .trim_start()
            .strip_prefix('=')?;
        let rest = rest.trim();
        if let Some(s) = rest.strip_prefix('"') {
            return s.split('"').next().map(str::to_owned);
        }
        let inner = rest.strip_prefix('{')?;
        let at = inner.find("version")?;
        let v = inner[at + "version".len()..]
            .trim_start()
            .strip_prefix('=')?;
        v.trim_start()
            .strip_prefix('"')?
            .split('"')
            .next()
            .map(str::to_owned)
    })
}

/// Checks the texts of the workspace manifest, the xtask manifest and the
/// lockfile; returns one message per problem.
pub fn check_texts(workspace_manifest: &str, xtask_manifest: &str, lock: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let generator = match requirement(xtask_manifest, GENERATOR) {
        Some(r) if r.starts_with('=') => r.trim_start_matches('=').trim().to_owned(),
        Some(r) => {
            problems.push(format!(
                "xtask/Cargo.toml: `{GENERATOR} = \"{r}\"` must be an exact pin (`=x.y.z`): \
                 a new generator may generate different code"
            ));
            r
        }
        None => {
            problems.push(format!("xtask/Cargo.toml: no `{GENERATOR}` dependency"));
            return problems;
        }
    };
    match requirement(workspace_manifest, RUNTIME) {
        None => problems.push(format!(
            "Cargo.toml: no `{RUNTIME}` in [workspace.dependencies]"
        )),
        Some(r) if r.starts_with('=') => problems.push(format!(
            "Cargo.toml: `{RUNTIME} = \"{r}\"` is an exact pin; the crates users depend on \
             take an ordinary requirement (`\"{generator}\"`), exact pins belong to the generator"
        )),
        Some(r) if r.trim_start_matches('^') != generator => problems.push(format!(
            "Cargo.toml: `{RUNTIME} = \"{r}\"` must require the generator's version \
             `\"{generator}\"`, the runtime the generated code was made for"
        )),
        Some(_) => {}
    }
    for (name, want) in [(GENERATOR, &generator), (RUNTIME, &generator)] {
        let locked = locked_versions(lock, name);
        if locked != [want.clone()] {
            problems.push(format!(
                "Cargo.lock: `{name}` resolves to {locked:?}, expected exactly [\"{want}\"] \
                 (the generator's version); run `cargo update -p {name} --precise {want}`"
            ));
        }
    }
    problems
}

/// Checks the workspace at `root`.
pub fn check(root: &Path) -> Result<(), String> {
    let read = |p: &str| {
        std::fs::read_to_string(root.join(p)).map_err(|e| format!("cannot read {p}: {e}"))
    };
    let problems = check_texts(
        &read("Cargo.toml")?,
        &read("xtask/Cargo.toml")?,
        &read("Cargo.lock")?,
    );
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the generator and the runtime of the generated code are out of step:\n  - {}",
            problems.join("\n  - ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WORKSPACE: &str =
        "[workspace.dependencies]\nprogenitor-client = \"0.15.1\"\nserde = \"1\"\n";
    const XTASK: &str =
        "[dependencies]\nprogenitor = { version = \"=0.15.1\", default-features = false }\n";
    const LOCK: &str = "version = 4\n\n[[package]]\nname = \"progenitor\"\nversion = \"0.15.1\"\n\n\
        [[package]]\nname = \"progenitor-client\"\nversion = \"0.15.1\"\n\n\
        [[package]]\nname = \"progenitor-impl\"\nversion = \"0.15.1\"\n";

    #[test]
    fn reads_requirements_and_locked_versions() {
        assert_eq!(requirement(WORKSPACE, RUNTIME).as_deref(), Some("0.15.1"));
        assert_eq!(requirement(XTASK, GENERATOR).as_deref(), Some("=0.15.1"));
        assert_eq!(locked_versions(LOCK, RUNTIME), ["0.15.1"]);
        assert_eq!(locked_versions(LOCK, GENERATOR), ["0.15.1"]);
        assert!(locked_versions(LOCK, "nothing").is_empty());
    }

    #[test]
    fn the_workspace_as_intended_passes() {
        assert_eq!(check_texts(WORKSPACE, XTASK, LOCK), Vec::<String>::new());
    }

    #[test]
    fn an_exact_runtime_pin_is_refused() {
        let ws = WORKSPACE.replace("\"0.15.1\"", "\"=0.15.1\"");
        let p = check_texts(&ws, XTASK, LOCK);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("is an exact pin"), "{p:?}");
    }

    #[test]
    fn a_loose_generator_is_refused() {
        let x = XTASK.replace("=0.15.1", "0.15.1");
        let p = check_texts(WORKSPACE, &x, LOCK);
        assert!(
            p.iter().any(|m| m.contains("must be an exact pin")),
            "{p:?}"
        );
    }

    #[test]
    fn a_runtime_requirement_of_another_version_is_refused() {
        let ws = WORKSPACE.replace("0.15.1", "0.15.0");
        let p = check_texts(&ws, XTASK, LOCK);
        assert!(
            p.iter()
                .any(|m| m.contains("must require the generator's version")),
            "{p:?}"
        );
    }

    #[test]
    fn a_lockfile_with_another_runtime_is_refused() {
        let lock = LOCK.replace(
            "name = \"progenitor-client\"\nversion = \"0.15.1\"",
            "name = \"progenitor-client\"\nversion = \"0.15.2\"",
        );
        let p = check_texts(WORKSPACE, XTASK, &lock);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].contains("`progenitor-client` resolves to [\"0.15.2\"]"),
            "{p:?}"
        );
    }
}
