"""Blaxel's official Python SDK (`blaxel` on PyPI) against the emulator binary.

Run by scripts/check-python-sdk.sh, which installs the pinned SDK into a
throwaway virtual environment and builds the emulator. Usage:

    check_python_sdk.py EMULATOR_BINARY

The driver (this file, run as above) uses only the standard library. It starts
the emulator binary twice on free loopback ports, with an explicit API key and
OAuth client (never the emulator's defaults), and --until-stdin-closes on a
pipe it never writes to, so that an emulator cannot outlive the check however
the check ends:

  * as started by default, with --run-local-images, so that a job whose image
    is `local:<command>` runs its tasks as real processes;
  * with --tasks-apart-from 3 --count-limit 1, answering as Blaxel does for
    large executions and workspaces.

Each scenario then runs in a fresh Python process (the SDK reads its
credentials once, when it is imported), all at once, each in a workspace of
its own, configured only through the
environment the SDK documents: BL_WORKSPACE with BL_API_KEY, or
BL_CLIENT_CREDENTIALS. Nothing of the SDK's defaults changes but where the
control plane is (the SDK has no setting for that; see `point_sdk_at`), so it
sends its own Blaxel-Version, headers and credentials.

Every answer is checked against the SDK's own models: the generated attrs
classes parse it (`from_dict`), and `conforms` then walks the parsed object
against each class's declared field types (`from_dict` itself checks none:
a count sent as "4" parses), so that a field of the wrong type,
an enum value the SDK does not know or a field the SDK does not declare fails
the check, not only a status other than 2xx. Error bodies are checked against
the SDK's declared error shapes (`BlaxelApiErrorBody`,
`BlaxelPlatformErrorBody`).

Internal modes, started by the driver: `--scenario NAME URL` and `--task`
(the program inside a job's task, built on the SDK's `bl_start_job`).
Exits non-zero on the first failed check.
"""

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

API_KEY = "python-sdk-check-key"
CLIENT_ID = "python-sdk-check-client"
CLIENT_SECRET = "python-sdk-check-secret"
# Each scenario has a workspace of its own (python-check-<scenario>), so that
# scenarios running at once never see each other's jobs.
WORKSPACE_PREFIX = "python-check"
EXPECTED_SDK_VERSION = os.environ.get("EXPECTED_BLAXEL_VERSION")
BANNER = "Blaxel Jobs emulator listening on "
# The SDK sets no HTTP timeout: a scenario that hangs fails after this long.
SCENARIO_TIMEOUT = 180


# ----------------------------------------------------------------- driver


