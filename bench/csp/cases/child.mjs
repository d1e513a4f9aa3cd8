// Entry point of one benchmark child process: `node child.mjs <lib> <case> <count> <capacity>`.
// It runs one (library, case) pair: a 10% warm-up so the JIT has compiled the
// hot paths, then 5 timed runs, and prints exactly one JSON line on stdout with
// the median rate of those runs.
// Both sums are checked here and again by the parent, which never trusts the flag alone.
import { performance } from "node:perf_hooks";

const LIB_MODULES = {
  wirechan: "./wirechan.mjs",
  "js-csp": "./js-csp.mjs",
  prelude: "./prelude.mjs",
  thing: "./thing.mjs",
};

const WARMUP_FRACTION = 0.1;
const TIMED_REPEATS = 5;

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function sumBelow(count) {
  return (count * (count - 1)) / 2;
}

function parseArgs(argv) {
  const [lib, caseName, countText, capacityText] = argv;
  const count = Number(countText);
  const capacity = Number(capacityText);
  if (!(lib in LIB_MODULES)) throw new Error(`unknown library "${lib}"`);
  if (caseName !== "pingpong" && caseName !== "buffered") throw new Error(`unknown case "${caseName}"`);
  if (!Number.isSafeInteger(count) || count <= 0) throw new Error(`bad count "${countText}"`);
  if (!Number.isSafeInteger(capacity) || capacity < 0) throw new Error(`bad capacity "${capacityText}"`);
  return { lib, caseName, count, capacity };
}

async function main() {
  const { lib, caseName, count, capacity } = parseArgs(process.argv.slice(2));
  const runCase = (await import(LIB_MODULES[lib]))[caseName];

  // Warm-up on fresh channels; a wrong sum here already means a broken library.
  const warmupCount = Math.max(1, Math.floor(count * WARMUP_FRACTION));
  const warmupSum = await runCase(warmupCount, capacity);
  if (warmupSum !== sumBelow(warmupCount)) {
    throw new Error(`warm-up sum ${warmupSum} != expected ${sumBelow(warmupCount)}`);
  }

  // Several timed repetitions, each on fresh channels, and their median: on a shared 2-core VM
  // a single timing swings by a third, which is more than the differences being measured.
  const expected = sumBelow(count);
  const rates = [];
  let sum = expected;
  let elapsedMs = 0;
  for (let i = 0; i < TIMED_REPEATS; i++) {
    const start = performance.now();
    const got = await runCase(count, capacity);
    const ms = performance.now() - start;
    if (got !== expected && sum === expected) sum = got; // the first wrong sum; the parent rejects the run
    rates.push(count / (ms / 1000));
    elapsedMs += ms;
  }
  const opsPerSec = median(rates);
  const ok = sum === expected;
  process.stdout.write(
    JSON.stringify({ lib, case: caseName, count, elapsedMs, opsPerSec, repeats: rates, sum, expected, ok }) + "\n",
  );
  // Exit code mirrors the check so a wrong sum is visible even without parsing.
  process.exitCode = ok ? 0 : 1;
}

main().catch(function reportChildFailure(error) {
  process.stderr.write(`${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exitCode = 1;
});
