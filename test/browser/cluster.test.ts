/**
 * The apps on two nodes in headless Chromium (docs/apps.md "Running more than one server"): two
 * app servers sharing a real Redis (test/helpers/services.ts: REDIS_URL; unreachable fails), two
 * people each with a browser of their own, one per node. They chat with each other (each sees
 * the other's line, once) and each page lists both under "Here"; on the dashboard each page
 * counts 2 viewers. No screenshot: docs/*.png are the one-server tests' to write.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import { type RunningApps, startApps } from "../../apps/server.js";
import { redisBackplane } from "../../src/backplane/redis.js";
import { requireRedis } from "../helpers/services.js";
import { assertShownOnce, openChat, say, waitForLine } from "./chat-page.js";
import { type BrowserUser, closeAll, launchUser, WAIT_MS } from "./chromium.js";

const TEST_TIMEOUT_MS = 120_000;

async function waitForText(page: Page, id: string, text: string): Promise<void> {
  await page.waitForFunction(([which, wanted]) => document.getElementById(which ?? "")?.textContent === wanted, [id, text] as const, { timeout: WAIT_MS });
}

describe("the apps on two nodes in Chromium (Redis)", { timeout: TEST_TIMEOUT_MS * 3 }, () => {
  const nodes: RunningApps[] = [];
  before(async () => {
    const url = await requireRedis();
    // A cluster of its own: a prefix no other test uses.
    const prefix = `browser-${randomUUID()}.`;
    for (const nodeId of ["node-a", "node-b"]) {
      nodes.push(await startApps({ port: 0, interval: 100, backplane: redisBackplane({ url, prefix, nodeId }) }));
    }
  });
  after(async () => {
    for (const node of nodes) await node.close();
  });

  it("two people on two nodes chat: each sees the other's line once, and both under Here", { timeout: TEST_TIMEOUT_MS }, async () => {
    const users: BrowserUser[] = [];
    try {
      const [a, b] = nodes as [RunningApps, RunningApps];
      const ann = await launchUser();
      users.push(ann);
      const bob = await launchUser();
      users.push(bob);
      await openChat(ann.page, a.url, "ann");
      await openChat(bob.page, b.url, "bob");
      await say(ann.page, "hello from node A");
      await say(bob.page, "hello from node B");
      for (const [user, who] of [[ann, "ann"], [bob, "bob"]] as const) {
        await waitForLine(user.page, "hello from node A");
        await waitForLine(user.page, "hello from node B");
        await waitForText(user.page, "here", "Here: ann, bob");
        await assertShownOnce(user.page, ["hello from node A", "hello from node B"], `${who}'s page`);
        assert.deepEqual(user.pageErrors, [], `${who}'s page threw`);
        assert.deepEqual(user.consoleErrors, [], `${who}'s page logged errors`);
      }
    } finally {
      await closeAll(users);
    }
  });

  it("a dashboard on each node counts 2 viewers on both, and both draw readings", { timeout: TEST_TIMEOUT_MS }, async () => {
    const users: BrowserUser[] = [];
    try {
      const [a, b] = nodes as [RunningApps, RunningApps];
      const ann = await launchUser();
      users.push(ann);
      const bob = await launchUser();
      users.push(bob);
      for (const [user, node] of [[ann, a], [bob, b]] as const) {
        await user.page.goto(`${node.url}/dashboard`);
        await user.page.locator('#status[data-state="connected"]').waitFor({ timeout: WAIT_MS });
      }
      for (const [user, who] of [[ann, "ann"], [bob, "bob"]] as const) {
        await waitForText(user.page, "viewers", "2");
        await user.page.waitForFunction(() => Number(document.getElementById("chart")?.dataset.points) >= 3, undefined, { timeout: WAIT_MS });
        assert.deepEqual(user.pageErrors, [], `${who}'s page threw`);
      }
    } finally {
      await closeAll(users);
    }
  });
});