def start_emulator(binary, *extra):
    """Starts the emulator on a free loopback port; returns (process, base URL)."""
    # Tasks inherit the emulator's environment and folder: no credentials of
    # ours, no ~/.blaxel/config.yaml, no .env, no telemetry.
    env = {k: v for k, v in os.environ.items() if not k.startswith("BL_")}
    env["HOME"] = tempfile.mkdtemp(prefix="blaxel-task-home-")
    env["DO_NOT_TRACK"] = "1"
    proc = subprocess.Popen(
        [binary, "--port", "0", "--speed", "50", "--api-key", API_KEY,
         "--client-credentials", f"{CLIENT_ID}:{CLIENT_SECRET}", "--until-stdin-closes", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tempfile.mkdtemp(prefix="blaxel-emulator-"),
    )
    line = proc.stdout.readline()
    if not line.startswith(BANNER):
        proc.kill()
        raise SystemExit(f"FAIL: the emulator did not start: {line!r}")
    url = line[len(BANNER):].strip()
    if not url.startswith("http://127.0.0.1:"):
        proc.kill()
        raise SystemExit(f"FAIL: the emulator is not on loopback: {url}")
    # What it prints next, up to its prompt: the browser logins asked for.
    proc.logins = []
    for line in proc.stdout:
        if line.startswith("Device login:"):
            proc.logins.append(json.loads(line.split(":", 1)[1]))
        if line.startswith("Press Ctrl-C"):
            break
    # Keep reading its output so that it never blocks on a full pipe.
    import threading

    threading.Thread(target=lambda: proc.stdout.read(), daemon=True).start()
    return proc, url


def stop(proc):
    """Stops the emulator as Ctrl-C would (it ends its tasks' processes)."""
    proc.stdin.close()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def write_login_config(home, login):
    """~/.blaxel/config.yaml as a browser `bl login` leaves it (Blaxel's Go
    SDK, WriteConfig: no env for production, tokens unquoted)."""
    os.makedirs(os.path.join(home, ".blaxel"))
    with open(os.path.join(home, ".blaxel", "config.yaml"), "w", encoding="utf-8") as f:
        f.write(
            f"context:\n  workspace: {login['workspace']}\n"
            f"workspaces:\n- name: {login['workspace']}\n  credentials:\n"
            f"    access_token: {login['access_token']}\n"
            f"    refresh_token: {login['refresh_token']}\n"
            f"    expires_in: {login['expires_in']}\n"
            f"    device_code: {login['device_code']}\n"
            "tracking: false\n"
        )


def scenario_env(name, credentials):
    """The environment of a scenario: the SDK's own variables, nothing else
    of ours (for a browser login, only the config file `bl login` writes)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BL_")}
    env["HOME"] = tempfile.mkdtemp(prefix="blaxel-home-")  # no ~/.blaxel/config.yaml
    env["DO_NOT_TRACK"] = "1"
    if isinstance(credentials, dict):
        write_login_config(env["HOME"], credentials)
        env["CHECK_LOGIN"] = json.dumps(credentials)
        return env
    env["BL_WORKSPACE"] = f"{WORKSPACE_PREFIX}-{name}"
    if credentials == "api-key":
        env["BL_API_KEY"] = API_KEY
    else:
        env["BL_CLIENT_CREDENTIALS"] = base64.b64encode(
            f"{CLIENT_ID}:{CLIENT_SECRET}".encode()
        ).decode()
    return env


def run_scenarios(scenarios):
    """Runs (name, url, credentials) scenarios at once, each in its own process
    and folder; prints each one's output in order. Fails if any failed."""
    import threading

    def collect(entry):
        try:
            entry["output"], _ = entry["proc"].communicate(timeout=SCENARIO_TIMEOUT)
        except subprocess.TimeoutExpired:
            entry["proc"].kill()
            output, _ = entry["proc"].communicate()
            entry["output"] = output + f"FAIL: the scenario did not end within {SCENARIO_TIMEOUT} s\n"
        entry["seconds"] = time.monotonic() - entry["started"]

    running = []
    for name, url, credentials in scenarios:
        # A folder of its own: the SDK reads .env and blaxel.toml from there.
        proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--scenario", name, url],
            env=scenario_env(name, credentials),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=tempfile.mkdtemp(prefix="blaxel-py-check-"),
        )
        shown = "browser login" if isinstance(credentials, dict) else credentials
        entry = {"name": name, "credentials": shown, "proc": proc, "started": time.monotonic()}
        entry["thread"] = threading.Thread(target=collect, args=(entry,))
        entry["thread"].start()
        running.append(entry)
    failed = []
    for entry in running:
        entry["thread"].join()
        print(f"--- {entry['name']} ({entry['credentials']}), {entry['seconds']:.1f}s", flush=True)
        print(entry["output"], end="", flush=True)
        if entry["proc"].returncode != 0:
            failed.append(entry["name"])
    if failed:
        raise SystemExit(f"FAIL: scenarios failed: {', '.join(failed)}")


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    binary = os.path.abspath(sys.argv[1])
    # Every folder of the run (homes, working folders, the tasks' output)
    # under one, removed at the end; TMPDIR passes it on to the processes.
    root = tempfile.mkdtemp(prefix="blaxel-python-sdk-check-")
    os.environ["TMPDIR"] = tempfile.tempdir = root
    try:
        run_all(binary)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run_all(binary):
    default, url = start_emulator(binary, "--run-local-images")
    try:
        large, large_url = start_emulator(binary, "--tasks-apart-from", "3", "--count-limit", "1")
        try:
            # Access tokens shorter-lived than the 10 minutes before expiry at
            # which the SDK renews: it renews before every request.
            device, device_url = start_emulator(
                binary, "--token-ttl", "120", "--rotate-refresh-tokens",
                "--device-login", f"{WORKSPACE_PREFIX}-browser-login",
            )
            try:
                # Independent (each its own jobs), so they run at once.
                run_scenarios([
                    ("operations", url, "api-key"),
                    ("async-operations", url, "api-key"),
                    ("helpers", url, "api-key"),
                    ("errors", url, "api-key"),
                    ("client-credentials", url, "client-credentials"),
                    ("task-side", url, "api-key"),
                    ("large", large_url, "api-key"),
                    ("browser-login", device_url, device.logins[0]),
                ])
            finally:
                stop(device)
        finally:
            stop(large)
    finally:
        stop(default)
    print(f"PASS: blaxel {EXPECTED_SDK_VERSION} against the emulator: all 11 job operations "
          "(sync and async), the job helpers, errors, paging, client credentials, a "
          "browser login and bl_start_job inside a task")


# ----------------------------------------------------------------- checks


def check(condition, what):
    if not condition:
        raise AssertionError(what)
    print(f"  ok  {what}", flush=True)


