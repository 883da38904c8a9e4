//! Workspace automation for blaxel-jobs. See `cargo xtask --help`.

pub mod build_cost;
pub mod check;
pub mod codegen;
pub mod facts;
pub mod limits;
pub mod open_enums;
pub mod operations;
pub mod patches;
pub mod pins;
pub mod sdk;
pub mod spec;
pub mod spec_diff;
pub mod versions;

use std::path::PathBuf;

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(PathBuf::from).unwrap_or(here)
}
