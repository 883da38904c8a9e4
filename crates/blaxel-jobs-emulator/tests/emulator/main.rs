//! Integration tests: the emulator over real loopback HTTP.
//!
//! Time is simulated with `Clock::Manual` and moved with `advance`, so no
//! test sleeps to wait for the server.

mod common;

mod auth;
mod binary;
mod client;
mod concurrency;
mod connections;
mod device_login;
mod executions;
mod faults;
mod jobs;
#[cfg(unix)]
mod local;
mod logs;
mod newer_fields;
mod pagination;
#[cfg(target_os = "linux")]
mod processes;
mod retention;
mod validation;
mod versions;
