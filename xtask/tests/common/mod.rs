//! Helpers shared by the xtask integration tests.
#![allow(dead_code)]

use serde_json::Value;
use std::path::PathBuf;

/// The path of a file under `tests/fixtures/`.
pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A fixture document, parsed.
pub fn fixture(name: &str) -> Value {
    xtask::spec::load(&fixture_path(name)).expect("fixture parses")
}

/// The workspace document, `openapi/jobs.yaml`.
pub fn real_doc() -> Value {
    xtask::spec::load_workspace_spec(&xtask::workspace_root()).expect("openapi/jobs.yaml parses")
}

/// A fresh, empty directory under the system's temporary directory.
pub fn temp_dir(label: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let dir =
        std::env::temp_dir().join(format!("xtask-test-{label}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}
