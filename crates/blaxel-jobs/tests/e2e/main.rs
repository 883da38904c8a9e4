//! End-to-end tests: the SDK against the emulator, over real HTTP on
//! loopback. One test binary with a module per area.

mod bad_input;
mod common;
mod concurrency;
mod faults;
mod lifecycle;
mod logs;
mod newer_api;
mod secrets;
mod waiters;
