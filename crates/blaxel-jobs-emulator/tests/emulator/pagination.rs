//! Cursor pages, sorts, filters and limits.

use crate::common::{H, Resp};
use serde_json::{Value, json};

fn page_names(page: &Value, path: &str) -> Vec<String> {
    page["data"]
        .as_array()
        .expect("data is an array")
        .iter()
        .map(|item| {
            item.pointer(path)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

/// Follows `nextCursor` from `first` to the end; returns every page's names.
async fn walk(h: &H, first: &str, name_path: &str) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut url = first.to_owned();
    let sep = if first.contains('?') { '&' } else { '?' };
    loop {
        let page = h.get(&url).await.expect(200);
        pages.push(page_names(&page, name_path));
        let cursor = page["meta"]["nextCursor"].as_str().unwrap_or_default();
        if page["meta"]["hasMore"] != true {
            assert_eq!(cursor, "", "the last page has no cursor");
            return pages;
        }
        assert!(!cursor.is_empty());
        url = format!("{first}{sep}cursor={cursor}");
        assert!(pages.len() < 20, "pagination does not end");
    }
}

async fn five_jobs(h: &H) {
    for (i, n) in ["charlie", "alpha", "echo", "bravo", "delta"]
        .iter()
        .enumerate()
    {
        h.post(
            "/jobs",
            json!({"metadata": {"name": n, "displayName": format!("Job {i}"),
                                "labels": {"team": if i % 2 == 0 { "Reporting" } else { "ops" }}},
                   "spec": {}}),
        )
        .await
        .expect(200);
    }
}

#[tokio::test]
async fn jobs_page_through_in_every_sort() {
    let h = H::manual().await;
    five_jobs(&h).await;
    let name = "/metadata/name";
    assert_eq!(
        walk(&h, "/jobs?limit=2", name).await,
        vec![
            vec!["delta", "bravo"],
            vec!["echo", "alpha"],
            vec!["charlie"]
        ]
    );
    assert_eq!(
        walk(&h, "/jobs?limit=2&sort=createdAt:asc", name).await,
        vec![
            vec!["charlie", "alpha"],
            vec!["echo", "bravo"],
            vec!["delta"]
        ]
    );
    assert_eq!(
        walk(&h, "/jobs?limit=3&sort=name:asc", name).await,
        vec![vec!["alpha", "bravo", "charlie"], vec!["delta", "echo"]]
    );
    assert_eq!(
        walk(&h, "/jobs?limit=4&sort=name:desc", name).await,
        vec![vec!["echo", "delta", "charlie", "bravo"], vec!["alpha"]]
    );
    let page = h.get("/jobs?limit=2").await.expect(200);
    assert_eq!(page["meta"]["total"], 5);
}

#[tokio::test]
async fn cursors_only_work_with_their_own_query() {
    let h = H::manual().await;
    five_jobs(&h).await;
    let page = h.get("/jobs?limit=2").await.expect(200);
    let cursor = page["meta"]["nextCursor"].as_str().unwrap().to_owned();
    // Same query: fine.
    assert_eq!(
        h.get(&format!("/jobs?limit=2&cursor={cursor}"))
            .await
            .status,
        200
    );
    // The limit is not part of the query's identity.
    assert_eq!(
        h.get(&format!("/jobs?limit=3&cursor={cursor}"))
            .await
            .status,
        200
    );
    for other in [
        format!("/jobs?limit=2&sort=name:asc&cursor={cursor}"),
        format!("/jobs?limit=2&q=alpha&cursor={cursor}"),
        format!("/jobs?limit=2&status=DEPLOYED&cursor={cursor}"),
        format!("/jobs/alpha/executions?cursor={cursor}"),
        "/jobs?cursor=not-a-cursor".to_owned(),
    ] {
        let r = h.get(&other).await;
        r.api_error(400, "invalid_cursor");
    }
    // Nor in another workspace.
    let mut other_ws = H {
        emu: h.emu,
        http: h.http,
        ws: "elsewhere".into(),
    };
    other_ws
        .get(&format!("/jobs?limit=2&cursor={cursor}"))
        .await
        .api_error(400, "invalid_cursor");
    other_ws.ws = "test-ws".into();
    assert_eq!(
        other_ws
            .get(&format!("/jobs?limit=2&cursor={cursor}"))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn cursors_expire_after_a_day() {
    let h = H::manual().await;
    five_jobs(&h).await;
    let page = h.get("/jobs?limit=2").await.expect(200);
    let cursor = page["meta"]["nextCursor"].as_str().unwrap().to_owned();
    h.advance_ms(24 * 3600 * 1000 + 1);
    let msg = h
        .get(&format!("/jobs?limit=2&cursor={cursor}"))
        .await
        .api_error(400, "invalid_cursor");
    assert!(msg.contains("expired"), "{msg}");
}

#[tokio::test]
async fn anchor_end_returns_the_last_page() {
    let h = H::manual().await;
    five_jobs(&h).await;
    let page = h.get("/jobs?limit=2&anchor=end").await.expect(200);
    assert_eq!(
        page_names(&page, "/metadata/name"),
        vec!["alpha", "charlie"]
    );
    assert_eq!(page["meta"]["hasMore"], false);
    let page = h
        .get("/jobs?limit=2&anchor=end&sort=createdAt:asc")
        .await
        .expect(200);
    assert_eq!(page_names(&page, "/metadata/name"), vec!["bravo", "delta"]);
    let msg = h
        .get("/jobs?anchor=end&sort=name:asc")
        .await
        .api_error(400, "validation_error");
    assert!(msg.starts_with("query anchor"), "{msg}");
    h.get("/jobs?anchor=start")
        .await
        .api_error(400, "validation_error");
}

#[tokio::test]
async fn q_searches_names_display_names_and_labels() {
    let h = H::manual().await;
    five_jobs(&h).await;
    let search = |q: &'static str| {
        let h = &h;
        async move {
            let mut got = page_names(
                &h.get(&format!("/jobs?sort=name:asc&q={q}"))
                    .await
                    .expect(200),
                "/metadata/name",
            );
            got.sort();
            got
        }
    };
    assert_eq!(search("ALPHA").await, vec!["alpha"]);
    assert_eq!(search("job%203").await, vec!["bravo"]);
    assert_eq!(
        search("%20reporting%20").await,
        vec!["charlie", "delta", "echo"]
    );
    assert_eq!(search("team").await.len(), 5, "label keys match");
    assert_eq!(search("a").await.len(), 5, "one character is no filter");
    assert!(search("zulu").await.is_empty());
    // total ignores q.
    let page = h.get("/jobs?q=alpha").await.expect(200);
    assert_eq!(page["meta"]["total"], 5);
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn status_filters_deployment_statuses() {
    let h = H::manual().await;
    h.create_job("old", json!({})).await;
    h.advance_ms(2_000);
    h.create_job("new", json!({})).await;
    let names = |r: Resp| page_names(&r.expect(200), "/metadata/name");
    assert_eq!(names(h.get("/jobs?status=deployed").await), vec!["old"]);
    assert_eq!(names(h.get("/jobs?status=Deploying").await), vec!["new"]);
    assert_eq!(
        names(h.get("/jobs?status=DEPLOYED,deploying").await).len(),
        2
    );
    assert!(names(h.get("/jobs?status=FAILED").await).is_empty());
    let msg = h
        .get("/jobs?status=DEPLOYED,RUNNING")
        .await
        .api_error(400, "validation_error");
    assert!(
        msg.starts_with("query status: unknown status \"RUNNING\""),
        "{msg}"
    );
}

#[tokio::test]
async fn limits_follow_the_document() {
    let h = H::manual().await;
    h.create_job("job", json!({})).await;
    let exec = h.start("job", json!({})).await;
    for (path, msg) in [
        ("/jobs?limit=0", "query limit: must be at least 1"),
        (
            "/jobs?limit=many",
            "query limit: must be an integer, not \"many\"",
        ),
        (
            "/jobs/job/executions?limit=101",
            "query limit: must be at most 100",
        ),
        (
            "/jobs/job/executions?offset=-1",
            "query offset: must be at least 0",
        ),
        (
            "/jobs?sort=size",
            "query sort: must be one of createdAt:desc, createdAt:asc, name:asc, name:desc",
        ),
    ] {
        assert_eq!(
            h.get(path).await.api_error(400, "validation_error"),
            msg,
            "{path}"
        );
    }
    // Page sizes above 200 are clamped, as the document says the server does.
    assert_eq!(h.get("/jobs?limit=201").await.status, 200);
    assert_eq!(
        h.get(&format!("/jobs/job/executions/{exec}/tasks?limit=201"))
            .await
            .status,
        200
    );
    assert_eq!(h.get("/jobs?limit=200").await.status, 200);
    assert_eq!(h.get("/jobs/job/executions?limit=100").await.status, 200);
}

#[tokio::test]
async fn executions_and_tasks_page_too() {
    let h = H::manual().await;
    h.create_job("job", json!({})).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(h.start("job", json!({})).await);
    }
    let pages = walk(&h, "/jobs/job/executions?limit=2", "/metadata/id").await;
    let flat: Vec<String> = pages.concat();
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(flat, newest_first);
    assert_eq!(pages.len(), 3);
    // Default page size for executions is 20.
    let page = h.get("/jobs/job/executions").await.expect(200);
    assert_eq!(page["meta"]["total"], 5);
    // q matches execution ids.
    let page = h
        .get(&format!(
            "/jobs/job/executions?q={}",
            &ids[2][..10].to_uppercase()
        ))
        .await
        .expect(200);
    assert!(page_names(&page, "/metadata/id").contains(&ids[2]));

    let tasks: Vec<_> = (0..12).map(|_| json!({"durationSeconds": 1})).collect();
    let exec = h.start("job", json!({ "tasks": tasks })).await;
    let path = format!("/jobs/job/executions/{exec}/tasks?limit=5&sort=createdAt:asc");
    let pages = walk(&h, &path, "/metadata/name").await;
    assert_eq!(pages.len(), 3);
    assert_eq!(
        pages[0],
        vec!["task-0", "task-1", "task-2", "task-3", "task-4"]
    );
    assert_eq!(pages[2], vec!["task-10", "task-11"]);
    let page = h
        .get(&format!("/jobs/job/executions/{exec}/tasks?q=task-1"))
        .await
        .expect(200);
    assert_eq!(
        page["data"].as_array().unwrap().len(),
        3,
        "task-1, task-10, task-11"
    );
    assert_eq!(page["meta"]["total"], 12);
}
