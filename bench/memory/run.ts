// npm run bench:memory: server memory per idle client, raw ws and wirechan side by side, and
// where a wirechan connection's and session's bytes go (heap snapshots). See README.md.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ensureWirechanBuilt } from "../shared/build.js";
import { currentLoad, describeMachine } from "../shared/machine.js";
import { stampOf, writeSuiteResults } from "../shared/results.js";
import { commitStamp } from "../shared/source.js";
import { parseOnly } from "../shared/options.js";
import { parseRuns } from "../shared/cli.js";
import { runWithWatchdog } from "../shared/watchdog.js";
import type { KindPerClient } from "./heap.js";
import { IMPLS, type Impl, measureHeap, measureMemory, type MemoryPerClient } from "./measure.js";
import { memoryHeadlines } from "./headlines.js";
import { breakdown, readme, summaryTable } from "./report.js";

const USAGE = "usage: npm run bench:memory -- [--n 5000] [--snapshot-n 1000] [--runs 3] [--impls raw-ws,connection,session] [--keep-snapshots DIR] [--no-build]";
const repoRoot = path.resolve(import.meta.dirname, "../..");
/** Whatever hangs, the run ends. */
const TOTAL_TIMEOUT_MS = 15 * 60_000;
/** Clients at most: the server's limits and the machine's file descriptors. */
const MAX_CLIENTS = 20_000;

function parseCount(text: string | undefined, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > MAX_CLIENTS) throw new Error(`${flag} needs an integer from 1 to ${MAX_CLIENTS}\n${USAGE}`);
  return n;
}

interface Args {
  n: number;
  snapshotN: number;
  runs: number;
  impls: readonly Impl[];
  build: boolean;
  /** Where the heap snapshots are left (to open in DevTools), or null: a temporary directory, removed. */
  keepDir: string | null;
}

function parseArgs(argv: readonly string[]): Args {
  let n = 5000;
  let snapshotN = 1000;
  let runs = 3;
  let impls: readonly Impl[] = IMPLS;
  let build = true;
  let keepDir: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const [flag, inline] = arg.includes("=") ? arg.split("=", 2) : [arg, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    if (flag === "--n") n = parseCount(value(), "--n");
    else if (flag === "--snapshot-n") snapshotN = parseCount(value(), "--snapshot-n");
    else if (flag === "--runs") runs = parseRuns(value(), USAGE);
    else if (flag === "--impls") impls = parseOnly(value(), IMPLS, "implementations", USAGE, "--impls");
    else if (flag === "--no-build") build = false;
    else if (flag === "--keep-snapshots") keepDir = path.resolve(value() ?? ".");
    else throw new Error(`unknown argument "${arg}"\n${USAGE}`);
  }
  return { n, snapshotN, runs, impls, build, keepDir };
}

function commitOf(): string {
  try {
    const sha = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: repoRoot, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "src"], { cwd: repoRoot, encoding: "utf8" }).trim() !== "";
    return dirty ? `${sha} with uncommitted changes under src/` : sha;
  } catch {
    return "unknown";
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const args = parseArgs(process.argv.slice(2));
  ensureWirechanBuilt(repoRoot, args.build, ["server/index.js", "client/index.js"]);
  const loadAtStart = currentLoad();
  const memory = new Map<Impl, MemoryPerClient[]>(args.impls.map((impl) => [impl, []]));
  for (let run = 0; run < args.runs; run++) {
    for (const impl of args.impls) {
      const m = await measureMemory(impl, args.n);
      memory.get(impl)?.push(m);
      console.log(`run ${run + 1}/${args.runs} ${impl}: ${(m.rss / 1024).toFixed(2)} KiB RSS/client, ${(m.heapUsed / 1024).toFixed(2)} KiB heap/client, ${(m.heapTotal / 1024).toFixed(2)} KiB heap total/client (${(m.newSpace / 1024).toFixed(2)} of it young generation)`);
    }
  }
  const dir = args.keepDir ?? mkdtempSync(path.join(os.tmpdir(), "wirechan-bench-memory-"));
  const heap = new Map<Impl, KindPerClient[]>();
  try {
    for (const impl of args.impls) {
      heap.set(impl, await measureHeap(impl, args.snapshotN, dir, args.keepDir !== null));
      console.log(`heap snapshots of ${impl} read`);
    }
  } finally {
    if (args.keepDir === null) rmSync(dir, { recursive: true, force: true });
  }
  const results = { machine: describeMachine(loadAtStart), commit: commitOf(), n: args.n, snapshotN: args.snapshotN, runs: args.runs, memory, heap };
  console.log(summaryTable(results));
  // Only a run of every server at the default sizes speaks for the committed README.
  if (args.impls.length === IMPLS.length && args.n === 5000 && args.snapshotN === 1000) {
    writeFileSync(path.join(import.meta.dirname, "README.md"), readme(results));
    const stamp = stampOf(results.machine, commitStamp(repoRoot), args.runs, performance.now() - started);
    writeSuiteResults(path.join(import.meta.dirname, "results.json"), { suite: "memory", stamp, headlines: memoryHeadlines(memory) });
    console.log("wrote bench/memory/README.md and results.json");
  } else {
    // Not for the README: every kind that costs a client at least 4 bytes, to find the next thing to cut.
    for (const [impl, rows] of heap) console.log(`\n${impl}\n${breakdown(rows.filter((r) => Math.abs(r.bytes) >= 4), rows.length)}`);
  }
}

runWithWatchdog("bench:memory", TOTAL_TIMEOUT_MS, main);
