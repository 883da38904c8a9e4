#![allow(dead_code)] // Each example uses part of this module.

//! Shared by the examples: a client for Blaxel when credentials are set,
//! otherwise for an emulator started in this process.

use blaxel_jobs::{Client, PollInterval};
use blaxel_jobs_emulator::{Clock, Emulator, EmulatorConfig};
use std::time::Duration;

/// Where the examples run.
pub struct Target {
    /// The client to use.
    pub client: Client,
    /// The emulator, when one was started (it stops when dropped).
    pub emulator: Option<Emulator>,
}

impl Target {
    /// How often waiters poll: quickly against the emulator, whose clock
    /// runs fast, and at the SDK's defaults against Blaxel.
    pub fn poll_interval(&self) -> PollInterval {
        match self.emulator {
            Some(_) => PollInterval::new(Duration::from_millis(50), Duration::from_millis(250)),
            None => PollInterval::default(),
        }
    }
}

fn credentials_set() -> bool {
    let set = |v: &str| std::env::var(v).is_ok_and(|s| !s.trim().is_empty());
    (set("BL_API_KEY") || set("BL_CLIENT_CREDENTIALS")) && set("BL_WORKSPACE")
}

/// Blaxel when `BL_API_KEY` (or `BL_CLIENT_CREDENTIALS`) and `BL_WORKSPACE`
/// are set; otherwise an embedded emulator whose clock runs 20 times faster
/// than real time.
pub async fn connect() -> Result<Target, Box<dyn std::error::Error>> {
    if credentials_set() {
        let client = Client::from_env()?;
        println!(
            "Using Blaxel at {} (workspace {}).",
            client.config().base_url(),
            client.config().workspace()
        );
        return Ok(Target {
            client,
            emulator: None,
        });
    }
    let emulator =
        Emulator::start_with(EmulatorConfig::default().clock(Clock::Scaled(20.0))).await?;
    println!(
        "No BL_API_KEY and BL_WORKSPACE set: using the embedded Jobs API emulator at {}.",
        emulator.base_url()
    );
    let client = Client::builder()
        .ignore_environment()
        .base_url(emulator.base_url())
        .api_key(emulator.api_key())
        .workspace("quickstart")
        .build()?;
    Ok(Target {
        client,
        emulator: Some(emulator),
    })
}
