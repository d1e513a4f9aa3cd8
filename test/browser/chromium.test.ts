/**
 * The Chromium launch helper: a missing browser fails the browser tests with how to install it,
 * and each user's browser runs with the flags that keep it off the network and a profile of
 * its own (its command line, as chrome://version shows it).
 */
import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import { it } from "node:test";
import { type BrowserUser, CHROMIUM_FLAGS, closeAll, launchUser, requireChromium } from "./chromium.js";

it("a missing chromium is an error that says apt-get install -y chromium, never a skip", () => {
  assert.throws(() => requireChromium("/nonexistent/chromium"), /\/nonexistent\/chromium is missing: .*`apt-get install -y chromium`/);
});

it("each user's Chromium has the issue's flags and a fresh --user-data-dir of its own", { timeout: 60_000 }, async () => {
  const users: BrowserUser[] = [];
  try {
    const dirs: string[] = [];
    for (const name of ["ann", "bob"]) {
      const user = await launchUser();
      users.push(user);
      await user.page.goto("chrome://version");
      const commandLine = ((await user.page.locator("#command_line").textContent()) ?? "").split(/\s+/);
      for (const flag of CHROMIUM_FLAGS) assert.ok(commandLine.includes(flag), `${name}'s Chromium runs without ${flag}: ${commandLine.join(" ")}`);
      const dir = commandLine.find((arg) => arg.startsWith("--user-data-dir="))?.slice("--user-data-dir=".length);
      assert.ok(dir !== undefined && dir.startsWith(tmpdir()), `${name}'s profile is not a fresh temporary folder: ${String(dir)}`);
      dirs.push(dir);
    }
    assert.notEqual(dirs[0], dirs[1]);
  } finally {
    await closeAll(users);
  }
});
