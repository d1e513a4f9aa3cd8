/**
 * The network between a page and the server goes away and comes back, the server staying up:
 * ann's page reaches the server through a fault-injecting TCP proxy (test/helpers/fault-proxy.ts)
 * that cuts every connection and then refuses new ones. Her page shows reconnecting, she types
 * a line, the network comes back: the same session resumes (the page never shows lost), and the
 * line reaches bob, who is connected directly, exactly once; ann sees it once too. Over each
 * transport.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type RunningApps, startApps } from "../../apps/server.js";
import { FaultProxy } from "../helpers/fault-proxy.js";
import { assertNoDuplicateIds, assertShownOnce, openChat, say, waitForLine, waitForState } from "./chat-page.js";
import { type BrowserUser, closeAll, launchUser, statusStates, TRANSPORT_CASES } from "./chromium.js";

const TEST_TIMEOUT_MS = 120_000;

describe("the chat in Chromium when the network drops", { timeout: TEST_TIMEOUT_MS * 3 }, () => {
  let apps: RunningApps;
  before(async () => {
    apps = await startApps({ port: 0 });
  });
  after(async () => {
    await apps?.close();
  });

  for (const { transport, initScript } of TRANSPORT_CASES) {
    it(`over ${transport}: a line typed while reconnecting arrives once when the link is back, in the same session`, { timeout: TEST_TIMEOUT_MS }, async () => {
      const proxy = await FaultProxy.start({ targetPort: apps.port });
      const users: BrowserUser[] = [];
      try {
        const ann = await launchUser(initScript === undefined ? {} : { initScript });
        users.push(ann);
        const bob = await launchUser();
        users.push(bob);
        await openChat(ann.page, `http://127.0.0.1:${proxy.port}`, "ann");
        await openChat(bob.page, apps.url, "bob");
        assert.equal(await ann.page.locator("#status").getAttribute("data-transport"), transport);

        proxy.setRefusing(true);
        proxy.cutAll();
        await waitForState(ann.page, "reconnecting");
        const meanwhile = `typed by ann while reconnecting over ${transport}`;
        await say(ann.page, meanwhile);
        proxy.setRefusing(false);

        await waitForState(ann.page, "connected");
        await waitForLine(bob.page, meanwhile);
        await waitForLine(ann.page, meanwhile);
        // A later line: had the first come twice, the second copy would be in before it.
        const after = `after the network came back over ${transport}`;
        await say(bob.page, after);
        for (const [user, who] of [[ann, "ann"], [bob, "bob"]] as const) {
          await waitForLine(user.page, after);
          await assertShownOnce(user.page, [meanwhile, after], `${who}'s page`);
          await assertNoDuplicateIds(user.page, `${who}'s page`);
        }
        const states = await statusStates(ann.page);
        assert.ok(!states.includes("lost"), `ann's session resumed, never lost: ${JSON.stringify(states)}`);
      } finally {
        await closeAll(users);
        await proxy.close();
      }
    });
  }
});
