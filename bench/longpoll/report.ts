// Renders the long-polling benchmark: plain-text tables for the terminal and bench/longpoll/README.md.
import type { CaseSuiteRun } from "../shared/case-suite.js";
import { loadedAtStart, type MachineInfo, machineLines } from "../shared/machine.js";
import { median } from "../shared/stats.js";
import { formatRatio, markdownTable, plainTable, verdict } from "../shared/tables.js";
import {
  CASES,
  DEFAULT_RUNS,
  IMPLS,
  LOADGENS,
  PHASES,
  TOTAL_TIMEOUT_MS,
  implSpec,
  type CaseName,
  type LongpollImpl,
} from "./config.js";
import type { Measurement } from "./measure.js";
import { writtenBy } from "../shared/results.js";

const METRICS = [
  "throughput",
  "p50Ms",
  "p99Ms",
  "serverUsMax",
  "serverUsFixed",
  "clientUsMax",
  "clientUsFixed",
  "requestsMax",
  "pollsMax",
  "requestsFixed",
  "pollsFixed",
] as const;
export type Metric = (typeof METRICS)[number];

export interface Row {
  readonly caseName: CaseName;
  readonly impl: LongpollImpl;
  readonly runs: readonly Measurement[];
  /** Median of each metric over the runs; undefined when any run of the row failed. */
  readonly median: Readonly<Record<Metric, number>> | undefined;
}

/** What the report is made from: a run of the suite (bench/shared/case-suite.ts), its rows made. */
export interface ReportInput extends Pick<CaseSuiteRun<Measurement, CaseName, string>, "runs" | "machine" | "versions" | "source" | "durationMs"> {
  readonly rows: readonly Row[];
}

export function rowKey(caseName: CaseName, impl: LongpollImpl): string {
  return `${caseName}/${impl}`;
}

export function buildRows(measurements: readonly Measurement[], failed: ReadonlySet<string>, cases: readonly CaseName[], impls: readonly LongpollImpl[]): Row[] {
  const rows: Row[] = [];
  for (const spec of CASES.filter((c) => cases.includes(c.name))) {
    for (const impl of impls) {
      const runs = measurements.filter((m) => m.caseName === spec.name && m.impl === impl);
      const complete = runs.length > 0 && !failed.has(rowKey(spec.name, impl));
      const med = complete ? (Object.fromEntries(METRICS.map((k) => [k, median(runs.map((r) => r[k]))])) as Record<Metric, number>) : undefined;
      rows.push({ caseName: spec.name, impl, runs, median: med });
    }
  }
  return rows;
}

const int = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const fmt = {
  n: (v: number) => int.format(Math.round(v)),
  ms: (v: number) => v.toFixed(1),
  us: (v: number) => v.toFixed(2),
  per: (v: number) => v.toFixed(3),
};

const clientsOf = (c: CaseName): string => int.format(CASES.find((s) => s.name === c)?.clients ?? 0);

const HEADER = [
  "clients",
  "server",
  "max-rate deliveries/s",
  "p50 ms (fixed rate)",
  "p99 ms (fixed rate)",
  "server CPU µs/delivery (max / fixed)",
  "client CPU µs/delivery (max / fixed)",
  "requests/delivery (max / fixed)",
  "polls/delivery (max / fixed)",
];

function resultCells(row: Row): string[] {
  const m = row.median;
  if (m === undefined) return [clientsOf(row.caseName), implSpec(row.impl).label, ...HEADER.slice(2).map(() => "FAILED")];
  return [
    clientsOf(row.caseName),
    implSpec(row.impl).label,
    fmt.n(m.throughput),
    fmt.ms(m.p50Ms),
    fmt.ms(m.p99Ms),
    `${fmt.us(m.serverUsMax)} / ${fmt.us(m.serverUsFixed)}`,
    `${fmt.us(m.clientUsMax)} / ${fmt.us(m.clientUsFixed)}`,
    `${fmt.per(m.requestsMax)} / ${fmt.per(m.requestsFixed)}`,
    `${fmt.per(m.pollsMax)} / ${fmt.per(m.pollsFixed)}`,
  ];
}

