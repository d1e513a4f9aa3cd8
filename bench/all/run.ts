// `npm run bench`: builds wirechan once, runs every suite's run.ts (or those of `--only`) one
// after another in child processes, then writes bench/README.md, the summary of every suite's
// results.json, whether or not each suite passed this time.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { ensureWirechanBuilt } from "../shared/build.js";
import { currentLoad, describeMachine } from "../shared/machine.js";
import { readSuiteResults, type SuiteResults } from "../shared/results.js";
import { commitStamp } from "../shared/source.js";
import { parseAllOptions, type AllOptions } from "./options.js";
import { killCurrentSuite, runSuite, type SuiteOutcome } from "./run-suite.js";
import { waitForQuiet } from "./settle.js";
import { renderSummary, renderSummaryConsole } from "./summary.js";
import { SUITES, type SuiteName } from "./suites.js";

const REPO_ROOT = path.resolve(fileURLToPath(new URL("../..", import.meta.url)));
const SUMMARY_PATH = path.join(REPO_ROOT, "bench", "README.md");

const resultsPath = (suite: SuiteName): string => path.join(REPO_ROOT, "bench", suite, "results.json");

type Outcomes = Map<SuiteName, SuiteOutcome & { readonly rewrote: boolean }>;

/** Runs the chosen suites in order; a failing one does not stop the others. */
async function runSuites(options: AllOptions): Promise<Outcomes> {
  const chosen = SUITES.filter((s) => options.suites.includes(s.name));
  // One build for every suite, which are then told not to build again.
  ensureWirechanBuilt(REPO_ROOT, options.build, [...new Set(chosen.flatMap((s) => s.distEntries))]);
  const outcomes: Outcomes = new Map();
  for (const suite of chosen) {
    await waitForQuiet();
    const args = [...(suite.buildsDist ? ["--no-build"] : []), ...(options.quick ? suite.quickArgs : [])];
    console.log(`\n=== ${suite.name}: bench/${suite.name}/run.ts ${args.join(" ")}`);
    const startedAt = Date.now();
    const outcome = await runSuite(REPO_ROOT, suite, args);
    // A suite rewrites results.json only when every row of it passed; say when it did not.
    const written = readResultsOrNull(suite.name);
    const rewrote = written !== null && Date.parse(written.stamp.date) >= startedAt;
    outcomes.set(suite.name, { ...outcome, rewrote });
    console.log(`=== ${suite.name}: ${outcome.how} after ${Math.round(outcome.durationMs / 1000)} s${rewrote ? "" : ", results.json not rewritten"}`);
  }
  return outcomes;
}

function readResultsOrNull(suite: SuiteName): SuiteResults | null {
  try {
    return readSuiteResults(resultsPath(suite));
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    return null;
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const args = process.argv.slice(2);
  const options = parseAllOptions(args);
  const commit = commitStamp(REPO_ROOT);
  const loadBefore = currentLoad();
  const outcomes = options.summaryOnly ? new Map() : await runSuites(options);

  const results = new Map<SuiteName, SuiteResults>();
  for (const suite of SUITES) {
    const r = readResultsOrNull(suite.name);
    if (r !== null) results.set(suite.name, r);
  }
  const input = { results, args, machine: describeMachine(loadBefore), commit, outcomes, durationMs: performance.now() - started };
  writeFileSync(SUMMARY_PATH, renderSummary(input));
  console.log(`\n${renderSummaryConsole(input)}\n\nwrote ${SUMMARY_PATH}`);
  const failed = [...outcomes].filter(([, o]) => !o.ok).map(([name]) => name);
  if (failed.length > 0) {
    console.error(`failed: ${failed.join(", ")} (their results.json kept from before)`);
    process.exitCode = 1;
  }
}

// Ctrl-C or a kill ends the running suite's processes too (they run in a process group of their own).
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    killCurrentSuite();
    process.exit(130);
  });
}

main().catch(function reportFatal(error: unknown) {
  console.error(error instanceof Error ? error.message : error);
  killCurrentSuite();
  process.exitCode = 1;
});
