// Renders the protocol benchmark: plain-text tables for the terminal and bench/protocol/README.md.
import { type MachineInfo, machineLines } from "../shared/machine.js";
import { mediansOf } from "../shared/stats.js";
import { formatRatio, markdownTable, plainTable, verdict } from "../shared/tables.js";
import {
  ROUNDS_BUDGET_MS,
  ROWS,
  ROW_TIMEOUT_MS,
  RTT_COUNT,
  RTT_COUNT_SLOW,
  RTT_TIME_LIMIT_MS,
  RTT_WARMUP,
  RTT_WARMUP_SLOW,
  TARGETS,
  THROUGHPUT_TIME_LIMIT_MS,
  THROUGHPUT_VALUES,
  TOTAL_TIMEOUT_MS,
  VARIANT_DESCRIPTIONS,
  rowSpec,
  type RowName,
  type Variant,
} from "./config.js";
import type { Measurement, RttResult, ThroughputResult } from "./measure.js";
import type { EchoCodecNumbers } from "../codec/report.js";
import { writtenBy } from "../shared/results.js";

type RttMetric = "p50Ms" | "p99Ms" | "meanMs" | "perSecond" | "serverCpuUs" | "clientCpuUs" | "upPerRt" | "downPerRt";
type ThroughputMetric = "perSecond" | "serverCpuUsPerValue" | "clientCpuUsPerValue";

export interface Row {
  readonly row: RowName;
  readonly runs: readonly Measurement[];
  /** Medians over the runs; undefined when any run of the row failed. */
  readonly rtt: Readonly<Record<RttMetric, number>> | undefined;
  /** Medians of the one-core round trips; undefined when a run failed or could not pin. */
  readonly rttOneCore: Readonly<Record<RttMetric, number>> | undefined;
  readonly throughput: ReadonlyMap<Variant, { readonly median: Readonly<Record<ThroughputMetric, number>>; readonly complete: boolean }> | undefined;
}

export interface TargetCheck {
  readonly label: string;
  readonly ours: number | undefined;
  /** The baseline's number, or undefined for an absolute target. */
  readonly theirs: number | undefined;
  readonly baseline: string;
  /** ours / theirs, or ours itself for an absolute target. */
  readonly value: number | undefined;
  /** "min": value must be at least `target`; "max": at most; "below": strictly under. */
  readonly kind: "min" | "max" | "below";
  readonly target: number;
  readonly absolute: boolean;
  readonly met: boolean | undefined;
  readonly unit: "ms" | "values/s";
}

export interface ReportInput {
  readonly rows: readonly Row[];
  readonly checks: readonly TargetCheck[];
  readonly runs: number;
  readonly requestedRuns: number;
  readonly machine: MachineInfo;
  readonly versions: ReadonlyMap<string, string>;
  /** The git state of the sources that were built and measured. */
  readonly source: string;
  readonly durationMs: number;
  /** bench:codec's last numbers for this echo's packets, JSON beside msgpackr; null when that suite has not run. */
  readonly codec: EchoCodecNumbers | null;
}

const RTT_METRICS: readonly RttMetric[] = ["p50Ms", "p99Ms", "meanMs", "perSecond", "serverCpuUs", "clientCpuUs", "upPerRt", "downPerRt"];
const THROUGHPUT_METRICS: readonly ThroughputMetric[] = ["perSecond", "serverCpuUsPerValue", "clientCpuUsPerValue"];

export function buildRows(measurements: readonly Measurement[], failed: ReadonlySet<RowName>, rows: readonly RowName[]): Row[] {
  return ROWS.filter((spec) => rows.includes(spec.name)).map((spec) => {
    const runs = measurements.filter((m) => m.row === spec.name);
    if (runs.length === 0 || failed.has(spec.name)) return { row: spec.name, runs, rtt: undefined, rttOneCore: undefined, throughput: undefined };
    const medians = (results: readonly RttResult[]): Record<RttMetric, number> =>
      mediansOf(results, RTT_METRICS);
    const rtt = medians(runs.map((r) => r.rtt));
    const oneCore = runs.map((r) => r.rttOneCore).filter((r): r is RttResult => r !== null);
    const rttOneCore = oneCore.length === runs.length ? medians(oneCore) : undefined;
    const throughput = new Map<Variant, { median: Record<ThroughputMetric, number>; complete: boolean }>();
    for (const variant of spec.variants) {
      const results = runs.map((r) => r.throughput.find((t) => t.variant === variant)).filter((t): t is ThroughputResult => t !== undefined);
      if (results.length === 0) continue;
      throughput.set(variant, {
        median: mediansOf(results, THROUGHPUT_METRICS),
        complete: results.every((t) => t.complete),
      });
    }
    return { row: spec.name, runs, rtt, rttOneCore, throughput };
  });
}

