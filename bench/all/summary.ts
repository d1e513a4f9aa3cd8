// Renders bench/README.md: issue 12's table and every suite's headlines, from the suites'
// results.json files, with where and when each number was measured.
import { LOADED_PER_CORE, loadedAtStart, type MachineInfo } from "../shared/machine.js";
import type { Headline, RunStamp, SuiteResults } from "../shared/results.js";
import { markdownTable, plainTable } from "../shared/tables.js";
import { formatDuration, formatNumber, peerCell } from "./format.js";
import { ISSUE_12_ROWS } from "./issue12.js";
import type { SuiteOutcome } from "./run-suite.js";
import { SETTLE_LIMIT_S } from "./settle.js";
import { SUITES, type SuiteName } from "./suites.js";

/** The peers with a column of their own; any other peer goes to "other peers". */
const MAIN_PEERS = ["raw ws", "socket.io", "plain SSE"] as const;


export interface SummaryInput {
  /** Every suite's results.json that exists. */
  readonly results: ReadonlyMap<SuiteName, SuiteResults>;
  /** What this `npm run bench` did: the arguments, the machine (load before and after), the commit. */
  readonly args: readonly string[];
  readonly machine: MachineInfo;
  readonly commit: string;
  /** The suites run this time, and how each ended; whether it rewrote its results.json. */
  readonly outcomes: ReadonlyMap<SuiteName, SuiteOutcome & { readonly rewrote: boolean }>;
  readonly durationMs: number;
}

function peerValue(h: Headline, peer: string): number | null {
  return h.peers.find((p) => p.peer === peer)?.value ?? null;
}

function otherPeers(h: Headline): string {
  const others = h.peers.filter((p) => !(MAIN_PEERS as readonly string[]).includes(p.peer));
  return others.length === 0 ? "—" : others.map((p) => `${p.peer}: ${peerCell(h.wirechan, p.value)}`).join("; ");
}

function measureName(h: Headline): string {
  return `${h.label}, ${h.unit} (${h.better} is better)`;
}

function fromCell(stamp: RunStamp): string {
  return `${stamp.commit}, ${stamp.date.slice(0, 10)}`;
}

function link(suite: SuiteName): string {
  return `[${suite}](${suite}/README.md)`;
}

function find(input: SummaryInput, suite: SuiteName, id: string): { readonly h: Headline; readonly stamp: RunStamp } | null {
  const results = input.results.get(suite);
  const h = results?.headlines.find((x) => x.id === id);
  return results === undefined || h === undefined ? null : { h, stamp: results.stamp };
}

function issueRows(input: SummaryInput): string[][] {
  return ISSUE_12_ROWS.map((row) => {
    const found = row.from === null ? null : find(input, row.from.suite, row.from.id);
    const note = row.note === undefined ? "" : ` (${row.note})`;
    if (row.from === null || found === null) {
      const missing = row.from === null ? "" : ` (not in ${link(row.from.suite)}'s results.json yet: rerun that suite)`;
      return [`${row.measure}${note}${missing}`, row.target, "—", "—", "—", "—"];
    }
    const { h, stamp } = found;
    return [
      `${row.measure}${note}`,
      row.target,
      formatNumber(h.wirechan),
      peerCell(h.wirechan, peerValue(h, "raw ws")),
      peerCell(h.wirechan, peerValue(h, "socket.io")),
      `${link(row.from.suite)} ${fromCell(stamp)}`,
    ];
  });
}

function headlineRows(input: SummaryInput): string[][] {
  return SUITES.flatMap((suite) => {
    const results = input.results.get(suite.name);
    if (results === undefined) return [[link(suite.name), "no results.json yet", "—", "—", "—", "—", "—", "—"]];
    return results.headlines.map((h) => [
      link(suite.name),
      measureName(h),
      formatNumber(h.wirechan),
      ...MAIN_PEERS.map((peer) => peerCell(h.wirechan, peerValue(h, peer))),
      otherPeers(h),
      fromCell(results.stamp),
    ]);
  });
}

function loaded(stamp: RunStamp): boolean {
  return loadedAtStart(stamp.loadAtStart ?? 0, stamp.cores ?? 1);
}

