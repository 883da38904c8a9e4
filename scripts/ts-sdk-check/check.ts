// Blaxel's official TypeScript SDK (`@blaxel/core` on npm) against the
// emulator binary.
//
// Run by scripts/check-ts-sdk.sh, which installs the pinned SDK with npm into
// a throwaway folder, compiles this file with `tsc` against the SDK's own
// declarations (strict: a call the SDK's types do not allow fails the build),
// and runs it:
//
//     node out/check.js EMULATOR_BINARY
//
// The driver starts the emulator binary twice on free loopback ports, with an
// explicit API key and OAuth client (never the emulator's defaults), and
// --until-stdin-closes on a pipe it never writes to, so that an emulator
// cannot outlive the check however the check ends: once as
// started by default with --run-local-images (jobs whose image is
// `local:<command>` run their tasks as processes), once with
// --tasks-apart-from 3 --count-limit 1 (answering as Blaxel does for large
// executions and workspaces). Each scenario then runs in a fresh Node process
// configured only through the variables the SDK documents: BL_API_URL,
// BL_WORKSPACE, and BL_API_KEY or BL_CLIENT_CREDENTIALS. Nothing else of the
// SDK's defaults changes: it sends its own Blaxel-Version, headers and
// credentials.
//
// Every answer is checked against the type the SDK declares for it
// (conformance.ts reads them from the SDK's .d.ts), not only for a 2xx.
//
// Internal mode: `--scenario NAME URL` (started by the driver). The program
// inside the tasks is task.ts. Exits non-zero on the first failed check.

import {
  blJob,
  createJob,
  createJobExecution,
  deleteJob,
  deleteJobExecution,
  getJob,
  getJobExecution,
  initialize,
  listJobExecutionTasks,
  listJobExecutions,
  listJobRevisions,
  listJobs,
  settings,
  updateJob,
} from "@blaxel/core";
import type { Job, JobExecution, JobRuntime } from "@blaxel/core";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { isDeepStrictEqual } from "node:util";
import { Declared } from "./conformance.js";

const API_KEY = "ts-sdk-check-key";
const CLIENT_ID = "ts-sdk-check-client";
const CLIENT_SECRET = "ts-sdk-check-secret";
// Each scenario has a workspace of its own (ts-check-<scenario>), so that
// scenarios running at once never see each other's jobs.
const WORKSPACE_PREFIX = "ts-check";
const EXPECTED_SDK_VERSION = process.env.EXPECTED_BLAXEL_TS_VERSION;
const BANNER = "Blaxel Jobs emulator listening on ";
// The SDK sets no timeout on control-plane calls: a scenario that hangs is
// killed (and fails) after this long.
const SCENARIO_TIMEOUT_MS = 180_000;

// Fields of the API that the pinned SDK's types predate (its generated
// client is older than Blaxel's 2026-09-22 document): the emulator sends
// them, the SDK ignores them. Any other undeclared field fails the check,
// and so does an entry here once the SDK declares it (drop it then).
const NEWER_THAN_THE_SDK = new Set([
  "JobExecutionSpec.taskCount",
  "JobExecutionSpec.tasksRef",
  "PaginationMeta.totalIsPartial",
  "TriggerConfiguration.tasksRef",
]);

/** A failed check: reported by its message alone. */
class CheckFailed extends Error {}

// ------------------------------------------------------------------ driver

interface Emulator {
  process: ChildProcess;
  url: string;
}

