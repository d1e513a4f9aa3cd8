// Renders the topic benchmark: plain-text tables for the terminal and bench/topic/README.md.
import type { CaseSuiteRun } from "../shared/case-suite.js";
import { LOADED_PER_CORE, loadedAtStart, type MachineInfo, machineLines } from "../shared/machine.js";
import { mediansOf } from "../shared/stats.js";
import { formatRatio, markdownTable, plainTable, verdict } from "../shared/tables.js";
import {
  CASES,
  DEFAULT_RUNS,
  IMPLS,
  LOADGENS,
  PHASES,
  ROUNDS_BUDGET_MS,
  TARGET_CPU_VS_WS,
  TOTAL_TIMEOUT_MS,
  implSpec,
  type CaseName,
  type TopicImpl,
} from "./config.js";
import type { Measurement } from "./measure.js";
import { writtenBy } from "../shared/results.js";

export type Metric = "throughput" | "cpuUsPerDeliveryMax" | "cpuUsPerDelivery" | "p50Ms" | "p99Ms" | "rssPerClient";
const METRICS: readonly Metric[] = ["throughput", "cpuUsPerDeliveryMax", "cpuUsPerDelivery", "p50Ms", "p99Ms", "rssPerClient"];

export interface Row {
  readonly caseName: CaseName;
  readonly impl: TopicImpl;
  readonly runs: readonly Measurement[];
  /** Median of each metric over the runs; undefined when any run of the row failed. */
  readonly median: Readonly<Record<Metric, number>> | undefined;
}

export interface TargetCheck {
  readonly label: string;
  readonly caseName: CaseName;
  readonly topic: number | undefined;
  readonly ws: number | undefined;
  readonly ratio: number | undefined;
  readonly met: boolean | undefined;
}

/** What the report is made from: a run of the suite (bench/shared/case-suite.ts), its rows made. */
export interface ReportInput extends Pick<CaseSuiteRun<Measurement, CaseName, string>, "runs" | "machine" | "versions" | "source" | "durationMs"> {
  readonly rows: readonly Row[];
  readonly checks: readonly TargetCheck[];
}

export function rowKey(caseName: CaseName, impl: TopicImpl): string {
  return `${caseName}/${impl}`;
}

export function buildRows(
  measurements: readonly Measurement[],
  failed: ReadonlySet<string>,
  cases: readonly CaseName[],
  impls: readonly TopicImpl[],
): Row[] {
  const rows: Row[] = [];
  for (const spec of CASES.filter((c) => cases.includes(c.name))) {
    for (const impl of impls) {
      const runs = measurements.filter((m) => m.caseName === spec.name && m.impl === impl);
      const complete = runs.length > 0 && !failed.has(rowKey(spec.name, impl));
      const med = complete ? mediansOf(runs, METRICS) : undefined;
      rows.push({ caseName: spec.name, impl, runs, median: med });
    }
  }
  return rows;
}

function value(rows: readonly Row[], caseName: CaseName, impl: TopicImpl, metric: Metric): number | undefined {
  return rows.find((r) => r.caseName === caseName && r.impl === impl)?.median?.[metric];
}

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined ? undefined : a / b;
}

/** The target, on the CPU per delivery of both phases, at every client count. */
export function checkTargets(rows: readonly Row[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const spec of CASES) {
    if (!rows.some((r) => r.caseName === spec.name)) continue;
    for (const [metric, label] of [
      ["cpuUsPerDelivery", "fixed rate"],
      ["cpuUsPerDeliveryMax", "max rate"],
    ] as const) {
      const topic = value(rows, spec.name, "topic", metric);
      const ws = value(rows, spec.name, "ws", metric);
      const r = ratio(topic, ws);
      checks.push({ label, caseName: spec.name, topic, ws, ratio: r, met: r === undefined ? undefined : r <= TARGET_CPU_VS_WS });
    }
  }
  return checks;
}

const int = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const fmt = {
  throughput: (v: number) => int.format(Math.round(v)),
  ms: (v: number) => v.toFixed(1),
  us: (v: number) => v.toFixed(2),
  kib: (v: number) => (v / 1024).toFixed(1),
};

