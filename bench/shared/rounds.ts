// Rounds of a benchmark within a time budget: every round runs every row once, and no round
// starts that would, by the longest round so far, end past the budget.
import { performance } from "node:perf_hooks";
import { rotate } from "./stats.js";

/**
 * Runs `round(i)` for i = 0 … runs - 1 while the next one fits in `budgetMs` counted from
 * `startedAt` (a `performance.now()` time); the first always runs. Resolves with the number of
 * rounds run, saying on the console why it stopped early.
 */
export async function runRoundsWithinBudget(runs: number, budgetMs: number, startedAt: number, round: (index: number) => Promise<void>): Promise<number> {
  let longestMs = 0;
  for (let i = 0; i < runs; i++) {
    if (i > 0 && performance.now() - startedAt + longestMs > budgetMs) {
      console.log(`stopping after ${i} round(s): another would end past the ${budgetMs / 60_000}-minute budget`);
      return i;
    }
    const roundStart = performance.now();
    await round(i);
    longestMs = Math.max(longestMs, performance.now() - roundStart);
  }
  return runs;
}

/** A row's outcome as a suite's measure.ts gives it. */
export type RowResult = { readonly ok: true; readonly measurement: unknown } | { readonly ok: false; readonly reason: string };

/** The measurement of a row that passed. */
export type MeasurementOf<O extends RowResult> = Extract<O, { readonly ok: true }>["measurement"];

/** The rounds of a suite whose rows are (case, implementation) pairs, each measured by `run`. */
export interface CaseRounds<C extends { readonly name: string }, I extends string, O extends RowResult> {
  /** The cases chosen, in order. */
  readonly cases: readonly C[];
  /** The implementations chosen: a case's rows run one after another, their order rotated every round. */
  readonly impls: readonly I[];
  readonly runs: number;
  readonly budgetMs: number;
  /** When the suite started (`performance.now()`), which the budget counts from. */
  readonly startedAt: number;
  run(spec: C, impl: I): Promise<O>;
  /** The console line of a row's outcome, after `[round i/n]`. */
  line(spec: C, impl: I, outcome: O): string;
  /** A row's key for its suite's report (`rowKey`): a row that failed once has no median. */
  key(spec: C, impl: I): string;
}

export interface CaseRoundsDone<M> {
  readonly measurements: readonly M[];
  /** The keys of the rows that failed in some round. */
  readonly failed: ReadonlySet<string>;
  /** One line per failure: `case/impl: reason`. */
  readonly failures: readonly string[];
  readonly rounds: number;
}

/** Runs every row of every chosen case once per round, within the budget (runRoundsWithinBudget). */
export async function runCaseRounds<C extends { readonly name: string }, I extends string, O extends RowResult>(plan: CaseRounds<C, I, O>): Promise<CaseRoundsDone<MeasurementOf<O>>> {
  const measurements: MeasurementOf<O>[] = [];
  const failed = new Set<string>();
  const failures: string[] = [];
  const rounds = await runRoundsWithinBudget(plan.runs, plan.budgetMs, plan.startedAt, async function round(index) {
    for (const spec of plan.cases) {
      for (const impl of rotate(plan.impls, index)) {
        const outcome = await plan.run(spec, impl);
        console.log(`[round ${index + 1}/${plan.runs}] ${plan.line(spec, impl, outcome)}`);
        if (outcome.ok) measurements.push(outcome.measurement as MeasurementOf<O>);
        else {
          failed.add(plan.key(spec, impl));
          failures.push(`${spec.name}/${impl}: ${outcome.reason}`);
        }
      }
    }
  });
  return { measurements, failed, failures, rounds };
}
