// `npm run bench:server`: builds wirechan, then measures WebSocket and SSE fan-out of
// wirechan, raw ws, socket.io and a plain node:http SSE server, each server in a fresh child
// process driven by separate load-generator processes; prints the table and writes
// bench/server/README.md and its headlines, bench/server/results.json (bench/README.md is the
// summary `npm run bench` builds from every suite's results.json).
import { writeFileSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { ensureWirechanBuilt } from "../shared/build.js";
import { currentLoad, describeMachine, packageVersions } from "../shared/machine.js";
import { stampOf, writeSuiteResults } from "../shared/results.js";
import { commitStamp } from "../shared/source.js";
import { rotate } from "../shared/stats.js";
import { runWithWatchdog } from "../shared/watchdog.js";
import { CASES, DEFAULT_LOADGENS, DEFAULT_RUNS, TOTAL_TIMEOUT_MS, type CaseName } from "./config.js";
import { runCase, type Measurement, type Outcome } from "./measure.js";
import { serverHeadlines } from "./headlines.js";
import { buildRows, checkTargets, renderConsole, renderReadme, rowKey } from "./report.js";
import { parseOnly } from "../shared/options.js";

const REPO_ROOT = path.resolve(fileURLToPath(new URL("../..", import.meta.url)));
const README_PATH = path.join(REPO_ROOT, "bench", "server", "README.md");
const RESULTS_PATH = path.join(REPO_ROOT, "bench", "server", "results.json");
const USAGE = "usage: npm run bench:server -- [--runs N] [--only ws-1000,ws-5000,sse-1000] [--loadgens K] [--no-build]";

interface Options {
  readonly runs: number;
  readonly cases: readonly CaseName[];
  readonly loadgens: number;
  readonly build: boolean;
}

function positive(text: string | undefined, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 16) throw new Error(`${flag} needs an integer from 1 to 16\n${USAGE}`);
  return n;
}

function parseOptions(argv: readonly string[]): Options {
  let runs = DEFAULT_RUNS;
  let loadgens = DEFAULT_LOADGENS;
  let cases: CaseName[] = CASES.map((c) => c.name);
  let build = true;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const [flag, inline] = arg.includes("=") ? arg.split("=", 2) : [arg, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    if (flag === "--runs") runs = positive(value(), "--runs");
    else if (flag === "--loadgens") loadgens = positive(value(), "--loadgens");
    else if (flag === "--no-build") build = false;
    else if (flag === "--only") {
      cases = parseOnly(value(), CASES.map((c) => c.name), "cases", USAGE);
    } else throw new Error(`unknown argument "${arg}"\n${USAGE}`);
  }
  return { runs, cases, loadgens, build };
}

function describe(outcome: Outcome): string {
  if (!outcome.ok) return `FAILED: ${outcome.reason}`;
  const m = outcome.measurement;
  return (
    `${Math.round(m.throughput).toLocaleString("en-US")} deliveries/s, p50 ${m.p50Ms.toFixed(1)} ms, p99 ${m.p99Ms.toFixed(1)} ms ` +
    `(server: send p50 ${m.serverSendP50Ms.toFixed(1)}, p99 ${m.serverSendP99Ms.toFixed(1)}, late p99 ${m.serverLateP99Ms.toFixed(1)} ms), ` +
    `${m.cpuUsPerDelivery.toFixed(2)} µs CPU/delivery, ${(m.rssPerClient / 1024).toFixed(1)} KiB/conn`
  );
}

async function main(): Promise<void> {
  const started = performance.now();
  const options = parseOptions(process.argv.slice(2));
  const commit = commitStamp(REPO_ROOT);
  ensureWirechanBuilt(REPO_ROOT, options.build, ["server/index.js"]);
  const loadAtStart = currentLoad();
  const measurements: Measurement[] = [];
  const failed = new Set<string>();
  const failures: string[] = [];
  for (let round = 0; round < options.runs; round++) {
    for (const spec of CASES.filter((c) => options.cases.includes(c.name))) {
      for (const impl of rotate(spec.impls, round)) {
        const outcome = await runCase(spec, impl, options.loadgens);
        console.log(`[round ${round + 1}/${options.runs}] ${spec.name.padEnd(8)} ${impl.padEnd(12)} ${describe(outcome)}`);
        if (outcome.ok) measurements.push(outcome.measurement);
        else {
          failed.add(rowKey(spec.name, impl));
          failures.push(`${spec.name}/${impl}: ${outcome.reason}`);
        }
      }
    }
  }
  const rows = buildRows(measurements, failed, options.cases);
  const report = {
    rows,
    checks: checkTargets(rows),
    runs: options.runs,
    loadgens: options.loadgens,
    machine: describeMachine(loadAtStart),
    versions: packageVersions(REPO_ROOT, [
      ["wirechan", "package.json"],
      ["ws", "node_modules/ws/package.json"],
      ["socket.io", "node_modules/socket.io/package.json"],
      ["socket.io-client", "node_modules/socket.io-client/package.json"],
    ]),
  };
  console.log(`\n${renderConsole(report)}\n`);
  if (failures.length > 0) {
    for (const f of failures) console.error(`FAILED ${f}`);
    console.error(`\n${failures.length} run(s) failed; ${README_PATH} was not rewritten.`);
    process.exitCode = 1;
    return;
  }
  if (options.cases.length !== CASES.length) {
    console.log(`--only was given: ${README_PATH} was not rewritten.`);
    return;
  }
  writeFileSync(README_PATH, renderReadme(report));
  writeSuiteResults(RESULTS_PATH, { suite: "server", stamp: stampOf(report.machine, commit, options.runs, performance.now() - started), headlines: serverHeadlines(rows) });
  console.log(`wrote ${README_PATH} and ${RESULTS_PATH}`);
}

runWithWatchdog("bench:server", TOTAL_TIMEOUT_MS, main);