async function startEmulator(binary: string, cwd: string, ...extra: string[]): Promise<Emulator> {
  // Tasks inherit the emulator's environment: no credentials of ours, no
  // ~/.blaxel/config.yaml, no telemetry; its folder has no .env either.
  const env = withoutBlaxelVariables();
  env.HOME = mkdtempSync(join(tmpdir(), "blaxel-task-home-"));
  env.DO_NOT_TRACK = "1";
  const child = spawn(
    binary,
    ["--port", "0", "--speed", "50", "--api-key", API_KEY,
      "--client-credentials", `${CLIENT_ID}:${CLIENT_SECRET}`, "--until-stdin-closes", ...extra],
    { cwd, env, stdio: ["pipe", "pipe", "inherit"] },
  );
  const lines = createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve) => {
    lines.once("line", resolve);
    child.once("exit", () => resolve("(the emulator exited)"));
  });
  if (!first.startsWith(BANNER)) {
    child.kill();
    throw new CheckFailed(`the emulator did not start: ${first}`);
  }
  const url = first.slice(BANNER.length).trim();
  if (!url.startsWith("http://127.0.0.1:")) {
    child.kill();
    throw new CheckFailed(`the emulator is not on loopback: ${url}`);
  }
  lines.on("line", () => {}); // keep its output flowing
  return { process: child, url };
}

/** Stops the emulator as Ctrl-C would (it ends its tasks' processes). */
async function stop(emulator: Emulator): Promise<void> {
  const exited = new Promise((resolve) => emulator.process.once("exit", resolve));
  emulator.process.stdin!.end();
  const timer = setTimeout(() => emulator.process.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

function withoutBlaxelVariables(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith("BL_")) env[k] = v;
  }
  return env;
}

type Credentials = "api-key" | "client-credentials";

/**
 * Runs the scenarios at once, each in its own Node process and folder, and
 * prints each one's output in order. Fails if any failed.
 */
