//! Shared parts of the blaxel-jobs benchmarks (`cargo bench -p
//! blaxel-jobs-bench`): realistic bodies, a fixed-response loopback server,
//! the clients being compared, and what is read from `/proc`.
//!
//! `docs/performance.md` lists the benchmarks, how to run them and the
//! figures measured.

pub mod clients;
pub mod fixtures;
pub mod openapi_generator_model;
pub mod procfs;
pub mod server;
pub mod stats;
pub mod subprocess;
