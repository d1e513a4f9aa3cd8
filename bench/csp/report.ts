// Renders results: a plain-text table for the terminal and the full bench/csp/README.md.
import {
  CASES,
  CHILD_TIMEOUT_MS,
  LIBS,
  TARGET_VS_FASTEST_PEER,
  TARGET_VS_JS_CSP,
  type LibName,
} from "./config.js";
import { type MachineInfo, machineLines } from "../shared/machine.js";
import { markdownTable, plainTable } from "../shared/tables.js";
import type { CaseRatios, ResultTable } from "./stats.js";
import { writtenBy } from "../shared/results.js";

export interface ReportInput {
  readonly table: ResultTable;
  readonly ratios: readonly CaseRatios[];
  readonly libs: readonly LibName[];
  readonly runs: number;
  readonly machine: MachineInfo;
  readonly versions: ReadonlyMap<LibName, string>;
}

const rateFormat = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

function formatRate(rate: number | undefined): string {
  return rate === undefined ? "FAILED" : rateFormat.format(Math.round(rate));
}

/** Truncated, not rounded, so 1.999x never prints as "2.00x" next to "not met". */
function formatRatio(ratio: number | undefined): string {
  return ratio === undefined ? "n/a" : `${(Math.floor(ratio * 100) / 100).toFixed(2)}x`;
}

function labelOf(lib: LibName): string {
  return LIBS.find((l) => l.name === lib)?.label ?? lib;
}

function medianRows(input: ReportInput): string[][] {
  return input.libs.map((lib) => [
    labelOf(lib),
    ...CASES.map((spec) => formatRate(input.table.get(spec.name)?.get(lib)?.median)),
  ]);
}

function medianHeader(): string[] {
  return ["library", ...CASES.map((spec) => `${spec.name} (${spec.unit})`)];
}

export function renderConsole(input: ReportInput): string {
  const header = ["library", ...CASES.flatMap((spec) => [`${spec.name} median (${spec.unit})`, "runs"])];
  const rows = input.libs.map((lib) => [
    labelOf(lib),
    ...CASES.flatMap((spec) => {
      const cell = input.table.get(spec.name)?.get(lib);
      return [formatRate(cell?.median), (cell?.runs ?? []).map(formatRate).join(" / ")];
    }),
  ]);
  const lines = [`median of ${input.runs} fresh-process run(s) each:`, plainTable(header, rows, 1), ""];
  if (!input.libs.includes("wirechan")) {
    lines.push("wirechan not measured: no ratios.");
    return lines.join("\n");
  }
  for (const r of input.ratios) {
    const perPeer = [...r.vsPeer].map(([peer, ratio]) => `${labelOf(peer)} ${formatRatio(ratio)}`).join(", ");
    lines.push(
      `${r.caseName}: wirechan vs ${perPeer || "(no peers)"}; vs fastest peer ${formatRatio(r.vsFastestPeer)}` +
        ` [>=${TARGET_VS_FASTEST_PEER}x fastest peer: ${verdict(r.fastestPeerTargetMet)}, >=${TARGET_VS_JS_CSP}x js-csp: ${verdict(r.jsCspTargetMet)}]`,
    );
  }
  return lines.join("\n");
}

function verdict(met: boolean | undefined): string {
  return met === undefined ? "n/a" : met ? "met" : "not met";
}

function ratioSection(input: ReportInput): string {
  const peers = input.libs.filter((lib) => lib !== "wirechan");
  const header = ["case", ...peers.map((p) => `wirechan / ${labelOf(p)}`), "wirechan / fastest peer"];
  const rows = input.ratios.map((r) => [
    r.caseName,
    ...peers.map((p) => formatRatio(r.vsPeer.get(p))),
    r.fastestPeer === undefined ? "n/a" : `${formatRatio(r.vsFastestPeer)} (${labelOf(r.fastestPeer)})`,
  ]);
  return markdownTable(header, rows, 1);
}

