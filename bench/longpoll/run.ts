// `npm run bench:longpoll`: builds wirechan, then measures fan-out from one server to 1,000
// long-polling clients: a wirechan topic and socket.io's polling transport. Each row is a fresh
// server process and fresh load-generator processes; prints the tables and, after a full run in
// which every row passed, writes bench/longpoll/README.md and results.json (the summary's;
// bench/shared/case-suite.ts runs it).
import { runCaseSuite } from "../shared/case-suite.js";
import { CASES, DEFAULT_RUNS, IMPLS, ROUNDS_BUDGET_MS, TOTAL_TIMEOUT_MS, implSpec } from "./config.js";
import { longpollHeadlines } from "./headlines.js";
import { runCase, type Outcome } from "./measure.js";
import { buildRows, renderConsole, renderReadme, rowKey } from "./report.js";

function describe(outcome: Outcome): string {
  if (!outcome.ok) return `FAILED: ${outcome.reason}`;
  const m = outcome.measurement;
  return (
    `${Math.round(m.throughput).toLocaleString("en-US")} deliveries/s, p50 ${m.p50Ms.toFixed(1)} ms, p99 ${m.p99Ms.toFixed(1)} ms; ` +
    `server ${m.serverUsMax.toFixed(2)} / ${m.serverUsFixed.toFixed(2)} µs, clients ${m.clientUsMax.toFixed(2)} / ${m.clientUsFixed.toFixed(2)} µs CPU/delivery (max / fixed); ` +
    `${m.requestsMax.toFixed(3)} / ${m.requestsFixed.toFixed(3)} requests/delivery`
  );
}

runCaseSuite({
  name: "longpoll",
  usage: "usage: npm run bench:longpoll -- [--runs N] [--impls topic,socketio] [--profile DIR] [--no-build]",
  cases: CASES,
  impls: IMPLS,
  defaultRuns: DEFAULT_RUNS,
  roundsBudgetMs: ROUNDS_BUDGET_MS,
  totalTimeoutMs: TOTAL_TIMEOUT_MS,
  versions: [
    ["wirechan", "package.json"],
    ["socket.io", "node_modules/socket.io/package.json"],
    ["socket.io-client", "node_modules/socket.io-client/package.json"],
  ],
  run: runCase,
  line: (spec, impl, outcome) => `${spec.name} clients, ${implSpec(impl).label.padEnd(26)} ${describe(outcome)}`,
  key: (spec, impl) => rowKey(spec.name, impl),
  report(run) {
    const rows = buildRows(run.measurements, run.failed, run.cases, run.impls);
    const input = { ...run, rows };
    return { console: renderConsole(input), readme: () => renderReadme(input), headlines: () => longpollHeadlines(rows) };
  },
  profileNote: (dir) => `profiles are in ${dir}; npx tsx bench/longpoll/profile-summary.ts ${dir}`,
});
