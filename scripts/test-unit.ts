/**
 * `npm run test:unit`: every test/**\/*.test.ts under node:test (a process per file, the spec
 * reporter, a file failed when still running after 5 minutes), or the files given
 * (`npm run test:unit -- test/server/cors.test.ts`).
 *
 * The runner's own exit status misses a run cut short: a file whose process ends part way with
 * status 0 (`process.exit()` in code under test) passes with the tests it reported, and
 * `--test-force-exit`, which this command used to pass, once ended a run before the runner had
 * heard of the last 8 tests of a file. So this fails too unless each file's process wrote its
 * ledger entry (scripts/test-ledger.ts) saying it ended because nothing was left to run, and
 * the runner reported at least as many tests as the files' processes began. "At least": tests
 * skipped where they are declared are reported but never begin.
 *
 * A skipped or todo test fails the run too, naming it: here a skipped test is a defect (a test
 * that cannot fail), whether it was declared so or skipped itself when run. That also keeps
 * declared skips from hiding lost tests in the "at least" above.
 */
import { mkdir, mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import { type EventData, run } from "node:test";
import { spec } from "node:test/reporters";

interface LedgerEntry {
  file: string;
  started: number;
  drained: boolean;
  code: number;
  /** Set when the hang guard ended the process: what was still open then. */
  leftOpen?: string[];
}

async function testFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await testFiles(path)));
    else if (entry.name.endsWith(".test.ts")) found.push(path);
  }
  return found;
}

// run() starts each file's process with this process's execArgv (node 20's run() takes no other).
if (!process.execArgv.some((arg) => arg.endsWith("scripts/test-ledger.ts"))) {
  throw new Error("start with `node --import tsx --import ./scripts/test-ledger.ts scripts/test-unit.ts` (npm run test:unit): the files' processes need the ledger");
}

const given = process.argv.slice(2);
// Sorted by code unit, as `find test -name '*.test.ts' | sort` ordered them under the C locale.
const files = (given.length > 0 ? given : await testFiles("test")).map((f) => resolve(f)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
const scratch = await mkdtemp(join(tmpdir(), "wirechan-test-unit-"));
const ledgerDir = join(scratch, "ledger");
await mkdir(ledgerDir);

/**
 * Runs the files, spec's report to stdout; resolves to how many tests the runner reported,
 * whether any failed, and the skipped and todo ones ("file: name").
 */
async function runFiles(): Promise<{ reported: number; failed: boolean; skipped: string[] }> {
  let reported = 0;
  let failed = false;
  const skipped: string[] = [];
  const count = (data: EventData.TestPass | EventData.TestFail): void => {
    // Suites are not tests (spec's "ℹ tests" leaves them out too), nor is the entry for a file
    // itself, which the runner adds when its process fails. Counted over the run, not per file:
    // an event's file is where its test was declared, for a shared suite (test/backplane/engine-suite.ts)
    // not the test file that ran it.
    if (data.details.type === "suite" || (data.nesting === 0 && data.name === data.file)) return;
    reported++;
    if (data.skip !== undefined || data.todo !== undefined) skipped.push(`${relative(process.cwd(), data.file ?? "?")}: ${data.name}`);
  };
  // A process per file, as many at once as `node --test` runs (cores - 1); each inherits this
  // process's --import flags, scripts/test-ledger.ts among them, and its environment. The timeout
  // is per file, as `node --test --test-timeout` applies it on node 20.
  const stream = run({ files, concurrency: true, timeout: 300_000 });
  stream.on("test:pass", count);
  stream.on("test:fail", (data) => {
    failed = true;
    count(data);
  });
  await pipeline(stream.compose(new spec()), process.stdout, { end: false });
  return { reported, failed, skipped };
}

function problems(entries: Map<string, LedgerEntry>, reported: number): string[] {
  const found: string[] = [];
  let started = 0;
  for (const file of files) {
    const name = relative(process.cwd(), file);
    const entry = entries.get(file);
    if (entry === undefined) found.push(`${name}: its process never wrote its ledger entry (killed, or never started)`);
    else if (entry.leftOpen !== undefined)
      found.push(`${name}: its process did not exit by itself after its last test (still open: ${entry.leftOpen.join(", ")}); close what the file opens, in after/afterEach`);
    else if (!entry.drained) found.push(`${name}: its process exited (status ${entry.code}) before its event loop ran dry: its tests may not all have run`);
    else if (entry.started === 0) found.push(`${name}: no test began`);
    started += entry?.started ?? 0;
  }
  if (reported < started) found.push(`the files' processes began ${started} tests, the runner reported ${reported}`);
  return found;
}

process.env.WIRECHAN_TEST_LEDGER = ledgerDir;
try {
  const { reported, failed, skipped } = await runFiles();
  const entries = new Map<string, LedgerEntry>();
  for (const name of await readdir(ledgerDir)) {
    const entry = JSON.parse(await readFile(join(ledgerDir, name), "utf8")) as LedgerEntry;
    entries.set(resolve(entry.file), entry);
  }
  const found = problems(entries, reported);
  if (found.length > 0) {
    console.error(`\ntest:unit: the run did not go through every test (${reported} reported):\n  ${found.join("\n  ")}`);
    process.exitCode = 1;
  } else {
    console.log(`\ntest:unit: ${files.length} file${files.length === 1 ? "" : "s"}, ${reported} tests reported; each file's process finished its tests and exited by itself`);
  }
  if (skipped.length > 0) {
    console.error(`\ntest:unit: ${skipped.length} test${skipped.length === 1 ? " was" : "s were"} skipped or left todo, which a test here may not be:\n  ${skipped.join("\n  ")}`);
    process.exitCode = 1;
  }
  if (failed) process.exitCode = 1;
} finally {
  await rm(scratch, { recursive: true, force: true });
}
