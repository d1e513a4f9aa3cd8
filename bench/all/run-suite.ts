// Runs one suite's run.ts in a child process of its own (its own process group, so that a
// suite killed for running too long takes its servers, load generators and browsers with it).
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { performance } from "node:perf_hooks";
import type { SuiteSpec } from "./suites.js";

export interface SuiteOutcome {
  readonly ok: boolean;
  /** "exit 0", "exit 1", "killed after 7 minutes", "could not start: …". */
  readonly how: string;
  readonly durationMs: number;
}

/** The suite running now, so that an interrupted `npm run bench` can end it. */
let current: ChildProcess | null = null;

/** SIGKILLs the running suite's whole process group, if there is one. */
export function killCurrentSuite(): void {
  const pid = current?.pid;
  if (pid === undefined) return;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

export function runSuite(repoRoot: string, suite: SuiteSpec, args: readonly string[]): Promise<SuiteOutcome> {
  const started = performance.now();
  const entry = path.join(repoRoot, "bench", suite.name, "run.ts");
  return new Promise((resolve) => {
    // The suites' package.json scripts run them with tsx; `--import tsx` is the same loader.
    const child = spawn(process.execPath, ["--import", "tsx", entry, ...args], { cwd: repoRoot, stdio: "inherit", detached: true });
    current = child;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killCurrentSuite();
    }, suite.timeoutMs);
    const finish = (ok: boolean, how: string): void => {
      clearTimeout(timer);
      current = null;
      resolve({ ok, how, durationMs: performance.now() - started });
    };
    child.once("error", (error) => finish(false, `could not start: ${error.message}`));
    child.once("exit", (code, signal) => {
      if (timedOut) finish(false, `killed after ${suite.timeoutMs / 60_000} minutes`);
      else finish(code === 0, code === null ? `ended by ${signal ?? "a signal"}` : `exit ${code}`);
    });
  });
}
