//! Create a job two ways, from a builder and from a YAML definition in the
//! API's own shape, wait for its deployment, then delete it.
//!
//! ```text
//! cargo run --example create_job
//! ```

mod common;

use blaxel_jobs::{Format, JobBuilder, PortProtocol, parse_job};
use std::time::Duration;

const DEFINITION: &str = r#"
metadata:
  name: yaml-defined-job
  displayName: Defined in YAML
  labels: {team: data}
spec:
  region: eu-lon-1
  runtime:
    image: registry.example.com/etl:2.0
    memory: 1024
    timeout: 1800
    envs:
      - {name: MODE, value: incremental}
  triggers:
    - type: cron
      configuration:
        schedule: "*/30 * * * *"
        tasks: [{source: orders}]
"#;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let target = common::connect().await?;
    let client = &target.client;

    let built = JobBuilder::new("builder-defined-job")
        .display_name("Defined with JobBuilder")
        .image("registry.example.com/report:1.4")
        .memory(2048)
        .timeout(Duration::from_secs(900))
        .volume("scratch", "/scratch", 10_240)
        .port("metrics", 9090, PortProtocol::Http)
        .http_trigger("/run")
        .build()?;
    let from_yaml = parse_job(DEFINITION, Format::Yaml)?;

    for job in [built, from_yaml] {
        let name = job.metadata.name.clone();
        client.jobs().create(job).send().await?;
        let deployed = client
            .job(&name)
            .wait_until_deployed()
            .poll_interval(target.poll_interval())
            .wait(Duration::from_secs(15 * 60))
            .await?;
        println!(
            "{name}: {} in {}",
            deployed.status.as_ref().map_or("?", |s| s.as_str()),
            deployed
                .spec
                .region
                .as_deref()
                .unwrap_or("the default region")
        );
        client.job(&name).delete().send().await?;
    }
    Ok(())
}
