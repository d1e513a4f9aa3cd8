// `npm run bench:topic`: builds wirechan, then measures fan-out on one node to 1,000 and 5,000
// WebSocket clients three ways: a wirechan topic, wirechan's loop of proxy puts, and raw ws.
// Each row is a fresh server process and fresh load-generator processes; prints the tables and,
// after a full run in which every row passed, writes bench/topic/README.md and results.json
// (bench/shared/case-suite.ts runs it).
import { runCaseSuite } from "../shared/case-suite.js";
import { CASES, DEFAULT_RUNS, IMPLS, ROUNDS_BUDGET_MS, TOTAL_TIMEOUT_MS, implSpec } from "./config.js";
import { topicHeadlines } from "./headlines.js";
import { runCase, type Outcome } from "./measure.js";
import { buildRows, checkTargets, renderConsole, renderReadme, rowKey } from "./report.js";

function describe(outcome: Outcome): string {
  if (!outcome.ok) return `FAILED: ${outcome.reason}`;
  const m = outcome.measurement;
  return (
    `${Math.round(m.throughput).toLocaleString("en-US")} deliveries/s (${m.cpuUsPerDeliveryMax.toFixed(2)} µs CPU/delivery), ` +
    `fixed rate ${m.cpuUsPerDelivery.toFixed(2)} µs CPU/delivery, p50 ${m.p50Ms.toFixed(1)} ms, p99 ${m.p99Ms.toFixed(1)} ms, ` +
    `${(m.rssPerClient / 1024).toFixed(1)} KiB/conn`
  );
}

runCaseSuite({
  name: "topic",
  usage: "usage: npm run bench:topic -- [--runs N] [--only 1000,5000] [--impls topic,loop,ws] [--profile DIR] [--no-build]",
  cases: CASES,
  impls: IMPLS,
  defaultRuns: DEFAULT_RUNS,
  roundsBudgetMs: ROUNDS_BUDGET_MS,
  totalTimeoutMs: TOTAL_TIMEOUT_MS,
  versions: [
    ["wirechan", "package.json"],
    ["ws", "node_modules/ws/package.json"],
  ],
  run: runCase,
  line: (spec, impl, outcome) => `${spec.name} clients, ${implSpec(impl).label.padEnd(27)} ${describe(outcome)}`,
  key: (spec, impl) => rowKey(spec.name, impl),
  report(run) {
    const rows = buildRows(run.measurements, run.failed, run.cases, run.impls);
    const input = { ...run, rows, checks: checkTargets(rows) };
    return { console: renderConsole(input), readme: () => renderReadme(input), headlines: () => topicHeadlines(rows) };
  },
  profileNote: (dir) => `profiles (<impl>-<clients>.<server1|loadgenN>.<time>.cpuprofile) are in ${dir}; npx tsx bench/longpoll/profile-summary.ts ${dir}`,
});
