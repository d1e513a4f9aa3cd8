// scripts/test-unit.ts (npm run test:unit) on files of its own: it fails a run that was cut short,
// and a file whose process is still up after its tests, where node:test alone passes the first and
// waits for ever on the second; a run with a skipped or todo test; and it passes files that end
// cleanly, late-declared tests included.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("../../", import.meta.url));

const FILES: Record<string, string> = {
  "package.json": JSON.stringify({ type: "module" }),
  "clean.test.ts": [
    'import { test } from "node:test";',
    'test("first", () => {});',
    // Declared after the root's after hooks have run once: the ledger must still count it.
    "await new Promise((resolve) => setTimeout(resolve, 300));",
    'test("declared late", () => {});',
  ].join("\n"),
  // What the runner refuses: a test skipped where it is declared, one that skips itself, a todo.
  "skips.test.ts": [
    'import { test } from "node:test";',
    'test("runs", () => {});',
    'test("skipped where declared", { skip: "the fixture of the guard" }, () => {});',
    'test("skipped when run", (t) => { t.skip("not here"); });',
    'test("left todo", { todo: true }, () => {});',
  ].join("\n"),
  "exits.test.ts": [
    'import { test } from "node:test";',
    'test("before", () => {});',
    'test("exits", async () => { setTimeout(() => process.exit(0), 10); await new Promise((resolve) => setTimeout(resolve, 5_000)); });',
    'test("never runs", () => {});',
  ].join("\n"),
  "leaves-a-server.test.ts": [
    'import { test } from "node:test";',
    'import { createServer } from "node:net";',
    'test("listens", () => { createServer().listen(0, "127.0.0.1"); });',
  ].join("\n"),
};

interface Outcome {
  status: number;
  stdout: string;
  stderr: string;
}

let dir = "";

/** npm run test:unit on `names` of FILES, the hang guard's wait cut to 1 s. */
function testUnit(...names: string[]): Promise<Outcome> {
  const env: NodeJS.ProcessEnv = { ...process.env, WIRECHAN_TEST_LINGER_MS: "1000" };
  // This file's own runner's: the run under test is a runner of its own, not one of its files.
  delete env.NODE_TEST_CONTEXT;
  delete env.WIRECHAN_TEST_LEDGER;
  const args = ["--import", "tsx", "--import", "./scripts/test-ledger.ts", "scripts/test-unit.ts", ...names.map((name) => join(dir, name))];
  return new Promise((resolve, reject) => {
    // The timeout is a hang guard: the run takes seconds.
    execFile(process.execPath, args, { cwd: REPO, env, timeout: 120_000 }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== "number") reject(error);
      else resolve({ status: error === null ? 0 : Number(error.code), stdout, stderr });
    });
  });
}

describe("npm run test:unit (scripts/test-unit.ts)", () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "wirechan-test-unit-files-"));
    await Promise.all(Object.entries(FILES).map(([name, text]) => writeFile(join(dir, name), text)));
  });
  after(async () => {
    if (dir !== "") await rm(dir, { recursive: true, force: true });
  });

  it("passes files that end cleanly, counting tests declared after a top-level await", async () => {
    const { status, stdout, stderr } = await testUnit("clean.test.ts");
    assert.equal(status, 0, stdout + stderr);
    assert.match(stdout, /test:unit: 1 file, 2 tests reported; each file's process finished its tests and exited by itself/);
  });

  it("fails a run with a test skipped where declared, one that skipped itself, or a todo, naming each", async () => {
    const { status, stdout, stderr } = await testUnit("skips.test.ts");
    assert.equal(status, 1, stdout + stderr);
    assert.match(stdout, /test:unit: 1 file, 4 tests reported/, "every test still counted");
    assert.match(stderr, /3 tests were skipped or left todo/);
    for (const name of ["skipped where declared", "skipped when run", "left todo"]) assert.match(stderr, new RegExp(`skips\\.test\\.ts: ${name}`), name);
    assert.doesNotMatch(stderr, /skips\.test\.ts: runs/);
  });

  it("fails a run in which a file's process exited part way with status 0, though every test reported passed", async () => {
    const { status, stdout, stderr } = await testUnit("clean.test.ts", "exits.test.ts");
    assert.equal(status, 1, stdout + stderr);
    assert.match(stdout, /ℹ fail 0/);
    assert.match(stderr, /exits\.test\.ts: its process exited \(status 0\) before its event loop ran dry/);
    assert.doesNotMatch(stderr, /clean\.test\.ts/);
  });

  it("fails, naming what is open, a file whose process is still running after its last test", async () => {
    const { status, stdout, stderr } = await testUnit("leaves-a-server.test.ts");
    assert.equal(status, 1, stdout + stderr);
    assert.match(stderr, /leaves-a-server\.test\.ts: its process did not exit by itself after its last test \(still open: .*TCPServerWrap/);
  });
});
