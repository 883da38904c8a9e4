//! List jobs page by page, and stream every job without holding more than
//! one page in memory.
//!
//! ```text
//! cargo run --example list_paging
//! ```

mod common;

use blaxel_jobs::{JobBuilder, ListSort};
use futures_util::TryStreamExt as _;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let target = common::connect().await?;
    let client = &target.client;

    // Against the emulator, make a few jobs to list.
    let mut made = Vec::new();
    if target.emulator.is_some() {
        for i in 0..12 {
            let name = format!("paging-example-{i:02}");
            client
                .jobs()
                .create(JobBuilder::new(&name).memory(512).build()?)
                .send()
                .await?;
            made.push(name);
        }
    }

    // One page at a time: each `send` is one request.
    let first = client
        .jobs()
        .list()
        .limit(5)
        .sort(ListSort::NameAsc)
        .send()
        .await?;
    let meta = first.meta.clone().unwrap_or_default();
    // `total` is a lower bound when `totalIsPartial` is set: never derive a
    // page count from it; follow the cursors instead.
    let at_least = if meta.total_is_partial == Some(true) {
        "at least "
    } else {
        ""
    };
    println!(
        "first page: {} job(s) of {at_least}{}; more: {}",
        first.data.len(),
        meta.total.unwrap_or_default(),
        meta.has_more.unwrap_or(false)
    );

    // Page by page, following the cursors.
    let mut pages = std::pin::pin!(client.jobs().list().limit(5).into_pages());
    let mut n = 0;
    while let Some(page) = pages.try_next().await? {
        n += 1;
        let names: Vec<_> = page.data.iter().map(|j| j.metadata.name.as_str()).collect();
        println!("page {n}: {}", names.join(", "));
    }

    // Every job, one at a time.
    let mut count = 0;
    let mut jobs = std::pin::pin!(client.jobs().list().limit(100).into_stream());
    while let Some(job) = jobs.try_next().await? {
        count += 1;
        let _ = job.metadata.name;
    }
    println!("streamed {count} job(s)");

    for name in made {
        client.job(name).delete().send().await?;
    }
    Ok(())
}