export function checkTargets(rows: readonly Row[]): TargetCheck[] {
  const rtt = (row: RowName): Row["rtt"] => rows.find((r) => r.row === row)?.rtt;
  const oneCore = (row: RowName): Row["rtt"] => rows.find((r) => r.row === row)?.rttOneCore;
  const rate = (row: RowName, variant: Variant): number | undefined => rows.find((r) => r.row === row)?.throughput?.get(variant)?.median.perSecond;
  const present = (row: RowName): boolean => rows.some((r) => r.row === row);
  const relative = (
    label: string,
    ours: number | undefined,
    theirs: number | undefined,
    baseline: string,
    kind: TargetCheck["kind"],
    target: number,
    unit: TargetCheck["unit"],
  ): TargetCheck => {
    const value = ours === undefined || theirs === undefined ? undefined : ours / theirs;
    return { label, ours, theirs, baseline, value, kind, target, absolute: false, met: meets(value, kind, target), unit };
  };
  const checks: TargetCheck[] = [];
  for (const [where, of] of [["", rtt], [" (one core)", oneCore]] as const) {
    if (present("wirechan-ws") && present("ws")) {
      checks.push(relative(`websocket RTT p50${where}`, of("wirechan-ws")?.p50Ms, of("ws")?.p50Ms, "raw ws", "max", TARGETS.wsRttVsRawWs, "ms"));
    }
    if (present("wirechan-ws") && present("socketio-ws")) {
      checks.push(relative(`websocket RTT p50${where}`, of("wirechan-ws")?.p50Ms, of("socketio-ws")?.p50Ms, "socket.io (websocket)", "below", TARGETS.wsRttVsSocketIo, "ms"));
    }
  }
  if (present("wirechan-ws") && present("ws")) {
    const label = "websocket awaited puts/s vs raw ws echo round trips/s";
    checks.push(relative(label, rate("wirechan-ws", "awaited"), rtt("ws")?.perSecond, "raw ws", "min", TARGETS.awaitedPutsVsRawWsRoundTrips, "values/s"));
  }
  if (present("wirechan-longpoll")) {
    const ours = rtt("wirechan-longpoll")?.p50Ms;
    checks.push({
      label: "long-polling RTT p50",
      ours,
      theirs: undefined,
      baseline: "absolute",
      value: ours,
      kind: "below",
      target: TARGETS.longpollRttMs,
      absolute: true,
      met: meets(ours, "below", TARGETS.longpollRttMs),
      unit: "ms",
    });
  }
  if (present("wirechan-longpoll") && present("socketio-polling")) {
    const ours = rate("wirechan-longpoll", "put");
    checks.push(relative("long-polling throughput (put)", ours, rate("socketio-polling", "emitWithAck"), "socket.io (polling) emitWithAck", "min", TARGETS.longpollThroughputVsSocketIo, "values/s"));
    checks.push(relative("long-polling throughput (put)", ours, rate("socketio-polling", "emit"), "socket.io (polling) emit", "min", TARGETS.longpollThroughputVsSocketIo, "values/s"));
  }
  return checks;
}

function meets(value: number | undefined, kind: TargetCheck["kind"], target: number): boolean | undefined {
  if (value === undefined) return undefined;
  if (kind === "min") return value >= target;
  if (kind === "max") return value <= target;
  return value < target;
}

const int = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const fmt = {
  rate: (v: number): string => int.format(Math.round(v)),
  ms: (v: number): string => (v < 10 ? v.toFixed(3) : v.toFixed(1)),
  us: (v: number): string => v.toFixed(1),
  perRt: (v: number): string => (Number.isNaN(v) ? "—" : v.toFixed(2)),
};

function label(row: RowName): string {
  return rowSpec(row).label;
}

const RTT_HEADER = ["row", "RTT p50 ms", "RTT p99 ms", "mean ms", "round trips/s", "server CPU µs/RT", "client CPU µs/RT", "up msgs/RT", "down msgs/RT"];

