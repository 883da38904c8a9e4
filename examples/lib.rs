//! Runnable examples of the `blaxel-jobs` SDK. Each runs against Blaxel when
//! `BL_API_KEY` (or `BL_CLIENT_CREDENTIALS`) and `BL_WORKSPACE` are set, and
//! against an emulator started in the same process otherwise:
//!
//! ```text
//! cargo run --example quickstart     # the whole tour
//! cargo run --example create_job     # JobBuilder and a YAML definition
//! cargo run --example run_and_wait   # executions, progress, outcomes
//! cargo run --example list_paging    # pages and streams
//! cargo run --example errors         # what errors look like
//! ```
//!
//! One always uses the emulator, whose tasks it runs for real as local
//! processes of the task program `collatz_task` (a binary of this package,
//! written with `blaxel-jobs-task`):
//!
//! ```text
//! cargo run --example task_loop      # a task program, end to end
//! ```