class Conformance:
    """Checks parsed values against the types the SDK declares for them."""

    def __init__(self):
        import importlib

        # By module name: the package attribute `blaxel.core.client` is the
        # SDK's client object, not the module.
        models = importlib.import_module("blaxel.core.client.models")
        client_types = importlib.import_module("blaxel.core.client.types")

        import typing

        self.namespace = {**vars(typing), **vars(models), **vars(client_types)}
        self.cache = {}

    def hints(self, cls):
        import typing

        if cls not in self.cache:
            self.cache[cls] = typing.get_type_hints(
                cls, globalns=self.namespace, localns=self.namespace
            )
        return self.cache[cls]

    def problems(self, value, hint, path):
        out = []
        self.walk(value, hint, path, out)
        return out

    def walk(self, value, hint, path, out):
        import enum
        import types
        import typing

        import attrs
        from blaxel.core.client.types import Unset

        if hint is typing.Any or hint is object:
            return
        origin = typing.get_origin(hint)
        args = typing.get_args(hint)
        if origin in (typing.Union, types.UnionType):
            attempts = [self.problems(value, member, path) for member in args]
            if any(not a for a in attempts):
                return
            # A member the value is an instance of, with problems further
            # down, says more than "none of": report its problems.
            deeper = [a for a in attempts if not any(p.startswith(f"{path}: ") for p in a)]
            if deeper:
                out.extend(min(deeper, key=len))
            else:
                out.append(f"{path}: {short(value)} is none of {pretty(hint)}")
            return
        if origin is typing.Literal:
            if value not in args:
                out.append(f"{path}: {short(value)} is not one of {list(args)}")
            return
        if hint is type(None):
            if value is not None:
                out.append(f"{path}: {short(value)} is not None")
            return
        if hint is Unset:
            if not isinstance(value, Unset):
                out.append(f"{path}: {short(value)} is not UNSET")
            return
        if origin is list:
            if not isinstance(value, list):
                out.append(f"{path}: {short(value)} is not a list")
                return
            for i, item in enumerate(value):
                self.walk(item, args[0] if args else typing.Any, f"{path}[{i}]", out)
            return
        if origin is dict:
            if not isinstance(value, dict):
                out.append(f"{path}: {short(value)} is not a dict")
                return
            for k, v in value.items():
                if not isinstance(k, str):
                    out.append(f"{path}: key {k!r} is not a string")
                self.walk(v, args[1] if len(args) == 2 else typing.Any, f"{path}.{k}", out)
            return
        if typing.is_typeddict(hint):
            if not isinstance(value, dict):
                out.append(f"{path}: {short(value)} is not a {hint.__name__} object")
                return
            fields = self.hints(hint)
            for key in sorted(hint.__required_keys__ - value.keys()):
                out.append(f"{path}.{key}: required by {hint.__name__}, missing")
            # The SDK reads error bodies by looking keys up: keys it does not
            # declare (the API's `message`) are allowed, declared ones checked.
            for key, v in value.items():
                if key in fields:
                    self.walk(v, fields[key], f"{path}.{key}", out)
            return
        if not isinstance(hint, type):
            out.append(f"{path}: cannot check against {hint!r}")
            return
        if attrs.has(hint):
            if value is None:
                # The generated from_dict is declared to return None for an
                # empty or null object; the SDK reads `{}` that way.
                return
            if not isinstance(value, hint):
                out.append(f"{path}: {short(value)} is not a {hint.__name__}")
                return
            fields = self.hints(hint)
            declared = [f.name for f in attrs.fields(hint) if f.name != "additional_properties"]
            for name in declared:
                self.walk(getattr(value, name), fields[name], f"{path}.{name}", out)
            extra = getattr(value, "additional_properties", {})
            if declared:
                for key in extra:
                    out.append(f"{path}.{key}: not declared by {hint.__name__}")
            elif "additional_properties" in fields:
                # A map type (labels, env overrides, free-form task parameters).
                self.walk(extra, fields["additional_properties"], path, out)
            return
        if issubclass(hint, enum.Enum):
            if not isinstance(value, hint):
                out.append(f"{path}: {short(value)} is not a {hint.__name__}")
            return
        if hint is bool or hint is int or hint is str:
            if type(value) is not hint:
                out.append(f"{path}: {short(value)} is not {hint.__name__}")
            return
        if hint is float:
            if type(value) not in (int, float):
                out.append(f"{path}: {short(value)} is not a number")
            return
        if not isinstance(value, hint):
            out.append(f"{path}: {short(value)} is not {hint.__name__}")


def short(value):
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def type_name(hint):
    import typing

    return pretty(hint) if typing.get_origin(hint) else hint.__name__


def pretty(hint):
    """A type as the SDK's sources spell it, without module paths."""
    import re

    return re.sub(r"\b[a-z_][a-z0-9_.]*\.(?=[A-Z])", "", str(hint))


CONFORMANCE = None


def conforms(value, hint, what):
    """Fails unless `value` is what the SDK declares `hint` to be."""
    global CONFORMANCE
    if CONFORMANCE is None:
        CONFORMANCE = Conformance()
    name = type_name(hint)
    problems = CONFORMANCE.problems(value, hint, name)
    if problems:
        raise AssertionError(
            f"{what}: the answer does not match the SDK's {name}:\n    "
            + "\n    ".join(problems)
        )
    return value


def answer(response, model, what):
    """A 200 answer, parsed by the SDK, that conforms to `model`."""
    if response.status_code != 200:
        raise AssertionError(
            f"{what}: {int(response.status_code)} {response.content[:300]!r}"
        )
    json.loads(response.content)  # valid JSON
    conforms(response.parsed, model, what)
    check(True, f"{what}: 200, the answer reads as the SDK's {type_name(model)}")
    return response.parsed


# ----------------------------------------------------------------- SDK set-up


def import_sdk():
    import blaxel

    if blaxel.__version__ != EXPECTED_SDK_VERSION:
        raise SystemExit(f"FAIL: expected blaxel {EXPECTED_SDK_VERSION}, found {blaxel.__version__}")
    return blaxel


def point_sdk_at(url):
    """Where the control plane is: the only setting the check changes.

    The SDK takes its control-plane URL from BL_ENV alone (it ignores
    BL_API_URL), so the check points its client, and its client-credentials
    token endpoint (derived from the same URL when the SDK is imported), at
    the emulator.
    """
    from blaxel.core.client import client
    from blaxel.core.common.settings import settings

    client.with_base_url(url)
    settings.auth.base_url = url
    return client, settings


def job_body(name, **runtime):
    from blaxel.core.client.models import Job

    return Job.from_dict(
        {
            "metadata": {
                "name": name,
                "displayName": f"Python SDK check {name}",
                "externalId": f"ext-{name}",
                "labels": {"team": "sdk", "check": "python"},
            },
            "spec": {
                "runtime": {"memory": 1024, "timeout": 600, "maxRetries": 0, **runtime},
                "triggers": [
                    {"type": "cron", "configuration": {"schedule": "0 3 * * *", "tasks": [{"a": 1}]}}
                ],
            },
        }
    )