function rttCells(row: Row, m: Row["rtt"] = row.rtt): string[] {
  const cell = (f: (v: number) => string, k: RttMetric): string => (m === undefined ? "FAILED" : f(m[k]));
  return [
    label(row.row),
    cell(fmt.ms, "p50Ms"),
    cell(fmt.ms, "p99Ms"),
    cell(fmt.ms, "meanMs"),
    cell(fmt.rate, "perSecond"),
    cell(fmt.us, "serverCpuUs"),
    cell(fmt.us, "clientCpuUs"),
    cell(fmt.perRt, "upPerRt"),
    cell(fmt.perRt, "downPerRt"),
  ];
}

const THROUGHPUT_HEADER = ["row", "method", "values/s", "server CPU µs/value", "client CPU µs/value"];

function throughputCells(rows: readonly Row[]): string[][] {
  const out: string[][] = [];
  for (const row of rows) {
    for (const variant of rowSpec(row.row).variants) {
      const t = row.throughput?.get(variant);
      if (t === undefined) {
        out.push([label(row.row), variant, "FAILED", "FAILED", "FAILED"]);
        continue;
      }
      const partial = t.complete ? "" : ` (partial: ${THROUGHPUT_TIME_LIMIT_MS / 1000} s limit)`;
      out.push([label(row.row), variant, `${fmt.rate(t.median.perSecond)}${partial}`, fmt.us(t.median.serverCpuUsPerValue), fmt.us(t.median.clientCpuUsPerValue)]);
    }
  }
  return out;
}

function formatValue(v: number | undefined, unit: TargetCheck["unit"]): string {
  if (v === undefined) return "n/a";
  return unit === "ms" ? `${fmt.ms(v)} ms` : `${fmt.rate(v)}/s`;
}

const CHECK_HEADER = ["target", "wirechan", "baseline", "ratio", "verdict"];

function checkCells(c: TargetCheck): string[] {
  const op = c.kind === "min" ? ">=" : c.kind === "max" ? "<=" : "<";
  if (c.absolute) {
    return [`${c.label} ${op} ${c.target} ms`, formatValue(c.ours, c.unit), "—", "—", verdict(c.met)];
  }
  return [`${c.label} ${op} ${c.target.toFixed(1)}x ${c.baseline}`, formatValue(c.ours, c.unit), formatValue(c.theirs, c.unit), formatRatio(c.value, c.kind), verdict(c.met)];
}

/** Every wirechan row against every baseline, for the reader (not targets). */
function ratioCells(rows: readonly Row[]): string[][] {
  const p50 = (row: RowName): number | undefined => rows.find((r) => r.row === row)?.rtt?.p50Ms;
  const rate = (row: RowName, variant: Variant): number | undefined => rows.find((r) => r.row === row)?.throughput?.get(variant)?.median.perSecond;
  const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined ? "n/a" : `${(a / b).toFixed(2)}x`);
  return (["wirechan-ws", "wirechan-sse", "wirechan-longpoll", "wirechan-connection"] as const)
    .filter((r) => rows.some((x) => x.row === r))
    .map((r) => [
      label(r),
      ratio(p50(r), p50("ws")),
      ratio(p50(r), p50("ws-json")),
      ratio(p50(r), p50("ws-json-chan")),
      ratio(p50(r), p50("socketio-ws")),
      ratio(p50(r), p50("socketio-polling")),
      ratio(rate(r, "put"), rate("socketio-ws", "emitWithAck")),
      ratio(rate(r, "put"), rate("socketio-polling", "emitWithAck")),
      ratio(rate(r, "put"), rate("socketio-polling", "emit")),
    ]);
}

/**
 * The round trip built up a layer at a time, on one core (where a round trip is the work of
 * both sides and repeats within a few percent): raw ws, its JSON packets, channels at both ends,
 * then the whole session; and beside them, wirechan's Connection in place of raw ws's server.
 * Each line's p50 against raw ws's, and CPU per round trip per side (server and client
 * averaged) with what it adds over the line it builds on.
 */