const clientsOf = (c: CaseName): string => int.format(CASES.find((s) => s.name === c)?.clients ?? 0);

const HEADER = ["clients", "server", "max-rate deliveries/s", "CPU µs/delivery (max rate)", "CPU µs/delivery (fixed rate)", "p50 ms", "p99 ms", "RSS KiB/conn"];

function resultCells(row: Row): string[] {
  const m = row.median;
  const cell = (f: (v: number) => string, k: Metric): string => (m === undefined ? "FAILED" : f(m[k]));
  return [
    clientsOf(row.caseName),
    implSpec(row.impl).label,
    cell(fmt.throughput, "throughput"),
    cell(fmt.us, "cpuUsPerDeliveryMax"),
    cell(fmt.us, "cpuUsPerDelivery"),
    cell(fmt.ms, "p50Ms"),
    cell(fmt.ms, "p99Ms"),
    cell(fmt.kib, "rssPerClient"),
  ];
}

const RATIO_HEADER = ["clients", "measure", "topic / raw ws", "loop / raw ws", "topic / loop"];
const RATIO_METRICS: ReadonlyArray<readonly [Metric, string]> = [
  ["cpuUsPerDeliveryMax", "CPU per delivery, max rate (lower is better)"],
  ["cpuUsPerDelivery", "CPU per delivery, fixed rate (lower is better)"],
  ["throughput", "max-rate deliveries/s (higher is better)"],
];

function ratioRows(rows: readonly Row[]): string[][] {
  const out: string[][] = [];
  for (const spec of CASES) {
    if (!rows.some((r) => r.caseName === spec.name)) continue;
    for (const [metric, label] of RATIO_METRICS) {
      const [topic, loop, ws] = (["topic", "loop", "ws"] as const).map((impl) => value(rows, spec.name, impl, metric));
      const show = (r: number | undefined): string => (r === undefined ? "n/a" : `${r.toFixed(2)}x`);
      out.push([clientsOf(spec.name), label, show(ratio(topic, ws)), show(ratio(loop, ws)), show(ratio(topic, loop))]);
    }
  }
  return out;
}

const CHECK_HEADER = ["target", "clients", "topic", "raw ws", "topic / raw ws", "verdict"];

function checkCells(c: TargetCheck): string[] {
  const us = (v: number | undefined): string => (v === undefined ? "n/a" : `${fmt.us(v)} µs`);
  return [
    `topic CPU per delivery (${c.label}) <= ${TARGET_CPU_VS_WS.toFixed(1)}x raw ws`,
    clientsOf(c.caseName),
    us(c.topic),
    us(c.ws),
    formatRatio(c.ratio, "max"),
    verdict(c.met),
  ];
}

export function renderConsole(input: ReportInput): string {
  return [
    `median of ${input.runs} fresh-process run(s) per row:`,
    plainTable(HEADER, input.rows.map(resultCells), 2),
    "",
    plainTable(TRAFFIC_HEADER, input.rows.map(trafficCells), 2),
    "",
    plainTable(RATIO_HEADER, ratioRows(input.rows), 2),
    "",
    plainTable(CHECK_HEADER, input.checks.map(checkCells), 2),
  ].join("\n");
}

const TRAFFIC_HEADER = ["clients", "server", "sent / delivery (fixed rate)", "received / delivery (fixed rate)", "sent / delivery (max rate)", "received / delivery (max rate)"];

/** The server's WebSocket messages per delivery, of the first run of each row (they hardly move between runs). */
function trafficCells(row: Row): string[] {
  const t = row.runs[0]?.traffic;
  const f = (v: number | undefined): string => (v === undefined ? "n/a" : v.toFixed(2));
  return [clientsOf(row.caseName), implSpec(row.impl).label, f(t?.fixed.sent), f(t?.fixed.received), f(t?.max.sent), f(t?.max.received)];
}

function runsSection(input: ReportInput): string {
  const rows = input.rows.map((row) => [
    clientsOf(row.caseName),
    implSpec(row.impl).label,
    row.runs.map((r) => fmt.throughput(r.throughput)).join(" / "),
    row.runs.map((r) => fmt.us(r.cpuUsPerDeliveryMax)).join(" / "),
    row.runs.map((r) => fmt.us(r.cpuUsPerDelivery)).join(" / "),
    row.runs.map((r) => String(r.maxRounds)).join(" / "),
  ]);
  return markdownTable(["clients", "server", "deliveries/s", "CPU µs/delivery (max rate)", "CPU µs/delivery (fixed rate)", "max-rate rounds measured"], rows, 2);
}

