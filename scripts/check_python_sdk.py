"""Blaxel's official Python SDK against the emulator.

Run by scripts/check-python-sdk.sh, which installs the SDK into a venv and
builds the emulator. Usage:

    python check_python_sdk.py <path to the blaxel-jobs-emulator binary>

Starts the emulator binary on a free loopback port (twice: once as it is,
once answering executions without their tasks, as Blaxel may), points the
SDK at it with nothing changed but the base URL (so it sends its own default
Blaxel-Version), runs all eleven job operations and asserts their answers.
Exits non-zero on the first failed check.
"""

import os
import subprocess
import sys
import tempfile
import time

API_KEY = "python-sdk-check-key"
WORKSPACE = "python-check"
EXPECTED_SDK_VERSION = os.environ.get("EXPECTED_BLAXEL_VERSION", "0.4.24")


def start_emulator(binary, *extra):
    """Starts the emulator on a free port; returns (process, base URL)."""
    proc = subprocess.Popen(
        [binary, "--port", "0", "--speed", "50", "--api-key", API_KEY, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    line = proc.stdout.readline()
    prefix = "Blaxel Jobs emulator listening on "
    if not line.startswith(prefix):
        proc.kill()
        raise SystemExit(f"the emulator did not start: {line!r}")
    url = line[len(prefix):].strip()
    if not url.startswith("http://127.0.0.1:"):
        proc.kill()
        raise SystemExit(f"the emulator is not on loopback: {url}")
    return proc, url


def configure_environment():
    """Only what the SDK needs to authenticate; no config file, no telemetry."""
    for name in list(os.environ):
        if name.startswith("BL_") or name == "DO_NOT_TRACK":
            del os.environ[name]
    os.environ["HOME"] = tempfile.mkdtemp(prefix="blaxel-home-")
    os.environ["BL_API_KEY"] = API_KEY
    os.environ["BL_WORKSPACE"] = WORKSPACE


def check(condition, what):
    if not condition:
        raise AssertionError(what)
    print(f"  ok  {what}")


def run_operations(url, tasks_apart):
    from blaxel.core.client import client
    from blaxel.core.client.api.jobs import (
        create_job,
        create_job_execution,
        delete_job,
        delete_job_execution,
        get_job,
        get_job_execution,
        list_job_execution_tasks,
        list_job_executions,
        list_job_revisions,
        list_jobs,
        update_job,
    )
    from blaxel.core.client.models import CreateJobExecutionRequest, Job
    from blaxel.core.client.types import UNSET
    from blaxel.core.common.settings import settings

    # The only change to the SDK's defaults: where the control plane is.
    client.with_base_url(url)
    version = settings.api_version
    print(f"  SDK sends Blaxel-Version {version}")

    name = "py-check-apart" if tasks_apart else "py-check"
    job = Job.from_dict(
        {
            "metadata": {"name": name, "externalId": f"ext-{name}", "labels": {"team": "sdk"}},
            "spec": {
                "runtime": {"memory": 1024, "timeout": 600, "maxRetries": 0},
                "triggers": [
                    {"type": "cron", "configuration": {"schedule": "0 3 * * *", "tasks": [{"a": 1}]}}
                ],
            },
        }
    )

    # 1. CreateJob
    r = create_job.sync_detailed(client=client, body=job)
    check(r.status_code == 200, f"CreateJob answers 200 ({r.status_code}: {r.content[:200]!r})")
    check(r.parsed.metadata.name == name, "CreateJob returns the job")

    # 2. GetJob
    r = get_job.sync_detailed(name, client=client)
    check(r.status_code == 200, "GetJob answers 200")
    check(str(r.parsed.status) in ("DEPLOYING", "DEPLOYED"), f"GetJob status {r.parsed.status}")

    # 3. ListJobs, with the externalId filter
    r = list_jobs.sync_detailed(client=client, external_id=f"ext-{name}")
    check(r.status_code == 200, "ListJobs answers 200")
    page = r.parsed
    check([j.metadata.name for j in page.data] == [name], "ListJobs filters by externalId")
    check(page.meta.total_is_partial is False, "ListJobs meta.totalIsPartial is false")
    r = list_jobs.sync_detailed(client=client, external_id="ext-nobody")
    check(r.status_code == 200 and r.parsed.data == [], "ListJobs with an unknown externalId is empty")

    # 4. UpdateJob
    job.spec.runtime.memory = 2048
    r = update_job.sync_detailed(name, client=client, body=job)
    check(r.status_code == 200, "UpdateJob answers 200")
    check(r.parsed.spec.runtime.memory == 2048, "UpdateJob stores the new memory")

    # 5. ListJobRevisions
    r = list_job_revisions.sync_detailed(name, client=client)
    check(r.status_code == 200, "ListJobRevisions answers 200")
    check(len(r.parsed) == 2, f"two revisions ({len(r.parsed)})")

    # The job deploys (simulated time runs 50x).
    deadline = time.monotonic() + 30
    while str(get_job.sync(name, client=client).status) != "DEPLOYED":
        if time.monotonic() > deadline:
            raise AssertionError("the job never deployed")
        time.sleep(0.05)

    # 6. CreateJobExecution
    body = CreateJobExecutionRequest.from_dict(
        {"tasks": [{"shard": i, "durationSeconds": 5} for i in range(4)]}
    )
    r = create_job_execution.sync_detailed(name, client=client, body=body)
    check(r.status_code == 200, f"CreateJobExecution answers 200 ({r.status_code}: {r.content[:200]!r})")
    execution_id = r.parsed.execution_id
    check(bool(execution_id), "CreateJobExecution returns an executionId")

    # 7. GetJobExecution, until it succeeds
    deadline = time.monotonic() + 30
    while True:
        r = get_job_execution.sync_detailed(name, execution_id, client=client)
        if r.status_code != 200:
            raise AssertionError(f"GetJobExecution answered {r.status_code}: {r.content[:200]!r}")
        execution = r.parsed
        if str(execution.status) == "succeeded":
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"execution still {execution.status}")
        time.sleep(0.1)
    check(execution.spec.task_count == 4, "GetJobExecution answers 200, spec.taskCount is 4")
    check(execution.stats.success == 4, "all four tasks succeeded")
    if tasks_apart:
        check(execution.tasks is UNSET or not execution.tasks, "tasks are left out of the execution")
        check(isinstance(execution.spec.tasks_ref, str), "spec.tasksRef is set")
    else:
        check(len(execution.tasks) == 4, "the execution lists its four tasks")

    # 8. ListJobExecutions
    r = list_job_executions.sync_detailed(name, client=client)
    check(r.status_code == 200, "ListJobExecutions answers 200")
    check([e.metadata.id for e in r.parsed.data] == [execution_id], "ListJobExecutions lists it")
    check(r.parsed.meta.total == 1, "ListJobExecutions meta.total is 1")

    # 9. ListJobExecutionTasks, two pages
    r = list_job_execution_tasks.sync_detailed(name, execution_id, client=client, limit=3)
    check(r.status_code == 200, "ListJobExecutionTasks answers 200")
    first = r.parsed
    check(len(first.data) == 3 and first.meta.has_more, "the first page has 3 tasks and more")
    r = list_job_execution_tasks.sync_detailed(
        name, execution_id, client=client, limit=3, cursor=first.meta.next_cursor
    )
    check(len(r.parsed.data) == 1 and not r.parsed.meta.has_more, "the second page has the last task")
    statuses = {str(t.status) for t in first.data + r.parsed.data}
    check(statuses == {"succeeded"}, f"every task succeeded ({statuses})")

    # 10. DeleteJobExecution (cancel a long one)
    body = CreateJobExecutionRequest.from_dict({"tasks": [{"durationSeconds": 100000}]})
    long_id = create_job_execution.sync(name, client=client, body=body).execution_id
    r = delete_job_execution.sync_detailed(name, long_id, client=client)
    check(r.status_code == 200, "DeleteJobExecution answers 200")
    check(str(r.parsed.status) in ("cancelling", "cancelled"), f"cancelled ({r.parsed.status})")

    # 11. DeleteJob
    r = delete_job.sync_detailed(name, client=client)
    check(r.status_code == 200, "DeleteJob answers 200")
    check(str(r.parsed.status) == "DELETING", "DeleteJob answers DELETING")
    from blaxel.core.client.errors import UnexpectedStatus

    try:
        get_job.sync_detailed(name, client=client)
        raise AssertionError("the deleted job is still there")
    except UnexpectedStatus as e:
        check(e.status_code == 404, f"the deleted job is gone ({e.status_code})")
    return version


def check_platform_error(url):
    """A wrong key gets the documented platform envelope."""
    import json
    import urllib.request

    req = urllib.request.Request(
        f"{url}/jobs",
        headers={"X-Blaxel-Authorization": "Bearer wrong", "X-Blaxel-Workspace": WORKSPACE},
    )
    try:
        urllib.request.urlopen(req)
        raise AssertionError("a wrong key was accepted")
    except urllib.error.HTTPError as e:
        body = json.loads(e.read())
        check(e.code == 401, "a wrong key gets 401")
        check(e.headers.get("X-Blaxel-Source") == "platform", "with X-Blaxel-Source: platform")
        check(body["error"]["origin"] == "platform", "error.origin is platform")
        check(isinstance(body["error"]["timestamp"], str), "error.timestamp is set")


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    binary = sys.argv[1]
    configure_environment()
    import blaxel

    print(f"blaxel {blaxel.__version__}")
    if blaxel.__version__ != EXPECTED_SDK_VERSION:
        raise SystemExit(f"expected blaxel {EXPECTED_SDK_VERSION}, found {blaxel.__version__}")

    for label, extra, apart in [
        ("emulator as started by default", (), False),
        ("emulator with --tasks-apart-from 3", ("--tasks-apart-from", "3"), True),
    ]:
        print(f"{label}:")
        proc, url = start_emulator(binary, *extra)
        try:
            version = run_operations(url, apart)
            check_platform_error(url)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    print(f"PASS: blaxel {blaxel.__version__} (Blaxel-Version {version}) ran all 11 job operations")


if __name__ == "__main__":
    main()
