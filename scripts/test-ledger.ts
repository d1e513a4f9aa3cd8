/**
 * Loaded (`--import`) into each test file's process by scripts/test-unit.ts. It lets that script
 * tell a file whose tests all ran from one whose process ended part way (a `process.exit()` in
 * code under test, a kill), which node:test itself reports as a pass of the tests it saw: at
 * exit it writes, to the folder WIRECHAN_TEST_LEDGER names, how many tests began and whether
 * the process ended because its event loop ran dry (`beforeExit`), as it does after the last test
 * when nothing is left open. A bare `node --test FILE` leaves that variable unset: this does nothing.
 *
 * It is also the hang guard that `--test-force-exit` used to be, failing instead of silent: a
 * process still alive a minute (WIRECHAN_TEST_LINGER_MS) after its last test has something left
 * open (a socket, a server, a timer, a child); it names the kinds of handle and exits 1.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, afterEach, beforeEach } from "node:test";

const ledger = process.env.WIRECHAN_TEST_LEDGER;
const file = process.argv[1];
// Processes a test starts with this process's execArgv (fork's default) load this module too; they
// are not test files, and must not register node:test hooks (that would make them report as one).
if (ledger !== undefined && file !== undefined && /\.test\.ts$/.test(file)) {
  // Settable so the guard's own test need not wait a minute.
  const LINGER_MS = Number(process.env.WIRECHAN_TEST_LINGER_MS ?? 60_000);
  // Tests begun: the runner must report at least these (a test skipped at run time begins, and
  // never reaches afterEach, so begun rather than finished).
  let started = 0;
  let drained = false;
  let lastTestDone = false;
  let linger: NodeJS.Timeout | undefined;
  let leftOpen: string[] | undefined;

  // Unref'd: it never keeps the process alive itself, so a process that exits cleanly never sees it.
  const armLinger = (): void => {
    clearTimeout(linger);
    linger = setTimeout(() => {
      leftOpen = process.getActiveResourcesInfo();
      process.stderr.write(`${file}: still running ${LINGER_MS / 1000} s after its last test finished, with open: ${leftOpen.join(", ")}\n`);
      process.exit(1);
    }, LINGER_MS);
    linger.unref();
  };

  // The root's after hooks can run before tests declared after a top-level await have run: from
  // then on every test's start and end re-arms the guard (a single such test running over a
  // minute would trip it; no file here declares tests that way).
  beforeEach(() => {
    started++;
    if (lastTestDone) armLinger();
  });
  afterEach(() => {
    if (lastTestDone) armLinger();
  });
  after(() => {
    lastTestDone = true;
    armLinger();
  });
  process.on("beforeExit", () => {
    drained = true;
  });
  process.on("exit", (code) => {
    writeFileSync(join(ledger, `${process.pid}.json`), JSON.stringify({ file, started, drained, code, leftOpen }));
  });
}