function loadCell(start: number | null, end: number | null): string {
  const f = (v: number | null): string => (v === null ? "?" : v.toFixed(2));
  return start === null && end === null ? "—" : `${f(start)} / ${f(end)}`;
}

function thisRunCell(input: SummaryInput, suite: SuiteName): string {
  const outcome = input.outcomes.get(suite);
  if (outcome === undefined) return "not run: kept";
  const took = formatDuration(outcome.durationMs);
  if (!outcome.ok) return `FAILED (${outcome.how}, ${took}): kept`;
  return outcome.rewrote ? `rerun (${took})` : `ran (${took}) but did not rewrite results.json: kept`;
}

/** "2026-12-04 15:44 UTC", or the day alone when only the day was recorded (a time of exactly midnight). */
function dateCell(iso: string): string {
  return iso.endsWith("T00:00:00.000Z") ? iso.slice(0, 10) : `${iso.replace("T", " ").slice(0, 16)} UTC`;
}

function runRows(input: SummaryInput): string[][] {
  return SUITES.map((suite) => {
    const s = input.results.get(suite.name)?.stamp;
    if (s === undefined) return [link(suite.name), suite.title, "—", "—", "—", "—", "—", "—", thisRunCell(input, suite.name)];
    const machine = `${s.cpu}${s.cores === null ? "" : `, ${s.cores} cores`}${s.memoryGiB === null ? "" : `, ${s.memoryGiB} GiB`}, Node ${s.node}`;
    return [
      link(suite.name),
      suite.title,
      `${dateCell(s.date)}${s.fromReadme === true ? " (read from its README)" : ""}`,
      s.commit,
      s.runs === null ? "—" : String(s.runs),
      formatDuration(s.durationMs),
      `${loadCell(s.loadAtStart, s.loadAtEnd)}${loaded(s) ? " (loaded)" : ""}`,
      machine,
      thisRunCell(input, suite.name),
    ];
  });
}

/** The suites' latest run times, added up, and how many of them recorded one. */
function recordedDuration(input: SummaryInput): { readonly ms: number; readonly of: number } {
  const durations = [...input.results.values()].map((r) => r.stamp.durationMs).filter((d): d is number => d !== null);
  return { ms: durations.reduce((a, b) => a + b, 0), of: durations.length };
}

function invocationLines(input: SummaryInput): string {
  const m = input.machine;
  const how = input.args.length === 0 ? "`npm run bench`" : `\`npm run bench -- ${input.args.join(" ")}\``;
  const quick = input.args.includes("--quick") ? " A `--quick` smoke test: one round per suite, fewer loads; its numbers are not for committing." : "";
  const ran = input.outcomes.size > 0;
  return [
    ran ? `- Built by ${how}, which took ${formatDuration(input.durationMs)}.${quick}` : `- Built by ${how}: no suite ran; rebuilt from the results.json files as they are.`,
    `- CPU: ${m.cpuModel}, ${m.cores} cores; memory: ${m.memoryGiB.toFixed(1)} GiB`,
    `- Node: ${m.node} (${m.platform})`,
    `- Commit: ${input.commit}`,
    `- Date: ${m.date.toISOString()}`,
    ...(ran ? [`- 1-minute load average: ${m.loadAtStart.toFixed(2)} before the suites, ${m.loadAtEnd.toFixed(2)} after${loadedAtStart(m.loadAtStart, m.cores) ? " (loaded: other work shared the CPU)" : ""}`] : []),
  ].join("\n");
}

