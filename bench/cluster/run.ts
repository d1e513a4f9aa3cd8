// `npm run bench:cluster`: builds wirechan, then measures broadcasts across NODES server
// processes, published on node 0 and delivered to WebSocket clients spread over every node: a
// wirechan topic on a Redis backplane, on a NATS backplane, and socket.io with its Redis adapter
// on the same Redis. Each row is fresh processes under a fresh prefix; prints the tables and
// writes bench/cluster/README.md.
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { ensureWirechanBuilt } from "../shared/build.js";
import { parseRunnerOptions, type RunnerOptions } from "../shared/cli.js";
import { describeMachine, packageVersions } from "../shared/machine.js";
import { stampOf, writeSuiteResults } from "../shared/results.js";
import { commitStamp, sourceState } from "../shared/source.js";
import { runRoundsWithinBudget } from "../shared/rounds.js";
import { rotate } from "../shared/stats.js";
import { runWithWatchdog } from "../shared/watchdog.js";
import { CASES, DEFAULT_NATS_URL, DEFAULT_REDIS_URL, DEFAULT_RUNS, IMPLS, ROUNDS_BUDGET_MS, TOTAL_TIMEOUT_MS, implSpec, type CaseName, type ClusterImpl } from "./config.js";
import { type EngineUrls, type Measurement, type Outcome, runRow } from "./measure.js";
import { clusterHeadlines } from "./headlines.js";
import { buildRows, checkTargets, countFailures, renderConsole, renderReadme } from "./report.js";

const REPO_ROOT = path.resolve(fileURLToPath(new URL("../..", import.meta.url)));
const README_PATH = path.join(REPO_ROOT, "bench", "cluster", "README.md");
const RESULTS_PATH = path.join(REPO_ROOT, "bench", "cluster", "results.json");
const USAGE = "usage: npm run bench:cluster -- [--runs N] [--only 300,1000] [--impls wirechan-redis,wirechan-nats,socketio-redis] [--profile DIR] [--no-build]";

type Options = RunnerOptions<CaseName, ClusterImpl>;

function parseOptions(argv: readonly string[]): Options {
  return parseRunnerOptions(argv, { cases: CASES.map((c) => c.name), impls: IMPLS.map((i) => i.name), defaultRuns: DEFAULT_RUNS, usage: USAGE });
}

function describe(outcome: Outcome): string {
  if (!outcome.ok) return `FAILED: ${outcome.reason}`;
  const m = outcome.measurement;
  return (
    `${Math.round(m.throughput).toLocaleString("en-US")} deliveries/s, p50 ${m.p50Ms.toFixed(1)} ms, p99 ${m.p99Ms.toFixed(1)} ms; ` +
    `backplane ${m.count.fixed.perBroadcast.toFixed(3)} / ${m.count.max.perBroadcast.toFixed(3)} message(s) per broadcast (fixed / max rate)`
  );
}

async function main(): Promise<void> {
  const started = performance.now();
  const options = parseOptions(process.argv.slice(2));
  // The benchmark reads the variables; the engines never do.
  const urls: EngineUrls = { redis: process.env["REDIS_URL"] ?? DEFAULT_REDIS_URL, nats: process.env["NATS_URL"] ?? DEFAULT_NATS_URL };
  const source = sourceState(REPO_ROOT);
  const commit = commitStamp(REPO_ROOT);
  ensureWirechanBuilt(REPO_ROOT, options.build, ["server/index.js", "client/index.js", "index.js", "backplane/redis.js", "backplane/nats.js"]);
  if (options.profileDir !== null) mkdirSync(options.profileDir, { recursive: true });
  const loadAtStart = os.loadavg();
  const measurements: Measurement[] = [];
  const failures: string[] = [];
  const rounds = await runRoundsWithinBudget(options.runs, ROUNDS_BUDGET_MS, started, async function round(index) {
    for (const spec of CASES.filter((c) => options.cases.includes(c.name))) {
      // The rows of a case one after another, their order rotated every round.
      for (const impl of rotate(options.impls, index)) {
        const outcome = await runRow(spec, impl, urls, options.profileDir);
        console.log(`[round ${index + 1}/${options.runs}] ${spec.name} clients, ${implSpec(impl).label.padEnd(25)} ${describe(outcome)}`);
        if (outcome.ok) measurements.push(outcome.measurement);
        else failures.push(`${spec.name}/${impl}: ${outcome.reason}`);
      }
    }
  });
  const rows = buildRows(measurements, options.cases, options.impls);
  failures.push(...countFailures(rows));
  const report = {
    rows,
    checks: checkTargets(rows),
    runs: rounds,
    machine: describeMachine(loadAtStart[0] ?? 0),
    loadAtStart,
    loadAtEnd: os.loadavg(),
    urls,
    versions: packageVersions(REPO_ROOT, [
      ["wirechan", "package.json"],
      ["socket.io", "node_modules/socket.io/package.json"],
      ["@socket.io/redis-adapter", "node_modules/@socket.io/redis-adapter/package.json"],
      ["ioredis", "node_modules/ioredis/package.json"],
      ["nats", "node_modules/nats/package.json"],
    ]),
    source,
    durationMs: performance.now() - started,
  };
  console.log(`\n${renderConsole(report)}\n`);
  if (failures.length > 0) {
    for (const f of failures) console.error(`FAILED ${f}`);
    console.error(`\n${failures.length} failure(s); ${README_PATH} was not rewritten.`);
    process.exitCode = 1;
    return;
  }
  if (options.cases.length !== CASES.length || options.impls.length !== IMPLS.length || options.profileDir !== null) {
    console.log(`--only, --impls or --profile was given: ${README_PATH} was not rewritten.`);
    if (options.profileDir !== null) console.log(`profiles (<impl>-<clients>.<node0..2|loadgen0..2>.<time>.cpuprofile) are in ${options.profileDir}`);
    return;
  }
  writeFileSync(README_PATH, renderReadme(report));
  writeSuiteResults(RESULTS_PATH, { suite: "cluster", stamp: stampOf(report.machine, commit, rounds, report.durationMs), headlines: clusterHeadlines(rows) });
  console.log(`wrote ${README_PATH} and ${RESULTS_PATH}`);
}

runWithWatchdog("bench:cluster", TOTAL_TIMEOUT_MS, main);