def wait_deployed(name, client):
    from blaxel.core.client.api.jobs import get_job

    deadline = time.monotonic() + 30
    while str(get_job.sync(name, client=client).status) != "DEPLOYED":
        if time.monotonic() > deadline:
            raise AssertionError(f"job {name} never deployed")
        time.sleep(0.05)


def wait_final(name, execution_id, client):
    """Polls GetJobExecution until the execution is final; returns it."""
    from blaxel.core.client.api.jobs import get_job_execution
    from blaxel.core.client.models import JobExecution

    deadline = time.monotonic() + 60
    while True:
        r = get_job_execution.sync_detailed(name, execution_id, client=client)
        execution = conforms(r.parsed, JobExecution, "GetJobExecution")
        if str(execution.status) in ("succeeded", "failed", "cancelled", "timeout"):
            return execution
        if time.monotonic() > deadline:
            raise AssertionError(f"execution {execution_id} still {execution.status}")
        time.sleep(0.05)


def create_execution(name, client, tasks):
    from blaxel.core.client.api.jobs import create_job_execution
    from blaxel.core.client.models import CreateJobExecutionOutput, CreateJobExecutionRequest

    body = CreateJobExecutionRequest.from_dict({"tasks": tasks})
    r = create_job_execution.sync_detailed(name, client=client, body=body)
    out = answer(r, CreateJobExecutionOutput, "CreateJobExecution")
    check(isinstance(out.execution_id, str) and out.execution_id, "it returns an executionId")
    return out.execution_id


# ----------------------------------------------------------------- scenarios


