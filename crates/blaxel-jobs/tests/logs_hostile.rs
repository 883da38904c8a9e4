//! Logs against servers that misbehave: answers that ignore the window,
//! lines out of order, unreadable timestamps and odd severities, lines
//! stamped in the future, and failures while following.

mod common;

use blaxel_jobs::Error;
use blaxel_jobs::logs::{GapReason, Severity};
use chrono::{DateTime, TimeDelta, Utc};
use common::builder_for;
use common::raw::{RawServer, Reply};
use futures_util::StreamExt;
use serde_json::json;
use std::time::Duration;

fn now() -> DateTime<Utc> {
    DateTime::<Utc>::from(std::time::SystemTime::now())
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

fn answer(lines: &[serde_json::Value], total: usize) -> Reply {
    let body = json!({"job": {"logs": lines, "totalCount": total}});
    Reply::json("200 OK", &body.to_string())
}

#[tokio::test]
async fn a_server_that_ignores_the_window_cannot_make_a_read_loop_forever() {
    // Every answer: a full page of lines from the year 2000, and a count
    // that says there are many more.
    let old = json!({"timestamp": "2000-01-01T00:00:00Z", "message": "old", "severity": 9});
    let page: Vec<_> = std::iter::repeat_n(old, 10).collect();
    let server = RawServer::start(move |_, _| answer(&page, 1_000_000)).await;
    let client = builder_for(&server.url).build().unwrap();
    let end = now();
    let logs = client
        .job("job")
        .logs()
        .read(end - TimeDelta::hours(1), end)
        .page_size(10)
        .max_requests(20)
        .send()
        .await
        .unwrap();
    assert_eq!(logs.requests, 20);
    assert_eq!(server.received().len(), 20);
    assert!(
        logs.lines.is_empty(),
        "lines outside the window are not the window's"
    );
    assert!(logs.is_partial());
    assert!(
        logs.gaps.iter().any(|g| g.reason == GapReason::MaxRequests),
        "{:?}",
        logs.gaps
    );
}

#[tokio::test]
async fn lines_out_of_order_with_odd_values_are_sorted_typed_or_counted() {
    let t = now() - TimeDelta::minutes(5);
    let lines = vec![
        json!({"timestamp": stamp(t), "message": "first", "severity": "INFO"}),
        json!({"timestamp": stamp(t + TimeDelta::seconds(2)), "message": "third", "severity": 1.5}),
        json!({"timestamp": "half past nine", "message": "lost"}),
        json!({"timestamp": stamp(t + TimeDelta::seconds(1)), "severity": [17]}),
        json!({"timestamp": stamp(t + TimeDelta::seconds(1)), "message": "second", "severity": null, "trace_id": "tr"}),
    ];
    let server = RawServer::start(move |_, _| answer(&lines, 5)).await;
    let client = builder_for(&server.url).build().unwrap();
    let logs = client
        .job("job")
        .logs()
        .read(t - TimeDelta::minutes(1), t + TimeDelta::minutes(1))
        .send()
        .await
        .unwrap();
    let got: Vec<(&str, &Severity)> = logs
        .lines
        .iter()
        .map(|l| (l.message.as_str(), &l.severity))
        .collect();
    assert_eq!(
        got,
        [
            (
                "first",
                &Severity::Name(blaxel_jobs::types::LogSeverity::Info)
            ),
            ("second", &Severity::Missing),
            ("", &Severity::Other("[17]".into())),
            ("third", &Severity::Other("1.5".into())),
        ]
    );
    assert_eq!(logs.lines[1].trace_id.as_deref(), Some("tr"));
    assert_eq!(
        logs.gaps.iter().map(|g| g.reason).collect::<Vec<_>>(),
        [GapReason::Unreadable(1)]
    );
    // The request asked for the whole minutes, to the second, in UTC.
    let line = server.received()[0].line().to_owned();
    assert!(line.contains("limit=1000"), "{line}");
    assert!(line.contains("resourceType=jobs"), "{line}");
    assert!(line.contains("workloadIds=job"), "{line}");
}

#[tokio::test]
async fn a_line_stamped_in_the_future_does_not_make_a_follow_skip_later_lines() {
    let base = now();
    let server = RawServer::start(move |n, _| {
        let mut lines = vec![
            json!({"timestamp": stamp(base + TimeDelta::hours(2)), "message": "future"}),
            json!({"timestamp": stamp(base), "message": "a"}),
        ];
        if n >= 2 {
            lines.insert(
                0,
                json!({"timestamp": stamp(base + TimeDelta::seconds(1)), "message": "b"}),
            );
        }
        let total = lines.len();
        answer(&lines, total)
    })
    .await;
    let client = builder_for(&server.url).build().unwrap();
    let got: Vec<String> = tokio::time::timeout(
        Duration::from_secs(60),
        client
            .job("job")
            .logs()
            .follow()
            .poll_interval(Duration::from_millis(5))
            .since(base - TimeDelta::minutes(1))
            .map(|l| l.expect("a line").message)
            .take(3)
            .collect(),
    )
    .await
    .expect("three lines");
    assert_eq!(got, ["a", "future", "b"]);
}

#[tokio::test(start_paused = true)]
async fn a_follow_waits_out_failures_that_pass_and_ends_on_those_that_do_not() {
    let base = now();
    let server = RawServer::start(move |n, _| match n {
        0 => Reply::http("503 Service Unavailable", &[("retry-after", "7")], ""),
        1 => answer(
            &[json!({"timestamp": stamp(base), "message": "after the outage"})],
            1,
        ),
        _ => Reply::json(
            "400 Bad Request",
            r#"{"code":400,"error":"validation_error","message":"no"}"#,
        ),
    })
    .await;
    let client = builder_for(&server.url)
        .retry(common::fast_retry().with_max_attempts(5))
        .build()
        .unwrap();
    let started = tokio::time::Instant::now();
    let items: Vec<Result<String, Error>> = client
        .job("job")
        .logs()
        .follow()
        .poll_interval(Duration::from_secs(1))
        .since(base - TimeDelta::minutes(1))
        .map(|r| r.map(|l| l.message))
        .collect()
        .await;
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0].as_ref().unwrap(), "after the outage");
    let err = items[1].as_ref().unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
    // One request each: the follow's polls are not retried by the client,
    // and it waited out the server's Retry-After.
    assert_eq!(server.received().len(), 3);
    assert!(started.elapsed() >= Duration::from_secs(7));
}
