// Renders the server benchmark: a plain-text table for the terminal and bench/server/README.md.
import {
  CASES,
  CASE_TIMEOUT_MS,
  DEFAULT_RUNS,
  FIXED_HZ,
  FIXED_ROUNDS,
  FIXED_WARMUP_ROUNDS,
  IDLE_SETTLE_MS,
  WARMUP_CLIENTS,
  IMPLS,
  MAX_MEASURE_MS,
  MAX_WARMUP_MS,
  MAX_WINDOW,
  TARGETS,
  implSpec,
  type CaseName,
  type ServerImpl,
  TOTAL_TIMEOUT_MS,
} from "./config.js";
import { type MachineInfo, machineLines } from "../shared/machine.js";
import { mediansOf } from "../shared/stats.js";
import { formatRatio, markdownTable, plainTable, verdict } from "../shared/tables.js";
import type { Measurement } from "./measure.js";
import { writtenBy } from "../shared/results.js";

export type Metric = "throughput" | "p50Ms" | "p99Ms" | "serverSendP99Ms" | "serverLateP99Ms" | "cpuUsPerDelivery" | "cpuUsPerDeliveryMax" | "rssPerClient";

export interface Row {
  readonly caseName: CaseName;
  readonly impl: ServerImpl;
  readonly runs: readonly Measurement[];
  /** Median of each metric over the runs; undefined when any run of the row failed. */
  readonly median: Readonly<Record<Metric, number>> | undefined;
}

export interface TargetCheck {
  readonly label: string;
  readonly caseName: CaseName;
  readonly ours: number | undefined;
  readonly theirs: number | undefined;
  readonly against: ServerImpl;
  readonly ratio: number | undefined;
  /** "min": the ratio must be at least `target`; "max": at most. */
  readonly kind: "min" | "max";
  readonly target: number;
  readonly met: boolean | undefined;
  readonly unit: string;
}

export interface ReportInput {
  readonly rows: readonly Row[];
  readonly checks: readonly TargetCheck[];
  readonly runs: number;
  readonly loadgens: number;
  readonly machine: MachineInfo;
  readonly versions: ReadonlyMap<string, string>;
}

const METRICS: readonly Metric[] = ["throughput", "p50Ms", "p99Ms", "serverSendP99Ms", "serverLateP99Ms", "cpuUsPerDelivery", "cpuUsPerDeliveryMax", "rssPerClient"];

export function buildRows(measurements: readonly Measurement[], failed: ReadonlySet<string>, cases: readonly CaseName[]): Row[] {
  const rows: Row[] = [];
  for (const spec of CASES.filter((c) => cases.includes(c.name))) {
    for (const impl of spec.impls) {
      const runs = measurements.filter((m) => m.caseName === spec.name && m.impl === impl);
      const complete = runs.length > 0 && !failed.has(rowKey(spec.name, impl));
      const med = complete
        ? mediansOf(runs, METRICS)
        : undefined;
      rows.push({ caseName: spec.name, impl, runs, median: med });
    }
  }
  return rows;
}

export function rowKey(caseName: CaseName, impl: ServerImpl): string {
  return `${caseName}/${impl}`;
}