function layerCells(rows: readonly Row[]): string[][] {
  const layers: ReadonlyArray<readonly [RowName, string, RowName | null]> = [
    ["ws", "raw ws: a message each way", null],
    ["ws-json", "+ the packets as JSON text", "ws"],
    ["ws-json-chan", "+ wirechan's channels at both ends", "ws-json"],
    ["wirechan-ws", "+ the session (wirechan)", "ws-json-chan"],
    ["wirechan-connection", "beside: raw ws with wirechan's Connection as the server (no session)", "ws"],
  ];
  const p50Of = (name: RowName): number | undefined => rows.find((r) => r.row === name)?.rttOneCore?.p50Ms;
  const base = p50Of("ws");
  return layers.map(([name, what, over]) => {
    const p50 = p50Of(name);
    const own = oneCoreCpu(rows, name);
    const under = over === null ? undefined : oneCoreCpu(rows, over);
    const added = own === undefined || under === undefined ? "—" : `${own >= under ? "+" : "-"}${fmt.us(Math.abs(own - under))}`;
    return [what, p50 === undefined ? "n/a" : fmt.ms(p50), p50 === undefined || base === undefined ? "n/a" : `${(p50 / base).toFixed(2)}x`, own === undefined ? "n/a" : fmt.us(own), added];
  });
}

/** A row's CPU per round trip per side (server and client averaged), with both processes on one core. */
function oneCoreCpu(rows: readonly Row[], name: RowName): number | undefined {
  const r = rows.find((x) => x.row === name)?.rttOneCore;
  return r === undefined ? undefined : (r.serverCpuUs + r.clientCpuUs) / 2;
}

/** A row's p50 over a baseline row's, on two cores (`rtt`) or one, for the text. */
function p50Ratio(rows: readonly Row[], name: RowName, base: RowName, which: "rtt" | "rttOneCore"): string {
  const of = (r: RowName): number | undefined => rows.find((x) => x.row === r)?.[which]?.p50Ms;
  const ours = of(name);
  const theirs = of(base);
  return ours === undefined || theirs === undefined ? "(not measured)" : `${(ours / theirs).toFixed(2)}x`;
}

/** What the session adds to a side's CPU per round trip on one core, over the channels floor, for the text. */
function sessionCostSentence(rows: readonly Row[]): string {
  const ours = oneCoreCpu(rows, "wirechan-ws");
  const floor = oneCoreCpu(rows, "ws-json-chan");
  return ours === undefined || floor === undefined ? "CPU (not measured in this run)" : `${fmt.us(ours - floor)} µs per side per round trip`;
}

/** What bench:codec says a binary codec would change in this round trip, set against this run's one-core gap. */
function codecSentence(input: ReportInput): string {
  const codec = input.codec;
  if (codec === null) return "A compact binary codec is measured by bench:codec, which has not run yet.";
  const of = (r: RowName): number | undefined => input.rows.find((x) => x.row === r)?.rttOneCore?.p50Ms;
  const ours = of("wirechan-ws");
  const raw = of("ws");
  const gapUs = ours === undefined || raw === undefined ? undefined : (ours - TARGETS.wsRttVsRawWs * raw) * 1000;
  const diff = (p: { json: number; msgpackr: number }): string => {
    const us = (p.msgpackr - p.json) / 1000;
    return `${Math.abs(us).toFixed(2)} µs ${us <= 0 ? "less" : "more"}`;
  };
  const savedUs = (codec.node.json - codec.node.msgpackr) / 1000;
  const share =
    gapUs === undefined || gapUs <= 0 ? "" : `, ${((100 * Math.max(0, savedUs)) / gapUs).toFixed(0)}% of the ${gapUs.toFixed(1)} µs by which this run's one-core p50 misses ${TARGETS.wsRttVsRawWs}x raw ws's`;
  const closesMuch = gapUs !== undefined && gapUs > 0 && savedUs >= gapUs / 2;
  return `${closesMuch ? "A compact binary codec would close much of it" : "Nor would a compact binary codec"}: [bench:codec](../codec/README.md) (its run at ${codec.commit}) times msgpackr against JSON on these very packets, and an echo's two, encoded and decoded once each, take ${diff(codec.node)} of CPU with msgpackr in Node${share}, and ${diff(codec.chromium)} in Chromium, while binary messages would give up plain JSON on every transport.`;
}

const LAYER_HEADER = ["layer (one core)", "RTT p50 ms", "p50 / raw ws", "CPU µs per round trip per side", "added by the layer"];

const RATIO_HEADER = [
  "wirechan row",
  "p50 / raw ws",
  "p50 / raw ws + JSON frames",
  "p50 / raw ws + JSON frames + channels",
  "p50 / socket.io (ws)",
  "p50 / socket.io (polling)",
  "put/s / socket.io (ws) emitWithAck",
  "put/s / socket.io (polling) emitWithAck",
  "put/s / socket.io (polling) emit",
];