export function renderSummary(input: SummaryInput): string {
  const recorded = recordedDuration(input);
  return `# wirechan benchmarks

Written by \`npm run bench\` (bench/all/run.ts) from every suite's \`results.json\`; rerun it instead of
editing this file. Each suite's own README (linked below) has its method, every row, the individual
runs and the caveats; this file has their headline numbers side by side, as ratios.

## How to run

\`\`\`sh
npm run bench                             # every suite, one after another, then this file
npm run bench -- --only protocol,topic    # rerun some suites; the others' kept results stay in the summary
npm run bench -- --quick                  # a smoke test of the whole chain: one round per suite, fewer loads
npm run bench -- --summary-only           # rebuild this file from the results.json files, run nothing
\`\`\`

It builds wirechan once (\`npx tsc -p tsconfig.build.json\`; \`--no-build\` uses dist/ as it is), then runs
each suite's own \`bench/<suite>/run.ts\` in a child process of its own, one at a time, with the suite's
defaults: ${SUITES.map((s) => `${s.name}${s.needs === undefined ? "" : ` (needs ${s.needs})`}`).join(", ")}.
A suite that passes rewrites its README.md and its results.json (its headline numbers with the
commit, date, machine and load average of the run). A suite that fails, or is killed after its time
limit (${SUITES.map((s) => `${s.name} ${s.timeoutMs / 60_000} min`).join(", ")}), leaves both as they were:
this file is then still written, from what every results.json holds, the table below says which
suites were rerun, and \`npm run bench\` exits 1. Each suite keeps its own entry (${SUITES.map((s, i) => `\`${i === 0 ? "npm run " : ""}bench:${s.name}\``).join(", ")}) and flags for
iteration. A new suite joins by writing its results.json with bench/shared/results.ts and being
listed in bench/all/suites.ts (and in bench/all/issue12.ts when it measures a row of issue 12's
table). \`npm run size\` is not part of the run: the browser suite weighs the same bundles
(scripts/bundle-size.ts).

A full run takes about 26 minutes on a 2-core machine (csp 2, server 7, codec 0.5, alloc 2, protocol 4, topic 3.5,
longpoll 1.5, memory 1, cluster 3, browser 1.5; the suites' time limits bound it at ${Math.round(SUITES.reduce((a, s) => a + s.timeoutMs, 0) / 60_000)} minutes); \`--quick\` about 12 (csp 0.75,
server 3, codec 0.25, alloc 1, protocol 0.75, topic 2, longpoll 1, memory 0.5, cluster 2, browser 0.5). The suites' latest runs below took ${formatDuration(recorded.ms)} together
(${recorded.of} of ${SUITES.length} recorded their duration).

The numbers (this file, and each suite's README.md and results.json) are committed once per change
that moves them, in that change's commit, not as separate rerun commits. A \`--quick\` run, or a run on
a loaded machine (1-minute load average above ${LOADED_PER_CORE} per core when it started, marked "loaded" below), is not one
to commit unless the change says so: \`git checkout -- bench/README.md 'bench/*/README.md' 'bench/*/results.json'\`
restores the committed numbers.

## Issue 12's measures

Each peer's cell is its number and, in parentheses, wirechan / that peer: a ratio of the medians the
suite reports, rounded to two decimals (the suites' READMEs check their targets with ratios rounded
against the target, so a ratio here can differ from theirs in the last digit). "—": not measured,
or its row failed in that run.

${markdownTable(["measure", "target", "wirechan", "raw ws", "socket.io", "from (suite, commit, date)"], issueRows(input), 2)}

## Headlines of every suite

${markdownTable(["suite", "measure", "wirechan", "raw ws", "socket.io", "plain SSE", "other peers", "from (commit, date)"], headlineRows(input), 2)}

## The runs these numbers come from

Load average: 1-minute, when the suite's run started / ended. "(loaded)": above ${LOADED_PER_CORE} per core when it
started, so other work shared the CPU and the absolute numbers are low and noisy. The load at the end is the
suite's own processes as much as anything (a fan-out suite keeps both cores of a 2-core machine busy), so it
does not count; \`npm run bench\` waits (up to ${SETTLE_LIMIT_S} s) for the load the previous suite left to fall under the mark
before it starts the next.

${markdownTable(["suite", "measures", "date", "commit", "rounds", "took", "load average", "machine", "this `npm run bench`"], runRows(input), 9)}

## This summary

${invocationLines(input)}
`;
}

/** The headline table for the terminal. */
export function renderSummaryConsole(input: SummaryInput): string {
  const rows = SUITES.flatMap((suite) =>
    (input.results.get(suite.name)?.headlines ?? []).map((h) => [
      suite.name,
      `${h.label}, ${h.unit}`,
      formatNumber(h.wirechan),
      ...MAIN_PEERS.map((peer) => peerCell(h.wirechan, peerValue(h, peer))),
    ]),
  );
  const runs = SUITES.map((suite) => `${suite.name}: ${thisRunCell(input, suite.name)}`).join("\n");
  return `${plainTable(["suite", "measure", "wirechan", ...MAIN_PEERS], rows, 2)}\n\n${runs}`;
}
