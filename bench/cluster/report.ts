// Renders the cluster benchmark: plain-text tables for the terminal and bench/cluster/README.md.
import { LOADED_PER_CORE, loadedAtStart, type MachineInfo, machineLines } from "../shared/machine.js";
import { median, mediansOf } from "../shared/stats.js";
import { formatRatio, markdownTable, plainTable, verdict } from "../shared/tables.js";
import {
  CASES,
  CONNECT_CONCURRENCY,
  COUNT_QUIET_MS,
  DEFAULT_RUNS,
  FIXED_HZ,
  FIXED_ROUNDS,
  FIXED_WARMUP_ROUNDS,
  IMPLS,
  MAX_MEASURE_MS,
  MAX_WARMUP_MS,
  MAX_WINDOW,
  NODES,
  ROUNDS_BUDGET_MS,
  ROW_TIMEOUT_MS,
  TARGET_P99_VS_SOCKETIO,
  TARGET_THROUGHPUT_VS_SOCKETIO,
  TOTAL_TIMEOUT_MS,
  implSpec,
  type CaseName,
  type ClusterImpl,
} from "./config.js";
import { CPU_GROUPS, type CpuGroup, type EngineUrls, type Measurement } from "./measure.js";
import { writtenBy } from "../shared/results.js";

type Metric = "throughput" | "p50Ms" | "p99Ms";
const METRICS: readonly Metric[] = ["throughput", "p50Ms", "p99Ms"];

export interface Row {
  readonly caseName: CaseName;
  readonly impl: ClusterImpl;
  readonly runs: readonly Measurement[];
  /** Median of each metric over the runs; undefined when the row has no run (every one failed). */
  readonly median: Readonly<Record<Metric, number>> | undefined;
}

export interface TargetCheck {
  readonly label: string;
  readonly impl: ClusterImpl;
  readonly ratio: number | undefined;
  readonly kind: "min" | "max";
  readonly met: boolean | undefined;
}

export interface ReportInput {
  readonly rows: readonly Row[];
  readonly checks: readonly TargetCheck[];
  readonly runs: number;
  readonly machine: MachineInfo;
  readonly loadAtStart: readonly number[];
  readonly loadAtEnd: readonly number[];
  readonly urls: EngineUrls;
  readonly versions: ReadonlyMap<string, string>;
  readonly source: string;
  readonly durationMs: number;
}

export function buildRows(measurements: readonly Measurement[], cases: readonly CaseName[], impls: readonly ClusterImpl[]): Row[] {
  return CASES.filter((c) => cases.includes(c.name)).flatMap((spec) =>
    impls.map((impl): Row => {
      const runs = measurements.filter((m) => m.caseName === spec.name && m.impl === impl);
      const med = runs.length === 0 ? undefined : mediansOf(runs, METRICS);
      return { caseName: spec.name, impl, runs, median: med };
    }),
  );
}

/** Every distinct value of messages per broadcast on the broadcast's channel a row saw, both phases, every run. */
function perBroadcastValues(row: Row | undefined): number[] {
  const values = (row?.runs ?? []).flatMap((r) => [r.count.fixed.perBroadcast, r.count.max.perBroadcast]);
  return [...new Set(values)].sort((a, b) => a - b);
}

/**
 * Wrong counts fail the run: a wirechan broadcast is one message on the engine whatever the
 * number of clients and nodes (docs/api.md, "What crosses"), so any other count is a bug.
 */
export function countFailures(rows: readonly Row[]): string[] {
  return rows
    .filter((row) => row.impl !== "socketio-redis")
    .flatMap((row) => {
      const values = perBroadcastValues(row);
      return values.some((v) => v !== 1) ? [`${row.caseName}/${row.impl}: ${values.join(", ")} backplane messages per broadcast, expected exactly 1`] : [];
    });
}

function value(rows: readonly Row[], impl: ClusterImpl, metric: Metric): number | undefined {
  return rows.find((r) => r.caseName === "1000" && r.impl === impl)?.median?.[metric];
}

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined ? undefined : a / b;
}

