// `npm run bench:topic`: builds wirechan, then measures fan-out on one node to 1,000 and 5,000
// WebSocket clients three ways: a wirechan topic, wirechan's loop of proxy puts, and raw ws.
// Each row is a fresh server process and fresh load-generator processes; prints the tables and
// writes bench/topic/README.md.
import { mkdirSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { ensureWirechanBuilt } from "../shared/build.js";
import { currentLoad, describeMachine, packageVersions } from "../shared/machine.js";
import { parseRunnerOptions, type RunnerOptions } from "../shared/cli.js";
import { stampOf } from "../shared/results.js";
import { runCaseRounds } from "../shared/rounds.js";
import { commitStamp, sourceState } from "../shared/source.js";
import { endSuiteRun } from "../shared/suite-report.js";
import { runWithWatchdog } from "../shared/watchdog.js";
import { CASES, DEFAULT_RUNS, IMPLS, ROUNDS_BUDGET_MS, TOTAL_TIMEOUT_MS, implSpec, type CaseName, type TopicImpl } from "./config.js";
import { runCase, type Outcome } from "./measure.js";
import { topicHeadlines } from "./headlines.js";
import { buildRows, checkTargets, renderConsole, renderReadme, rowKey } from "./report.js";

const REPO_ROOT = path.resolve(fileURLToPath(new URL("../..", import.meta.url)));
const README_PATH = path.join(REPO_ROOT, "bench", "topic", "README.md");
const RESULTS_PATH = path.join(REPO_ROOT, "bench", "topic", "results.json");
const USAGE = "usage: npm run bench:topic -- [--runs N] [--only 1000,5000] [--impls topic,loop,ws] [--profile DIR] [--no-build]";

type Options = RunnerOptions<CaseName, TopicImpl>;

function parseOptions(argv: readonly string[]): Options {
  return parseRunnerOptions(argv, { cases: CASES.map((c) => c.name), impls: IMPLS.map((i) => i.name), defaultRuns: DEFAULT_RUNS, usage: USAGE });
}

function describe(outcome: Outcome): string {
  if (!outcome.ok) return `FAILED: ${outcome.reason}`;
  const m = outcome.measurement;
  return (
    `${Math.round(m.throughput).toLocaleString("en-US")} deliveries/s (${m.cpuUsPerDeliveryMax.toFixed(2)} µs CPU/delivery), ` +
    `fixed rate ${m.cpuUsPerDelivery.toFixed(2)} µs CPU/delivery, p50 ${m.p50Ms.toFixed(1)} ms, p99 ${m.p99Ms.toFixed(1)} ms, ` +
    `${(m.rssPerClient / 1024).toFixed(1)} KiB/conn`
  );
}

async function main(): Promise<void> {
  const started = performance.now();
  const options = parseOptions(process.argv.slice(2));
  const source = sourceState(REPO_ROOT);
  const commit = commitStamp(REPO_ROOT);
  ensureWirechanBuilt(REPO_ROOT, options.build, ["server/index.js", "client/index.js", "index.js"]);
  if (options.profileDir !== null) mkdirSync(options.profileDir, { recursive: true });
  const loadAtStart = currentLoad();
  const { measurements, failed, failures, rounds } = await runCaseRounds({
    cases: CASES.filter((c) => options.cases.includes(c.name)),
    impls: options.impls,
    runs: options.runs,
    budgetMs: ROUNDS_BUDGET_MS,
    startedAt: started,
    run: (spec, impl) => runCase(spec, impl, options.profileDir),
    line: (spec, impl, outcome) => `${spec.name} clients, ${implSpec(impl).label.padEnd(27)} ${describe(outcome)}`,
    key: (spec, impl) => rowKey(spec.name, impl),
  });
  const rows = buildRows(measurements, failed, options.cases, options.impls);
  const report = {
    rows,
    checks: checkTargets(rows),
    runs: rounds,
    machine: describeMachine(loadAtStart),
    versions: packageVersions(REPO_ROOT, [
      ["wirechan", "package.json"],
      ["ws", "node_modules/ws/package.json"],
    ]),
    source,
    durationMs: performance.now() - started,
  };
  console.log(`\n${renderConsole(report)}\n`);
  const partial = options.cases.length !== CASES.length || options.impls.length !== IMPLS.length || options.profileDir !== null;
  endSuiteRun({
    readmePath: README_PATH,
    resultsPath: RESULTS_PATH,
    failures,
    partial: partial ? "--only, --impls or --profile" : null,
    readme: () => renderReadme(report),
    results: () => ({ suite: "topic", stamp: stampOf(report.machine, commit, rounds, report.durationMs), headlines: topicHeadlines(rows) }),
  });
  if (options.profileDir !== null) console.log(`profiles (<impl>-<clients>.<server1|loadgenN>.<time>.cpuprofile) are in ${options.profileDir}`);
}

runWithWatchdog("bench:topic", TOTAL_TIMEOUT_MS, main);
