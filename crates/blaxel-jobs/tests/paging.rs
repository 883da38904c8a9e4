//! Paging: following `meta.nextCursor` page by page and item by item,
//! stopping on `hasMore=false` or an empty page, and failing on a repeated
//! cursor, for ListJobs, ListJobExecutions and ListJobExecutionTasks.

mod common;

use blaxel_jobs::{Error, ListSort, types};
use blaxel_jobs_httpmock::MockServerExt;
use common::{JOB, execution_page, job_page, task_page};
use futures_util::{StreamExt as _, TryStreamExt as _};
use httpmock::MockServer;
use serde_json::json;

const EX: &str = "exec-7h1c5vde";

/// Collects a stream of results, keeping everything it yields.
async fn collect<T>(
    s: impl futures_core::Stream<Item = Result<T, Error>>,
) -> Vec<Result<T, Error>> {
    s.collect().await
}

fn job_names(items: &[Result<types::Job, Error>]) -> Vec<String> {
    items
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|j| j.metadata.name.clone())
        .collect()
}

#[tokio::test]
async fn list_jobs_follows_cursors_and_keeps_the_other_parameters() {
    let server = MockServer::start_async().await;
    let p1 = server.list_jobs(|w, t| {
        w.cursor(None).limit(2).sort(ListSort::NameAsc);
        t.ok(&job_page(&["a", "b"], Some("c1")));
    });
    let p2 = server.list_jobs(|w, t| {
        w.cursor("c1").limit(2).sort(ListSort::NameAsc);
        t.ok(&job_page(&["c", "d"], Some("c2")));
    });
    let p3 = server.list_jobs(|w, t| {
        w.cursor("c2").limit(2).sort(ListSort::NameAsc);
        t.ok(&job_page(&["e"], None));
    });
    let client = common::client(&server);
    let list = || client.jobs().list().limit(2).sort(ListSort::NameAsc);

    let all: Vec<types::Job> = list().into_stream().try_collect().await.unwrap();
    let names: Vec<_> = all.iter().map(|j| j.metadata.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c", "d", "e"]);
    assert_eq!((p1.calls(), p2.calls(), p3.calls()), (1, 1, 1));

    let pages: Vec<types::JobList> = list().into_pages().try_collect().await.unwrap();
    let sizes: Vec<_> = pages.iter().map(|p| p.data.len()).collect();
    assert_eq!(sizes, [2, 2, 1]);
    assert_eq!(
        pages[0].meta.as_ref().unwrap().next_cursor.as_deref(),
        Some("c1")
    );
    assert_eq!((p1.calls(), p2.calls(), p3.calls()), (2, 2, 2));

    // `send` is one page only.
    let one = list().send().await.unwrap();
    assert_eq!(one.data.len(), 2);
    assert_eq!((p1.calls(), p2.calls()), (3, 2));
}

#[tokio::test]
async fn the_stream_is_lazy_and_fetches_pages_as_items_are_taken() {
    let server = MockServer::start_async().await;
    let p1 = server.list_jobs(|w, t| {
        w.cursor(None);
        t.ok(&job_page(&["a", "b"], Some("c1")));
    });
    let p2 = server.list_jobs(|w, t| {
        w.cursor("c1");
        t.ok(&job_page(&["c"], None));
    });
    let client = common::client(&server);
    let first_two: Vec<_> = client.jobs().list().into_stream().take(2).collect().await;
    assert_eq!(job_names(&first_two), ["a", "b"]);
    assert_eq!((p1.calls(), p2.calls()), (1, 0));
}

#[tokio::test]
async fn list_jobs_stops_when_has_more_is_false_even_with_a_cursor() {
    let server = MockServer::start_async().await;
    let p1 = server.list_jobs(|w, t| {
        w.cursor(None);
        let mut page = job_page(&["a"], None);
        page.meta.as_mut().unwrap().next_cursor = Some("stale".into());
        page.meta.as_mut().unwrap().has_more = Some(false);
        t.ok(&page);
    });
    let stale = server.list_jobs(|w, t| {
        w.cursor("stale");
        t.ok(&job_page(&["zzz"], None));
    });
    let client = common::client(&server);
    let items = collect(client.jobs().list().into_stream()).await;
    assert_eq!(job_names(&items), ["a"]);
    assert_eq!(items.len(), 1);
    assert_eq!((p1.calls(), stale.calls()), (1, 0));
}

#[tokio::test]
async fn list_jobs_stops_on_an_empty_page() {
    let server = MockServer::start_async().await;
    let p1 = server.list_jobs(|w, t| {
        w.cursor(None);
        t.ok(&job_page(&["a", "b"], Some("c1")));
    });
    let p2 = server.list_jobs(|w, t| {
        w.cursor("c1");
        t.ok(&job_page(&[], Some("c2")));
    });
    let p3 = server.list_jobs(|w, t| {
        w.cursor("c2");
        t.ok(&job_page(&["never"], None));
    });
    let client = common::client(&server);
    let items = collect(client.jobs().list().into_stream()).await;
    assert_eq!(job_names(&items), ["a", "b"]);
    assert!(items.iter().all(Result::is_ok));
    assert_eq!((p1.calls(), p2.calls(), p3.calls()), (1, 1, 0));

    // An empty first page: an empty listing.
    let empty = MockServer::start_async().await;
    empty.list_jobs(|_, t| {
        t.ok(&job_page(&[], None));
    });
    let client = common::client(&empty);
    assert!(collect(client.jobs().list().into_stream()).await.is_empty());
}

#[tokio::test]
async fn list_jobs_ends_with_a_pagination_error_on_a_repeated_cursor() {
    let server = MockServer::start_async().await;
    let p1 = server.list_jobs(|w, t| {
        w.cursor(None);
        t.ok(&job_page(&["a"], Some("c1")));
    });
    let p2 = server.list_jobs(|w, t| {
        w.cursor("c1");
        t.ok(&job_page(&["b"], Some("c2")));
    });
    let p3 = server.list_jobs(|w, t| {
        w.cursor("c2");
        t.ok(&job_page(&["c"], Some("c1")));
    });
    let client = common::client(&server);
    let items = collect(client.jobs().list().into_stream()).await;
    assert_eq!(items.len(), 4, "three jobs, then the error");
    assert_eq!(job_names(&items), ["a", "b", "c"]);
    match items.last() {
        Some(Err(Error::Pagination(msg))) => assert!(msg.contains("c1"), "{msg}"),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!((p1.calls(), p2.calls(), p3.calls()), (1, 1, 1));

    // try_collect surfaces the error.
    let err = client
        .jobs()
        .list()
        .into_stream()
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Pagination(_)), "{err}");
}

