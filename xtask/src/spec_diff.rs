//! `cargo xtask spec-diff <FILE>`: what separates our document from an
//! upstream Blaxel control-plane document, restricted to the operations
//! tagged [`TAG`] or under [`PATH_PREFIX`] (whatever their tag) and
//! everything they reach.
//!
//! The comparison is semantic: parameter, response and header references
//! are resolved; an inline enum equals a reference to a named enum with the
//! same type and values; `allOf` members are merged into one object. What
//! is *not* compared is listed in [`NOT_COMPARED`], and the report says so
//! in its first lines: nothing is ignored silently.
//!
//! # Keys
//!
//! Every difference has a key: one line that names where it is and what it
//! is, and that stays the same as long as the two documents do. A key is
//! `<subject>: <what>` or `<subject>: <place>: <what>`:
//!
//! * subjects: `operation GET /jobs/{jobId}` or `schema JobRuntime`;
//! * places: `parameter query limit`, `request body application/json`,
//!   `response 200 application/json`, `response 200 header x-request-id`,
//!   `error response 500 header retry-after`, `property runtime.ports` (nested
//!   properties are joined with `.`, array items are `[]` and map values
//!   `{}`; at the root of an array schema the items are `items`);
//! * what: `only in ours` / `only upstream` (for an operation, parameter,
//!   schema or property: `schema Generation only in ours`), `type changed
//!   (upstream string, ours integer)`, `enum value PAUSED only upstream`,
//!   `required target only in ours`, `maximum 95 only in ours`, `maximum
//!   changed (upstream 200, ours 100)`, `readOnly only upstream`,
//!   `operationId changed (upstream ListJobs, ours ListAllJobs)`. String
//!   values of keywords are shown between backticks.
//!
//! Error responses are compared as one class per operation: upstream error
//! statuses that ours do not cover, and upstream error bodies and headers
//! that ours do not accept or declare, are reported one by one; statuses,
//! bodies or headers that only ours declare give the single key
//! `<operation>: error statuses, bodies or headers only in ours`, with the
//! details on the next line. Response headers of success responses are
//! compared one by one (names case-insensitively, `Content-Type` excepted).
//!
//! Known, intended differences are listed in `openapi/deviations.yaml`
//! (see [`deviations`]).

pub mod deviations;
mod errors;
mod headers;
mod operations;
mod place;
mod schemas;

use crate::spec;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The tag of the operations that are compared.
pub const TAG: &str = "jobs";

/// Operations whose path is this prefix, or starts with it followed by `/`,
/// are compared too, whatever their tags: a jobs operation filed under
/// another tag must not slip through.
pub const PATH_PREFIX: &str = "/jobs";

/// What spec-diff does not compare, as the report states it. Everything
/// else in the compared operations and the schemas they reach is compared.
pub const NOT_COMPARED: &[&str] = &[
    "descriptions, summaries and titles",
    "examples",
    "security requirements and schemes",
    "`x-` extensions",
    "servers, tags, links and callbacks",
    "operations outside the tag `jobs` and the paths under `/jobs`",
];

/// The operations of a document that spec-diff compares: tagged [`TAG`],
/// or under [`PATH_PREFIX`].
pub fn compared_operations(doc: &Value) -> Vec<spec::Operation<'_>> {
    spec::operations(doc)
        .into_iter()
        .filter(|op| {
            op.has_tag(TAG)
                || op.path == PATH_PREFIX
                || op
                    .path
                    .strip_prefix(PATH_PREFIX)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
        .collect()
}

/// Path of the list of known deviations, relative to the workspace root.
pub const DEVIATIONS_PATH: &str = "openapi/deviations.yaml";

/// The kind of a difference; the report groups differences by area, in the
/// order of this enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Area {
    /// An operation added or removed, or its operationId changed.
    Operation,
    /// A parameter added or removed, or whether it is required.
    Parameter,
    /// A request body or success response added or removed, or its media
    /// types.
    Body,
    /// Error statuses and bodies.
    ErrorResponse,
    /// Response headers: added or removed, required, their schemas.
    Header,
    /// A named schema added or removed.
    Schema,
    /// A property added or removed.
    Field,
    /// A type changed.
    Type,
    /// An enum value added or removed.
    EnumValue,
    /// A `required` entry added or removed.
    Required,
    /// A validation keyword (`maximum`, `pattern`, `default`, ...) changed.
    Keyword,
    /// A flag (`readOnly`, `writeOnly`, `nullable`, `deprecated`) changed.
    Flag,
}

impl Area {
    /// Every area, in report order.
    pub const ALL: [Area; 12] = [
        Area::Operation,
        Area::Parameter,
        Area::Body,
        Area::ErrorResponse,
        Area::Header,
        Area::Schema,
        Area::Field,
        Area::Type,
        Area::EnumValue,
        Area::Required,
        Area::Keyword,
        Area::Flag,
    ];

