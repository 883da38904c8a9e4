//! Realistic request and response bodies: a job of about 1.2 KB, a page of
//! 100 jobs (about 120 KB), an execution with 100 tasks, and the job
//! definition a user sends to CreateJob.
//!
//! Every value is built from JSON so that it also exercises the generated
//! types' decoding; the JSON is compact, as servers send it.

use blaxel_jobs_client::types;
use serde_json::{Value, json};

/// The name of the job the fixtures describe (and GetJob asks for).
pub const JOB_NAME: &str = "nightly-report";

/// A job definition as a user writes it for CreateJob: labels, three
/// environment variables (one secret), ports, two triggers (cron with task
/// parameters, and HTTP) and a scratch volume.
pub fn job_definition_json(name: &str) -> Value {
    json!({
        "metadata": {
            "name": name,
            "displayName": "Nightly sales report",
            "labels": {"team": "analytics", "env": "production", "cost-center": "cc-4410"}
        },
        "spec": {
            "enabled": true,
            "region": "eu-lon-1",
            "policies": ["eu-only"],
            "runtime": {
                "envs": [
                    {"name": "LOG_LEVEL", "value": "info"},
                    {"name": "REPORT_BUCKET", "value": "s3://acme-reports/nightly"},
                    {"name": "DATABASE_URL", "secret": true, "value": "***"}
                ],
                "generation": "mk3",
                "image": "ghcr.io/acme-analytics/nightly-report:1.4.2",
                "maxRetries": 3,
                "memory": 4096,
                "ports": [{"name": "metrics", "protocol": "HTTP", "target": 9090}],
                "timeout": 3600
            },
            "triggers": [
                {
                    "id": "nightly",
                    "type": "cron",
                    "enabled": true,
                    "configuration": {
                        "schedule": "0 3 * * *",
                        "tasks": [
                            {"region": "emea", "format": "pdf"},
                            {"region": "amer", "format": "pdf"}
                        ]
                    }
                },
                {
                    "id": "on-demand",
                    "type": "http",
                    "enabled": true,
                    "configuration": {"path": "/run", "authenticationType": "blaxel", "retry": 1}
                }
            ],
            "volumes": [
                {"name": "scratch", "mountPath": "/scratch", "type": "ephemeral", "sizeMb": 10240}
            ]
        }
    })
}

/// A job as the server returns it: the definition plus the fields the
/// server fills in (workspace, timestamps, authors, status). About 1.2 KB
/// of compact JSON.
pub fn job_json(name: &str) -> Value {
    let mut job = job_definition_json(name);
    let meta = job["metadata"]
        .as_object_mut()
        .expect("metadata is an object");
    for (k, v) in [
        ("workspace", "acme-analytics"),
        ("plan", "pro"),
        ("createdAt", "2026-10-28T14:02:11Z"),
        ("updatedAt", "2026-11-02T08:15:00Z"),
        ("createdBy", "alice@acme.example"),
        ("updatedBy", "ci-deployer@acme-analytics"),
    ] {
        meta.insert(k.into(), Value::String(v.into()));
    }
    job["spec"]["revision"] = json!({"active": "rev-7c1e2f0a", "traffic": 100});
    job["status"] = json!("DEPLOYED");
    job
}

/// A page of jobs named `job-{first}` … as [`types::JobList`] JSON, with
/// `meta.hasMore` and `meta.nextCursor` as given.
pub fn job_list_json(first: u64, count: u64, next_cursor: Option<&str>) -> Value {
    let data: Vec<Value> = (first..first + count)
        .map(|i| job_json(&format!("job-{i:06}")))
        .collect();
    json!({
        "data": data,
        "meta": {
            "hasMore": next_cursor.is_some(),
            "nextCursor": next_cursor.unwrap_or(""),
            "total": first + count
        }
    })
}

/// An execution of a job with `tasks` tasks, each with metadata, limits, a
/// status and one condition.
pub fn execution_json(tasks: usize) -> Value {
    let task = |i: usize| {
        json!({
            "metadata": {
                "name": format!("nightly-report-exec-1p8s6gun-task-{i}"),
                "createdAt": "2026-11-03T03:00:00Z",
                "scheduledAt": "2026-11-03T03:00:01Z",
                "startedAt": "2026-11-03T03:00:10Z",
                "completedAt": "2026-11-03T03:04:51Z",
                "updatedAt": "2026-11-03T03:04:51Z"
            },
            "spec": {"maxRetries": 3, "timeout": "1h"},
            "status": if i % 10 == 9 { "failed" } else { "succeeded" },
            "conditions": [
                {"type": "Completed", "state": "True", "reason": "ExitCode0", "severity": "Info",
                 "message": "The task exited with code 0"}
            ]
        })
    };
    json!({
        "metadata": {
            "id": "exec-1p8s6gun",
            "job": JOB_NAME,
            "workspace": "acme-analytics",
            "cluster": "eu-lon-1-c2",
            "createdAt": "2026-11-03T03:00:00Z",
            "startedAt": "2026-11-03T03:00:10Z",
            "completedAt": "2026-11-03T03:11:03Z",
            "updatedAt": "2026-11-03T03:11:03Z"
        },
        "spec": {"parallelism": 10, "timeout": 3600},
        "status": "failed",
        "stats": {"total": tasks, "success": tasks - tasks / 10, "failure": tasks / 10,
                  "running": 0, "cancelled": 0, "retried": 0},
        "tasks": (0..tasks).map(task).collect::<Vec<_>>()
    })
}

/// Compact JSON bytes of a value.
pub fn to_bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("a JSON value always serializes")
}

/// The job definition of [`job_definition_json`] as the generated type.
pub fn job_definition() -> types::Job {
    serde_json::from_value(job_definition_json(JOB_NAME)).expect("the fixture is a valid Job")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_have_the_advertised_sizes_and_decode() {
        let job = to_bytes(&job_json(JOB_NAME));
        assert!(
            (1100..1400).contains(&job.len()),
            "job is {} bytes",
            job.len()
        );
        let _: types::Job = serde_json::from_slice(&job).unwrap();

        let list = to_bytes(&job_list_json(0, 100, None));
        assert!(
            (110_000..140_000).contains(&list.len()),
            "list is {} bytes",
            list.len()
        );
        let page: types::JobList = serde_json::from_slice(&list).unwrap();
        assert_eq!(page.data.len(), 100);

        let exec: types::JobExecution =
            serde_json::from_slice(&to_bytes(&execution_json(100))).unwrap();
        assert_eq!(exec.tasks.len(), 100);

        let def = job_definition();
        assert_eq!(def.spec.volumes.as_ref().map(|v| v.len()), Some(1));
        assert_eq!(def.spec.triggers.as_ref().map(|t| t.len()), Some(2));
    }
}
