//! The list of known deviations (`openapi/deviations.yaml`) and the report
//! that sorts differences into known and unknown ones.
//!
//! The file is a YAML list; each entry has exactly two fields:
//!
//! ```yaml
//! - key: "schema JobRuntime: property maxConcurrentTasks only in ours"
//!   why: Still documented for blaxel.toml.
//! ```
//!
//! `key` is a difference key as `cargo xtask spec-diff` prints it. A `*` in a
//! key matches any run of characters (`operation *: ...`); use it only for a
//! deviation that applies to every operation. An entry that matches no
//! difference is stale, and makes `spec-diff` fail until it is removed.

use super::{Area, Difference};
use crate::spec;
use serde_json::Value;
use std::path::Path;

/// One entry of the list of known deviations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deviation {
    /// The difference key, possibly with `*` wildcards.
    pub key: String,
    /// Why the difference is intended.
    pub why: String,
}

impl Deviation {
    /// Whether the entry covers a difference key.
    pub fn matches(&self, key: &str) -> bool {
        wildcard_match(&self.key, key)
    }
}

/// Matches `text` against `pattern`, where `*` stands for any run of
/// characters (possibly empty) and every other character for itself.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        // No `*`: the whole text must be the pattern.
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Parses the text of a deviations file.
pub fn parse(text: &str) -> Result<Vec<Deviation>, String> {
    let value = spec::parse(text)?;
    let entries = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(entries) => entries,
        _ => return Err("the file must be a YAML list of {key, why} entries".into()),
    };
    let mut out: Vec<Deviation> = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let n = i + 1;
        let Value::Object(map) = entry else {
            return Err(format!(
                "entry {n}: expected a mapping with `key` and `why`"
            ));
        };
        if let Some(other) = map.keys().find(|k| *k != "key" && *k != "why") {
            return Err(format!(
                "entry {n}: unknown field `{other}` (only `key` and `why` are allowed)"
            ));
        }
        let text = |field: &str| -> Result<String, String> {
            match map.get(field) {
                Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
                _ => Err(format!("entry {n}: `{field}` must be a non-empty string")),
            }
        };
        let deviation = Deviation {
            key: text("key")?,
            why: text("why")?,
        };
        if out.iter().any(|d| d.key == deviation.key) {
            return Err(format!(
                "entry {n}: the key `{}` is listed twice",
                deviation.key
            ));
        }
        out.push(deviation);
    }
    Ok(out)
}

/// Reads and parses a deviations file.
pub fn load(path: &Path) -> Result<Vec<Deviation>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// A difference and whether a deviation covers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    /// The difference.
    pub difference: Difference,
    /// The key of the deviation entry that covers it, if any.
    pub known_as: Option<String>,
}

/// Differences sorted into known and unknown ones, with the stale entries.
#[derive(Debug, Clone)]
pub struct Report {
    /// Every difference, in the order found.
    pub differences: Vec<Classified>,
    /// Deviation entries that match no difference.
    pub stale: Vec<Deviation>,
}

/// Matches differences with deviation entries. An exact key wins over a
/// wildcard one.
pub fn classify(differences: Vec<Difference>, known: &[Deviation]) -> Report {
    let mut used = vec![false; known.len()];
    let classified = differences
        .into_iter()
        .map(|difference| {
            let exact = known.iter().position(|d| d.key == difference.key);
            let index = exact.or_else(|| known.iter().position(|d| d.matches(&difference.key)));
            if let Some(i) = index {
                used[i] = true;
            }
            Classified {
                known_as: index.map(|i| known[i].key.clone()),
                difference,
            }
        })
        .collect();
    let stale = known
        .iter()
        .zip(&used)
        .filter(|(_, used)| !**used)
        .map(|(d, _)| d.clone())
        .collect();
    Report {
        differences: classified,
        stale,
    }
}

/// The names shown at the top of a report.
#[derive(Debug, Clone)]
pub struct Names {
    /// The upstream document.
    pub upstream: String,
    /// Our document.
    pub ours: String,
    /// The deviations file.
    pub deviations: String,
}

impl Report {
    /// Differences that no deviation covers.
    pub fn unknown(&self) -> impl Iterator<Item = &Difference> {
        self.differences
            .iter()
            .filter(|c| c.known_as.is_none())
            .map(|c| &c.difference)
    }

    /// Differences that a deviation covers.
    pub fn known(&self) -> impl Iterator<Item = &Difference> {
        self.differences
            .iter()
            .filter(|c| c.known_as.is_some())
            .map(|c| &c.difference)
    }

    /// True when every difference is known and no deviation is stale.
    pub fn is_clean(&self) -> bool {
        self.unknown().next().is_none() && self.stale.is_empty()
    }

    /// The report as printed by `cargo xtask spec-diff`.
    pub fn render(&self, names: &Names) -> String {
        let mut s = String::new();
        s.push_str(&format!(
            "spec-diff: operations tagged `{}` or under `{}`, and the schemas they reach\n  upstream    {}\n  ours        {}\n  deviations  {}\n  not compared: {}\n",
            super::TAG,
            super::PATH_PREFIX,
            names.upstream,
            names.ours,
            names.deviations,
            super::NOT_COMPARED.join("; ")
        ));
        for area in Area::ALL {
            let items: Vec<&Classified> = self
                .differences
                .iter()
                .filter(|c| c.difference.area == area)
                .collect();
            if items.is_empty() {
                continue;
            }
            s.push_str(&format!("\n{} ({})\n", area.heading(), items.len()));
            for c in items {
                let mark = if c.known_as.is_some() {
                    "known  "
                } else {
                    "UNKNOWN"
                };
                s.push_str(&format!("  {mark}  {}\n", c.difference.key));
                if let Some(detail) = &c.difference.detail {
                    s.push_str(&format!("             ({detail})\n"));
                }
            }
        }
        if !self.stale.is_empty() {
            s.push_str(&format!(
                "\nstale deviations ({}): listed in {} but no longer found; remove them\n",
                self.stale.len(),
                names.deviations
            ));
            for d in &self.stale {
                s.push_str(&format!("  STALE    {}\n", d.key));
            }
        }
        let unknown = self.unknown().count();
        s.push_str(&format!(
            "\nsummary: {} difference(s): {} known deviation(s), {unknown} unknown; {} stale deviation(s)\n",
            self.differences.len(),
            self.known().count(),
            self.stale.len()
        ));
        if unknown > 0 {
            s.push_str(&format!(
                "\nThe UNKNOWN differences are drift. Adopting an upstream change takes three steps:\n\
                 \x20 1. run `cargo xtask spec-diff <FILE>` (this report) to see what changed;\n\
                 \x20 2. edit {ours} so that it matches upstream, or, for a difference we keep on\n\
                 \x20    purpose, add its exact key with a `why` to {deviations};\n\
                 \x20 3. run `cargo xtask codegen` to regenerate the client, mocks and emulator\n\
                 \x20    contract, and commit openapi/ together with the generated files.\n",
                ours = names.ours,
                deviations = names.deviations
            ));
        }
        if !self.stale.is_empty() {
            s.push_str(&format!(
                "\nRemove the STALE entries from {}: the differences they describe are gone.\n",
                names.deviations
            ));
        }
        if self.is_clean() {
            s.push_str("\nNo drift: every difference is a known deviation.\n");
        }
        s
    }
}
