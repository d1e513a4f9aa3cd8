/**
 * The server restarted in the middle of a chat, two people in Chromium, a line typed while the
 * server was away. Two ways a server goes:
 *
 * - killed (a crash, `kill -9`): it says nothing, so each page shows reconnecting; the new
 *   server on the same port has no such session, so the page shows lost, then connects afresh
 *   and shows connected with the new server's history;
 * - closed (`startApps(…).close()`, Ctrl-C): it tells each session it ends, so the page shows
 *   lost at once, and connects afresh once the new server listens.
 *
 * Either way the line typed meanwhile arrives exactly once on both pages.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type RunningApps, startApps } from "../../apps/server.js";
import { type AppsProcess, startAppsProcess } from "./apps-process.js";
import { assertNoDuplicateIds, assertShownOnce, lineTexts, openChat, say, waitForLine, waitForState } from "./chat-page.js";
import { type BrowserUser, closeAll, launchUser, waitForStates } from "./chromium.js";

const TEST_TIMEOUT_MS = 180_000;

interface Room {
  ann: BrowserUser;
  bob: BrowserUser;
}

/** Two people on `url`, who have exchanged a line. */
async function chatting(url: string, users: BrowserUser[]): Promise<Room> {
  const ann = await launchUser();
  users.push(ann);
  const bob = await launchUser();
  users.push(bob);
  await openChat(ann.page, url, "ann");
  await openChat(bob.page, url, "bob");
  await say(ann.page, "before the restart");
  await waitForLine(bob.page, "before the restart");
  return { ann, bob };
}

/** After the new server: both pages connected again, the history reloaded, `meanwhile` shown once. */
async function deliveredOnce({ ann, bob }: Room, meanwhile: string): Promise<void> {
  for (const [user, who] of [[ann, "ann"], [bob, "bob"]] as const) {
    await waitForState(user.page, "connected");
    await waitForLine(user.page, meanwhile);
    // The new server's history has no line from before: a page still showing one did not reload it.
    assert.ok(!(await lineTexts(user.page)).includes("before the restart"), `${who}'s page did not reload the history`);
  }
  // A line after it: once both pages show it, a second copy of the first would have come too.
  await say(bob.page, "after the restart");
  for (const [user, who] of [[ann, "ann"], [bob, "bob"]] as const) {
    await waitForLine(user.page, "after the restart");
    await assertShownOnce(user.page, [meanwhile, "after the restart"], `${who}'s page`);
    await assertNoDuplicateIds(user.page, `${who}'s page`);
    assert.deepEqual(user.pageErrors, [], `${who}'s page threw`);
  }
  assert.equal(await ann.page.locator("#outbox li").count(), 0, "ann's page still shows a line as sending");
}

describe("the chat across a restarted server, in Chromium", { timeout: TEST_TIMEOUT_MS * 2 }, () => {
  it("killed: reconnecting, then lost, then connected with the history; the line typed meanwhile arrives once", { timeout: TEST_TIMEOUT_MS }, async () => {
    const users: BrowserUser[] = [];
    let server: AppsProcess | undefined;
    try {
      server = await startAppsProcess(0);
      const { port, url } = server;
      const room = await chatting(url, users);
      await server.kill();
      server = undefined;
      await waitForStates(room.ann.page, ["connected", "reconnecting"]);
      const meanwhile = "typed while the server was down";
      await say(room.ann.page, meanwhile);
      // Put on the session's proxy, and shown as sending until it comes back.
      assert.equal(await room.ann.page.locator("#outbox li").count(), 1);
      server = await startAppsProcess(port);
      for (const { page } of [room.ann, room.bob]) await waitForStates(page, ["connected", "reconnecting", "lost", "connected"]);
      await deliveredOnce(room, meanwhile);
    } finally {
      await closeAll(users);
      await server?.kill();
    }
  });

  it("closed: lost, then connected with the history once the new server listens; the line typed meanwhile arrives once", { timeout: TEST_TIMEOUT_MS }, async () => {
    const users: BrowserUser[] = [];
    let apps: RunningApps | undefined;
    try {
      apps = await startApps({ port: 0 });
      const { port, url } = apps;
      const room = await chatting(url, users);
      await apps.close();
      apps = undefined;
      await waitForStates(room.ann.page, ["connected", "lost"]);
      const meanwhile = "typed while the server was closed";
      await say(room.ann.page, meanwhile);
      assert.equal(await room.ann.page.locator("#outbox li").count(), 1);
      apps = await startApps({ port });
      for (const { page } of [room.ann, room.bob]) await waitForStates(page, ["connected", "lost", "connected"]);
      await deliveredOnce(room, meanwhile);
    } finally {
      await closeAll(users);
      await apps?.close();
    }
  });
});
