//! A batch's executions, listed in pages sized by what they bring.
//!
//! Finding the chunks that exist (to resume), polling a batch's progress
//! and finding its failed tasks all list the job's executions filtered to
//! the batch. A server may answer each execution with its tasks (the
//! emulator does; Blaxel stores large task lists apart), and a listed task,
//! with its status, times and conditions, weighs several times the
//! parameters it was submitted with: pages of 100 executions of 500 tasks
//! made resuming a finished batch of a million tasks need 4 to 5 times the
//! memory of submitting it. So each page asks for as many executions as
//! keep it near [`TASKS_PER_PAGE`] listed tasks, judged by the heaviest
//! execution of the page before (at first, by the chunk size), and for 100
//! (the most the API gives) when they came without their tasks. (A batch's
//! executions are alike: chunks of the same size, stored the same way; the
//! last chunk may be smaller.)

use super::BatchRun;
use crate::error::Error;
use crate::types::{JobExecution, JobExecutionList};
use futures_util::StreamExt as _;
use std::sync::atomic::{AtomicU32, Ordering};

/// The listed tasks a page aims to hold at most: 1,000 (a few hundred KB
/// of JSON), unless a single execution carries more.
pub(super) const TASKS_PER_PAGE: usize = 1_000;

/// The most executions a page may ask for (the API's maximum).
const MOST: u32 = 100;

/// Executions per page, for executions of `tasks` tasks each.
fn page_size(tasks: usize) -> u32 {
    match tasks {
        0 => MOST,
        n => u32::try_from(TASKS_PER_PAGE / n)
            .unwrap_or(MOST)
            .clamp(1, MOST),
    }
}

/// The tasks a listed execution carries (in `tasks`, and again in
/// `spec.tasks` when a server fills both).
fn carried(e: &JobExecution) -> usize {
    e.tasks.len().saturating_add(e.spec.tasks.len())
}

/// Calls `each` with every execution the batch's listing returns, one page
/// in memory at a time (the paging rules are [`crate::paginate`]'s). With
/// `retry`, each page's request is sent with those retry settings instead
/// of the client's (a waiter's polls are sent once: see
/// [`crate::wait`]).
pub(super) async fn each_execution(
    run: &BatchRun<'_>,
    retry: Option<&crate::RetryConfig>,
    mut each: impl FnMut(&JobExecution),
) -> Result<(), Error> {
    let limit = AtomicU32::new(page_size(run.chunk_size()));
    let fetch = |cursor: Option<String>| {
        let mut list = run.list().limit(limit.load(Ordering::Relaxed));
        if let Some(retry) = retry {
            list = list.retry(retry.clone());
        }
        match cursor {
            Some(c) => list.cursor(c),
            None => list,
        }
        .send()
    };
    let mut pages = std::pin::pin!(crate::paginate::pages::<JobExecutionList, _, _>(
        None, fetch
    ));
    while let Some(page) = pages.next().await {
        let page = page?;
        // The most tasks an execution of this page carried.
        let mut heaviest = 0usize;
        for e in &page.data {
            heaviest = heaviest.max(carried(e));
            each(e);
        }
        drop(page);
        // Read when the next page is fetched: the stream fetches it only
        // once this page has been handled.
        limit.store(page_size(heaviest), Ordering::Relaxed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_hold_about_a_thousand_listed_tasks() {
        assert_eq!(page_size(0), 100, "executions without their tasks");
        assert_eq!(page_size(1), 100);
        assert_eq!(page_size(10), 100);
        assert_eq!(page_size(500), 2);
        assert_eq!(page_size(1_000), 1);
        assert_eq!(page_size(50_000), 1);
        assert_eq!(page_size(usize::MAX), 1);
    }
}
