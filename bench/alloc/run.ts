/**
 * The allocation suite (`npm run bench:alloc`): the bytes a server and a client allocate per
 * echo round trip, for every row of bench:protocol (raw ws, its JSON floors, socket.io, wirechan
 * over each transport), counted with V8's sampling heap profiler. Unlike time, this count does
 * not move with the machine's speed or load: it is the number to watch while cutting the
 * session's work (issue 12, item 2). Writes bench/alloc/README.md and results.json (report.ts).
 *
 * Options: `--runs N` rounds (default 3), `--only ROWS` (bench:protocol's row names; a partial
 * run rewrites nothing), `--no-build`. Traffic stays on 127.0.0.1; each row is killed after 60 s
 * and the run after 10 minutes.
 */
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { ensureWirechanBuilt } from "../shared/build.js";
import { currentLoad, describeMachine, packageVersions } from "../shared/machine.js";
import { parseRunnerOptions } from "../shared/cli.js";
import { stampOf } from "../shared/results.js";
import { commitStamp } from "../shared/source.js";
import { rotate } from "../shared/stats.js";
import { endSuiteRun } from "../shared/suite-report.js";
import { runWithWatchdog } from "../shared/watchdog.js";
import { ROWS, type RowName } from "../protocol/config.js";
import { type AllocationResult, runAllocationRow } from "./measure.js";
import { allocationHeadlines, allocationReadme } from "./report.js";

const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const USAGE = "usage: npm run bench:alloc -- [--runs N] [--only ROWS] [--no-build]";

interface Options {
  readonly runs: number;
  readonly rows: readonly RowName[];
  readonly build: boolean;
  readonly partial: boolean;
}

/**
 * The shared runner flags (bench/shared/cli.ts), `--only` naming bench:protocol's rows. This
 * suite has no implementations to pick and no CPU profile to write (a profiler would change what
 * it counts), so `--impls` and `--profile` are refused.
 */
function parseOptions(argv: readonly string[]): Options {
  const refused = argv.some((arg) => /^--(impls|profile)(=|$)/.test(arg));
  if (refused) throw new Error(`bench:alloc takes neither --impls nor --profile\n${USAGE}`);
  const names = ROWS.map((row) => row.name);
  const { runs, cases, build } = parseRunnerOptions(argv, { cases: names, impls: [], defaultRuns: 3, usage: USAGE });
  return { runs, rows: cases, build, partial: cases.length !== names.length };
}

async function main(): Promise<void> {
  const started = performance.now();
  const options = parseOptions(process.argv.slice(2));
  ensureWirechanBuilt(REPO_ROOT, options.build, ["server/index.js", "client/index.js", "index.js"]);
  const commit = commitStamp(REPO_ROOT);
  const loadAtStart = currentLoad();
  const specs = ROWS.filter((row) => options.rows.includes(row.name));
  const runs = new Map<RowName, AllocationResult[]>();
  const failures: string[] = [];
  for (let round = 0; round < options.runs; round++) {
    for (const spec of rotate(specs, round)) {
      const outcome = await runAllocationRow(spec);
      if (!outcome.ok) {
        failures.push(`${spec.label}: ${outcome.reason}`);
        console.error(`[round ${round + 1}/${options.runs}] ${spec.label.padEnd(32)} FAILED: ${outcome.reason}`);
        continue;
      }
      const { result } = outcome;
      runs.set(spec.name, [...(runs.get(spec.name) ?? []), result]);
      const kb = (bytes: number): string => (bytes / 1000).toFixed(2);
      console.log(`[round ${round + 1}/${options.runs}] ${spec.label.padEnd(32)} server ${kb(result.serverBytes)} KB, client ${kb(result.clientBytes)} KB per round trip`);
    }
  }
  const machine = describeMachine(loadAtStart);
  const versions = packageVersions(REPO_ROOT, [
    ["ws", "node_modules/ws/package.json"],
    ["socket.io", "node_modules/socket.io/package.json"],
  ]);
  const input = { machine, commit, runs: options.runs, specs, results: runs, versions, durationMs: performance.now() - started };
  endSuiteRun({
    readmePath: fileURLToPath(new URL("./README.md", import.meta.url)),
    resultsPath: fileURLToPath(new URL("./results.json", import.meta.url)),
    failures,
    partial: options.partial ? "--only" : null,
    readme: () => allocationReadme(input),
    results: () => ({ suite: "alloc", stamp: stampOf(machine, commit, options.runs, input.durationMs), headlines: allocationHeadlines(runs) }),
  });
}

runWithWatchdog("bench:alloc", 10 * 60_000, main);
