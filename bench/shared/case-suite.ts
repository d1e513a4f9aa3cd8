// The whole run of a suite whose rows are (case, implementation) pairs, each a fresh server and
// fresh load generators (bench:topic, bench:longpoll): its command line, its rounds, the console
// tables and, after a full run in which every row passed, its README.md and results.json. A
// suite gives what differs: its rows, how one is measured and described, and its report.
import { mkdirSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { ensureWirechanBuilt } from "./build.js";
import { parseRunnerOptions } from "./cli.js";
import { currentLoad, describeMachine, type MachineInfo, packageVersions } from "./machine.js";
import { type Headline, stampOf } from "./results.js";
import { type MeasurementOf, type RowResult, runCaseRounds } from "./rounds.js";
import { commitStamp, sourceState } from "./source.js";
import { endSuiteRun } from "./suite-report.js";
import { runWithWatchdog } from "./watchdog.js";

const REPO_ROOT = path.resolve(fileURLToPath(new URL("../..", import.meta.url)));

/** What a run measured, for the suite's report. */
export interface CaseSuiteRun<M, N extends string, I extends string> {
  readonly measurements: readonly M[];
  /** The keys of the rows that failed in some round. */
  readonly failed: ReadonlySet<string>;
  readonly cases: readonly N[];
  readonly impls: readonly I[];
  /** Rounds run. */
  readonly runs: number;
  readonly machine: MachineInfo;
  readonly versions: ReadonlyMap<string, string>;
  readonly source: string;
  readonly durationMs: number;
}

/** What a suite makes of a run: its console tables, its README and its headline numbers. */
export interface CaseSuiteReport {
  readonly console: string;
  readme(): string;
  headlines(): Headline[];
}

export interface CaseSuite<C extends { readonly name: string }, I extends string, O extends RowResult> {
  /** `topic`: the script is `bench:topic`, the files bench/topic/README.md and results.json. */
  readonly name: string;
  readonly usage: string;
  readonly cases: readonly C[];
  readonly impls: readonly { readonly name: I }[];
  readonly defaultRuns: number;
  /** No round starts that would end past this, counted from the start. */
  readonly roundsBudgetMs: number;
  /** Everything is killed after this. */
  readonly totalTimeoutMs: number;
  /** The packages whose versions the report names: [name, package.json path from the repository's root]. */
  readonly versions: ReadonlyArray<readonly [string, string]>;
  run(spec: C, impl: I, profileDir: string | null): Promise<O>;
  /** A row's outcome on the console, after `[round i/n]`. */
  line(spec: C, impl: I, outcome: O): string;
  /** A row's key in the report (`rowKey`). */
  key(spec: C, impl: I): string;
  report(run: CaseSuiteRun<MeasurementOf<O>, C["name"], I>): CaseSuiteReport;
  /** Printed after a run with `--profile DIR`: where the profiles are and how to read them. */
  profileNote(dir: string): string;
}

/** Runs the suite under its watchdog; a failed row sets the exit code. */
export function runCaseSuite<C extends { readonly name: string }, I extends string, O extends RowResult>(suite: CaseSuite<C, I, O>): void {
  runWithWatchdog(`bench:${suite.name}`, suite.totalTimeoutMs, () => runSuite(suite));
}

async function runSuite<C extends { readonly name: string }, I extends string, O extends RowResult>(suite: CaseSuite<C, I, O>): Promise<void> {
  const started = performance.now();
  const allCases: Array<C["name"]> = suite.cases.map((c) => c.name);
  const allImpls = suite.impls.map((i) => i.name);
  const options = parseRunnerOptions(process.argv.slice(2), { cases: allCases, impls: allImpls, defaultRuns: suite.defaultRuns, usage: suite.usage });
  const source = sourceState(REPO_ROOT);
  const commit = commitStamp(REPO_ROOT);
  ensureWirechanBuilt(REPO_ROOT, options.build, ["server/index.js", "client/index.js", "index.js"]);
  if (options.profileDir !== null) mkdirSync(options.profileDir, { recursive: true });
  const loadAtStart = currentLoad();
  const { profileDir } = options;
  const { measurements, failed, failures, rounds } = await runCaseRounds({
    cases: suite.cases.filter((c) => options.cases.includes(c.name)),
    impls: options.impls,
    runs: options.runs,
    budgetMs: suite.roundsBudgetMs,
    startedAt: started,
    run: (spec, impl) => suite.run(spec, impl, profileDir),
    line: (spec, impl, outcome) => suite.line(spec, impl, outcome),
    key: (spec, impl) => suite.key(spec, impl),
  });
  const run: CaseSuiteRun<MeasurementOf<O>, C["name"], I> = {
    measurements,
    failed,
    cases: options.cases,
    impls: options.impls,
    runs: rounds,
    machine: describeMachine(loadAtStart),
    versions: packageVersions(REPO_ROOT, suite.versions),
    source,
    durationMs: performance.now() - started,
  };
  const report = suite.report(run);
  console.log(`\n${report.console}\n`);
  // Fewer rounds than the suite's own, some rows, or profiling: a run for iteration, which
  // speaks for itself only.
  const partial = options.runs < suite.defaultRuns || options.cases.length !== allCases.length || options.impls.length !== allImpls.length || profileDir !== null;
  const suiteDir = path.join(REPO_ROOT, "bench", suite.name);
  endSuiteRun({
    readmePath: path.join(suiteDir, "README.md"),
    resultsPath: path.join(suiteDir, "results.json"),
    failures,
    partial: partial ? "--runs below the default, --only, --impls or --profile" : null,
    readme: () => report.readme(),
    results: () => ({ suite: suite.name, stamp: stampOf(run.machine, commit, rounds, run.durationMs), headlines: report.headlines() }),
  });
  if (profileDir !== null) console.log(suite.profileNote(profileDir));
}
