/**
 * The instructions suite (`npm run bench:instructions`): user-space instructions per echo round
 * trip, counted by valgrind's callgrind, for bench:protocol's echo over WebSocket (raw ws, its
 * JSON-frames-and-channels floor, socket.io, wirechan). A count that does not move with the
 * machine's load, where bench:protocol's wall-clock p50 moves by tens of percent from run to run.
 * Writes bench/instructions/README.md and results.json (report.ts). Options: `--rounds N`
 * (default 2), `--no-build` (use dist/ as it is).
 *
 * Method: children/echo.mjs runs a row's server and its client as two `node --predictable`
 * processes (V8's deterministic mode: no background compiler or GC threads, no time-driven
 * heuristics), each under callgrind, for WARMUP + N round trips; a side's count with N = SHORT
 * is subtracted from its count with N = LONG, which cancels start-up, module loading and
 * warm-up, and divided by LONG - SHORT.
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

/** One process of the echo child under callgrind; `onLine` sees its stdout's lines; resolves with its count. */
function underCallgrind(label: string, args: readonly string[], onLine?: (line: string) => void): Promise<number> {
  return new Promise(function run(resolve, reject) {
    const child = spawn(VALGRIND, ["--tool=callgrind", "--callgrind-out-file=/dev/null", process.execPath, "--predictable", ECHO, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-8_000);
    });
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      for (const line of chunk.split("\n")) if (line !== "") onLine?.(line);
    });
    child.once("error", reject);
    child.once("exit", (code) => {
      const collected = /Collected : (\d+)/.exec(stderr);
      if (code === 0 && collected?.[1] !== undefined) resolve(Number(collected[1]));
      else reject(new Error(`${label}: valgrind exited with ${code} (${stderr.trim().split("\n").slice(-3).join(" | ")})`));
    });
  });
}

interface SideCounts {
  readonly server: number;
  readonly client: number;
}

/** A row's server and client, each under callgrind, through WARMUP + `count` round trips. */
async function countRun(row: InstructionRow, count: number): Promise<SideCounts> {
  let portSeen: (port: number) => void = () => {};
  const port = new Promise<number>((resolve) => {
    portSeen = resolve;
  });
  const server = underCallgrind(`${row.label} server`, ["server", row.name], (line) => portSeen(Number(line)));
  // A server that fails before printing its port must not leave the client waiting for it.
  const [clientCount, serverCount] = await Promise.all([
    Promise.race([port, server.then(() => Promise.reject(new Error(`${row.label}: the server exited before listening`)))]).then((p) =>
      underCallgrind(`${row.label} client`, ["client", row.name, String(p), String(COUNTS.warmup), String(count)]),
    ),
    server,
  ]);
  return { server: serverCount, client: clientCount };
}

/**
 * A row's instructions per round trip, each side's: the long run's count minus the short one's,
 * over the difference in round trips. The two runs go at once: in each, the server and the
 * client take turns, so a run keeps about one core busy.
 */
async function perRoundTrip(row: InstructionRow): Promise<SideCounts> {
  const [short, long] = await Promise.all([countRun(row, COUNTS.short), countRun(row, COUNTS.long)]);
  const per = (side: keyof SideCounts): number => (long[side] - short[side]) / (COUNTS.long - COUNTS.short);
  return { server: per("server"), client: per("client") };
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
      const sides = await perRoundTrip(entry.row);
      entry.perRoundTrip.push(sides);
      const fmt = (n: number): string => Math.round(n).toLocaleString("en-US");
      console.log(`[round ${round + 1}/${rounds}] ${entry.row.label.padEnd(32)} ${fmt(sides.server + sides.client)} instructions per round trip (server ${fmt(sides.server)}, client ${fmt(sides.client)})`);
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
