// The program inside each task of the TypeScript check's job: Blaxel's
// blStartJob with a function of ours. It records what it was given in
// $CHECK_OUT_DIR/task-<index>.json, and fails when its parameters say so.
import { blStartJob } from "@blaxel/core";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

blStartJob(async (params: Record<string, unknown>) => {
  const index = process.env[process.env.BL_TASK_KEY ?? "TASK_INDEX"] ?? "0";
  const record = {
    params,
    executionId: process.env[process.env.BL_EXECUTION_KEY ?? "BL_EXECUTION_ID"],
    greeting: process.env.GREETING,
  };
  writeFileSync(join(process.env.CHECK_OUT_DIR ?? ".", `task-${index}.json`), JSON.stringify(record));
  if (params.fail === true) {
    throw new Error("this task fails on purpose");
  }
});
