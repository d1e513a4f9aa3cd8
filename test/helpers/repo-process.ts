// A file of this repository run as its npm script runs it (node with tsx), for the tests of
// `npm start` and `npm run balancer` as processes: its output collected as it comes, with no
// PORT, REDIS_URL or NATS_URL from the environment (the test says what it wants in `args`).
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("../../", import.meta.url));

export interface RepoProcess {
  readonly child: ChildProcess;
  /** Everything it wrote so far. */
  readonly output: { stdout: string; stderr: string };
}

/** Starts `file` (relative to the repository) with `args`. The caller kills it. */
export function runRepoFile(file: string, args: readonly string[]): RepoProcess {
  const child = spawn(process.execPath, ["--import", "tsx", join(REPO, file), ...args], {
    cwd: REPO,
    env: { ...process.env, PORT: "", REDIS_URL: "", NATS_URL: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output = { stdout: "", stderr: "" };
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (output.stdout += chunk));
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (output.stderr += chunk));
  return { child, output };
}
