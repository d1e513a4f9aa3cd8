/**
 * The chat page in headless Chromium, two people each with a browser of their own, on the
 * server `npm start` runs (startApps on a free port): they see each other's lines once, over
 * each transport; what they type is shown as text; the server's transducers show in the page;
 * the page works at a phone's width. Screenshots go to test-results/ and docs/chat.png.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type RunningApps, startApps } from "../../apps/server.js";
import { assertNoDuplicateIds, assertShownOnce, openChat, say, waitForLine, waitForState } from "./chat-page.js";
import { type BrowserUser, closeAll, launchUser, screenshot, TRANSPORT_CASES } from "./chromium.js";

/** Generous: two browsers on a loaded 2-core machine. Never an assertion on how long anything took. */
const TEST_TIMEOUT_MS = 120_000;

describe("the chat in Chromium", { timeout: TEST_TIMEOUT_MS * 7 }, () => {
  let apps: RunningApps;
  before(async () => {
    apps = await startApps({ port: 0 });
  });
  after(async () => {
    await apps?.close();
  });

  for (const { transport, initScript } of TRANSPORT_CASES) {
    it(`two people chat over ${transport}: each sees both lines, once, and the status line names ${transport}`, { timeout: TEST_TIMEOUT_MS }, async () => {
      const users: BrowserUser[] = [];
      try {
        const ann = await launchUser(initScript === undefined ? {} : { initScript });
        users.push(ann);
        const bob = await launchUser(initScript === undefined ? {} : { initScript });
        users.push(bob);
        await openChat(ann.page, apps.url, "ann");
        await openChat(bob.page, apps.url, "bob");
        for (const user of users) {
          assert.equal(await user.page.locator("#status").getAttribute("data-transport"), transport);
          assert.match((await user.page.locator("#status").textContent()) ?? "", new RegExp(`^${transport} · connected`));
        }
        const fromAnn = `hello from ann over ${transport}`;
        const fromBob = `hello from bob over ${transport}`;
        await say(ann.page, fromAnn);
        await say(bob.page, fromBob);
        for (const user of users) {
          await waitForLine(user.page, fromAnn);
          await waitForLine(user.page, fromBob);
        }
        // A last line after both: once it is shown, anything the first two would bring twice has come.
        const last = `the end over ${transport}`;
        await say(ann.page, last);
        for (const [user, who] of [[ann, "ann"], [bob, "bob"]] as const) {
          await waitForLine(user.page, last);
          await assertShownOnce(user.page, [fromAnn, fromBob, last], `${who}'s page`);
          await assertNoDuplicateIds(user.page, `${who}'s page`);
          assert.deepEqual(user.pageErrors, [], `${who}'s page threw`);
          assert.deepEqual(user.consoleErrors, [], `${who}'s page logged errors`);
        }
      } finally {
        await closeAll(users);
      }
    });
  }

  it("shows an injected line as text, runs nothing, and shows the censor, the emoticons and auto-correct", { timeout: TEST_TIMEOUT_MS }, async () => {
    const users: BrowserUser[] = [];
    try {
      const ann = await launchUser();
      users.push(ann);
      const bob = await launchUser();
      users.push(bob);
      await openChat(ann.page, apps.url, "ann");
      await openChat(bob.page, apps.url, "bob");
      const injected = "<img src=x onerror=alert(1)>";
      await say(ann.page, injected);
      await say(bob.page, "i recieve teh news :) <3");
      await say(ann.page, "what the heck :(");
      for (const [user, who] of [[ann, "ann"], [bob, "bob"]] as const) {
        const page = user.page;
        await waitForLine(page, injected);
        await waitForLine(page, "i receive the news 🙂 ❤️");
        await waitForLine(page, "what the **** 🙁");
        assert.equal(await page.locator("#lines img, #lines script").count(), 0, `${who}'s page made an element of a line`);
        assert.deepEqual(user.dialogs, [], `${who}'s page opened a dialog`);
        assert.deepEqual(user.pageErrors, [], `${who}'s page threw`);
        assert.deepEqual(user.consoleErrors, [], `${who}'s page logged errors (a Content-Security-Policy violation?)`);
      }
      await screenshot(bob.page, "chat");
    } finally {
      await closeAll(users);
    }
  });

  it("shows why a line was refused: the server's reason, or the client's for a line past the message limit", { timeout: TEST_TIMEOUT_MS }, async () => {
    const users: BrowserUser[] = [];
    try {
      const ann = await launchUser();
      users.push(ann);
      await openChat(ann.page, apps.url, "ann");
      await say(ann.page, "x".repeat(501));
      const notice = ann.page.getByRole("alert");
      await notice.waitFor({ timeout: 30_000 });
      assert.match((await notice.textContent()) ?? "", /not sent: .+/);
      assert.equal(await ann.page.locator("#outbox li").count(), 0, "the refused line is still shown as sending");
      // Past the message limit, the client itself refuses the put: the page says why and goes on.
      await say(ann.page, "z".repeat(1_100_000));
      await ann.page.waitForFunction(() => /not sent: .*maxMessageSize/.test(document.getElementById("notice")?.textContent ?? ""), undefined, { timeout: 30_000 });
      await say(ann.page, "a line after the refused ones");
      await waitForLine(ann.page, "a line after the refused ones");
      assert.deepEqual(ann.pageErrors, []);
    } finally {
      await closeAll(users);
    }
  });

  it("works at a phone's width, by keyboard alone, remembers the nickname, and marks the log busy only while the history loads", { timeout: TEST_TIMEOUT_MS }, async () => {
    const users: BrowserUser[] = [];
    try {
      const ann = await launchUser({ viewport: { width: 360, height: 640 } });
      users.push(ann);
      const page = ann.page;
      await openChat(page, apps.url, "ann on a phone");
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow} px at 360 px wide`);
      // Keyboard only: from the nickname, Tab reaches the message field, then Send.
      await page.getByLabel("Nickname").focus();
      await page.keyboard.press("Tab");
      assert.equal(await page.evaluate(() => document.activeElement?.id), "message");
      await page.keyboard.type("typed on a phone");
      await page.keyboard.press("Tab");
      assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Send");
      await page.keyboard.press("Enter");
      await waitForLine(page, "typed on a phone");
      await page.reload();
      assert.equal(await page.getByLabel("Nickname").inputValue(), "ann on a phone");
      await waitForLine(page, "typed on a phone");
      // The reloaded history is in: the live log announces new lines again.
      await page.locator('#lines[aria-busy="false"]').waitFor({ timeout: 30_000 });
    } finally {
      await closeAll(users);
    }
  });

  it("a page hidden into the back/forward cache closes its session, and connects again when shown", { timeout: TEST_TIMEOUT_MS }, async () => {
    // Playwright runs Chromium without the back/forward cache, so the page gets the two events
    // the cache would fire: pagehide (the client closes its session) and pageshow, persisted.
    const users: BrowserUser[] = [];
    try {
      const ann = await launchUser();
      users.push(ann);
      const bob = await launchUser();
      users.push(bob);
      await openChat(ann.page, apps.url, "ann");
      await openChat(bob.page, apps.url, "bob");
      await ann.page.evaluate(() => dispatchEvent(new PageTransitionEvent("pagehide", { persisted: true })));
      await waitForState(ann.page, "closed");
      await say(bob.page, "said while ann's page was hidden");
      await ann.page.evaluate(() => dispatchEvent(new PageTransitionEvent("pageshow", { persisted: true })));
      await waitForState(ann.page, "connected");
      await waitForLine(ann.page, "said while ann's page was hidden");
      await say(ann.page, "ann's page is back");
      for (const [user, who] of [[ann, "ann"], [bob, "bob"]] as const) {
        await waitForLine(user.page, "ann's page is back");
        await assertShownOnce(user.page, ["said while ann's page was hidden", "ann's page is back"], `${who}'s page`);
        assert.deepEqual(user.pageErrors, [], `${who}'s page threw`);
      }
    } finally {
      await closeAll(users);
    }
  });
});