def scenario_operations(url):
    """Every job operation through the generated functions (sync_detailed)."""
    from blaxel.core.client.api.jobs import (
        create_job,
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
    from blaxel.core.client.models import (
        Job,
        JobExecution,
        JobExecutionList,
        JobExecutionTaskList,
        JobList,
        ListJobsSort,
        RevisionMetadata,
    )
    from blaxel.core.client.errors import UnexpectedStatus

    client, settings = point_sdk_at(url)
    print(f"  the SDK sends Blaxel-Version {settings.api_version}")
    names = ["py-ops-a", "py-ops-b", "py-ops-c"]

    # CreateJob (three, for paging)
    for name in names:
        job = answer(create_job.sync_detailed(client=client, body=job_body(name)), Job,
                     f"CreateJob {name}")
        check(job.metadata.name == name, "CreateJob returns the job")
    check(job.metadata.labels.additional_properties == {"team": "sdk", "check": "python"},
          "labels come back as sent")
    check(job.metadata.created_by == "user@emulator.local", "createdBy is the API key's owner")

    # GetJob
    job = answer(get_job.sync_detailed(names[0], client=client), Job, "GetJob")
    check(str(job.status) in ("DEPLOYING", "DEPLOYED"), f"GetJob status is {job.status}")
    check(job.spec.triggers[0].id, "the trigger got an id")

    # ListJobs: filters, then three pages of one
    page = answer(list_jobs.sync_detailed(client=client, external_id=f"ext-{names[1]}"),
                  JobList, "ListJobs (externalId)")
    check([j.metadata.name for j in page.data] == [names[1]], "ListJobs filters by externalId")
    check(page.meta.total_is_partial is False, "meta.totalIsPartial is false")
    seen, cursor, pages = [], None, 0
    while True:
        kwargs = {"cursor": cursor} if cursor else {}
        page = answer(list_jobs.sync_detailed(client=client, limit=1, sort=ListJobsSort.NAMEASC, **kwargs),
                      JobList, f"ListJobs page {pages + 1} (limit 1)")
        pages += 1
        seen += [j.metadata.name for j in page.data]
        if not page.meta.has_more:
            break
        check(isinstance(page.meta.next_cursor, str) and page.meta.next_cursor,
              "a page with more carries nextCursor")
        cursor = page.meta.next_cursor
    check(seen == names and pages == 3, f"ListJobs pages through all three jobs in order ({seen})")
    page = answer(list_jobs.sync_detailed(client=client, q="ops-b", status="DEPLOYING,DEPLOYED"),
                  JobList, "ListJobs (q, status)")
    check([j.metadata.name for j in page.data] == [names[1]], "ListJobs searches with q")

    # UpdateJob
    body = job_body(names[0], memory=2048)
    job = answer(update_job.sync_detailed(names[0], client=client, body=body), Job, "UpdateJob")
    check(job.spec.runtime.memory == 2048, "UpdateJob stores the new memory")

    # ListJobRevisions
    r = list_job_revisions.sync_detailed(names[0], client=client)
    revisions = answer(r, list[RevisionMetadata], "ListJobRevisions")
    check(len(revisions) == 2, f"two revisions ({len(revisions)})")

    wait_deployed(names[0], client)

    # CreateJobExecution, GetJobExecution
    ids = [create_execution(names[0], client, [{"shard": i, "durationSeconds": 5} for i in range(4)])
           for _ in range(2)]
    execution = answer(get_job_execution.sync_detailed(names[0], ids[0], client=client),
                       JobExecution, "GetJobExecution")
    check(execution.metadata.id == ids[0], "GetJobExecution answers the execution asked for")
    execution = wait_final(names[0], ids[0], client)
    check(str(execution.status) == "succeeded", "the execution succeeds")
    check(execution.spec.task_count == 4 and len(execution.tasks) == 4,
          "spec.taskCount is 4 and the execution lists its tasks")
    check(execution.stats.success == 4 and execution.stats.total == 4, "stats count 4 successes")

    # ListJobExecutions, two pages of one
    first = answer(list_job_executions.sync_detailed(names[0], client=client, limit=1),
                   JobExecutionList, "ListJobExecutions (limit 1)")
    check(len(first.data) == 1 and first.meta.has_more and first.meta.total == 2,
          "the first page has one execution, more to come, total 2")
    second = answer(list_job_executions.sync_detailed(names[0], client=client, limit=1,
                                                      cursor=first.meta.next_cursor),
                    JobExecutionList, "ListJobExecutions (cursor)")
    check(not second.meta.has_more
          and {first.data[0].metadata.id, second.data[0].metadata.id} == set(ids),
          "the second page has the other execution")

    # ListJobExecutionTasks, two pages
    first = answer(list_job_execution_tasks.sync_detailed(names[0], ids[0], client=client, limit=3),
                   JobExecutionTaskList, "ListJobExecutionTasks (limit 3)")
    check(len(first.data) == 3 and first.meta.has_more, "the first page has 3 tasks and more")
    second = answer(list_job_execution_tasks.sync_detailed(names[0], ids[0], client=client,
                                                           limit=3, cursor=first.meta.next_cursor),
                    JobExecutionTaskList, "ListJobExecutionTasks (cursor)")
    check(len(second.data) == 1 and not second.meta.has_more, "the second page has the last task")
    statuses = {str(t.status) for t in first.data + second.data}
    check(statuses == {"succeeded"}, f"every task succeeded ({statuses})")

    # DeleteJobExecution: cancel a long one
    long_id = create_execution(names[0], client, [{"durationSeconds": 100000}])
    execution = answer(delete_job_execution.sync_detailed(names[0], long_id, client=client),
                       JobExecution, "DeleteJobExecution")
    check(str(execution.status) in ("cancelling", "cancelled"), f"cancelled ({execution.status})")

    # DeleteJob
    for name in names:
        job = answer(delete_job.sync_detailed(name, client=client), Job, f"DeleteJob {name}")
        check(str(job.status) == "DELETING", "DeleteJob answers DELETING")
    try:
        get_job.sync_detailed(names[0], client=client)
        raise AssertionError("the deleted job is still there")
    except UnexpectedStatus as e:
        check(e.status_code == 404, f"the deleted job is gone ({e.status_code})")


def scenario_async_operations(url):
    """The same operations through the async functions (the SDK's async httpx client)."""
    import asyncio

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
    from blaxel.core.client.models import (
        CreateJobExecutionOutput,
        CreateJobExecutionRequest,
        Job,
        JobExecution,
        JobExecutionList,
        JobExecutionTaskList,
        JobList,
        RevisionMetadata,
    )

    client, _ = point_sdk_at(url)
    name = "py-async"

    async def tour():
        answer(await create_job.asyncio_detailed(client=client, body=job_body(name)), Job,
               "CreateJob (async)")
        answer(await get_job.asyncio_detailed(name, client=client), Job, "GetJob (async)")
        page = answer(await list_jobs.asyncio_detailed(client=client, external_id=f"ext-{name}"),
                      JobList, "ListJobs (async)")
        check([j.metadata.name for j in page.data] == [name], "it lists the job")
        answer(await update_job.asyncio_detailed(name, client=client, body=job_body(name, memory=512)),
               Job, "UpdateJob (async)")
        answer(await list_job_revisions.asyncio_detailed(name, client=client),
               list[RevisionMetadata], "ListJobRevisions (async)")
        while str((await get_job.asyncio(name, client=client)).status) != "DEPLOYED":
            await asyncio.sleep(0.05)
        body = CreateJobExecutionRequest.from_dict({"tasks": [{"durationSeconds": 100000}] * 2})
        out = answer(await create_job_execution.asyncio_detailed(name, client=client, body=body),
                     CreateJobExecutionOutput, "CreateJobExecution (async)")
        answer(await get_job_execution.asyncio_detailed(name, out.execution_id, client=client),
               JobExecution, "GetJobExecution (async)")
        page = answer(await list_job_executions.asyncio_detailed(name, client=client),
                      JobExecutionList, "ListJobExecutions (async)")
        check([e.metadata.id for e in page.data] == [out.execution_id], "it lists the execution")
        tasks = answer(await list_job_execution_tasks.asyncio_detailed(name, out.execution_id,
                                                                       client=client),
                       JobExecutionTaskList, "ListJobExecutionTasks (async)")
        check(len(tasks.data) == 2, "it lists both tasks")
        answer(await delete_job_execution.asyncio_detailed(name, out.execution_id, client=client),
               JobExecution, "DeleteJobExecution (async)")
        answer(await delete_job.asyncio_detailed(name, client=client), Job, "DeleteJob (async)")

    asyncio.run(tour())


def scenario_helpers(url):
    """The high-level job helpers, sync and async: bl_job(name).run, wait, list, cancel."""
    import asyncio

    from blaxel.core.client.api.jobs import create_job, delete_job
    from blaxel.core.client.models import CreateJobExecutionRequest, Job, JobExecution
    from blaxel.core.jobs import bl_job

    client, _ = point_sdk_at(url)
    name = "py-helpers"
    answer(create_job.sync_detailed(client=client, body=job_body(name)), Job, "CreateJob")
    wait_deployed(name, client)
    job = bl_job(name)

    first = job.run([{"shard": 0, "durationSeconds": 5}, {"shard": 1, "durationSeconds": 5}],
                    env={"MODE": "check"}, memory=512)
    check(isinstance(first, str) and first, f"run returns an execution id ({first})")
    second = job.create_execution(
        CreateJobExecutionRequest.from_dict({"tasks": [{"durationSeconds": 5}]})
    )
    check(isinstance(second, str) and second != first, "create_execution returns another id")
    execution = conforms(job.get_execution(first), JobExecution, "get_execution")
    check(execution.spec.memory_override == 512, "get_execution: spec.memoryOverride is 512")
    check(execution.spec.env_override.additional_properties == {"MODE": "***"},
          "get_execution: spec.envOverride names the override, value masked")
    status = job.get_execution_status(first)
    check(status in ("queued", "pending", "running", "succeeded"), f"get_execution_status: {status}")
    done = conforms(job.wait_for_execution(first, max_wait=60, interval=1), JobExecution,
                    "wait_for_execution")
    check(str(done.status) == "succeeded" and done.stats.success == 2,
          "wait_for_execution returns the execution, succeeded")
    check(str(job.get_execution_status(first)) == "succeeded", "get_execution_status: succeeded")

    # A running task finishes its attempt when its execution is cancelled, as
    # Blaxel documents: 30 simulated seconds, 0.6 s at --speed 50.
    long_id = job.run([{"durationSeconds": 30}])
    check(job.cancel_execution(long_id) is None, "cancel_execution returns")
    cancelled = conforms(job.wait_for_execution(long_id, max_wait=60, interval=1), JobExecution,
                         "wait_for_execution (cancelled)")
    check(str(cancelled.status) == "cancelled", "the cancelled execution ends cancelled")

    ids = {first, second, long_id}
    page = job.list_executions(limit=1)
    for execution in page:
        conforms(execution, JobExecution, "list_executions item")
    check(len(page.data) == 1 and page.has_more and page.next_cursor,
          "list_executions(limit=1): one execution, has_more, next_cursor")
    nxt = job.list_executions(limit=1).next_page()
    for execution in nxt:
        conforms(execution, JobExecution, "next_page item")
    check(len(nxt.data) == 1 and nxt.data[0].metadata.id != page.data[0].metadata.id,
          "next_page reads the next one")
    every = [e.metadata.id for e in job.list_executions(limit=1).auto_paging_iter()]
    check(sorted(every) == sorted(ids), f"auto_paging_iter reads all {len(ids)}, each once")

    async def async_helpers():
        a = await job.arun([{"durationSeconds": 5}])
        b = await job.acreate_execution(CreateJobExecutionRequest.from_dict({"tasks": [{"n": 1}]}))
        check(a and b and a != b, "arun and acreate_execution return ids")
        conforms(await job.aget_execution(a), JobExecution, "aget_execution")
        check(await job.aget_execution_status(a) in ("queued", "pending", "running", "succeeded"),
              "aget_execution_status")
        done = conforms(await job.await_for_execution(a, max_wait=60, interval=1), JobExecution,
                        "await_for_execution")
        check(str(done.status) == "succeeded", "await_for_execution: succeeded")
        c = await job.arun([{"durationSeconds": 100000}])
        check(await job.acancel_execution(c) is None, "acancel_execution returns")
        page = await job.alist_executions(limit=2)
        for execution in page:
            conforms(execution, JobExecution, "alist_executions item")
        check(len(page.data) == 2 and page.has_more, "alist_executions(limit=2): a full page, more")
        seen = [e.metadata.id async for e in page.auto_paging_iter()]
        check(sorted(seen) == sorted(ids | {a, b, c}), f"async auto_paging_iter reads all {len(seen)}")

    asyncio.run(async_helpers())
    answer(delete_job.sync_detailed(name, client=client), Job, "DeleteJob")


def scenario_errors(url):
    """Error answers, read the SDK's way: its exceptions and declared error bodies."""
    from blaxel.core.authentication import ApiKey, CredentialsType
    from blaxel.core.client.api.jobs import create_job, delete_job, get_job
    from blaxel.core.client.errors import ConflictError, UnexpectedStatus
    from blaxel.core.client.models import Job
    from blaxel.core.errors import BlaxelApiErrorBody, BlaxelPlatformErrorBody
    from blaxel.core.jobs import bl_job

    client, settings = point_sdk_at(url)
    name = "py-errors"

    try:
        get_job.sync_detailed("py-nobody", client=client)
        raise AssertionError("GetJob of an unknown job succeeded")
    except UnexpectedStatus as e:
        check(e.status == 404 and e.code == 404, f"GetJob of an unknown job: 404 ({e.status}, {e.code})")
        conforms(e.body, BlaxelApiErrorBody, "the 404 body")
        check(e.body["error"] == "not_found" and isinstance(e.body.get("message"), str),
              "the body reads as the SDK's BlaxelApiErrorBody, error not_found, with a message")

    answer(create_job.sync_detailed(client=client, body=job_body(name)), Job, "CreateJob")
    try:
        create_job.sync_detailed(client=client, body=job_body(name))
        raise AssertionError("a second CreateJob of the same name succeeded")
    except ConflictError as e:
        check(e.status_code == 409, "CreateJob of an existing name: the SDK's ConflictError (409)")
        conforms(e.body, BlaxelApiErrorBody, "the 409 body")
        check(e.body["error"] == "already_exists", "error already_exists")

    wait_deployed(name, client)
    job = bl_job(name)
    try:
        job.run([{}], memory=4096)
        raise AssertionError("an execution asking for more memory than the job's was created")
    except Exception as e:  # the helper raises a plain Exception
        check("400" in str(e), f"run with memory above the job's: the helper raises ({e})")
    try:
        job.get_execution("exec-nobody")
        raise AssertionError("get_execution of an unknown execution succeeded")
    except Exception as e:
        check("not found" in str(e), f"get_execution of an unknown id: the helper raises ({e})")

    # A wrong API key: the platform's envelope, and the SDK's own additions.
    client.with_auth(ApiKey(CredentialsType(api_key="wrong-key"), settings.workspace, url))
    try:
        get_job.sync_detailed(name, client=client)
        raise AssertionError("a wrong key was accepted")
    except UnexpectedStatus as e:
        check(e.status == 401, "a wrong API key: 401")
        body = dict(e.body)
        # The SDK's response interceptor adds a link to its documentation.
        check(isinstance(body.pop("documentation", None), str), "the SDK added its documentation link")
        conforms(body, BlaxelPlatformErrorBody, "the 401 body")
        check(e.code == "AUTHENTICATION_FAILED" and e.origin == "platform"
              and isinstance(e.timestamp, str) and e.retryable is False,
              "it reads as the SDK's BlaxelPlatformErrorBody: code, origin platform, timestamp, "
              "retryable false")
    finally:
        client.with_auth(settings.auth)
    answer(delete_job.sync_detailed(name, client=client), Job, "DeleteJob (the key is back)")


def scenario_client_credentials(url):
    """BL_CLIENT_CREDENTIALS: the SDK gets its token from POST /v0/oauth/token."""
    from blaxel.core.authentication import ClientCredentials
    from blaxel.core.client.api.jobs import create_job, delete_job, get_job, list_jobs
    from blaxel.core.client.models import Job, JobExecution, JobList
    from blaxel.core.jobs import bl_job

    client, settings = point_sdk_at(url)
    check(isinstance(settings.auth, ClientCredentials),
          "BL_CLIENT_CREDENTIALS selects the SDK's ClientCredentials")
    name = "py-oauth"
    job = answer(create_job.sync_detailed(client=client, body=job_body(name)), Job, "CreateJob")
    check(job.metadata.created_by == f"client:{CLIENT_ID}",
          f"the job is created by the OAuth client ({job.metadata.created_by})")
    token = settings.auth.credentials.access_token
    check(isinstance(token, str) and token.count(".") == 2, "the access token is a JWT")
    # Without refresh_token in the answer the SDK's grant fails after it has
    # stored the access token: calls still work, but expires_at stays unset
    # and every call makes four grants, a second apart.
    check(isinstance(settings.auth.credentials.refresh_token, str)
          and settings.auth.expires_at is not None,
          "the SDK read the whole token answer (refresh_token, expires_in)")
    answer(get_job.sync_detailed(name, client=client), Job, "GetJob")
    answer(list_jobs.sync_detailed(client=client), JobList, "ListJobs")
    wait_deployed(name, client)
    execution_id = bl_job(name).run([{"durationSeconds": 5}])
    conforms(bl_job(name).get_execution(execution_id), JobExecution, "get_execution")
    check(settings.auth.credentials.access_token == token,
          "the SDK kept using its token (no new grant per call)")
    answer(delete_job.sync_detailed(name, client=client), Job, "DeleteJob")


def scenario_browser_login(url):
    """After a browser `bl login`: the SDK, configured by ~/.blaxel/config.yaml
    alone, picks device mode, renews its access token through the refresh
    grant before each request (the token lives 2 minutes), keeps the
    rotated refresh token, and runs the job operations."""
    from blaxel.core.authentication.devicemode import DeviceMode
    from blaxel.core.client.api.jobs import create_job, delete_job, get_job, list_jobs
    from blaxel.core.client.models import Job, JobList

    login = json.loads(os.environ["CHECK_LOGIN"])
    client, settings = point_sdk_at(url)
    auth = settings.auth
    check(isinstance(auth, DeviceMode), f"the config file selects device mode ({type(auth).__name__})")
    check(auth.workspace_name == login["workspace"], "the workspace comes from the file")
    name = "py-login"
    answer(create_job.sync_detailed(client=client, body=job_body(name)), Job, "CreateJob")
    answer(get_job.sync_detailed(name, client=client), Job, "GetJob")
    page = answer(list_jobs.sync_detailed(client=client), JobList, "ListJobs")
    check([j.metadata.name for j in page.data] == [name], "ListJobs lists the job")
    answer(delete_job.sync_detailed(name, client=client), Job, "DeleteJob")
    creds = auth.credentials
    check(creds.access_token != login["access_token"], "the SDK renewed its access token")
    check(creds.refresh_token not in (None, "", login["refresh_token"]),
          "and kept the rotated refresh token (the first one is refused now)")
    check(creds.device_code == login["device_code"], "the device code is unchanged")


def scenario_task_side(url):
    """bl_start_job inside tasks the emulator runs as processes."""
    import shlex

    from blaxel.core.client.api.jobs import create_job, delete_job, list_job_execution_tasks
    from blaxel.core.client.models import Job, JobExecution, JobExecutionTaskList
    from blaxel.core.jobs import bl_job

    client, _ = point_sdk_at(url)
    name = "py-task-side"
    out_dir = tempfile.mkdtemp(prefix="py-task-side-")
    command = f"{shlex.quote(sys.executable)} {shlex.quote(os.path.abspath(__file__))} --task"
    body = job_body(name, image=f"local:{command}", timeout=60, maxRetries=0, envs=[
        {"name": "CHECK_OUT_DIR", "value": out_dir},
        {"name": "GREETING", "value": "from the job"},
    ])
    answer(create_job.sync_detailed(client=client, body=body), Job, "CreateJob (image local:...)")
    wait_deployed(name, client)
    tasks = [{"word": "alpha"}, {"word": "beta", "count": 2}, {"word": "gamma", "fail": True}]
    job = bl_job(name)
    execution_id = job.run(tasks, env={"GREETING": "from the execution"})
    done = conforms(job.wait_for_execution(execution_id, max_wait=60, interval=1), JobExecution,
                    "wait_for_execution")
    check(str(done.status) == "failed", f"one task raised, so the execution failed ({done.status})")
    check((done.stats.success, done.stats.failure) == (2, 1),
          f"stats: 2 succeeded, 1 failed ({done.stats.success}, {done.stats.failure})")
    listed = answer(list_job_execution_tasks.sync_detailed(name, execution_id, client=client),
                    JobExecutionTaskList, "ListJobExecutionTasks")
    check(sorted(str(t.status) for t in listed.data) == ["failed", "succeeded", "succeeded"],
          "the tasks: two succeeded, one failed")
    for index, params in enumerate(tasks):
        path = os.path.join(out_dir, f"task-{index}.json")
        check(os.path.exists(path), f"task {index} ran bl_start_job's function")
        with open(path, encoding="utf-8") as f:
            seen = json.load(f)
        check(seen["params"] == params, f"task {index} got its own parameters {params}")
        check(seen["execution_id"] == execution_id and seen["greeting"] == "from the execution",
              f"task {index} got BL_EXECUTION_ID and the execution's env override")
    answer(delete_job.sync_detailed(name, client=client), Job, "DeleteJob")


def scenario_large(url):
    """An emulator answering as Blaxel does for large executions and workspaces."""
    from blaxel.core.client.api.jobs import (
        create_job,
        delete_job,
        get_job_execution,
        list_job_execution_tasks,
        list_jobs,
    )
    from blaxel.core.client.models import Job, JobExecution, JobExecutionTaskList, JobList
    from blaxel.core.client.types import UNSET
    from blaxel.core.jobs import bl_job

    client, _ = point_sdk_at(url)
    names = ["py-large-a", "py-large-b"]
    for name in names:
        answer(create_job.sync_detailed(client=client, body=job_body(name)), Job, "CreateJob")
    page = answer(list_jobs.sync_detailed(client=client), JobList, "ListJobs (--count-limit 1)")
    check(page.meta.total == 1 and page.meta.total_is_partial is True and len(page.data) == 2,
          "meta.total stops at the limit with totalIsPartial true; both jobs are listed")
    wait_deployed(names[0], client)
    execution_id = bl_job(names[0]).run([{"shard": i, "durationSeconds": 5} for i in range(4)])
    execution = answer(get_job_execution.sync_detailed(names[0], execution_id, client=client),
                       JobExecution, "GetJobExecution (--tasks-apart-from 3)")
    check(execution.tasks in (UNSET, []) and execution.spec.tasks in (UNSET, []),
          "the execution comes without its tasks")
    check(isinstance(execution.spec.tasks_ref, str) and execution.spec.task_count == 4,
          "spec.tasksRef is set and spec.taskCount is 4")
    done = conforms(bl_job(names[0]).wait_for_execution(execution_id, max_wait=60, interval=1),
                    JobExecution, "wait_for_execution")
    check(str(done.status) == "succeeded", "it succeeds")
    listed = answer(list_job_execution_tasks.sync_detailed(names[0], execution_id, client=client),
                    JobExecutionTaskList, "ListJobExecutionTasks")
    check(len(listed.data) == 4, "ListJobExecutionTasks lists all four")
    for name in names:
        answer(delete_job.sync_detailed(name, client=client), Job, "DeleteJob")


SCENARIOS = {
    "operations": scenario_operations,
    "async-operations": scenario_async_operations,
    "helpers": scenario_helpers,
    "errors": scenario_errors,
    "client-credentials": scenario_client_credentials,
    "task-side": scenario_task_side,
    "browser-login": scenario_browser_login,
    "large": scenario_large,
}


def run_task():
    """The program inside each task: Blaxel's bl_start_job with a function of ours."""
    from blaxel.core.jobs import bl_start_job

    def work(**params):
        index = os.environ.get(os.environ.get("BL_TASK_KEY", "TASK_INDEX"), "0")
        execution_key = os.environ.get("BL_EXECUTION_KEY", "BL_EXECUTION_ID")
        record = {
            "params": params,
            "execution_id": os.environ.get(execution_key),
            "greeting": os.environ.get("GREETING"),
        }
        path = os.path.join(os.environ["CHECK_OUT_DIR"], f"task-{index}.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(record, f)
        if params.get("fail"):
            raise RuntimeError("this task fails on purpose")

    bl_start_job.start(work)


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] == "--task":
        run_task()
    elif len(sys.argv) == 4 and sys.argv[1] == "--scenario":
        import_sdk()
        try:
            SCENARIOS[sys.argv[2]](sys.argv[3])
        except AssertionError as e:
            print(f"FAIL: {e}", flush=True)
            sys.exit(1)
    else:
        main()
