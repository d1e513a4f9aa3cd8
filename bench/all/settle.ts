// Between two suites of `npm run bench`: the 1-minute load average still holds the suite that
// just ended (its server and load generators kept the cores busy), and a suite is judged
// "loaded" by its load when it starts (shared/machine.ts). So the next one waits, a bounded
// time, for that load to fall under the mark; a machine busy with other work still goes on,
// and its suite is marked loaded.
import { setTimeout as sleep } from "node:timers/promises";
import os from "node:os";
import { currentLoad, LOADED_PER_CORE } from "../shared/machine.js";

/** The longest wait for the load to settle before a suite, in seconds. */
export const SETTLE_LIMIT_S = 120;
const POLL_MS = 5_000;

/** Waits until the 1-minute load average is under the "loaded" mark, or SETTLE_LIMIT_S passed; says what it did. */
export async function waitForQuiet(): Promise<void> {
  const mark = LOADED_PER_CORE * os.cpus().length;
  const started = Date.now();
  if (currentLoad() <= mark) return;
  console.log(`waiting for the load average (${currentLoad().toFixed(2)}) to fall under ${mark.toFixed(2)}, at most ${SETTLE_LIMIT_S} s...`);
  while (currentLoad() > mark && Date.now() - started < SETTLE_LIMIT_S * 1000) await sleep(POLL_MS);
  console.log(`load average ${currentLoad().toFixed(2)} after ${Math.round((Date.now() - started) / 1000)} s`);
}
