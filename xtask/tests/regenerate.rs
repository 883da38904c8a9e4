//! Regeneration reaches users: an operation added to the document (here,
//! `GET /jobs/{jobId}/executions/{executionId}/tasks/{taskId}`) reaches the
//! SDK's handles and builders, its blocking client, the mocks and the
//! operations table by `cargo xtask codegen` alone, and the emulator does
//! not compile until the operation's behaviour is written, exactly where it
//! goes (its handler).

mod common;

use common::{real_doc, temp_dir};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use xtask::codegen;

/// The workspace document with one more operation: one task of an
/// execution, by id.
fn doc_with_new_operation() -> Value {
    let mut doc = real_doc();
    doc["paths"]["/jobs/{jobId}/executions/{executionId}/tasks/{taskId}"] = json!({
        "get": {
            "tags": ["jobs"],
            "operationId": "GetJobExecutionTask",
            "x-blaxel-retry": "idempotent",
            "summary": "Get a task",
            "description": "One task of an execution.",
            "parameters": [
                {"$ref": "#/components/parameters/JobId"},
                {"$ref": "#/components/parameters/ExecutionId"},
                {"name": "taskId", "in": "path", "required": true,
                 "description": "The task's id.", "schema": {"type": "string"}},
            ],
            "responses": {
                "200": {
                    "description": "The task.",
                    "content": {"application/json": {"schema": {
                        "$ref": "#/components/schemas/JobExecutionTask"}}},
                },
                "404": {"$ref": "#/components/responses/NotFound"},
                "5XX": {"$ref": "#/components/responses/ServerError"},
            },
        }
    });
    doc
}

fn file<'a>(generated: &'a codegen::Generated, path: &str) -> &'a str {
    generated
        .files
        .iter()
        .find(|f| f.path == Path::new(path))
        .map(|f| f.contents.as_str())
        .unwrap_or_else(|| panic!("{path} is not generated"))
}

#[test]
fn a_new_operation_reaches_every_generated_surface() {
    let before = codegen::generate(&real_doc(), "openapi/jobs.yaml").expect("generates");
    let after = codegen::generate(&doc_with_new_operation(), "openapi/jobs.yaml")
        .expect("the document with a new operation generates");
    // Absent before, present after, in each generated surface.
    let expectations = [
        // The SDK: a handle for the new path segment, reached from the
        // execution's handle, and a builder named after the operation that
        // the blocking client can run.
        (xtask::sdk::SDK_OUT, "pub struct TaskRef<'a>"),
        (
            xtask::sdk::SDK_OUT,
            "pub fn task(&self, task_id: impl Into<String>) -> TaskRef<'a>",
        ),
        (xtask::sdk::SDK_OUT, "pub struct GetJobExecutionTask<'a>"),
        (
            xtask::sdk::SDK_OUT,
            "impl<'a> crate::call::Request for GetJobExecutionTask<'a>",
        ),
        // The generated client, its mocks and the operations table.
        (codegen::CLIENT_OUT, "pub fn get_job_execution_task(&self)"),
        (codegen::HTTPMOCK_OUT, "fn get_job_execution_task"),
        (codegen::OPERATIONS_OUT, "Operation::GetJobExecutionTask"),
    ];
    for (path, needle) in expectations {
        assert!(
            !file(&before, path).contains(needle),
            "{path} already has {needle}"
        );
        assert!(file(&after, path).contains(needle), "{path} lacks {needle}");
    }
    // What was there stays: `tasks()` still lists an execution's tasks.
    assert!(
        file(&after, xtask::sdk::SDK_OUT)
            .contains("pub fn tasks(&self) -> ListJobExecutionTasks<'a>")
    );
}

/// A copy of the workspace's sources (no `target`, no `.git`) under `to`.
fn copy_workspace(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "target" || name == ".git" {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&dst).unwrap();
            copy_workspace(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

/// `cargo check` of `args` in the workspace at `root`, offline, with a
/// target directory of its own (kept between runs): the JSON messages.
fn cargo_check(root: &Path, args: &[&str]) -> (bool, Vec<Value>) {
    let real_target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| xtask::workspace_root().join("target"));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(root)
        .env("CARGO_TARGET_DIR", real_target.join("regenerate-check"))
        .env("CARGO_INCREMENTAL", "0")
        .args(["check", "--offline", "--locked", "--message-format=json"])
        .args(args)
        .output()
        .expect("cargo runs");
    let messages = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .collect();
    (output.status.success(), messages)
}

/// The errors among cargo's messages, as `(code, file)`.
fn errors(messages: &[Value]) -> Vec<(String, String)> {
    messages
        .iter()
        .filter(|m| m["reason"] == "compiler-message" && m["message"]["level"] == "error")
        .map(|m| {
            let code = m["message"]["code"]["code"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            let file = m["message"]["spans"]
                .as_array()
                .and_then(|s| s.iter().find(|s| s["is_primary"] == true))
                .and_then(|s| s["file_name"].as_str())
                .unwrap_or("")
                .to_owned();
            (code, file)
        })
        .collect()
}

#[test]
fn a_new_operation_compiles_in_the_sdk_and_stops_the_emulator_at_its_handler() {
    let root = temp_dir("regenerate");
    copy_workspace(&xtask::workspace_root(), &root);
    let generated = codegen::generate(&doc_with_new_operation(), "openapi/jobs.yaml")
        .expect("the document with a new operation generates");
    codegen::write(&root, &generated.files).unwrap();
    // A program of the SDK's users: the new operation, async and blocking,
    // with nothing written by hand for it.
    let lib = root.join("crates/blaxel-jobs/src/lib.rs");
    let mut text = std::fs::read_to_string(&lib).unwrap();
    text.push_str(
        r#"
#[cfg(feature = "blocking")]
#[allow(dead_code)]
async fn new_operation(client: &Client, blocking: &blocking::Client) -> Result<(), Error> {
    let task: types::JobExecutionTask =
        client.job("j").execution("e").task("t").get().send().await?;
    let again = blocking.send(blocking.job("j").execution("e").task("t").get())?;
    let _ = (task, again);
    Ok(())
}
"#,
    );
    std::fs::write(&lib, text).unwrap();

    let (ok, messages) = cargo_check(
        &root,
        &[
            "-p",
            "blaxel-jobs",
            "--features",
            "blaxel-jobs/blocking",
            "-p",
            "blaxel-jobs-httpmock",
        ],
    );
    assert!(ok, "the SDK and the mocks compile: {:?}", errors(&messages));

    let (ok, messages) = cargo_check(&root, &["-p", "blaxel-jobs-emulator"]);
    assert!(
        !ok,
        "the emulator compiles without the new operation's handler"
    );
    let errors = errors(&messages);
    assert_eq!(
        errors,
        [(
            "E0004".to_owned(),
            "crates/blaxel-jobs-emulator/src/handlers/mod.rs".to_owned()
        )],
        "one error, the handler's match: {errors:?}"
    );
    let _ = std::fs::remove_dir_all(&root);
}