function targetSection(input: ReportInput): string {
  const cell = (ratio: number | undefined, met: boolean | undefined): string =>
    `${verdict(met)} (${formatRatio(ratio)})`;
  const rows = [
    [`at least ${TARGET_VS_FASTEST_PEER}x the fastest peer`, ...input.ratios.map((r) => cell(r.vsFastestPeer, r.fastestPeerTargetMet))],
    [`at least ${TARGET_VS_JS_CSP}x js-csp`, ...input.ratios.map((r) => cell(r.vsJsCsp, r.jsCspTargetMet))],
  ];
  return markdownTable(["target", ...input.ratios.map((r) => r.caseName)], rows, 1);
}

function rawRunsSection(input: ReportInput): string {
  const rows = input.libs.map((lib) => [
    labelOf(lib),
    ...CASES.map((spec) => (input.table.get(spec.name)?.get(lib)?.runs ?? []).map(formatRate).join(" / ")),
  ]);
  return markdownTable(["library", ...CASES.map((spec) => `${spec.name} runs (ops/s)`)], rows, 1);
}

export function renderReadme(input: ReportInput): string {
  const m = input.machine;
  const libraryList = input.libs
    .map((lib) => `- ${labelOf(lib)} ${input.versions.get(lib) ?? "unknown"}${lib === "wirechan" ? " (this repository, built to dist/ by the run)" : ""}`)
    .join("\n");
  const caseList = CASES.map((spec) => `- \`${spec.name}\`: ${spec.description}; ${rateFormat.format(spec.count)} per run.`).join("\n");
  return `# wirechan channel benchmark

${writtenBy("csp")}

## How to run

\`\`\`sh
npm run bench:csp
\`\`\`

It builds wirechan first (\`npx tsc -p tsconfig.build.json\`), so it is measured from the current sources (\`--no-build\`
skips that and uses the existing dist/).
For quick iteration, \`npm run bench:csp -- --runs 1 --only wirechan,thing\` prints the table
without rewriting this file (this file and results.json are only rewritten when all four libraries ran and every run passed).

## Machine

${machineLines(m)}

## Method

${caseList}

Libraries:

${libraryList}

Each (library, case) pair runs in a fresh \`node\` process on a plain .mjs file (no TypeScript loader in the
measured process), ${input.runs} times. Runs are interleaved: every round runs every library once per case, with
the library order rotated between rounds, so machine noise is spread over all libraries. Inside each
process a warm-up of 10% of the count runs on fresh channels, then 5 timed repetitions, each on fresh
channels; a process reports the median rate of its 5. Every number below is the median of ${input.runs}
fresh-process runs, and every repetition checked its sum (warm-up and timed parts) against
0 + 1 + ... + (n - 1); the parent re-checks it and would have failed the benchmark on a wrong sum, a
non-zero exit or a ${CHILD_TIMEOUT_MS / 1000} s timeout.

## Results (median)

${markdownTable(medianHeader(), medianRows(input), 1)}

## wirechan relative to the peers

${ratioSection(input)}

## Targets

Targets from the issue: at least ${TARGET_VS_FASTEST_PEER}x the fastest of the three peers and at least
${TARGET_VS_JS_CSP}x js-csp, on both cases. Ratios are of medians and truncated to two decimals.

${targetSection(input)}

## Individual runs

${rawRunsSection(input)}

## How each library is used

- wirechan: \`chan()\` / \`chan(1024)\`, \`await ch.put(v)\`, \`await ch.take()\` (undefined once closed).
- js-csp: generator processes started with \`go\`, \`yield put(ch, v)\` / \`yield take(ch)\`, \`chan()\` and
  \`chan(buffers.fixed(1024))\`. Its package \`module\` entry is extension-less ESM source that Node cannot load,
  so the CommonJS bundle (\`main\`) is imported.
- @prelude/channel: \`new Channel(0)\` / \`new Channel(1024)\`, \`await ch.write(v)\`, \`await ch.next()\`.
  \`next()\` is the read that \`read()\` wraps and the only one that reports closure without throwing
  (\`maybeRead()\` returns undefined for successful reads in 1.0.0). The producer ends with
  \`closeWriting()\` because \`close()\` discards buffered values.
- @thi.ng/csp: \`channel()\` / \`channel(1024)\`, \`await ch.write(v)\`, \`await ch.read()\`. It has no
  capacity-0 channel; \`channel()\` (capacity 1) is what its README's ping-pong uses, and a write's promise
  resolves only once a reader has taken the value, so awaited writes rendezvous at any capacity.
`;
}
