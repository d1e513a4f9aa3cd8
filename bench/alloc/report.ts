// The allocation suite's README.md and headline numbers, from its rounds (run.ts).
import { type Headline, headline, writtenBy } from "../shared/results.js";
import { machineLines, type MachineInfo } from "../shared/machine.js";
import { median } from "../shared/stats.js";
import { markdownTable } from "../shared/tables.js";
import type { RowName, RowSpec } from "../protocol/config.js";
import { type AllocationResult, MEASURED, WARMUP } from "./measure.js";

export interface AllocationReportInput {
  readonly machine: MachineInfo;
  readonly commit: string;
  readonly runs: number;
  readonly specs: readonly RowSpec[];
  readonly results: ReadonlyMap<RowName, readonly AllocationResult[]>;
  readonly versions: ReadonlyMap<string, string>;
  readonly durationMs: number;
}

type Side = "serverBytes" | "clientBytes" | "total";

function valuesOf(runs: readonly AllocationResult[], side: Side): number[] {
  return runs.map((r) => (side === "total" ? r.serverBytes + r.clientBytes : r[side]));
}

/** The median over the rounds of one side's bytes per round trip; undefined for a row that never ran. */
function medianOf(results: ReadonlyMap<RowName, readonly AllocationResult[]>, row: RowName, side: Side): number | undefined {
  const runs = results.get(row);
  return runs === undefined || runs.length === 0 ? undefined : median(valuesOf(runs, side));
}

const kb = (bytes: number | undefined): string => (bytes === undefined ? "—" : (bytes / 1000).toFixed(2));

function cell(runs: readonly AllocationResult[] | undefined, side: Side): string {
  if (runs === undefined || runs.length === 0) return "—";
  const values = valuesOf(runs, side);
  return `${kb(median(values))} (${kb(Math.min(...values))}–${kb(Math.max(...values))})`;
}

/** The widest (max - min) / median of a row's totals over its rounds, as a percentage. */
function largestSpread(results: ReadonlyMap<RowName, readonly AllocationResult[]>): string {
  let widest = 0;
  for (const runs of results.values()) {
    const totals = valuesOf(runs, "total");
    if (totals.length > 1) widest = Math.max(widest, (Math.max(...totals) - Math.min(...totals)) / median(totals));
  }
  return `${(widest * 100).toFixed(1)}%`;
}

function ratio(value: number | undefined, base: number | undefined): string {
  return value === undefined || base === undefined ? "—" : `${(value / base).toFixed(2)}x`;
}

function resultsTable(input: AllocationReportInput): string {
  const rawWs = medianOf(input.results, "ws", "total");
  const floor = medianOf(input.results, "ws-json-chan", "total");
  const rows = input.specs.map((spec) => {
    const runs = input.results.get(spec.name);
    const total = medianOf(input.results, spec.name, "total");
    return [spec.label, cell(runs, "serverBytes"), cell(runs, "clientBytes"), cell(runs, "total"), ratio(total, rawWs), ratio(total, floor)];
  });
  return markdownTable(["row", "server KB/RT", "client KB/RT", "both KB/RT", "both / raw ws", "both / raw ws + JSON frames + channels"], rows, 1);
}

/** The headlines: wirechan's echo over WebSocket beside raw ws and socket.io, and over long-polling beside socket.io's polling. */
export function allocationHeadlines(results: ReadonlyMap<RowName, readonly AllocationResult[]>): Headline[] {
  const total = (row: RowName): number | undefined => medianOf(results, row, "total");
  const toKiB = (bytes: number | undefined): number | undefined => (bytes === undefined ? undefined : bytes / 1024);
  return [
    headline("ws-echo-bytes", "bytes allocated per echo round trip, server + client (WebSocket)", "KiB", "lower", toKiB(total("wirechan-ws")), [
      ["raw ws", toKiB(total("ws"))],
      ["socket.io", toKiB(total("socketio-ws"))],
      ["raw ws + JSON frames + channels", toKiB(total("ws-json-chan"))],
    ]),
    headline("longpoll-echo-bytes", "bytes allocated per echo round trip, server + client (long-polling)", "KiB", "lower", toKiB(total("wirechan-longpoll")), [
      ["socket.io", toKiB(total("socketio-polling"))],
    ]),
  ];
}