function loadWarning(m: MachineInfo): string {
  if (!loadedAtStart(m.loadAtStart, m.cores)) return "";
  return (
    `\n**This run was made on a loaded machine** (1-minute load average ${m.loadAtStart.toFixed(2)} when it started, above ${LOADED_PER_CORE} per core on ${m.cores} cores, ` +
    "other work running beside the benchmark): absolute numbers are low and noisy; the ratios of rows measured " +
    "one after another are what to read, and a run on a quiet machine should replace this one.\n"
  );
}

export function renderReadme(input: ReportInput): string {
  const m = input.machine;
  const versions = ["wirechan", "ws"].map((p) => `${p} ${input.versions.get(p) ?? "unknown"}`).join(", ");
  const implList = IMPLS.map((i) => `- ${i.label}: ${i.description}.`).join("\n");
  const fixedList = CASES.map(
    (c) => `${clientsOf(c.name)} clients: ${c.fixedWarmupRounds} warm-up broadcasts then ${c.fixedRounds} measured ones at ${c.fixedHz}/s`,
  ).join("; ");
  return `# wirechan topic benchmark

${writtenBy("topic")} Issue 11's
benchmark (a): fan-out on one node through a topic, beside raw \`ws\` sending the same message
and beside today's loop of proxy puts.
${loadWarning(m)}
## How to run

\`\`\`sh
npm run bench:topic
\`\`\`

It builds wirechan first (\`npx tsc -p tsconfig.build.json\`; \`--no-build\` uses the existing dist/).
\`--runs N\` below the default (${DEFAULT_RUNS}; no round starts after ${ROUNDS_BUDGET_MS / 60_000} minutes), \`--only 1000,5000\`, \`--impls topic,loop,ws\` and
\`--profile DIR\` (every child writes a V8 CPU profile, \`<impl>-<clients>.<server1|loadgenN>.<time>.cpuprofile\`,
into DIR; open it in Chrome DevTools) are for iteration and never rewrite this file; it is only
rewritten by a run of every row in which every run passed. The run stops by itself: a row is
killed after ${PHASES.rowTimeoutMs / 1000} s, everything after ${TOTAL_TIMEOUT_MS / 60_000} minutes. This run took ${Math.round(input.durationMs / 1000)} s.

## Machine

${machineLines(m)}
- Packages: ${versions}
- Sources measured: ${input.source}

## Method

Servers (one per row, in a fresh \`node --expose-gc\` process, all on 127.0.0.1):

${implList}

Clients: ${LOADGENS} load-generator processes per row share its clients. The wirechan rows' clients are
wirechan's own Node client, \`connect(url, { transports: ["websocket"], upgradeProbeInterval: 0 })\` from
dist/client/index.js, one session each, with one inbox \`chan(256)\` read in a loop
(\`await inbox.take()\`): the protocol's whole client side (sequence numbers, replay buffer,
the answer to every put, acknowledgements, heartbeats). Raw ws clients are \`ws\` sockets
(\`perMessageDeflate: false\`) that \`JSON.parse\` each message. Every message is ~100 bytes of JSON,
\`{"p":phase,"seq":n,"t":sendTime,"pad":"xxx…"}\`, with \`t\` from \`performance.timeOrigin +
performance.now()\` in the server. Phases of one row, in order:

1. Connect: the clients connect (at most ${PHASES.connectConcurrency} at once per load generator) and, on the wirechan rows,
   subscribe or join (each client's put resolved \`true\`); then the parent waits until the server
   itself counts all of them (\`topic.subscriberCount\`, the loop's inboxes, \`wss.clients.size\`).
2. **RSS per idle connection**: the first ${PHASES.warmupClients} clients connect (and subscribe) before the others;
   the server GCs (3x \`gc()\`) and reads \`process.memoryUsage().rss\` ${PHASES.idleSettleMs / 1000} s after them and again
   ${PHASES.idleSettleMs / 1000} s after the last client subscribed; (idle - warm) / the other clients (counted from after a
   warm-up, as bench/memory counts it).
3. **Fixed rate** (${fixedList}; a drift-free schedule, fewer per second at 5,000 so that the
   load generators keep up). **Latency** is (client receive time - \`t\`) for every measured
   delivery, p50/p99 over all. **CPU per delivery** is the server's \`process.cpuUsage()\` (user +
   system) over the measured window (idle time and timers included, the same window for every
   row of a case) / (measured broadcasts x clients).
4. **Max rate**: the server broadcasts as fast as the clients keep up, with at most ${PHASES.maxWindow} rounds in
   flight: a load generator writes \`ack <seq>\` on a plain TCP control connection once every one of
   its clients received round \`seq\`, and each ack releases the next round. After ${PHASES.maxWarmupMs / 1000} s of
   warm-up, the rounds acked in the next ${PHASES.maxMeasureMs / 1000} s (plus those in flight, drained after it) give
   deliveries/s = rounds x clients / elapsed, and the server's CPU over them / deliveries its CPU per delivery.
5. Check: every client checks each message it gets: the rounds of each phase must arrive
   once each and in order (seq 0, 1, 2 …), and the counts per phase summed over clients must equal
   rounds x clients; a wirechan inbox that got \`{ dropped }\` or a session that left the \`open\` state
   (reconnecting, lost) fails the row too, as does a message that does not parse. Then every process is stopped.

Rows run one at a time (the rows of a case one after another), ${input.runs} round(s), the order rotated
between rounds; each number is the median over the rounds.

## Results (median)

${markdownTable(HEADER, input.rows.map(resultCells), 2)}

The server's WebSocket messages per delivery (counted by wrapping \`ws\`'s \`send\` and its
\`message\` events in the server process), over the same windows as its CPU; from the first run of
each row. At the max rate the rounds already in flight when the window opens are counted as
delivered in it but not as sent, so "sent" there reads up to ${PHASES.maxWindow} rounds low (a few percent); fewer
than one message per delivery means several rounds shared a packet.

${markdownTable(TRAFFIC_HEADER, input.rows.map(trafficCells), 2)}

## Ratios

Of the medians above.

${markdownTable(RATIO_HEADER, ratioRows(input.rows), 2)}

## Target

From issue 11: the topic's server CPU per delivery at most ${TARGET_CPU_VS_WS}x raw ws's, checked on both
phases (ratios rounded up).

${markdownTable(CHECK_HEADER, input.checks.map(checkCells), 2)}

## Individual runs

${runsSection(input)}

## Caveats

- What the wire carries differs: raw ws sends one message per delivery and hears nothing back. A
  wirechan delivery is a put (docs/protocol.md sections 2 and 4): the server sends \`[seq, "p",
  inbox, value]\`, the client answers \`[seq, "a", putSeq, 1]\` (a sequenced frame: credit and
  exactly-once), and the server acknowledges that answer with \`["ack", n]\`. A topic's put
  carries the lazy flag while at most half of its \`maxInFlight\` are unanswered
  (docs/protocol.md section 4), so the client holds its answers and sends them in one packet when
  something else goes, a quarter of the window waits, or 2 s pass: at the fixed rate a delivery
  is about one WebSocket message out and a share of one in, and at the max rate a burst of rounds
  shares them (the table of messages above). Each message out is a \`writev\`
  system call, the largest single cost in the server's profile. The server's CPU per delivery
  counts all of it.
- One machine with ${m.cores} cores runs the server, its load generators and the harness. At the max rate
  the wirechan clients (each a whole session) cost more than the server, so deliveries/s there is
  the rate of the whole loop, bounded by the load generators; CPU per delivery is the number that
  isolates the server.
- The loop row is a plain loop, not the apps' \`FanOut\` (which adds a queue per listener and at most
  64 puts in flight to each): it is the per-proxy put alone. At the max rate its puts never wait
  (${PHASES.maxWindow} rounds in flight, well under a proxy's 1,024 waiting puts).
- Latency subtracts two clocks of one machine (\`performance.timeOrigin\` of two processes); they
  agree to well under a millisecond.
`;
}
