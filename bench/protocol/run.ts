// `npm run bench:protocol`: builds wirechan, then measures round-trip time and one-client
// throughput of the wirechan protocol over websocket, sse and longpoll next to raw ws and
// socket.io (websocket and polling), each row a fresh server process and a fresh client
// process; prints the tables and writes bench/protocol/README.md.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { ensureWirechanBuilt } from "../shared/build.js";
import { currentLoad, describeMachine, packageVersions } from "../shared/machine.js";
import { stampOf, writeSuiteResults } from "../shared/results.js";
import { commitStamp, sourceState } from "../shared/source.js";
import { rotate } from "../shared/stats.js";
import { runWithWatchdog } from "../shared/watchdog.js";
import { DEFAULT_RUNS, ROUNDS_BUDGET_MS, ROWS, TOTAL_TIMEOUT_MS, rowSpec, type RowName } from "./config.js";
import { runRow, type Measurement, type Outcome } from "./measure.js";
import { protocolHeadlines } from "./headlines.js";
import { buildRows, checkTargets, renderConsole, renderReadme } from "./report.js";
import { parseOnly } from "../shared/options.js";
import { readEchoCodecNumbers } from "../codec/report.js";

const REPO_ROOT = path.resolve(fileURLToPath(new URL("../..", import.meta.url)));
const README_PATH = path.join(REPO_ROOT, "bench", "protocol", "README.md");
const RESULTS_PATH = path.join(REPO_ROOT, "bench", "protocol", "results.json");
const USAGE = `usage: npm run bench:protocol -- [--runs N] [--only ${ROWS.map((r) => r.name).join(",")}] [--profile DIR] [--no-build]`;

interface Options {
  readonly runs: number;
  readonly rows: readonly RowName[];
  readonly build: boolean;
  /** Directory for --cpu-prof profiles of every child, or null. */
  readonly profileDir: string | null;
}

function parseOptions(argv: readonly string[]): Options {
  let runs = DEFAULT_RUNS;
  let rows: RowName[] = ROWS.map((r) => r.name);
  let build = true;
  let profileDir: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const [flag, inline] = arg.includes("=") ? arg.split("=", 2) : [arg, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    if (flag === "--runs") {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 1 || n > 16) throw new Error(`--runs needs an integer from 1 to 16\n${USAGE}`);
      runs = n;
    } else if (flag === "--no-build") build = false;
    else if (flag === "--profile") {
      const dir = value();
      if (dir === undefined || dir.length === 0) throw new Error(`--profile needs a directory\n${USAGE}`);
      profileDir = path.resolve(dir);
    } else if (flag === "--only") {
      rows = parseOnly(value(), ROWS.map((r) => r.name), "rows", USAGE);
    } else throw new Error(`unknown argument "${arg}"\n${USAGE}`);
  }
  return { runs, rows, build, profileDir };
}

function describe(outcome: Outcome): string {
  if (!outcome.ok) return `FAILED: ${outcome.reason}`;
  const { rtt, throughput } = outcome.measurement;
  const rates = throughput.map((t) => `${t.variant} ${Math.round(t.perSecond).toLocaleString("en-US")}/s${t.complete ? "" : " (partial)"}`).join(", ");
  return `RTT p50 ${rtt.p50Ms.toFixed(3)} ms, p99 ${rtt.p99Ms.toFixed(3)} ms (${rtt.roundTrips}); ${rates}`;
}

async function main(): Promise<void> {
  const started = performance.now();
  const options = parseOptions(process.argv.slice(2));
  const source = sourceState(REPO_ROOT);
  const commit = commitStamp(REPO_ROOT);
  ensureWirechanBuilt(REPO_ROOT, options.build, ["server/index.js", "client/index.js", "index.js"]);
  if (options.profileDir !== null) mkdirSync(options.profileDir, { recursive: true });
  const loadAtStart = currentLoad();
  const measurements: Measurement[] = [];
  const failed = new Set<RowName>();
  const failures: string[] = [];
  let rounds = 0;
  let longestRoundMs = 0;
  for (let round = 0; round < options.runs; round++) {
    const elapsed = performance.now() - started;
    if (round > 0 && elapsed + longestRoundMs > ROUNDS_BUDGET_MS) {
      console.log(`stopping after ${round} round(s): another would end past the ${ROUNDS_BUDGET_MS / 60_000}-minute budget`);
      break;
    }
    const roundStart = performance.now();
    for (const row of rotate(options.rows, round)) {
      const outcome = await runRow(rowSpec(row), options.profileDir);
      console.log(`[round ${round + 1}/${options.runs}] ${rowSpec(row).label.padEnd(22)} ${describe(outcome)}`);
      if (outcome.ok) measurements.push(outcome.measurement);
      else {
        failed.add(row);
        failures.push(`${row}: ${outcome.reason}`);
      }
    }
    rounds++;
    longestRoundMs = Math.max(longestRoundMs, performance.now() - roundStart);
  }
  const rows = buildRows(measurements, failed, options.rows);
  const report = {
    rows,
    checks: checkTargets(rows),
    runs: rounds,
    requestedRuns: options.runs,
    machine: describeMachine(loadAtStart),
    versions: packageVersions(REPO_ROOT, [
      ["wirechan", "package.json"],
      ["ws", "node_modules/ws/package.json"],
      ["socket.io", "node_modules/socket.io/package.json"],
      ["socket.io-client", "node_modules/socket.io-client/package.json"],
    ]),
    source,
    durationMs: performance.now() - started,
    codec: readEchoCodecNumbers(path.join(REPO_ROOT, "bench", "codec", "results.json")),
  };
  console.log(`\n${renderConsole(report)}\n`);
  if (failures.length > 0) {
    for (const f of failures) console.error(`FAILED ${f}`);
    console.error(`\n${failures.length} run(s) failed; ${README_PATH} was not rewritten.`);
    process.exitCode = 1;
    return;
  }
  if (options.rows.length !== ROWS.length || options.profileDir !== null) {
    console.log(`--only or --profile was given: ${README_PATH} was not rewritten.`);
    if (options.profileDir !== null) console.log(`profiles (<row>.<server|client>.<time>.cpuprofile) are in ${options.profileDir}`);
    return;
  }
  writeFileSync(README_PATH, renderReadme(report));
  writeSuiteResults(RESULTS_PATH, { suite: "protocol", stamp: stampOf(report.machine, commit, rounds, report.durationMs), headlines: protocolHeadlines(rows) });
  console.log(`wrote ${README_PATH} and ${RESULTS_PATH}`);
}

runWithWatchdog("bench:protocol", TOTAL_TIMEOUT_MS, main);