export function checkTargets(rows: readonly Row[]): TargetCheck[] {
  const get = (caseName: CaseName, impl: ServerImpl, metric: Metric): number | undefined =>
    rows.find((r) => r.caseName === caseName && r.impl === impl)?.median?.[metric];
  const check = (
    label: string,
    caseName: CaseName,
    ourImpl: ServerImpl,
    against: ServerImpl,
    metric: Metric,
    kind: "min" | "max",
    target: number,
    unit: string,
  ): TargetCheck => {
    const ours = get(caseName, ourImpl, metric);
    const theirs = get(caseName, against, metric);
    const ratio = ours === undefined || theirs === undefined ? undefined : ours / theirs;
    const met = ratio === undefined ? undefined : kind === "min" ? ratio >= target : ratio <= target;
    return { label, caseName, ours, theirs, against, ratio, kind, target, met, unit };
  };
  const checks: TargetCheck[] = [];
  const present = (c: CaseName): boolean => rows.some((r) => r.caseName === c);
  for (const c of ["ws-1000", "ws-5000"] as const) {
    if (!present(c)) continue;
    checks.push(check("server CPU per delivery (10/s)", c, "wirechan-ws", "ws", "cpuUsPerDelivery", "max", TARGETS.cpuVsWs, "µs"));
    checks.push(check("max-rate throughput", c, "wirechan-ws", "ws", "throughput", "min", TARGETS.throughputVsWs, "deliveries/s"));
    checks.push(check("max-rate throughput", c, "wirechan-ws", "socketio", "throughput", "min", TARGETS.throughputVsSocketIo, "deliveries/s"));
    checks.push(check("p99 latency (10/s)", c, "wirechan-ws", "ws", "p99Ms", "max", TARGETS.p99VsWs, "ms"));
  }
  if (present("ws-5000")) {
    checks.push(check("RSS per idle connection", "ws-5000", "wirechan-ws", "ws", "rssPerClient", "max", TARGETS.memoryVsWs, "bytes"));
  }
  if (present("sse-1000")) {
    checks.push(check("SSE max-rate throughput", "sse-1000", "wirechan-sse", "http-sse", "throughput", "min", TARGETS.sseThroughputVsPlain, "deliveries/s"));
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

const HEADER = ["case", "server", "max-rate deliveries/s", "p50 ms", "p99 ms", "server: send p99 ms", "server: late p99 ms", "CPU µs/delivery (10/s)", "CPU µs/delivery (max rate)", "RSS KiB/conn"];

function resultCells(row: Row): string[] {
  const m = row.median;
  const cell = (f: (v: number) => string, k: Metric): string => (m === undefined ? "FAILED" : f(m[k]));
  return [
    row.caseName,
    implSpec(row.impl).label,
    cell(fmt.throughput, "throughput"),
    cell(fmt.ms, "p50Ms"),
    cell(fmt.ms, "p99Ms"),
    cell(fmt.ms, "serverSendP99Ms"),
    cell(fmt.ms, "serverLateP99Ms"),
    cell(fmt.us, "cpuUsPerDelivery"),
    cell(fmt.us, "cpuUsPerDeliveryMax"),
    cell(fmt.kib, "rssPerClient"),
  ];
}

function formatValue(v: number | undefined, unit: string): string {
  if (v === undefined) return "n/a";
  if (unit === "deliveries/s") return `${fmt.throughput(v)}/s`;
  if (unit === "µs") return `${fmt.us(v)} µs`;
  if (unit === "ms") return `${fmt.ms(v)} ms`;
  return `${fmt.kib(v)} KiB`;
}

function checkCells(c: TargetCheck): string[] {
  const bound = `${c.kind === "min" ? ">=" : "<="} ${c.target.toFixed(1)}x ${implSpec(c.against).label}`;
  return [
    `${c.label} ${bound}`,
    c.caseName,
    formatValue(c.ours, c.unit),
    formatValue(c.theirs, c.unit),
    formatRatio(c.ratio, c.kind),
    verdict(c.met),
  ];
}

const CHECK_HEADER = ["target", "case", "wirechan", "baseline", "ratio", "verdict"];

export function renderConsole(input: ReportInput): string {
  return [
    `median of ${input.runs} fresh-process run(s) per row:`,
    plainTable(HEADER, input.rows.map(resultCells), 2),
    "",
    plainTable(CHECK_HEADER, input.checks.map(checkCells), 2),
  ].join("\n");
}

function runsSection(input: ReportInput): string {
  const rows = input.rows.map((row) => [
    row.caseName,
    implSpec(row.impl).label,
    row.runs.map((r) => fmt.throughput(r.throughput)).join(" / "),
    row.runs.map((r) => fmt.ms(r.p99Ms)).join(" / "),
    row.runs.map((r) => fmt.ms(r.serverSendP99Ms)).join(" / "),
    row.runs.map((r) => fmt.us(r.cpuUsPerDelivery)).join(" / "),
    row.runs.map((r) => fmt.kib(r.rssPerClient)).join(" / "),
  ]);
  return markdownTable(["case", "server", "deliveries/s", "p99 ms", "server: send p99 ms", "CPU µs/delivery (10/s)", "RSS KiB/conn"], rows, 2);
}

export function renderReadme(input: ReportInput): string {
  const m = input.machine;
  const versions = ["wirechan", "ws", "socket.io", "socket.io-client"].map((p) => `${p} ${input.versions.get(p) ?? "unknown"}`).join(", ");
  const implList = IMPLS.map((i) => `- ${i.label}: ${i.description}.`).join("\n");
  return `# wirechan server benchmark

${writtenBy("server")}

## How to run

\`\`\`sh
npm run bench:server
\`\`\`

It builds wirechan first (\`npx tsc -p tsconfig.build.json\`; \`--no-build\` uses the existing dist/).
\`--runs N\` (default ${DEFAULT_RUNS}), \`--only ws-1000,ws-5000,sse-1000\` and \`--loadgens K\` (load-generator
processes per case, default 1) are for iteration; this file is only rewritten by a run of every case
in which every run passed.

## Machine

${machineLines(m)}
- Packages: ${versions}

## Method

Servers:

${implList}

Every row is one server in a fresh \`node --expose-gc\` process and ${input.loadgens} load-generator
process(es) holding all of its clients, all on 127.0.0.1 and the same cores (the load generator
competes with the server for the ${m.cores} cores; see "Caveats"). WebSocket clients of wirechan and raw
ws are \`ws\` clients (\`perMessageDeflate: false\`); socket.io clients are socket.io-client with
\`transports: ["websocket"]\`; SSE clients are node:http GETs with \`Accept: text/event-stream\` and a
small SSE parser (the same for both SSE servers). Every message is ~100 bytes of JSON,
\`{"p":phase,"seq":n,"t":sendTime,"pad":"xxx…"}\`, with \`t\` from \`performance.timeOrigin +
performance.now()\` in the server; every client parses it. Phases of one row, in order:

1. Connect: ${WARMUP_CLIENTS} clients connect first, then the others (at most 100 connecting at once per
   load generator); after each batch the parent waits until the server itself counts all of them.
2. **RSS per idle connection**: the server GCs (3x \`gc()\`) and reads \`process.memoryUsage().rss\`
   ${IDLE_SETTLE_MS / 1000} s after the first ${WARMUP_CLIENTS} clients connected, and again ${IDLE_SETTLE_MS / 1000} s after the last one;
   (idle - warm) / the other clients. Counted from after a warm-up, as bench/memory counts it: what
   the first clients cost once (code compiled, pools grown) is not a cost per connection.
3. **Fixed rate**: ${FIXED_WARMUP_ROUNDS} warm-up broadcasts then ${FIXED_ROUNDS} measured ones at ${FIXED_HZ}/s on a
   drift-free schedule. **Latency** is (client receive callback time - \`t\`) for every measured
   delivery; p50/p99 over all of them. The server's own side of it, which no pause of a load
   generator touches, is timed in the server for every measured round: **server: send** is how
   long the broadcast call took (until its promise settled: every socket written to, or queued
   in the socket), **server: late** how late the call started against its schedule (the event
   loop busy when it was due); p99 over the ${FIXED_ROUNDS} rounds. wirechan's WebSocket rows and
   both raw ws rows write every socket inside the call, so their send times compare directly;
   socket.io's \`emit\` and the SSE rows' channel put return before every write is done, so their
   writes show in later rounds' lateness and in the clients' latency instead. **CPU per delivery** is the server's
   \`process.cpuUsage()\` (user + system) over the measured ${FIXED_ROUNDS / FIXED_HZ} s window (idle time and timers
   included, the same window for every server) / (${FIXED_ROUNDS} x clients).
4. **Max rate**: the server broadcasts as fast as the clients keep up, with at most ${MAX_WINDOW} rounds in
   flight: a load generator writes \`ack <seq>\` on a plain TCP control connection to the server
   process once every one of its clients received round \`seq\`, and each ack releases the next round.
   After ${MAX_WARMUP_MS / 1000} s of warm-up, the rounds acked in the next ${MAX_MEASURE_MS / 1000} s (plus the
   in-flight ones drained after it) give deliveries/s = rounds x clients / elapsed. The server's CPU per
   delivery in this phase is reported too.
5. Check: every client must have received every message of every phase exactly once and in order
   (each client checks the rounds of each phase arrive as seq 0, 1, 2 …; counts per phase, summed over
   clients, must equal rounds x clients) and every message must parse; otherwise the row fails. Then
   every process is stopped.

Rows run one at a time, ${input.runs} round(s), the server order rotated between rounds; each number is
the median over the rounds (with 2 runs, their mean). A row that does not finish within
${CASE_TIMEOUT_MS / 1000} s is killed and fails, and the whole run gives up after ${TOTAL_TIMEOUT_MS / 60_000} minutes.

## Results (median)

${markdownTable(HEADER, input.rows.map(resultCells), 2)}

## Targets

wirechan / baseline, medians; ratios are rounded against the target (down for "at least", up for
"at most").

${markdownTable(CHECK_HEADER, input.checks.map(checkCells), 2)}

${floorSection(input.rows)}

## Individual runs

${runsSection(input)}

## Caveats

- One machine with ${m.cores} cores runs the server, its load generator and the harness, so at the higher
  rates the load generator (which parses every message) is as busy as the server; deliveries/s is
  then the rate of the whole loop, not of the server alone. Server CPU per delivery at the fixed rate is
  the number that isolates the server.
- At 5,000 clients, ${FIXED_HZ} broadcasts/s is 50,000 deliveries/s, near what the whole loop does
  at its maximum here, so latencies at 5,000 include queueing in the load generator; socket.io's
  heavier client falls furthest behind.
- Latency subtracts two clocks of one machine (\`performance.timeOrigin\` of two processes); they
  agree to well under a millisecond, much less than the latencies measured.
`;
}

/**
 * Encode once against its floor: raw ws writing one prebuilt frame per socket, which is what
 * `broadcastEncoded` does, so the target's 0.8x raw ws is only as near as that floor is.
 */
function floorSection(rows: readonly Row[]): string {
  const cpu = (impl: ServerImpl): number | undefined => rows.find((r) => r.caseName === "ws-5000" && r.impl === impl)?.median?.cpuUsPerDelivery;
  const ours = cpu("wirechan-ws");
  const floor = cpu("ws-frame");
  const ws = cpu("ws");
  if (ours === undefined || floor === undefined || ws === undefined) return "";
  return `### Encode once, against its floor

The "raw ws, one frame (floor)" row at 5,000 clients does what \`broadcastEncoded\` does and nothing
else: the message framed once and that buffer written to each socket. Server CPU per delivery at
${FIXED_HZ}/s: wirechan ${fmt.us(ours)} µs, the floor ${fmt.us(floor)} µs (wirechan ${(ours / floor).toFixed(2)}x of it), raw ws
${fmt.us(ws)} µs (the floor is ${(floor / ws).toFixed(2)}x raw ws). What the floor leaves is the write of each socket, a
system call: the target's 0.8x raw ws is within reach only where that floor is under 0.8x raw ws.
What would go under it is fewer writes, not less work around them: at ${FIXED_HZ} broadcasts a second a
socket gets one message at a time, so there is nothing to put together into one write, and Node
has no way to write to many TCP sockets in one system call; wirechan does not reach under Node's
streams to their native handles.`;
}