export function renderConsole(input: ReportInput): string {
  return [
    `median of ${input.runs} fresh-process run(s) per row:`,
    plainTable(RTT_HEADER, input.rows.map((row) => rttCells(row)), 1),
    "",
    "both processes on one core:",
    plainTable(RTT_HEADER, input.rows.map((row) => rttCells(row, row.rttOneCore)), 1),
    "",
    plainTable(THROUGHPUT_HEADER, throughputCells(input.rows), 2),
    "",
    plainTable(CHECK_HEADER, input.checks.map(checkCells), 1),
  ].join("\n");
}

function runsSection(input: ReportInput): string {
  const rows: string[][] = [];
  for (const row of input.rows) {
    const spec = rowSpec(row.row);
    const rates = spec.variants.map(
      (v) =>
        `${v}: ${row.runs
          .map((r) => r.throughput.find((t) => t.variant === v))
          .map((t) => (t === undefined ? "—" : `${fmt.rate(t.perSecond)}${t.complete ? "" : "*"}`))
          .join(" / ")}`,
    );
    rows.push([
      spec.label,
      row.runs.map((r) => fmt.ms(r.rtt.p50Ms)).join(" / "),
      row.runs.map((r) => (r.rttOneCore === null ? "—" : fmt.ms(r.rttOneCore.p50Ms))).join(" / "),
      row.runs.map((r) => fmt.ms(r.rtt.p99Ms)).join(" / "),
      row.runs.map((r) => `${(r.rtt.secondHalfP50Ms / r.rtt.firstHalfP50Ms).toFixed(2)}x`).join(" / "),
      row.runs.map((r) => String(r.rtt.roundTrips)).join(" / "),
      rates.join("; "),
    ]);
  }
  return markdownTable(["row", "RTT p50 ms", "one-core RTT p50 ms", "RTT p99 ms", "p50 second half / first half", "round trips measured", "values/s (* = stopped at the time limit)"], rows, 1);
}

