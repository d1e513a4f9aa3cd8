// Runs one (library, case) measurement in a fresh `node` process and validates
// what it printed. Plain `node` on .mjs keeps any TS loader out of the timing.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { CHILD_TIMEOUT_MS, expectedSum, type CaseSpec, type LibName } from "./config.js";

const CHILD_ENTRY = fileURLToPath(new URL("./cases/child.mjs", import.meta.url));

export interface Measurement {
  readonly lib: LibName;
  readonly caseName: CaseSpec["name"];
  readonly opsPerSec: number;
  readonly elapsedMs: number;
  readonly sum: number;
}

export type ChildOutcome =
  | { readonly ok: true; readonly measurement: Measurement }
  | { readonly ok: false; readonly lib: LibName; readonly caseName: CaseSpec["name"]; readonly reason: string };

interface ChildReport {
  lib: string;
  case: string;
  count: number;
  elapsedMs: number;
  opsPerSec: number;
  sum: number;
  ok: boolean;
}

function isChildReport(value: unknown): value is ChildReport {
  if (typeof value !== "object" || value === null) return false;
  const r = value as Record<string, unknown>;
  return (
    typeof r["lib"] === "string" &&
    typeof r["case"] === "string" &&
    typeof r["count"] === "number" &&
    typeof r["elapsedMs"] === "number" &&
    typeof r["opsPerSec"] === "number" &&
    typeof r["sum"] === "number" &&
    typeof r["ok"] === "boolean"
  );
}

/** Re-checks the child's claims; the parent decides whether a run counts. */
function validate(stdout: string, lib: LibName, spec: CaseSpec): ChildOutcome {
  const fail = (reason: string): ChildOutcome => ({ ok: false, lib, caseName: spec.name, reason });
  const lastLine = stdout.trim().split("\n").pop() ?? "";
  let parsed: unknown;
  try {
    parsed = JSON.parse(lastLine);
  } catch {
    return fail(`no JSON line on stdout (got ${JSON.stringify(lastLine.slice(0, 200))})`);
  }
  if (!isChildReport(parsed)) return fail(`malformed report ${lastLine}`);
  if (parsed.lib !== lib || parsed.case !== spec.name || parsed.count !== spec.count) {
    return fail(`report is for ${parsed.lib}/${parsed.case}/${parsed.count}`);
  }
  const expected = expectedSum(spec.count);
  if (parsed.sum !== expected || !parsed.ok) return fail(`wrong sum ${parsed.sum}, expected ${expected}`);
  if (!(parsed.opsPerSec > 0) || !Number.isFinite(parsed.opsPerSec)) return fail(`bad rate ${parsed.opsPerSec}`);
  return {
    ok: true,
    measurement: { lib, caseName: spec.name, opsPerSec: parsed.opsPerSec, elapsedMs: parsed.elapsedMs, sum: parsed.sum },
  };
}

export function runChild(lib: LibName, spec: CaseSpec): Promise<ChildOutcome> {
  return new Promise(function runChildProcess(resolve) {
    const args = [CHILD_ENTRY, lib, spec.name, String(spec.count), String(spec.capacity)];
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.setEncoding("utf8").on("data", function collectStdout(chunk: string) {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", function collectStderr(chunk: string) {
      stderr += chunk;
    });
    // A deadlocked or runaway library must not hang the whole benchmark.
    const timer = setTimeout(function killHungChild() {
      timedOut = true;
      child.kill("SIGKILL");
    }, CHILD_TIMEOUT_MS);
    child.on("error", function onSpawnError(error: Error) {
      clearTimeout(timer);
      resolve({ ok: false, lib, caseName: spec.name, reason: `spawn failed: ${error.message}` });
    });
    child.on("close", function onChildClose(code: number | null, signal: NodeJS.Signals | null) {
      clearTimeout(timer);
      if (timedOut) {
        resolve({ ok: false, lib, caseName: spec.name, reason: `killed after ${CHILD_TIMEOUT_MS / 1000} s timeout` });
      } else if (code !== 0) {
        const detail = stderr.trim() || stdout.trim();
        resolve({ ok: false, lib, caseName: spec.name, reason: `exit ${code ?? signal}: ${detail}` });
      } else {
        resolve(validate(stdout, lib, spec));
      }
    });
  });
}