#[tokio::test]
async fn a_cursor_equal_to_the_current_one_is_caught_at_once() {
    let server = MockServer::start_async().await;
    server.list_jobs(|w, t| {
        w.cursor(None);
        t.ok(&job_page(&["a"], Some("loop")));
    });
    let looping = server.list_jobs(|w, t| {
        w.cursor("loop");
        t.ok(&job_page(&["b"], Some("loop")));
    });
    let client = common::client(&server);
    let items = collect(client.jobs().list().into_stream()).await;
    assert_eq!(job_names(&items), ["a", "b"]);
    assert!(matches!(items.last(), Some(Err(Error::Pagination(_)))));
    assert_eq!(looping.calls(), 1);
}

#[tokio::test]
async fn a_failed_page_ends_the_stream_with_its_error() {
    let server = MockServer::start_async().await;
    server.list_jobs(|w, t| {
        w.cursor(None);
        t.ok(&job_page(&["a"], Some("c1")));
    });
    let bad = server.list_jobs(|w, t| {
        w.cursor("c1");
        t.bad_request(json!({"code": 400, "error": "invalid_cursor", "message": "cursor expired"}));
    });
    let client = common::client(&server);
    let items = collect(client.jobs().list().into_stream()).await;
    assert_eq!(items.len(), 2);
    let err = items[1].as_ref().unwrap_err();
    assert_eq!(err.api().unwrap().code.as_deref(), Some("invalid_cursor"));
    assert_eq!(bad.calls(), 1, "400 is not retried");
}