export function renderReadme(input: ReportInput): string {
  const m = input.machine;
  const versions = ["wirechan", "ws", "socket.io", "socket.io-client"].map((p) => `${p} ${input.versions.get(p) ?? "unknown"}`).join(", ");
  const rowList = ROWS.map((r) => `- ${r.label}: ${r.rttMethod}.`).join("\n");
  const variantList = (Object.keys(VARIANT_DESCRIPTIONS) as Variant[]).map((v) => `- \`${v}\`: ${VARIANT_DESCRIPTIONS[v]}.`).join("\n");
  const runsNote =
    input.runs < input.requestedRuns
      ? ` (${input.requestedRuns} were asked for; the time budget of ${ROUNDS_BUDGET_MS / 60_000} minutes allowed ${input.runs})`
      : "";
  return `# wirechan protocol benchmark

${writtenBy("protocol")}

## How to run

\`\`\`sh
npm run bench:protocol
\`\`\`

It builds wirechan first (\`npx tsc -p tsconfig.build.json\`; \`--no-build\` uses the existing dist/).
\`--runs N\` (default 5) sets the rounds; \`--only ws,wirechan-ws,…\` (rows: ${ROWS.map((r) => `\`${r.name}\``).join(", ")})
and \`--profile DIR\` (every child writes a V8 CPU profile, \`<row>.<server|client>.<time>.cpuprofile\`, into DIR;
open it in Chrome DevTools) are for iteration and
never rewrite this file; it is only rewritten by a run of every row in which every run passed.
The run stops by itself: no round starts after ${ROUNDS_BUDGET_MS / 60_000} minutes, and everything is killed after
${TOTAL_TIMEOUT_MS / 60_000}. This run took ${(input.durationMs / 1000).toFixed(0)} s.

## Machine

${machineLines(m)}
- Packages: ${versions}
- Sources measured: ${input.source}

## Method

One client, one server, each in its own fresh \`node\` process, all on 127.0.0.1 (the two
processes share the machine's ${m.cores} cores with the harness). Every row uses the library's default
options, except that the wirechan client is given \`transports: [<the row's transport>]\` and
\`upgradeProbeInterval: 0\` (so an SSE or long-poll row never moves to WebSocket), and socket.io
client and server get the row's \`transports\` (client: \`forceNew\`, \`reconnection: false\`).

**Round trip (RTT).** Rows:

${rowList}

Each round trip starts after the previous one came back (one at a time); the value is the
sequence number, checked on return. During the round trips the server is pinned to CPU 0 and the
client to CPU 1 (\`taskset -a -p -c\`), as the issue measured them: left to the scheduler the two
sometimes shared a core and sometimes not, and a row's two-core p50 moved by 2x from round to
round (raw ws: 0.025, 0.056, 0.024, 0.046, 0.023 ms in one run); where taskset cannot pin them
they run unpinned. ${RTT_WARMUP.toLocaleString("en-US")} un-measured warm-up round trips, then ${RTT_COUNT.toLocaleString("en-US")} measured
(rows over HTTP requests, socket.io polling and wirechan sse and longpoll: ${RTT_WARMUP_SLOW} and ${RTT_COUNT_SLOW.toLocaleString("en-US")}), stopping early after ${RTT_TIME_LIMIT_MS / 1000} s.
The warm-up is long so that every row is measured with its code compiled, as a server that has
run for a while is: with 1,000, V8's optimizing compiler was still at work in the measured
round trips, and every row's two-core p99 was mostly compilation (raw ws's was 0.7 to 1.1 ms in
such runs, and 0.2 ms in the first run with 10,000); in a probe timing the p50 of each block of 1,000 round trips, raw ws's stopped
falling after about 3,000 and wirechan's, with more code to compile, after about 8,000. Each run
checks it: "Individual runs" gives the p50 of the second half of the measured round trips (two
cores) over that of the first half: near 1 when nothing was still warming up, within about 10% either
way from noise alone (in a probe of twelve windows of 5,000 after this warm-up, raw ws's ranged
0.91-1.13x and wirechan's 0.94-1.06x). In this suite's runs wirechan's row has stayed at
0.79-0.92x, with 20,000 warm-up round trips as with 10,000 (socket.io's mostly 0.91-0.95x, raw
ws's 0.94-0.99x): wirechan's round trips keep getting faster through the measured window for a
reason not found yet, not only compilation, so its p50 is likely a few percent above where it
would settle. RTT is
\`performance.now()\` around one round trip in the client; p50/p99/mean are over the measured ones,
round trips/s is their count over their wall time. Server and client CPU per round trip are
\`process.cpuUsage()\` (user + system, every thread) of each process over the measured round trips / their count.
**Messages per round trip** are counted in the client over the measured round trips: "up" is
WebSocket messages sent (for socket.io, engine.io packets created) or, on the HTTP transports,
requests carrying data upstream (wirechan's \`POST …/send\`, socket.io's polling POSTs); "down" is
WebSocket messages (engine.io packets) or SSE events received, or long-polls made (each is answered
once). wirechan's client is given a \`ws\` subclass that counts; its HTTP requests (node:http, the
client's default in Node) are counted through \`diagnostics_channel\`, and its SSE events are not
counted ("—"); raw ws and socket.io count on their own events. Raw ws needs 1 up and 1 down: everything above that is a
packet, a syscall on each side and a wake-up of the other process.

**One core.** Right after those round trips, both processes are pinned to CPU 0 (\`taskset -a -p -c 0\`)
and the same warm-up and measured round trips run again; then both go back to the CPUs they had
(unpinned) for the throughput. On two cores a round trip also holds two cross-core wake-ups, whose
cost on this kind of machine changes from run to run (raw ws's two-core p50 has been both 0.04 and
0.10 ms in back-to-back runs, unpinned); on one core the other process runs as soon as this one waits, so a round
trip is the CPU work of both sides and their system calls, and repeats within a few percent.
Neither is "the" number: two cores is what a deployment sees, one core is what the code costs.
The targets are checked on both. A machine without \`taskset\` reports the one-core numbers as
FAILED rather than leaving them out.

For wirechan, the session is all there: sequence numbers and the replay buffer, the answer to
every put (the \`"a"\` frame, which also acknowledges the frames up to that put, so this exchange
needs no \`ack\` frames), credit, and the channel reference \`reply\` encoded into every value. The echo's put is acknowledged too (not awaited by
the client, but sent, and part of the load).

**Throughput.** After the round trips, on the same connection: one client sends
${int.format(THROUGHPUT_VALUES)} small values (the numbers 0, 1, 2 …) to the server's sink, which counts
them. values/s = ${int.format(THROUGHPUT_VALUES)} / (the server's clock when it counted the last value - the
client's clock when it started sending); both are \`performance.timeOrigin + performance.now()\` of
processes on one machine. Sending stops after ${THROUGHPUT_TIME_LIMIT_MS / 1000} s; a row that did not send everything
by then reports the rate over what it sent, marked "partial". Methods:

${variantList}

Every value must arrive (the server's count must equal what the client sent), every echo must
come back with its own number, and a wirechan session must stay open on its transport with no
put refused; otherwise the run of the row fails.

Rows run one at a time, ${input.runs} round(s)${runsNote}, the row order rotated between rounds; each
number is the median over the rounds (with 2 runs, their mean). A row that does not finish
within ${ROW_TIMEOUT_MS / 1000} s is killed and fails.

## Results (median)

Round trips:

${markdownTable(RTT_HEADER, input.rows.map((row) => rttCells(row)), 1)}

Round trips with both processes on one core:

${markdownTable(RTT_HEADER, input.rows.map((row) => rttCells(row, row.rttOneCore)), 1)}

Throughput, ${int.format(THROUGHPUT_VALUES)} values from one client:

${markdownTable(THROUGHPUT_HEADER, throughputCells(input.rows), 2)}

Ratios of the medians (wirechan / baseline; for p50 lower is better, for values/s higher is better):

${markdownTable(RATIO_HEADER, ratioCells(input.rows), 1)}

## Targets

From the issue: over websocket, RTT p50 at most 1.3x raw \`ws\` and below socket.io, with
sessions, acknowledgements and credit included; over long-polling, p50 under 1 ms and throughput at
least 3x socket.io's polling. socket.io's polling throughput is given two ways: \`emitWithAck\` (each
value acknowledged, as a wirechan put is) and plain \`emit\` (nothing acknowledged). Medians; ratios
are rounded against the target (down for "at least", up for "at most" and "below").
The "raw ws + JSON frames" row is no target but the floor under the first one: the same packets
as a wirechan round trip, parsed and written, and nothing else; its ratio to raw ws is what JSON
text alone costs before any session, acknowledgement, credit or channel work. The "raw ws + JSON
frames + channels" row is a second floor: those packets with wirechan's channels where wirechan
has them (a put into the server's channel, the echo loop's take and put, the client's put into
\`reply\` and its take), and nothing of the session. The "wirechan Connection" row is no target
either: wirechan's message layer, measured against raw ws's server.

${markdownTable(CHECK_HEADER, input.checks.map(checkCells), 1)}

### Where the round trip goes

${markdownTable(LAYER_HEADER, layerCells(input.rows), 1)}

What each layer is, and why the one-core p50, where a round trip is nothing but both sides' CPU
work and system calls, stays near or over the target's 1.3x raw ws (on two cores the wake-ups of
both processes are in every round trip, and the same costs are a smaller share of it):

- **JSON text.** A wirechan round trip carries two frames each way (the answer to the last put
  and the next put, with its channel reference), so the floor parses and writes about 60 bytes
  of JSON per side where raw ws copies 6: ${p50Ratio(input.rows, "ws-json", "ws", "rttOneCore")} raw ws's p50 on one core in this run, before
  anything else.
- **Channels.** The echo goes through channels at both ends, as the API promises: a put into
  the server's channel, a \`for await\` take, the reply's put, and the client's take. Each is a
  promise and a microtask; with the JSON floor under them this line alone is
  ${p50Ratio(input.rows, "ws-json-chan", "ws", "rttOneCore")} raw ws's p50 on one core in this run, against the
  target's 1.3x, with no session at all.
- **The session.** Sequence numbers and the replay buffer (every frame kept, encoded, until
  acknowledged), the answer to every put (credit, and a put's promise), the channel reference
  encoded and decoded on both sides (exports, imports, WeakRef proxies), and packing frames
  under the message limits. Its profile is flat: no function of it takes more than a few
  percent of a side's CPU. In a sampling profile of both sides in one process, JSON (each frame
  encoded alone, then joined; the value copied by the reference encoding first) was about a
  sixth of the busy time, garbage collection and V8's runtime about another sixth, and the rest
  spread over a dozen functions of the session. A round trip's two sides, in one process,
  allocate about 12 KB where raw ws's allocate 5.6 KB (a sampling heap profile; most of the
  difference is promises, frames and their texts). The system calls are raw ws's: as many reads,
  writevs and epoll_waits per round trip for both (\`strace -c\`: one read and one writev per side,
  with one or two epoll_waits by machine, alike for every row), and a \`perf\`
  profile of both sides on one core finds the same kernel time per round trip under each; what
  wirechan adds is user space, V8's builtins and runtime (property-access stubs, promise jobs,
  JSON) more than the session's own compiled code. What is left is many small costs, each one a
  guarantee of the protocol.
- **The issue's tuning levers, each measured** (once, in Node on one core, outside this suite):
  on the client's packet of this echo, numeric op codes and a shorter reference would take 4% off
  its JSON encoding and decoding (about 45 ns of 1,060), and folding the answer into a header
  of the packet 17% (about 180 ns), at the price of a protocol change; encoding a value in one
  walk instead of two would save at most the first walk, the copy that replaces channels by
  references: 95 ns of the 440 that this put's value and frame take. Each is a few percent of
  the ${sessionCostSentence(input.rows)} that the session adds.
- **What would close it is a layer without the session, and wirechan has one: the
  \`Connection\`.** The "wirechan Connection (websocket)" row, raw ws's client against wirechan's
  \`Connection\` sending each message back, was ${p50Ratio(input.rows, "wirechan-connection", "ws", "rttOneCore")} raw ws's p50 on one core and
  ${p50Ratio(input.rows, "wirechan-connection", "ws", "rtt")} on two in this run. An application that wants raw ws's round trip, and none of the
  session's guarantees, sends its messages over a \`Connection\` (docs/api.md, "The server");
  channels across the wire are for what needs their guarantees.
- **Decided: every put keeps its answer.** A put that asks for no answer (fire and forget, no
  credit) was measured once, outside this suite, with a build patched so that neither side
  answers or tracks a put: in one process, both sides of a round trip went from 17.4 to 16.5 µs
  of CPU, where the session adds about 4.4 µs over the channels floor (so about a fifth of it);
  on two cores, pinned as here, the p50 went from 80.8 to 78.9 µs, against 72.5 µs for the
  channels floor. It would not close the gap, and it would give up back-pressure (credit comes
  back with the answer) and the put's promise. A message API inside the session, without
  channels, would still carry the sequence numbers, replay and acknowledgements, which are most
  of what is left; the \`Connection\` is that API without them. ${codecSentence(input)} A put that asks for a late answer
  (the lazy flag, docs/protocol.md section 4) does not help here: in an echo the answer already
  rides with the reply.
- **Beside socket.io.** A wirechan round trip costs about as much CPU as socket.io's (the table
  above); in this run its p50 was ${p50Ratio(input.rows, "wirechan-ws", "socketio-ws", "rttOneCore")} socket.io's on one core and
  ${p50Ratio(input.rows, "wirechan-ws", "socketio-ws", "rtt")} on two, and from run to run on a shared machine that ratio has
  landed on either side of 1. On two cores what decides it is the work between a packet's
  arrival and the reply's write on each side, rather than the total. Timed with marks in the code (once, not by this
  suite), the server's share of it is about half decoding the packet and applying its frames
  (the answer to its last put, then the new put into the echo channel, where it waits for the
  loop's take) and half the channel hops and the reply's encoding that follow, before the one
  write. socket.io's server answers inside the handler's own call, with nothing awaited between
  the message and the write.

## Individual runs

${runsSection(input)}

## Caveats

- One machine with ${m.cores} cores runs the server, the client and the harness, and other work may be
  running on it too (see the load averages above). Sub-millisecond RTTs move by tens of percent
  between rounds; compare rows of one run, and look at the individual runs before reading much
  into a ratio near its target.
- One client at a time: these are latencies and rates of one session, not of a loaded server.
- wirechan's throughput is bounded by its credit: at most \`window\` (256 by default) puts per
  channel are on the wire, so every 256 values cost one acknowledgement round trip; \`ws.send\` and \`socket.emit\`
  have no such bound (nor any acknowledgement), which is why they are listed apart from the
  acknowledged methods.
- Node 20 has no global WebSocket: wirechan's client uses the \`ws\` package there, as raw ws does;
  its SSE and long-poll transports use node:http with a keep-alive agent (its default in Node;
  Node's \`fetch\` costs several times the CPU per request), socket.io-client's polling uses
  \`xmlhttprequest-ssl\` over node:http. The HTTP rows measure Node's HTTP stack as much as the
  protocols. Browsers would differ.
- The counters of wirechan's client (a \`ws\` subclass, a \`diagnostics_channel\` subscriber) are in
  every wirechan row; they cost a few µs per message.
- Throughput subtracts two clocks of one machine (\`performance.timeOrigin\` of two processes); they
  agree to well under a millisecond, much less than the durations measured.
`;
}
