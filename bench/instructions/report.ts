// The instructions suite's README.md and headline numbers, from its rounds (run.ts).
import { headline, type Headline } from "../shared/results.js";
import { machineLines, type MachineInfo } from "../shared/machine.js";
import { median } from "../shared/stats.js";
import { markdownTable } from "../shared/tables.js";
import { COUNTS, type InstructionRow } from "./config.js";

/** One round's instructions per round trip of a row, each side's. */
export interface SidesPerRoundTrip {
  readonly server: number;
  readonly client: number;
}

export interface RowCounts {
  readonly row: InstructionRow;
  /** One per round. */
  readonly perRoundTrip: SidesPerRoundTrip[];
}

const both = (s: SidesPerRoundTrip): number => s.server + s.client;

export interface InstructionsInput {
  readonly machine: MachineInfo;
  readonly commit: string;
  readonly rounds: number;
  readonly counts: readonly RowCounts[];
  readonly versions: ReadonlyMap<string, string>;
  readonly valgrind: string;
  readonly durationMs: number;
}

/** A row's median over the rounds of both sides together (or of one side). */
function medianOf(counts: readonly RowCounts[], name: InstructionRow["name"], side: (s: SidesPerRoundTrip) => number = both): number | undefined {
  const values = (counts.find((c) => c.row.name === name)?.perRoundTrip ?? []).map(side);
  return values.length === 0 ? undefined : median(values);
}

const thousands = (n: number | undefined): string => (n === undefined ? "—" : `${(n / 1000).toFixed(1)}k`);
const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined ? "—" : `${(a / b).toFixed(2)}x`);

/** How far apart a row's rounds are, as a percentage of their median. */
function spread(values: readonly number[]): string {
  if (values.length < 2) return "—";
  return `${((100 * (Math.max(...values) - Math.min(...values))) / median(values)).toFixed(1)}%`;
}

export function instructionsReadme(input: InstructionsInput): string {
  const raw = medianOf(input.counts, "ws");
  const floor = medianOf(input.counts, "ws-json-chan");
  const socketIo = medianOf(input.counts, "socketio-ws");
  const wirechan = medianOf(input.counts, "wirechan-ws");
  const rows = input.counts.map((c) => {
    const totals = c.perRoundTrip.map(both);
    const m = median(totals);
    return [
      c.row.label,
      thousands(m),
      thousands(medianOf(input.counts, c.row.name, (s) => s.server)),
      thousands(medianOf(input.counts, c.row.name, (s) => s.client)),
      totals.map((v) => thousands(v)).join(" / "),
      spread(totals),
      ratio(m, raw),
    ];
  });
  const versions = ["wirechan", "ws", "socket.io", "socket.io-client"].map((p) => `${p} ${input.versions.get(p) ?? "unknown"}`).join(", ");
  return `# wirechan instructions per round trip

Written by \`bench/instructions/run.ts\` (\`npm run bench:instructions\`), with its headline numbers in
\`results.json\` beside it (summarised with every suite's in [../README.md](../README.md)); rerun the
benchmark instead of editing it. This run took ${(input.durationMs / 60_000).toFixed(1)} min.

## Machine

${machineLines(input.machine)}
- ${input.valgrind}
- Packages: ${versions}
- Sources measured: ${input.commit}

## Why

bench:protocol times the echo's round trip on the clock, and on a shared machine its p50 moves by
tens of percent from run to run, the baselines as much as wirechan: a ratio near a target lands
on either side of it. This suite counts the user-space instructions of the same round trip
instead, which a busy machine does not change, so a change to the session shows as a number that
can be compared with the last commit's. It is the CPU work of both sides in user space: the
kernel (one read, one writev, one epoll_wait per side per round trip, the same for every row) is
not counted, nor are cache misses, so it is no stand-in for the p50 and has no target of its own.

## Method

[children/echo.mjs](children/echo.mjs) runs one row's server and its client as two processes on
127.0.0.1, with bench:protocol's packets and server loops (and none of its counting or timing):
${input.counts.map((c) => c.row.label).join(", ")}. Both run under \`valgrind --tool=callgrind\`,
with \`node --predictable\`: V8's deterministic mode, with no background compiler or GC threads
and no heuristics driven by the clock. The client makes ${COUNTS.warmup.toLocaleString("en-US")} warm-up round trips and then N more,
one at a time, and leaves; the server exits when it leaves. Per row and round, one run with
N = ${COUNTS.short.toLocaleString("en-US")} and one with N = ${COUNTS.long.toLocaleString("en-US")}; a side's instructions per round trip = (its count in the second -
its count in the first) / ${(COUNTS.long - COUNTS.short).toLocaleString("en-US")}, which cancels start-up, module loading and the warm-up.
${input.rounds} round(s); each number is the median over them.

Why two processes and \`--predictable\`: in each, a side waits for the other in every round trip,
so it wakes once per round trip however fast the other is, and what it does does not depend on
timing. With both sides in one process, they shared an event loop whose wake-ups interleaved as
timing had it, and raw ws's count moved by 40% between two rounds (33k and 50k); with
\`--single-threaded\` instead of \`--predictable\`, the garbage collector's incremental steps,
driven by the clock, moved wirechan's by a quarter.

## Results

${markdownTable(["row", "instructions per round trip, both sides (median)", "server", "client", "rounds (both sides)", "spread", "/ raw ws"], rows, 1)}

wirechan / raw ws + JSON frames + channels: ${ratio(wirechan, floor)}; wirechan / socket.io: ${ratio(wirechan, socketIo)}.

## Caveats

- Instructions are not time. A round trip's time also holds the kernel's work, the same for
  every row, so the ratios here are larger than bench:protocol's ratios of p50; and the same
  count can take longer when it misses caches more.
- The client's loop is this suite's, not bench:protocol's (no timing or counting per round trip).
`;
}

export function instructionHeadlines(counts: readonly RowCounts[]): Headline[] {
  return [
    headline(
      "echo-instructions",
      "echo round trip over WebSocket, user-space instructions (both sides, one process)",
      "instructions",
      "lower",
      medianOf(counts, "wirechan-ws"),
      [
        ["raw ws", medianOf(counts, "ws")],
        ["socket.io", medianOf(counts, "socketio-ws")],
        ["raw ws + JSON frames + channels", medianOf(counts, "ws-json-chan")],
      ],
    ),
  ];
}