export interface TargetCheck {
  readonly label: string;
  readonly topic: number | undefined;
  readonly socketio: number | undefined;
  readonly ratio: number | undefined;
  readonly kind: "min" | "below";
  readonly met: boolean | undefined;
}

function value(rows: readonly Row[], impl: LongpollImpl, metric: Metric): number | undefined {
  return rows.find((r) => r.caseName === "1000" && r.impl === impl)?.median?.[metric];
}

/** Issue 12's targets: at least socket.io's deliveries/s, p50 below its. */
export function checkTargets(rows: readonly Row[]): TargetCheck[] {
  const check = (label: string, metric: Metric, kind: "min" | "below"): TargetCheck => {
    const topic = value(rows, "topic", metric);
    const socketio = value(rows, "socketio", metric);
    const ratio = topic === undefined || socketio === undefined ? undefined : topic / socketio;
    return { label, topic, socketio, ratio, kind, met: ratio === undefined ? undefined : kind === "min" ? ratio >= 1 : ratio < 1 };
  };
  return [check("max-rate deliveries/s at least socket.io's", "throughput", "min"), check("fixed-rate p50 below socket.io's", "p50Ms", "below")];
}

const CHECK_HEADER = ["target (1,000 clients)", "wirechan", "socket.io", "wirechan / socket.io", "verdict"];

function checkCells(c: TargetCheck): string[] {
  const show = (v: number | undefined): string => (v === undefined ? "n/a" : c.kind === "min" ? fmt.n(v) : `${fmt.ms(v)} ms`);
  return [c.label, show(c.topic), show(c.socketio), formatRatio(c.ratio, c.kind), verdict(c.met)];
}

export function renderConsole(input: ReportInput): string {
  return [
    `median of ${input.runs} fresh-process run(s) per row:`,
    plainTable(HEADER, input.rows.map(resultCells), 2),
    "",
    plainTable(CHECK_HEADER, checkTargets(input.rows).map(checkCells), 1),
  ].join("\n");
}

function runsSection(rows: readonly Row[]): string {
  const cells = rows.map((row) => [
    clientsOf(row.caseName),
    implSpec(row.impl).label,
    row.runs.map((r) => fmt.n(r.throughput)).join(" / "),
    row.runs.map((r) => fmt.ms(r.p50Ms)).join(" / "),
    row.runs.map((r) => fmt.us(r.serverUsMax)).join(" / "),
    row.runs.map((r) => fmt.us(r.clientUsMax)).join(" / "),
  ]);
  return markdownTable(["clients", "server", "deliveries/s", "p50 ms", "server CPU µs/delivery (max)", "client CPU µs/delivery (max)"], cells, 2);
}

function loadWarning(m: MachineInfo): string {
  if (!loadedAtStart(m.loadAtStart, m.cores)) return "";
  return (
    `\n**This run was made on a loaded machine** (1-minute load average ${m.loadAtStart.toFixed(2)} at the start, ` +
    `${m.loadAtEnd.toFixed(2)} at the end, on ${m.cores} cores, other work running beside the benchmark): absolute ` +
    "numbers are low and noisy; read the ratios of rows measured one after another, and CPU and requests per " +
    "delivery rather than rates. A run on a quiet machine should replace this one.\n"
  );
}