async function runScenarios(scenarios: [string, string, Credentials][]): Promise<void> {
  const running = scenarios.map(([name, url, credentials]) => {
    const env = withoutBlaxelVariables();
    env.HOME = mkdtempSync(join(tmpdir(), "blaxel-home-")); // no ~/.blaxel/config.yaml
    env.DO_NOT_TRACK = "1";
    env.BL_API_URL = url;
    env.BL_WORKSPACE = `${WORKSPACE_PREFIX}-${name}`;
    if (credentials === "api-key") {
      env.BL_API_KEY = API_KEY;
    } else {
      env.BL_CLIENT_CREDENTIALS = Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString("base64");
    }
    // A folder of its own: the SDK reads .env and blaxel.toml from its working directory.
    const cwd = mkdtempSync(join(tmpdir(), "blaxel-ts-check-"));
    const started = Date.now();
    const child = spawn(process.execPath, [__filename, "--scenario", name, url], {
      cwd,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout!.on("data", (chunk) => (output += chunk));
    child.stderr!.on("data", (chunk) => (output += chunk));
    const timer = setTimeout(() => {
      output += `FAIL: the scenario did not end within ${SCENARIO_TIMEOUT_MS / 1000} s\n`;
      child.kill("SIGKILL");
    }, SCENARIO_TIMEOUT_MS);
    const ended = new Promise<{ code: number | null; seconds: number }>((resolve) =>
      child.once("close", (code) => {
        clearTimeout(timer);
        resolve({ code, seconds: (Date.now() - started) / 1000 });
      }),
    );
    return { name, credentials, ended, output: () => output };
  });
  const failed: string[] = [];
  for (const s of running) {
    const { code, seconds } = await s.ended;
    console.log(`--- ${s.name} (${s.credentials}), ${seconds.toFixed(1)}s`);
    process.stdout.write(s.output());
    if (code !== 0) failed.push(s.name);
  }
  if (failed.length > 0) throw new CheckFailed(`scenarios failed: ${failed.join(", ")}`);
}

async function main(binary: string): Promise<void> {
  // Every folder of the run (homes, working folders, the tasks' output)
  // under one, removed at the end; TMPDIR passes it on to the processes.
  const root = mkdtempSync(join(tmpdir(), "blaxel-ts-sdk-check-"));
  process.env.TMPDIR = root;
  try {
    await runAll(binary);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

async function runAll(binary: string): Promise<void> {
  const cwd = mkdtempSync(join(tmpdir(), "blaxel-emulator-"));
  const standard = await startEmulator(binary, cwd, "--run-local-images");
  try {
    const large = await startEmulator(binary, cwd, "--tasks-apart-from", "3", "--count-limit", "1");
    try {
      // Independent (each its own jobs), so they run at once.
      await runScenarios([
        ["operations", standard.url, "api-key"],
        ["helpers", standard.url, "api-key"],
        ["errors", standard.url, "api-key"],
        ["client-credentials", standard.url, "client-credentials"],
        ["task-side", standard.url, "api-key"],
        ["large", large.url, "api-key"],
      ]);
    } finally {
      await stop(large);
    }
  } finally {
    await stop(standard);
  }
  console.log(
    `PASS: @blaxel/core ${EXPECTED_SDK_VERSION} against the emulator: all 11 job operations, ` +
      "the blJob helpers, errors, paging, client credentials and blStartJob inside a task",
  );
}

// ------------------------------------------------------------------ checks

function check(condition: unknown, what: string): void {
  if (!condition) throw new CheckFailed(what);
  console.log(`  ok  ${what}`);
}

let declared: Declared | undefined;

/** The SDK's declaration file of the API's models. */
function modelsDeclarations(): string {
  const pkg = require.resolve("@blaxel/core/package.json");
  const file = join(dirname(pkg), "dist", "cjs", "types", "client", "types.gen.d.ts");
  if (!existsSync(file)) throw new CheckFailed(`@blaxel/core has no ${file}: its layout changed`);
  return file;
}

/** Fails unless `value` is what the SDK declares `type` to be. */
function conforms<T>(value: T, type: string, what: string): T {
  declared ??= new Declared(modelsDeclarations());
  const { problems, undeclared } = declared.check(value, type);
  for (const [field, where] of undeclared) {
    if (!NEWER_THAN_THE_SDK.has(field)) problems.push(`${where}: not declared by ${field.split(".")[0]}`);
  }
  for (const field of NEWER_THAN_THE_SDK) {
    const [owner, name] = field.split(".");
    if (declared.declares(owner, name)) {
      problems.push(`${field} is declared by this SDK: drop it from NEWER_THAN_THE_SDK`);
    }
  }
  if (problems.length > 0) {
    throw new CheckFailed(`${what}: the answer does not match the SDK's ${type}:\n    ${problems.join("\n    ")}`);
  }
  return value;
}

/** A 200 answer of a generated function that conforms to `type`. */
function answer<T>(result: { data: T; response: Response }, type: string, what: string): T {
  if (result.response.status !== 200) {
    throw new CheckFailed(`${what}: ${result.response.status} ${JSON.stringify(result.data)}`);
  }
  conforms(result.data, type, what);
  check(true, `${what}: 200, the answer reads as the SDK's ${type}`);
  return result.data;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function jobBody(name: string, runtime: Partial<JobRuntime> = {}): Job {
  return {
    metadata: {
      name,
      displayName: `TypeScript SDK check ${name}`,
      externalId: `ext-${name}`,
      labels: { team: "sdk", check: "typescript" },
    },
    spec: {
      runtime: { memory: 1024, timeout: 600, maxRetries: 0, ...runtime },
      triggers: [{ type: "cron", configuration: { schedule: "0 3 * * *", tasks: [{ a: 1 }] } }],
    },
  };
}

async function waitDeployed(name: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { data } = await getJob({ path: { jobId: name }, throwOnError: true });
    if (data.status === "DEPLOYED") return;
    if (Date.now() > deadline) throw new CheckFailed(`job ${name} never deployed`);
    await sleep(50);
  }
}

async function waitFinal(name: string, id: string): Promise<JobExecution> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const result = await getJobExecution({ path: { jobId: name, executionId: id }, throwOnError: true });
    const execution = conforms(result.data, "JobExecution", "GetJobExecution");
    if (["succeeded", "failed", "cancelled", "timeout"].includes(execution.status ?? "")) return execution;
    if (Date.now() > deadline) throw new CheckFailed(`execution ${id} still ${execution.status}`);
    await sleep(50);
  }
}

async function createExecution(name: string, tasks: Record<string, unknown>[]): Promise<string> {
  const out = answer(
    await createJobExecution({ path: { jobId: name }, body: { tasks }, throwOnError: true }),
    "CreateJobExecutionOutput",
    "CreateJobExecution",
  );
  check(typeof out.executionId === "string" && out.executionId, "it returns an executionId");
  return out.executionId!;
}

/** An error answer, as the generated functions give it without throwOnError. */
function errorBody(result: { error: unknown; response: Response }, status: number, what: string): Record<string, unknown> {
  check(result.response.status === status, `${what}: ${result.response.status}`);
  const body = result.error;
  check(typeof body === "object" && body !== null, `${what}: the error is the parsed JSON body`);
  return body as Record<string, unknown>;
}

// --------------------------------------------------------------- scenarios

async function scenarioOperations(): Promise<void> {
  console.log(`  the SDK sends Blaxel-Version ${settings.headers["Blaxel-Version"]}`);
  const names = ["ts-ops-a", "ts-ops-b", "ts-ops-c"];
  let job: Job | undefined;
  for (const name of names) {
    job = answer(await createJob({ body: jobBody(name), throwOnError: true }), "Job", `CreateJob ${name}`);
    check(job.metadata.name === name, "CreateJob returns the job");
  }
  check(isDeepStrictEqual(job!.metadata.labels, { team: "sdk", check: "typescript" }),
    "labels come back as sent");

  job = answer(await getJob({ path: { jobId: names[0] }, throwOnError: true }), "Job", "GetJob");
  check(["DEPLOYING", "DEPLOYED"].includes(job.status ?? ""), `GetJob status is ${job.status}`);
  check(job.spec.triggers?.[0]?.id, "the trigger got an id");

  const seen: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  for (;;) {
    const page = answer(
      await listJobs({ query: { limit: 1, sort: "name:asc", ...(cursor ? { cursor } : {}) }, throwOnError: true }),
      "JobList",
      `ListJobs page ${++pages} (limit 1)`,
    );
    seen.push(...(page.data ?? []).map((j) => j.metadata.name));
    if (!page.meta?.hasMore) break;
    check(typeof page.meta.nextCursor === "string" && page.meta.nextCursor, "a page with more carries nextCursor");
    cursor = page.meta.nextCursor;
  }
  check(JSON.stringify(seen) === JSON.stringify(names) && pages === 3,
    `ListJobs pages through all three jobs in order (${seen})`);
  const filtered = answer(
    await listJobs({ query: { q: "ops-b", status: "DEPLOYING,DEPLOYED" }, throwOnError: true }),
    "JobList",
    "ListJobs (q, status)",
  );
  check(filtered.data?.map((j) => j.metadata.name).join() === names[1], "ListJobs searches with q");

  job = answer(
    await updateJob({ path: { jobId: names[0] }, body: jobBody(names[0], { memory: 2048 }), throwOnError: true }),
    "Job",
    "UpdateJob",
  );
  check(job.spec.runtime?.memory === 2048, "UpdateJob stores the new memory");

  const revisions = answer(
    await listJobRevisions({ path: { jobId: names[0] }, throwOnError: true }),
    "RevisionMetadata[]",
    "ListJobRevisions",
  );
  check(revisions.length === 2, `two revisions (${revisions.length})`);

  await waitDeployed(names[0]);
  const tasks = [0, 1, 2, 3].map((shard) => ({ shard, durationSeconds: 5 }));
  const ids = [await createExecution(names[0], tasks), await createExecution(names[0], tasks)];
  const execution = answer(
    await getJobExecution({ path: { jobId: names[0], executionId: ids[0] }, throwOnError: true }),
    "JobExecution",
    "GetJobExecution",
  );
  check(execution.metadata.id === ids[0], "GetJobExecution answers the execution asked for");
  const done = await waitFinal(names[0], ids[0]);
  check(done.status === "succeeded" && done.tasks?.length === 4 && done.stats?.success === 4,
    "the execution succeeds, lists its 4 tasks, stats count 4 successes");

  const first = answer(
    await listJobExecutions({ path: { jobId: names[0] }, query: { limit: 1 }, throwOnError: true }),
    "JobExecutionList",
    "ListJobExecutions (limit 1)",
  );
  check(first.data?.length === 1 && first.meta?.hasMore && first.meta.total === 2,
    "the first page has one execution, more to come, total 2");
  const second = answer(
    await listJobExecutions({ path: { jobId: names[0] }, query: { limit: 1, cursor: first.meta!.nextCursor }, throwOnError: true }),
    "JobExecutionList",
    "ListJobExecutions (cursor)",
  );
  check(!second.meta?.hasMore && new Set([first.data![0].metadata.id, second.data?.[0]?.metadata.id]).size === 2,
    "the second page has the other execution");

  const tfirst = answer(
    await listJobExecutionTasks({ path: { jobId: names[0], executionId: ids[0] }, query: { limit: 3 }, throwOnError: true }),
    "JobExecutionTaskList",
    "ListJobExecutionTasks (limit 3)",
  );
  check(tfirst.data?.length === 3 && tfirst.meta?.hasMore, "the first page has 3 tasks and more");
  const tsecond = answer(
    await listJobExecutionTasks({
      path: { jobId: names[0], executionId: ids[0] },
      query: { limit: 3, cursor: tfirst.meta!.nextCursor },
      throwOnError: true,
    }),
    "JobExecutionTaskList",
    "ListJobExecutionTasks (cursor)",
  );
  check(tsecond.data?.length === 1 && !tsecond.meta?.hasMore, "the second page has the last task");
  const statuses = new Set([...tfirst.data!, ...tsecond.data!].map((t) => t.status));
  check(statuses.size === 1 && statuses.has("succeeded"), "every task succeeded");

  const longId = await createExecution(names[0], [{ durationSeconds: 100000 }]);
  const cancelled = answer(
    await deleteJobExecution({ path: { jobId: names[0], executionId: longId }, throwOnError: true }),
    "JobExecution",
    "DeleteJobExecution",
  );
  check(["cancelling", "cancelled"].includes(cancelled.status ?? ""), `cancelled (${cancelled.status})`);

  for (const name of names) {
    const deleted = answer(await deleteJob({ path: { jobId: name }, throwOnError: true }), "Job", `DeleteJob ${name}`);
    check(deleted.status === "DELETING", "DeleteJob answers DELETING");
  }
  const gone = await getJob({ path: { jobId: names[0] } });
  check(gone.response.status === 404, "the deleted job is gone (404)");
}

async function scenarioHelpers(): Promise<void> {
  const name = "ts-helpers";
  answer(await createJob({ body: jobBody(name), throwOnError: true }), "Job", "CreateJob");
  await waitDeployed(name);
  const job = blJob(name);

  const first = await job.run(
    [{ shard: 0, durationSeconds: 5 }, { shard: 1, durationSeconds: 5 }],
    { env: { MODE: "check" }, memory: 512 },
  );
  check(typeof first === "string" && first, `run returns an execution id (${first})`);
  const second = await job.createExecution({ tasks: [{ durationSeconds: 5 }] });
  check(typeof second === "string" && second !== first, "createExecution returns another id");
  const execution = conforms(await job.getExecution(first), "JobExecution", "getExecution");
  check(execution.spec.memoryOverride === 512, "getExecution: spec.memoryOverride is 512");
  check(isDeepStrictEqual(execution.spec.envOverride, { MODE: "***" }),
    "getExecution: spec.envOverride names the override, value masked");
  const status = await job.getExecutionStatus(first);
  check(["queued", "pending", "running", "succeeded"].includes(status), `getExecutionStatus: ${status}`);
  const done = conforms(await job.waitForExecution(first, { maxWait: 60_000, interval: 200 }), "JobExecution",
    "waitForExecution");
  check(done.status === "succeeded" && done.stats?.success === 2, "waitForExecution returns the execution, succeeded");
  check((await job.getExecutionStatus(first)) === "succeeded", "getExecutionStatus: succeeded");

  // A running task finishes its attempt when its execution is cancelled, as
  // Blaxel documents: 30 simulated seconds, 0.6 s at --speed 50.
  const longId = await job.run([{ durationSeconds: 30 }], { allowQueue: true });
  await job.cancelExecution(longId);
  check(true, "cancelExecution returns");
  const cancelled = conforms(await job.waitForExecution(longId, { maxWait: 60_000, interval: 200 }), "JobExecution",
    "waitForExecution (cancelled)");
  check(cancelled.status === "cancelled", "the cancelled execution ends cancelled");

  const ids = new Set([first, second, longId]);
  const page = await job.listExecutions({ limit: 1 });
  page.data.forEach((e) => conforms(e, "JobExecution", "listExecutions item"));
  conforms(page.meta, "PaginationMeta", "listExecutions meta");
  check(page.data.length === 1 && page.hasMore && page.nextCursor, "listExecutions({limit: 1}): one, hasMore, nextCursor");
  const next = await page.nextPage();
  check(next?.data.length === 1 && next.data[0].metadata.id !== page.data[0].metadata.id, "nextPage reads the next one");
  const all = await (await job.listExecutions({ limit: 1 })).autoPagingToArray({ limit: 100 });
  check(all.length === ids.size && all.every((e) => ids.has(e.metadata.id ?? "")),
    `autoPagingToArray reads all ${ids.size}, each once`);
  const each: string[] = [];
  await (await job.listExecutions({ limit: 2 })).autoPagingEach((e) => {
    each.push(e.metadata.id ?? "");
  });
  check(each.length === ids.size && new Set(each).size === ids.size, "autoPagingEach visits each once");
  const iterated: string[] = [];
  for await (const e of await job.listExecutions({ limit: 1 })) iterated.push(e.metadata.id ?? "");
  check(iterated.length === ids.size, "the async iterator visits each once");

  answer(await deleteJob({ path: { jobId: name }, throwOnError: true }), "Job", "DeleteJob");
}

async function scenarioErrors(): Promise<void> {
  const name = "ts-errors";
  let body = errorBody(await getJob({ path: { jobId: "ts-nobody" } }), 404, "GetJob of an unknown job");
  check(body.code === 404 && body.error === "not_found" && typeof body.message === "string",
    "the body: code 404, error not_found, a message");

  answer(await createJob({ body: jobBody(name), throwOnError: true }), "Job", "CreateJob");
  body = errorBody(await createJob({ body: jobBody(name) }), 409, "CreateJob of an existing name");
  check(body.code === 409 && body.error === "already_exists", "the body: code 409, error already_exists");

  await waitDeployed(name);
  const job = blJob(name);
  try {
    await job.run([{}], { memory: 4096 });
    throw new CheckFailed("an execution asking for more memory than the job's was created");
  } catch (e) {
    if (e instanceof CheckFailed) throw e;
    const thrown = e as Record<string, unknown>;
    check(thrown.code === 400 && thrown.error === "validation_error",
      "run with memory above the job's: the helper throws the 400 body");
  }
  try {
    await job.getExecution("exec-nobody");
    throw new CheckFailed("getExecution of an unknown execution succeeded");
  } catch (e) {
    if (e instanceof CheckFailed) throw e;
    check((e as Record<string, unknown>).code === 404, "getExecution of an unknown id: the helper throws the 404 body");
  }

  // A wrong API key, set the SDK's way: the platform's envelope.
  const workspace = settings.workspace;
  initialize({ workspace, apiKey: "wrong-key" });
  try {
    body = errorBody(await getJob({ path: { jobId: name } }), 401, "a wrong API key");
    const inner = body.error as Record<string, unknown>;
    check(inner.code === "AUTHENTICATION_FAILED" && inner.origin === "platform" && typeof inner.timestamp === "string",
      "the platform envelope: error.code AUTHENTICATION_FAILED, origin platform, a timestamp");
    check(typeof body.documentation === "string", "the SDK added its documentation link");
  } finally {
    initialize({ workspace, apiKey: API_KEY });
  }
  answer(await deleteJob({ path: { jobId: name }, throwOnError: true }), "Job", "DeleteJob (the key is back)");
}

async function scenarioClientCredentials(): Promise<void> {
  const name = "ts-oauth";
  check(settings.credentials.constructor.name === "ClientCredentials",
    "BL_CLIENT_CREDENTIALS selects the SDK's ClientCredentials");
  const job = answer(await createJob({ body: jobBody(name), throwOnError: true }), "Job", "CreateJob");
  check(job.metadata.createdBy === `client:${CLIENT_ID}`, `the job is created by the OAuth client (${job.metadata.createdBy})`);
  const token = settings.token;
  check(typeof token === "string" && token.split(".").length === 3, "the access token is a JWT (the SDK reads its exp and iat)");
  answer(await getJob({ path: { jobId: name }, throwOnError: true }), "Job", "GetJob");
  answer(await listJobs({ throwOnError: true }), "JobList", "ListJobs");
  await waitDeployed(name);
  const id = await blJob(name).run([{ durationSeconds: 5 }]);
  conforms(await blJob(name).getExecution(id), "JobExecution", "getExecution");
  check(settings.token === token, "the SDK kept using its token (no new grant per call)");
  answer(await deleteJob({ path: { jobId: name }, throwOnError: true }), "Job", "DeleteJob");
}

async function scenarioTaskSide(): Promise<void> {
  const name = "ts-task-side";
  const outDir = mkdtempSync(join(tmpdir(), "ts-task-side-"));
  const task = join(__dirname, "task.js");
  const command = `${shellQuote(process.execPath)} ${shellQuote(task)}`;
  const body = jobBody(name, {
    image: `local:${command}`,
    timeout: 60,
    maxRetries: 0,
    envs: [
      { name: "CHECK_OUT_DIR", value: outDir },
      { name: "GREETING", value: "from the job" },
      // blStartJob authenticates before it reads its parameters, and so
      // needs credentials in the task's environment, which Blaxel provides
      // to its tasks and the emulator does not: the job passes them.
      { name: "BL_WORKSPACE", value: settings.workspace },
      { name: "BL_API_KEY", value: API_KEY, secret: true },
    ],
  });
  answer(await createJob({ body, throwOnError: true }), "Job", "CreateJob (image local:...)");
  await waitDeployed(name);
  const tasks = [{ word: "alpha" }, { word: "beta", count: 2 }, { word: "gamma", fail: true }];
  const job = blJob(name);
  const id = await job.run(tasks, { env: { GREETING: "from the execution" } });
  const done = conforms(await job.waitForExecution(id, { maxWait: 60_000, interval: 200 }), "JobExecution",
    "waitForExecution");
  check(done.status === "failed", `one task threw, so the execution failed (${done.status})`);
  check(done.stats?.success === 2 && done.stats.failure === 1,
    `stats: 2 succeeded, 1 failed (${done.stats?.success}, ${done.stats?.failure})`);
  const listed = answer(
    await listJobExecutionTasks({ path: { jobId: name, executionId: id }, throwOnError: true }),
    "JobExecutionTaskList",
    "ListJobExecutionTasks",
  );
  check(listed.data?.map((t) => t.status).sort().join() === "failed,succeeded,succeeded",
    "the tasks: two succeeded, one failed");
  tasks.forEach((params, index) => {
    const path = join(outDir, `task-${index}.json`);
    check(existsSync(path), `task ${index} ran blStartJob's function`);
    const seen = JSON.parse(readFileSync(path, "utf8"));
    check(isDeepStrictEqual(seen.params, params), `task ${index} got its own parameters ${JSON.stringify(params)}`);
    check(seen.executionId === id && seen.greeting === "from the execution",
      `task ${index} got BL_EXECUTION_ID and the execution's env override`);
  });
  answer(await deleteJob({ path: { jobId: name }, throwOnError: true }), "Job", "DeleteJob");
}

async function scenarioLarge(): Promise<void> {
  const names = ["ts-large-a", "ts-large-b"];
  for (const name of names) answer(await createJob({ body: jobBody(name), throwOnError: true }), "Job", "CreateJob");
  const page = answer(await listJobs({ throwOnError: true }), "JobList", "ListJobs (--count-limit 1)");
  const meta = page.meta as Record<string, unknown> | undefined;
  check(meta?.total === 1 && meta.totalIsPartial === true && page.data?.length === 2,
    "meta.total stops at the limit with totalIsPartial (not in the SDK's types) true; both jobs are listed");
  await waitDeployed(names[0]);
  const id = await blJob(names[0]).run([0, 1, 2, 3].map((shard) => ({ shard, durationSeconds: 5 })));
  const execution = answer(
    await getJobExecution({ path: { jobId: names[0], executionId: id }, throwOnError: true }),
    "JobExecution",
    "GetJobExecution (--tasks-apart-from 3)",
  );
  check(!execution.tasks?.length && !execution.spec.tasks?.length, "the execution comes without its tasks");
  const done = conforms(await blJob(names[0]).waitForExecution(id, { maxWait: 60_000, interval: 200 }),
    "JobExecution", "waitForExecution");
  check(done.status === "succeeded", "it succeeds");
  const listed = answer(
    await listJobExecutionTasks({ path: { jobId: names[0], executionId: id }, throwOnError: true }),
    "JobExecutionTaskList",
    "ListJobExecutionTasks",
  );
  check(listed.data?.length === 4, "ListJobExecutionTasks lists all four");
  for (const name of names) answer(await deleteJob({ path: { jobId: name }, throwOnError: true }), "Job", "DeleteJob");
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, "'\\''")}'`;
}

const SCENARIOS: Record<string, () => Promise<void>> = {
  operations: scenarioOperations,
  helpers: scenarioHelpers,
  errors: scenarioErrors,
  "client-credentials": scenarioClientCredentials,
  "task-side": scenarioTaskSide,
  large: scenarioLarge,
};

async function scenario(name: string): Promise<void> {
  const version = JSON.parse(readFileSync(require.resolve("@blaxel/core/package.json"), "utf8")).version;
  if (version !== EXPECTED_SDK_VERSION) {
    throw new CheckFailed(`expected @blaxel/core ${EXPECTED_SDK_VERSION}, found ${version}`);
  }
  const run = SCENARIOS[name];
  if (!run) throw new CheckFailed(`no scenario ${name}`);
  await run();
}

const args = process.argv.slice(2);
const done =
  args.length === 3 && args[0] === "--scenario"
    ? scenario(args[1])
    : args.length === 1
      ? main(args[0])
      : Promise.reject(new CheckFailed("usage: node out/check.js EMULATOR_BINARY"));
done.then(
  () => process.exit(0),
  (e: unknown) => {
    console.log(`FAIL: ${e instanceof CheckFailed ? e.message : e instanceof Error ? e.stack : String(e)}`);
    process.exit(1);
  },
);