/** Issue 11's targets at 1,000 clients: throughput at least 2x socket.io's, p99 no worse. */
export function checkTargets(rows: readonly Row[]): TargetCheck[] {
  return (["wirechan-redis", "wirechan-nats"] as const).flatMap((impl): TargetCheck[] => {
    const t = ratio(value(rows, impl, "throughput"), value(rows, "socketio-redis", "throughput"));
    const p = ratio(value(rows, impl, "p99Ms"), value(rows, "socketio-redis", "p99Ms"));
    return [
      { label: `deliveries/s at least ${TARGET_THROUGHPUT_VS_SOCKETIO}x socket.io's`, impl, ratio: t, kind: "min", met: t === undefined ? undefined : t >= TARGET_THROUGHPUT_VS_SOCKETIO },
      { label: "p99 latency no worse than socket.io's", impl, ratio: p, kind: "max", met: p === undefined ? undefined : p <= TARGET_P99_VS_SOCKETIO },
    ];
  });
}

const int = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const ms = (v: number): string => v.toFixed(1);
const count = (v: number): string => (Number.isInteger(v) ? String(v) : v.toFixed(3));
const clientsOf = (c: CaseName): string => int.format(CASES.find((s) => s.name === c)?.clients ?? 0);

const HEADER = ["clients", "row", "clients per node", "max-rate deliveries/s", "p50 ms", "p99 ms", "max ms"];

function resultCells(row: Row): string[] {
  const m = row.median;
  const first = row.runs[0];
  return [
    clientsOf(row.caseName),
    implSpec(row.impl).label,
    first?.clientsPerNode.join(" / ") ?? "n/a",
    m === undefined ? "FAILED" : int.format(Math.round(m.throughput)),
    m === undefined ? "FAILED" : ms(m.p50Ms),
    m === undefined ? "FAILED" : ms(m.p99Ms),
    row.runs.length === 0 ? "FAILED" : ms(median(row.runs.map((r) => r.maxMs))),
  ];
}

const COUNT_HEADER = ["clients", "row", "messages / broadcast, fixed rate", "messages / broadcast, max rate", "other messages / s", "Redis PUBLISH / broadcast (server, max rate)"];

function countCells(row: Row): string[] {
  const runs = row.runs;
  const joined = (f: (r: Measurement) => string): string => (runs.length === 0 ? "FAILED" : runs.map(f).join(" / "));
  return [
    clientsOf(row.caseName),
    implSpec(row.impl).label,
    joined((r) => count(r.count.fixed.perBroadcast)),
    joined((r) => count(r.count.max.perBroadcast)),
    joined((r) => r.count.fixed.otherPerSecond.toFixed(1)),
    joined((r) => (r.serverPublishesPerBroadcast === null ? "n/a" : r.serverPublishesPerBroadcast.toFixed(3))),
  ];
}

const INDEPENDENCE_HEADER = ["row", ...CASES.map((c) => `messages / broadcast, ${clientsOf(c.name)} clients`), "independent of the number of clients"];

function independenceCells(rows: readonly Row[]): string[][] {
  return IMPLS.filter((i) => rows.some((r) => r.impl === i.name)).map((impl) => {
    const perCase = CASES.map((c) => perBroadcastValues(rows.find((r) => r.impl === impl.name && r.caseName === c.name)));
    const all = new Set(perCase.flat());
    const complete = perCase.every((values) => values.length > 0);
    return [impl.label, ...perCase.map((values) => (values.length === 0 ? "n/a" : values.map(count).join(", "))), complete ? verdict(all.size === 1) : "n/a"];
  });
}

const CPU_LABELS: Readonly<Record<CpuGroup, string>> = {
  node0: "node 0 (publishes)",
  otherNodes: "nodes 1 and 2",
  loadgens: "load generators",
  engine: "engine server",
  harness: "harness",
};
const CPU_HEADER = ["clients", "row", ...CPU_GROUPS.map((g) => `${CPU_LABELS[g]} µs`), "all 3 nodes µs", "busy cores"];

/** The nodes' CPU per delivery together (node 0 and the others), µs; null when /proc could not say. */
function nodesCpu(r: Measurement): number | null {
  const { node0, otherNodes } = r.cpuPerDelivery;
  return node0 === null || otherNodes === null ? null : node0 + otherNodes;
}

