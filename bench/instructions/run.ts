/**
 * The instructions suite (`npm run bench:instructions`): user-space instructions per echo round
 * trip, counted by valgrind's callgrind, for bench:protocol's echo over WebSocket (raw ws, its
 * JSON-frames-and-channels floor, socket.io, wirechan). A count that does not move with the
 * machine's load, where bench:protocol's wall-clock p50 moves by tens of percent from run to run.
 * Writes bench/instructions/README.md and results.json (report.ts). Options: `--rounds N`
 * (default 2), `--no-build` (use dist/ as it is).
 *
 * Method: children/echo.mjs runs a row's server and client in one `node --predictable` process
 * (V8's deterministic mode: no background compiler or GC threads, no time-driven heuristics) for
 * WARMUP + N round trips; the count of a run with N = SHORT is subtracted from one with N = LONG,
 * which cancels start-up, module loading and warm-up, and divided by LONG - SHORT.
 */
import { execFileSync, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { currentLoad, describeMachine, packageVersions } from "../shared/machine.js";
import { positiveIntFlag } from "../shared/options.js";
import { stampOf } from "../shared/results.js";
import { commitStamp } from "../shared/source.js";
import { endSuiteRun } from "../shared/suite-report.js";
import { runWithWatchdog } from "../shared/watchdog.js";
import { ensureWirechanBuilt } from "../shared/build.js";
import { COUNTS, INSTRUCTION_ROWS, type InstructionRow } from "./config.js";
import { instructionHeadlines, instructionsReadme, type RowCounts } from "./report.js";

const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const ECHO = fileURLToPath(new URL("./children/echo.mjs", import.meta.url));
const VALGRIND = "valgrind";
/** The whole suite gives up after this long. */
const TOTAL_TIMEOUT_MS = 20 * 60_000;

/** Throws, saying how to install it, when valgrind is not on the PATH: the suite fails rather than skips. */
function valgrindVersion(): string {
  try {
    return execFileSync(VALGRIND, ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    throw new Error("valgrind is missing: bench:instructions counts with valgrind's callgrind; install it with `apt-get install -y valgrind`");
  }
}

/** Instructions callgrind counted in one run of the echo child with `count` measured round trips. */
function countInstructions(row: InstructionRow, count: number): Promise<number> {
  return new Promise(function run(resolve, reject) {
    const args = ["--tool=callgrind", "--callgrind-out-file=/dev/null", process.execPath, "--predictable", ECHO, row.name, String(COUNTS.warmup), String(count)];
    const child = spawn(VALGRIND, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-8_000);
    });
    child.once("error", reject);
    child.once("exit", (code) => {
      const collected = /Collected : (\d+)/.exec(stderr);
      if (code === 0 && collected?.[1] !== undefined) resolve(Number(collected[1]));
      else reject(new Error(`${row.label}: valgrind exited with ${code} (${stderr.trim().split("\n").slice(-3).join(" | ")})`));
    });
  });
}

/** One row's instructions per round trip: the long run's count minus the short one's, both at once (one per core). */
async function perRoundTrip(row: InstructionRow): Promise<number> {
  const [short, long] = await Promise.all([countInstructions(row, COUNTS.short), countInstructions(row, COUNTS.long)]);
  return (long - short) / (COUNTS.long - COUNTS.short);
}

async function main(): Promise<void> {
  const started = performance.now();
  const rounds = positiveIntFlag(process.argv.slice(2), "rounds", 2);
  const valgrind = valgrindVersion();
  ensureWirechanBuilt(REPO_ROOT, !process.argv.includes("--no-build"), ["server/index.js", "client/index.js", "index.js"]);
  const commit = commitStamp(REPO_ROOT);
  const loadAtStart = currentLoad();
  const counts: RowCounts[] = INSTRUCTION_ROWS.map((row) => ({ row, perRoundTrip: [] }));
  for (let round = 0; round < rounds; round++) {
    for (const entry of counts) {
      const value = await perRoundTrip(entry.row);
      entry.perRoundTrip.push(value);
      console.log(`[round ${round + 1}/${rounds}] ${entry.row.label.padEnd(32)} ${Math.round(value).toLocaleString("en-US")} instructions per round trip`);
    }
  }
  const machine = describeMachine(loadAtStart);
  const versions = packageVersions(REPO_ROOT, [
    ["wirechan", "package.json"],
    ["ws", "node_modules/ws/package.json"],
    ["socket.io", "node_modules/socket.io/package.json"],
    ["socket.io-client", "node_modules/socket.io-client/package.json"],
  ]);
  const durationMs = performance.now() - started;
  const input = { machine, commit, rounds, counts, versions, valgrind, durationMs };
  endSuiteRun({
    readmePath: fileURLToPath(new URL("./README.md", import.meta.url)),
    resultsPath: fileURLToPath(new URL("./results.json", import.meta.url)),
    failures: [],
    partial: null,
    readme: () => instructionsReadme(input),
    results: () => ({ suite: "instructions", stamp: stampOf(machine, commit, rounds, durationMs), headlines: instructionHeadlines(counts) }),
  });
}

runWithWatchdog("bench:instructions", TOTAL_TIMEOUT_MS, main);