export function allocationReadme(input: AllocationReportInput): string {
  const { machine } = input;
  const versions = [...input.versions].map(([name, version]) => `${name} ${version}`).join(", ");
  const wirechan = medianOf(input.results, "wirechan-ws", "total");
  const floor = medianOf(input.results, "ws-json-chan", "total");
  const rawWs = medianOf(input.results, "ws", "total");
  const sessionShare = wirechan === undefined || floor === undefined ? "" : ` In this run the session adds ${kb(wirechan - floor)} KB per round trip to that floor's ${kb(floor)} KB${rawWs === undefined ? "" : `, which is itself ${kb(floor - rawWs)} KB over raw ws's ${kb(rawWs)} KB`}.`;
  return `# wirechan allocation benchmark

${writtenBy("alloc")}

## How to run

\`\`\`sh
npm run bench:alloc
\`\`\`

It builds wirechan first (\`--no-build\` uses the existing dist/). \`--runs N\` (default 3) sets the rounds, \`--only ROWS\` picks
[bench:protocol](../protocol/README.md)'s rows (a run with it rewrites nothing). The run stops by itself: a row is killed
after 60 s, the run after 10 minutes. This run took ${(input.durationMs / 1000).toFixed(0)} s.

## Machine

${machineLines(machine)}
- Packages: ${versions}
- Sources measured: commit ${input.commit}

## Method

What a round trip costs in memory work, which, unlike its time, does not move with the machine's
speed or load: the bytes the server process and the client process allocate per echo round trip.
Each row is [bench:protocol](../protocol/README.md)'s, with its very children (a fresh server
process and a fresh client process on 127.0.0.1, the library's default options, the same echo;
see its method for each row): ${WARMUP.fast.toLocaleString("en-US")} warm-up round trips (${WARMUP.slow.toLocaleString("en-US")} on the HTTP rows: socket.io
polling, wirechan sse and longpoll), so that the optimizing compiler has run (its escape analysis
removes allocations), then ${MEASURED.fast.toLocaleString("en-US")} measured (${MEASURED.slow.toLocaleString("en-US")}) with V8's sampling heap profiler on in both
processes (\`HeapProfiler.startSampling\` through \`node:inspector\`, one sample per 128 bytes on
average, with \`includeObjectsCollectedByMinorGC\` and \`includeObjectsCollectedByMajorGC\`, so that
objects already collected count too). The sum of the samples estimates every byte allocated on the
JavaScript heap; buffers outside it (a socket's read buffer) are not counted. The client's count
includes the harness's own work per round trip (its timing and the promise it awaits), the same
for every row. Each number is the
median over ${input.runs} round(s), with the min–max; the profiler samples at random: in this run the
rounds of a row were at most ${largestSpread(input.results)} apart (max − min over the median, both sides together).
Between machines the counts agree less closely: the same sources measured on an AMD EPYC and on an
Intel Xeon gave every row within 1%, but wirechan's WebSocket client 4% apart (6.27 and 6.51 KB per
round trip), since what the optimizing compiler removes depends on what it compiled, and when.
Compare rows of one run.

"Raw ws + JSON frames + channels" is bench:protocol's second floor: a round trip's very packets
and wirechan's channels, without the session.${sessionShare} That difference is the session's
own work (sequence numbers and the replay buffer, the answer to every put, credit, the channel
reference in every value, packing), which is what issue 12's item 2 asks to cut.

## Results (median, KB = 1,000 bytes)

${resultsTable(input)}
`;
}