/** The median over runs of a reading that may be missing; n/a when any run lacks it. */
function medianOf(runs: readonly Measurement[], f: (r: Measurement) => number | null): string {
  const values = runs.map(f);
  if (values.length === 0 || values.some((v) => v === null)) return "n/a";
  return median(values as number[]).toFixed(2);
}

function cpuCells(row: Row): string[] {
  return [
    clientsOf(row.caseName),
    implSpec(row.impl).label,
    ...CPU_GROUPS.map((g) => medianOf(row.runs, (r) => r.cpuPerDelivery[g])),
    medianOf(row.runs, nodesCpu),
    medianOf(row.runs, (r) => r.busyCores),
  ];
}

/** The nodes' CPU per delivery at 1,000 clients, each wirechan row over socket.io's (not a target: where the time goes). */
function nodesCpuRatios(rows: readonly Row[]): string[][] {
  const of = (impl: ClusterImpl): number | undefined => {
    const values = (rows.find((r) => r.caseName === "1000" && r.impl === impl)?.runs ?? []).map(nodesCpu);
    return values.length === 0 || values.some((v) => v === null) ? undefined : median(values as number[]);
  };
  const io = of("socketio-redis");
  return (["wirechan-redis", "wirechan-nats"] as const).map((impl) => {
    const r = ratio(of(impl), io);
    return [implSpec(impl).label, r === undefined ? "n/a" : `${r.toFixed(2)}x`];
  });
}
const NODES_CPU_HEADER = ["row (1,000 clients)", "nodes' CPU per delivery / socket.io's (lower is better)"];

const CHECK_HEADER = ["target (1,000 clients)", "row", "row / socket.io", "verdict"];

function checkCells(c: TargetCheck): string[] {
  return [c.label, implSpec(c.impl).label, formatRatio(c.ratio, c.kind), verdict(c.met)];
}

export function renderConsole(input: ReportInput): string {
  return [
    `median of ${input.runs} fresh-process run(s) per row:`,
    plainTable(HEADER, input.rows.map(resultCells), 2),
    "",
    plainTable(COUNT_HEADER, input.rows.map(countCells), 2),
    "",
    plainTable(INDEPENDENCE_HEADER, independenceCells(input.rows), 1),
    "",
    plainTable(CPU_HEADER, input.rows.map(cpuCells), 2),
    "",
    plainTable(CHECK_HEADER, input.checks.map(checkCells), 2),
    "",
    plainTable(NODES_CPU_HEADER, nodesCpuRatios(input.rows), 1),
  ].join("\n");
}

const loads = (l: readonly number[]): string => l.map((v) => v.toFixed(2)).join(", ");

function busyMachineNote(input: ReportInput): string {
  const m = input.machine;
  if (!loadedAtStart(m.loadAtStart, m.cores)) return "";
  return (
    `\n**Measured on a loaded machine**: the 1-minute load average was ${m.loadAtStart.toFixed(2)} when the run started and ` +
    `${m.loadAtEnd.toFixed(2)} when it ended (at the start above ${LOADED_PER_CORE} per core on ${m.cores} cores: other work shared the CPU with every row). ` +
    "Absolute numbers are low and noisy, and the rows did not all get the same share of the machine; " +
    "a run on a quiet machine should replace this one.\n"
  );
}

function runsSection(rows: readonly Row[]): string {
  const cells = rows.map((row) => [
    clientsOf(row.caseName),
    implSpec(row.impl).label,
    row.runs.map((r) => int.format(Math.round(r.throughput))).join(" / "),
    row.runs.map((r) => ms(r.p99Ms)).join(" / "),
    row.runs.map((r) => String(r.maxRounds)).join(" / "),
  ]);
  return markdownTable(["clients", "row", "deliveries/s", "p99 ms", "max-rate rounds measured"], cells, 2);
}