    /// The heading of the area in the report.
    pub fn heading(self) -> &'static str {
        match self {
            Area::Operation => "operations",
            Area::Parameter => "parameters",
            Area::Body => "request bodies and success responses",
            Area::ErrorResponse => "error responses",
            Area::Header => "response headers",
            Area::Schema => "schemas",
            Area::Field => "fields",
            Area::Type => "types",
            Area::EnumValue => "enum values",
            Area::Required => "required entries",
            Area::Keyword => "validation keywords and defaults",
            Area::Flag => "flags (readOnly, writeOnly, nullable, deprecated)",
        }
    }
}

/// One difference between upstream and ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// What kind of difference it is.
    pub area: Area,
    /// The stable key (see the module documentation).
    pub key: String,
    /// Details that are not part of the key.
    pub detail: Option<String>,
}

/// Which document a value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Upstream,
    Ours,
}

impl Side {
    /// `only upstream` / `only in ours`.
    fn only(self) -> &'static str {
        match self {
            Side::Upstream => "only upstream",
            Side::Ours => "only in ours",
        }
    }
}

/// Collects differences, dropping repeated keys.
#[derive(Debug, Default)]
pub(crate) struct Differences(Vec<Difference>);

impl Differences {
    fn push(&mut self, area: Area, key: String) {
        self.push_detailed(area, key, None);
    }

    fn push_detailed(&mut self, area: Area, key: String, detail: Option<String>) {
        if !self.0.iter().any(|d| d.key == key) {
            self.0.push(Difference { area, key, detail });
        }
    }
}

/// Every difference between the [compared operations](compared_operations)
/// of `upstream` and `ours` and the schemas they reach: operations first,
/// then schemas by name.
pub fn diff(upstream: &Value, ours: &Value) -> Vec<Difference> {
    let mut out = Differences::default();
    let docs = schemas::Docs { upstream, ours };
    operations::compare(&docs, &mut out);
    let up_ops = compared_operations(upstream);
    let our_ops = compared_operations(ours);
    let mut names = spec::schema_closure(upstream, &up_ops);
    names.extend(spec::schema_closure(ours, &our_ops));
    for name in &names {
        schemas::compare_component(&docs, name, &mut out);
    }
    out.0
}

/// What `cargo xtask spec-diff` compares: paths of the three inputs.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// The upstream document.
    pub upstream: PathBuf,
    /// Our document.
    pub ours: PathBuf,
    /// The list of known deviations.
    pub deviations: PathBuf,
}

const USAGE: &str =
    "usage: cargo xtask spec-diff <UPSTREAM-FILE> [--ours <FILE>] [--deviations <FILE>]";

impl Inputs {
    /// Parses the arguments after `spec-diff`; `--ours` and `--deviations`
    /// default to the workspace's files under `root`.
    pub fn from_args(root: &Path, args: &[String]) -> Result<Self, String> {
        let mut upstream = None;
        let mut ours = root.join(spec::SPEC_PATH);
        let mut deviations = root.join(DEVIATIONS_PATH);
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            match arg.as_str() {
                "--ours" | "--deviations" => {
                    let value = it
                        .next()
                        .ok_or_else(|| format!("spec-diff: {arg} needs a file\n{USAGE}"))?;
                    if arg == "--ours" {
                        ours = PathBuf::from(value);
                    } else {
                        deviations = PathBuf::from(value);
                    }
                }
                other if other.starts_with('-') => {
                    return Err(format!("spec-diff: unknown option `{other}`\n{USAGE}"));
                }
                file if upstream.is_none() => upstream = Some(PathBuf::from(file)),
                extra => return Err(format!("spec-diff: unexpected argument `{extra}`\n{USAGE}")),
            }
        }
        let upstream =
            upstream.ok_or_else(|| format!("spec-diff: no upstream file given\n{USAGE}"))?;
        Ok(Inputs {
            upstream,
            ours,
            deviations,
        })
    }
}

/// `cargo xtask spec-diff`: prints the report on stdout and fails when a
/// difference is not a known deviation or a known deviation is stale.
pub fn run(inputs: &Inputs) -> Result<(), String> {
    let upstream = spec::load(&inputs.upstream)?;
    let ours = spec::load(&inputs.ours)?;
    let known = deviations::load(&inputs.deviations)?;
    let differences = diff(&upstream, &ours);
    let report = deviations::classify(differences, &known);
    let names = deviations::Names {
        upstream: inputs.upstream.display().to_string(),
        ours: inputs.ours.display().to_string(),
        deviations: inputs.deviations.display().to_string(),
    };
    print!("{}", report.render(&names));
    if report.is_clean() {
        Ok(())
    } else {
        Err(format!(
            "spec-diff: {} unknown difference(s), {} stale deviation(s)",
            report.unknown().count(),
            report.stale.len()
        ))
    }
}
