// `npm run bench:longpoll`: builds wirechan, then measures fan-out from one server to 1,000
// long-polling clients: a wirechan topic and socket.io's polling transport. Each row is a fresh
// server process and fresh load-generator processes; prints the tables and, after a full run in
// which every row passed, writes bench/longpoll/README.md and results.json (the summary's).
import { mkdirSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { ensureWirechanBuilt } from "../shared/build.js";
import { parseRunnerOptions, type RunnerOptions } from "../shared/cli.js";
import { currentLoad, describeMachine, packageVersions } from "../shared/machine.js";
import { stampOf } from "../shared/results.js";
import { runCaseRounds } from "../shared/rounds.js";
import { commitStamp, sourceState } from "../shared/source.js";
import { endSuiteRun } from "../shared/suite-report.js";
import { runWithWatchdog } from "../shared/watchdog.js";
import { CASES, DEFAULT_RUNS, IMPLS, ROUNDS_BUDGET_MS, TOTAL_TIMEOUT_MS, implSpec, type CaseName, type LongpollImpl } from "./config.js";
import { longpollHeadlines } from "./headlines.js";
import { runCase, type Outcome } from "./measure.js";
import { buildRows, renderConsole, renderReadme, rowKey } from "./report.js";

const REPO_ROOT = path.resolve(fileURLToPath(new URL("../..", import.meta.url)));
const README_PATH = path.join(REPO_ROOT, "bench", "longpoll", "README.md");
const RESULTS_PATH = path.join(REPO_ROOT, "bench", "longpoll", "results.json");
const USAGE = "usage: npm run bench:longpoll -- [--runs N] [--impls topic,socketio] [--profile DIR] [--no-build]";

type Options = RunnerOptions<CaseName, LongpollImpl>;

function parseOptions(argv: readonly string[]): Options {
  return parseRunnerOptions(argv, { cases: CASES.map((c) => c.name), impls: IMPLS.map((i) => i.name), defaultRuns: DEFAULT_RUNS, usage: USAGE });
}

function describe(outcome: Outcome): string {
  if (!outcome.ok) return `FAILED: ${outcome.reason}`;
  const m = outcome.measurement;
  return (
    `${Math.round(m.throughput).toLocaleString("en-US")} deliveries/s, p50 ${m.p50Ms.toFixed(1)} ms, p99 ${m.p99Ms.toFixed(1)} ms; ` +
    `server ${m.serverUsMax.toFixed(2)} / ${m.serverUsFixed.toFixed(2)} µs, clients ${m.clientUsMax.toFixed(2)} / ${m.clientUsFixed.toFixed(2)} µs CPU/delivery (max / fixed); ` +
    `${m.requestsMax.toFixed(3)} / ${m.requestsFixed.toFixed(3)} requests/delivery`
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
    line: (spec, impl, outcome) => `${spec.name} clients, ${implSpec(impl).label.padEnd(26)} ${describe(outcome)}`,
    key: (spec, impl) => rowKey(spec.name, impl),
  });
  const rows = buildRows(measurements, failed, options.cases, options.impls);
  const report = {
    rows,
    runs: rounds,
    machine: describeMachine(loadAtStart),
    versions: packageVersions(REPO_ROOT, [
      ["wirechan", "package.json"],
      ["socket.io", "node_modules/socket.io/package.json"],
      ["socket.io-client", "node_modules/socket.io-client/package.json"],
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
    partial: partial ? "--impls or --profile" : null,
    readme: () => renderReadme(report),
    results: () => ({ suite: "longpoll", stamp: stampOf(report.machine, commit, rounds, report.durationMs), headlines: longpollHeadlines(rows) }),
  });
  if (options.profileDir !== null) console.log(`profiles are in ${options.profileDir}; npx tsx bench/longpoll/profile-summary.ts ${options.profileDir}`);
}

runWithWatchdog("bench:longpoll", TOTAL_TIMEOUT_MS, main);