export function renderReadme(input: ReportInput): string {
  const m = input.machine;
  const versions = ["wirechan", "socket.io", "socket.io-client"].map((p) => `${p} ${input.versions.get(p) ?? "unknown"}`).join(", ");
  const spec = CASES[0]!;
  return `# wirechan long-polling benchmark

${writtenBy("longpoll")} Issue 12, item 4:
fan-out from one server to ${clientsOf(spec.name)} long-polling clients, wirechan's topic beside socket.io's
polling transport.
${loadWarning(m)}
## How to run

\`\`\`sh
npm run bench:longpoll
\`\`\`

It builds wirechan first (\`--no-build\` uses the existing dist/). \`--runs N\` below the default (${DEFAULT_RUNS}),
\`--impls topic,socketio\` and \`--profile DIR\` (every child writes a V8 CPU profile,
\`<impl>-<clients>.<server1|loadgenN>.<time>.cpuprofile\`; \`npx tsx bench/longpoll/profile-summary.ts DIR\`
sums their self time by function) are for iteration and never rewrite this file. A row is killed after
${PHASES.rowTimeoutMs / 1000} s, the whole run after ${TOTAL_TIMEOUT_MS / 60_000} minutes. This run took ${Math.round(input.durationMs / 1000)} s.

## Machine

${machineLines(m)}
- Packages: ${versions}
- Sources measured: ${input.source}

## Method

${IMPLS.map((i) => `- ${i.label}: ${i.description}.`).join("\n")}

Each row is a fresh server process (\`node --expose-gc\`) and ${LOADGENS} fresh load-generator processes sharing
the clients (at most ${PHASES.connectConcurrency} connecting at once per process), all on 127.0.0.1, unpinned. Every message is ~100
bytes of JSON, \`{"p":phase,"seq":n,"t":sendTime,"pad":"xxx…"}\` (bench/shared/children/broadcast-server.mjs).

1. **Fixed rate**: ${spec.fixedWarmupRounds} warm-up broadcasts then ${spec.fixedRounds} measured ones at ${spec.fixedHz}/s. Latency is the client's
   receive time minus the send time in the message, p50/p99 over every measured delivery.
2. **Max rate**: at most ${PHASES.maxWindow} rounds in flight; a load generator acks a round on a TCP control connection
   once all its clients have it, and each ack releases the next. After ${PHASES.maxWarmupMs / 1000} s of warm-up, the rounds acked in the
   next ${PHASES.maxMeasureMs / 1000} s give deliveries/s.
3. **Server CPU per delivery**: the server's \`process.cpuUsage()\` over the phase's window / deliveries.
   **Client CPU per delivery**: each load generator reads its own \`process.cpuUsage()\` from its first
   fixed-rate delivery to its first max-rate delivery, and from there to its last max-rate delivery
   (bench/longpoll/children/client-cpu.mjs); summed over both, divided by the deliveries in those windows.
4. **Requests per delivery**: HTTP requests the server received over the window (node:http's
   \`request\` events, bench/longpoll/children/http-traffic.mjs) / deliveries; polls are the GETs among
   them, the rest POSTs (the clients' upstream: wirechan's acknowledgements and answers, engine.io's pongs).
5. Every client checks that each phase's rounds arrive once each and in order; a session or socket that
   reconnects or drops fails the row.

Rows run one after another, the order rotated each round; each number is the median of ${input.runs} run(s).

## Results (median)

${markdownTable(HEADER, input.rows.map(resultCells), 2)}

## Target

${markdownTable(CHECK_HEADER, checkTargets(input.rows).map(checkCells), 1)}

## Individual runs

${runsSection(input.rows)}

## Caveats

- One machine with ${m.cores} cores runs the server, both load generators and the harness, unpinned: at the max
  rate the clients cost more CPU than the server, so deliveries/s is the rate of the whole loop.
- A wirechan delivery is a put: the client answers it and the answer is acknowledged (docs/protocol.md);
  socket.io's \`emit\` is fire-and-forget. A topic's puts carry the lazy flag (docs/protocol.md
  section 4), so at the fixed rate a client sends its answers in one \`POST send\` about every 2 s
  (sooner when it sends something else, or a quarter of the window waits), not one per delivery. A poll answer may
  carry several rounds on both.
`;
}
