// How a suite's run ends (bench/topic, bench/longpoll): the failures said, or, after a full run
// in which every row passed, its README.md and results.json written. A run that failed, picked
// some rows or profiled speaks only for itself and rewrites neither.
import { writeFileSync } from "node:fs";
import { type SuiteResults, writeSuiteResults } from "./results.js";

export interface SuiteEnd {
  readonly readmePath: string;
  readonly resultsPath: string;
  /** One line per failed row. */
  readonly failures: readonly string[];
  /** The options that made the run partial ("--impls or --profile"), or null for a full run. */
  readonly partial: string | null;
  readme(): string;
  results(): SuiteResults;
}

/** Ends a suite's run; a failure sets the exit code. */
export function endSuiteRun(end: SuiteEnd): void {
  if (end.failures.length > 0) {
    for (const failure of end.failures) console.error(`FAILED ${failure}`);
    console.error(`\n${end.failures.length} run(s) failed; ${end.readmePath} was not rewritten.`);
    process.exitCode = 1;
    return;
  }
  if (end.partial !== null) {
    console.log(`${end.partial} was given: ${end.readmePath} was not rewritten.`);
    return;
  }
  writeFileSync(end.readmePath, end.readme());
  writeSuiteResults(end.resultsPath, end.results());
  console.log(`wrote ${end.readmePath} and ${end.resultsPath}`);
}
