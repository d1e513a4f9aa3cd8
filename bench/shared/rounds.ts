// Rounds of a benchmark within a time budget: every round runs every row once, and no round
// starts that would, by the longest round so far, end past the budget.
import { performance } from "node:perf_hooks";

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