#[tokio::test]
async fn list_executions_follows_cursors_stops_and_detects_loops() {
    let server = MockServer::start_async().await;
    let p1 = server.list_job_executions(|w, t| {
        w.job_id(JOB).cursor(None).limit(3);
        t.ok(&execution_page(&["e1", "e2", "e3"], Some("x1")));
    });
    let p2 = server.list_job_executions(|w, t| {
        w.job_id(JOB).cursor("x1").limit(3);
        t.ok(&execution_page(&["e4"], None));
    });
    let client = common::client(&server);
    let job_ref = client.job(JOB);
    let executions = job_ref.executions();
    let all: Vec<types::JobExecution> = executions
        .list()
        .limit(3)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<_> = all.iter().map(|e| e.metadata.id.clone().unwrap()).collect();
    assert_eq!(ids, ["e1", "e2", "e3", "e4"]);
    let pages: Vec<_> = executions
        .list()
        .limit(3)
        .into_pages()
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(pages.len(), 2);
    assert_eq!((p1.calls(), p2.calls()), (2, 2));

    // Empty page, and a loop, on another job.
    let other = "etl";
    server.list_job_executions(|w, t| {
        w.job_id(other).cursor(None);
        t.ok(&execution_page(&["e1"], Some("y1")));
    });
    server.list_job_executions(|w, t| {
        w.job_id(other).cursor("y1");
        t.ok(&execution_page(&[], Some("y2")));
    });
    let items: Vec<_> = client
        .job(other)
        .executions()
        .list()
        .into_stream()
        .collect()
        .await;
    assert_eq!(items.len(), 1);
    assert!(items[0].is_ok());

    let looped = "loops";
    server.list_job_executions(|w, t| {
        w.job_id(looped).cursor(None);
        t.ok(&execution_page(&["e1"], Some("z1")));
    });
    server.list_job_executions(|w, t| {
        w.job_id(looped).cursor("z1");
        t.ok(&execution_page(&["e2"], Some("z1")));
    });
    let items: Vec<_> = client
        .job(looped)
        .executions()
        .list()
        .into_stream()
        .collect()
        .await;
    assert_eq!(items.len(), 3);
    assert!(matches!(items[2], Err(Error::Pagination(_))));
}

#[tokio::test]
async fn list_tasks_follows_cursors_stops_and_detects_loops() {
    let server = MockServer::start_async().await;
    let p1 = server.list_job_execution_tasks(|w, t| {
        w.job_id(JOB)
            .execution_id(EX)
            .cursor(None)
            .limit(2)
            .q("task");
        t.ok(&task_page(&["task-0", "task-1"], Some("t1")));
    });
    let p2 = server.list_job_execution_tasks(|w, t| {
        w.job_id(JOB)
            .execution_id(EX)
            .cursor("t1")
            .limit(2)
            .q("task");
        t.ok(&task_page(&["task-2"], None));
    });
    let client = common::client(&server);
    let job_ref = client.job(JOB);
    let tasks: Vec<types::JobExecutionTask> = job_ref
        .execution(EX)
        .tasks()
        .limit(2)
        .q("task")
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    let names: Vec<_> = tasks
        .iter()
        .map(|t| t.metadata.as_ref().and_then(|m| m.name.clone()).unwrap())
        .collect();
    assert_eq!(names, ["task-0", "task-1", "task-2"]);
    assert_eq!((p1.calls(), p2.calls()), (1, 1));

    // Empty page and loop on other executions.
    server.list_job_execution_tasks(|w, t| {
        w.job_id(JOB).execution_id("ex-empty").cursor(None);
        t.ok(&task_page(&["task-0"], Some("u1")));
    });
    server.list_job_execution_tasks(|w, t| {
        w.job_id(JOB).execution_id("ex-empty").cursor("u1");
        t.ok(&task_page(&[], Some("u2")));
    });
    let items: Vec<_> = job_ref
        .execution("ex-empty")
        .tasks()
        .into_stream()
        .collect()
        .await;
    assert_eq!(items.len(), 1);
    assert!(items[0].is_ok());

    server.list_job_execution_tasks(|w, t| {
        w.job_id(JOB).execution_id("ex-loop").cursor(None);
        t.ok(&task_page(&["task-0"], Some("v1")));
    });
    server.list_job_execution_tasks(|w, t| {
        w.job_id(JOB).execution_id("ex-loop").cursor("v1");
        t.ok(&task_page(&["task-1"], Some("v1")));
    });
    let items: Vec<_> = job_ref
        .execution("ex-loop")
        .tasks()
        .into_pages()
        .collect()
        .await;
    assert_eq!(items.len(), 3, "two pages, then the error");
    assert!(matches!(items[2], Err(Error::Pagination(_))));
}

#[tokio::test]
async fn a_starting_cursor_is_sent_on_the_first_request() {
    let server = MockServer::start_async().await;
    let from = server.list_jobs(|w, t| {
        w.cursor("resume-here");
        t.ok(&job_page(&["x"], None));
    });
    let client = common::client(&server);
    let items = collect(client.jobs().list().cursor("resume-here").into_stream()).await;
    assert_eq!(job_names(&items), ["x"]);
    assert_eq!(from.calls(), 1);
}