export function renderReadme(input: ReportInput): string {
  const m = input.machine;
  const versions = [...input.versions].map(([p, v]) => `${p} ${v}`).join(", ");
  const implList = IMPLS.map((i) => `- ${i.label}: ${i.description}.`).join("\n");
  return `# wirechan cluster benchmark

${writtenBy("cluster")} Issue 11's
benchmark (b): broadcasts published on one node of ${NODES} and delivered to WebSocket clients
spread over all of them, through a wirechan topic on a Redis backplane and on a NATS backplane,
beside socket.io with \`@socket.io/redis-adapter\` on the same Redis.
${busyMachineNote(input)}
## How to run

\`\`\`sh
npm run bench:cluster
\`\`\`

It needs Redis (\`REDIS_URL\`, default ${"`"}redis://127.0.0.1:6379${"`"}) and NATS (\`NATS_URL\`, default
${"`"}nats://127.0.0.1:4222${"`"}) running, and builds wirechan first (\`npx tsc -p tsconfig.build.json\`;
\`--no-build\` uses the existing dist/). \`--runs N\` (default ${DEFAULT_RUNS}; no round starts after ${ROUNDS_BUDGET_MS / 60_000} minutes),
\`--only 300,1000\`, \`--impls wirechan-redis,wirechan-nats,socketio-redis\` and \`--profile DIR\` (every child
writes a V8 CPU profile into DIR, \`<impl>-<clients>.<node0..2|loadgen0..2>.<time>.cpuprofile\`) are for
iteration and never rewrite this file; it is only rewritten by a run of every row in which every run passed.
The run stops by itself: a row is killed after ${ROW_TIMEOUT_MS / 1000} s, everything after ${TOTAL_TIMEOUT_MS / 60_000} minutes.
This run took ${Math.round(input.durationMs / 1000)} s.

## Machine

${machineLines(m)}
- Load averages (1, 5, 15 minutes): ${loads(input.loadAtStart)} when the runs started, ${loads(input.loadAtEnd)} when they ended
- Engines: Redis at ${input.urls.redis}, NATS at ${input.urls.nats}, both on this machine
- Packages: ${versions}
- Sources measured: ${input.source}

## Method

Rows (each ${NODES} fresh \`node\` processes, the nodes, all on 127.0.0.1, under a prefix of their own
on the engine, \`wcbench_<random>.\`, so that no two rows, and nobody else on the same Redis or
NATS, hear each other):

${implList}

Clients: one load-generator process per node, whose clients (a third of the row's) connect to
that node directly (no balancer). Every message is ~100 bytes of JSON,
\`{"p":phase,"seq":n,"t":sendTime,"pad":"xxx…"}\`, made and published on node 0 only, \`t\` from
\`performance.timeOrigin + performance.now()\` there. Phases of one row, in order (the phases of
bench/shared/children/broadcast-server.mjs, run by node 0):

1. Connect (at most ${CONNECT_CONCURRENCY} at once per load generator; the wirechan clients also subscribe, their
   put resolving \`true\`), until every node counts its own clients (\`topic.subscriberCount\`,
   \`io.engine.clientsCount\`).
2. **Fixed rate**: ${FIXED_WARMUP_ROUNDS} warm-up broadcasts, then ${FIXED_ROUNDS} measured ones, ${FIXED_HZ} per second. **Latency** is
   (client receive time - \`t\`) for every measured delivery on every node, p50/p99 over all.
3. **Max rate**: node 0 broadcasts as fast as the clients keep up, with at most ${MAX_WINDOW} rounds in flight:
   each load generator writes \`ack <seq>\` on node 0's control port once every one of its clients
   received round \`seq\`, and a round acked by all ${NODES} releases the next. After ${MAX_WARMUP_MS / 1000} s of warm-up, the
   rounds acked in the next ${MAX_MEASURE_MS / 1000} s (plus those in flight, drained after it) give
   deliveries/s = rounds x clients / elapsed.
4. **Exactly once**: every client checks each message: the rounds of each phase must arrive once
   each and in order (seq 0, 1, 2 …), and the deliveries of each phase summed over all clients must
   equal broadcasts x clients; a wirechan inbox told \`{ dropped }\`, a session that left \`open\`, or a
   message that does not parse fails the row.
5. **What crosses the backplane**, counted from outside the nodes: before the nodes start, the
   harness subscribes on the engine with a connection of its own to everything under the row's
   prefix (Redis \`PSUBSCRIBE <prefix>*\`, NATS \`SUBSCRIBE <prefix>>\`) and counts every message
   published there, per channel or subject: each published message once, however many nodes
   receive it (the engine delivers each one to every one of the ${NODES} nodes, the publisher included, and to the
   counter).
   Counted over each phase (and until no message came for ${COUNT_QUIET_MS} ms after it): the messages on the
   broadcast's own channel (\`<prefix>wirechan.topic.t\`, \`<prefix>socket.io#/#\`) per broadcast
   made, and the others (wirechan's node heartbeats on \`wirechan.nodes\`, ${NODES} nodes every 2 s)
   per second. For Redis the server's own count of PUBLISH commands (\`cmdstat_publish\` in
   \`INFO commandstats\`) over the max-rate phase is shown as a cross-check; it counts every client
   of that Redis, this benchmark's heartbeats and other work on the machine included. NATS's
   monitoring port is off by default, so there the subscriber's count is the only one. A
   wirechan row with anything but exactly 1 message per broadcast fails the run.

Rows run one at a time, ${input.runs} round(s), the order of the rows rotated between rounds; each number
is the median over the rounds. Everything (the ${NODES} nodes, the ${NODES} load generators, Redis, NATS, the
harness) shares the machine's ${m.cores} cores.

## Results (median)

${markdownTable(HEADER, input.rows.map(resultCells), 2)}

## Where the CPU goes

CPU (user + system, read from \`/proc/<pid>/stat\` before and after) of each process group over
the max-rate phase (warm-up included), per delivery made in it, in µs (median over the runs);
"busy cores" is all of it over the phase's wall time (${m.cores} cores in all; other work on the machine not
counted). The engine server is the one \`redis-server\` or \`nats-server\` process, which other
users of it share.

${markdownTable(CPU_HEADER, input.rows.map(cpuCells), 2)}

## Backplane messages per broadcast

Every run of each row, separated by " / ".

${markdownTable(COUNT_HEADER, input.rows.map(countCells), 2)}

${markdownTable(INDEPENDENCE_HEADER, independenceCells(input.rows), 1)}

## Targets

From issue 11, at 1,000 clients: deliveries/s at least ${TARGET_THROUGHPUT_VS_SOCKETIO}x socket.io's, p99 no worse (ratios of the
medians, rounded against the target: down for throughput, up for p99); backplane messages per
broadcast independent of the number of clients (the table above).

${markdownTable(CHECK_HEADER, input.checks.map(checkCells), 2)}

Not a target, but where the throughput goes: the three nodes' CPU per delivery at the max rate
(the CPU table), each wirechan row over socket.io's.

${markdownTable(NODES_CPU_HEADER, nodesCpuRatios(input.rows), 1)}

## Individual runs

${runsSection(input.rows)}

## Caveats

- One machine runs everything, so max-rate deliveries/s is the rate of the whole loop (nodes,
  load generators, engine, harness) on ${m.cores} cores, not of the nodes alone: "busy cores" near ${m.cores} says the
  machine was the limit, and the CPU table says which processes spent it. A cluster's nodes would
  run on machines of their own, and its clients on none of them.
- What the wire carries differs. A socket.io delivery is one WebSocket message out and nothing
  back. A wirechan delivery is a put (docs/protocol.md sections 2 and 4): the frame out, the
  client's answer back (credit and exactly-once) and the server's acknowledgement of that answer,
  several of them sharing a packet when rounds come fast. Every wirechan client checks for lost and
  repeated messages itself as well; socket.io's would not notice. In the nodes' CPU profiles
  (\`--profile\`, 1,000 clients) both spend the largest share of their busy time in \`writev\`, one
  system call per WebSocket message out, then the garbage collector; wirechan's nodes add the
  answers coming back (decoding them, settling the puts) and their acknowledgements.
- Both backplanes make one publish per broadcast. socket.io's publisher sends to its own clients
  at once and ignores its message when Redis brings it back; a wirechan node delivers only what
  the engine brings back, its own clients included (docs/api.md, "Who delivers"), so node 0's
  clients wait for the round trip to the engine too.
- The fixed rate's warm-up is ${FIXED_WARMUP_ROUNDS / FIXED_HZ} s: with 1 s, wirechan's p99 at 1,000 clients was 6 to 7 times
  socket.io's, a tail of the first seconds after 1,000 sessions connect (bench/cluster/config.ts).
- Latency subtracts two clocks of one machine (\`performance.timeOrigin\` of two processes); they
  agree to well under a millisecond.
`;
}
