//! What errors look like, and how to handle them.
//!
//! ```text
//! cargo run --example errors
//! ```

mod common;

use blaxel_jobs::{Error, JobBuilder};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let target = common::connect().await?;
    let client = &target.client;

    // Caught before sending: the error names the field.
    match JobBuilder::new("Not_A_Valid_Name").build() {
        Err(Error::InvalidInput(e)) => {
            println!("invalid input: field {:?}: {}", e.field, e.message)
        }
        other => println!("unexpected: {other:?}"),
    }

    // 404: a predicate, and everything the response said.
    match client.job("no-such-job").get().send().await {
        Err(e) if e.is_not_found() => {
            let api = e.api().expect("an API error");
            println!("not found: {e}");
            println!(
                "  status {}, code {:?}, request id {:?}",
                api.status, api.code, api.request_id
            );
        }
        other => println!("unexpected: {other:?}"),
    }

    // 409: the name is taken.
    let job = JobBuilder::new("errors-example").memory(512).build()?;
    client.jobs().create(job.clone()).send().await?;
    match client.jobs().create(job).send().await {
        Err(e) if e.is_conflict() => println!("conflict: {e}"),
        other => println!("unexpected: {other:?}"),
    }

    // A memory override above the job's memory is refused before the
    // execution is sent.
    match client
        .job("errors-example")
        .executions()
        .create()
        .memory(4096)
        .send()
        .await
    {
        Err(Error::InvalidInput(e)) => println!("invalid input: {e}"),
        other => println!("unexpected: {other:?}"),
    }

    // Configuration errors come before any request and say what to set.
    match blaxel_jobs::Client::builder().ignore_environment().build() {
        Err(Error::Config(e)) => println!("configuration: {e}"),
        other => println!("unexpected: {other:?}"),
    }

    client.job("errors-example").delete().send().await?;
    Ok(())
}
