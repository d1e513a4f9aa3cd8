/**
 * The dashboard page in headless Chromium on the server `npm start` runs, with a short
 * reading interval: its chart gains points, it shows the current value, the latency and the
 * transport, and with two pages open each shows 2 viewers. A screenshot goes to test-results/
 * and docs/dashboard.png.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import { type RunningApps, startApps } from "../../apps/server.js";
import { type BrowserUser, closeAll, launchUser, screenshot, WAIT_MS, waitForStates, WITHOUT_WEBSOCKET_AND_EVENTSOURCE } from "./chromium.js";

const TEST_TIMEOUT_MS = 120_000;
/** Short, so that points come quickly. */
const INTERVAL_MS = 100;

async function openDashboard(page: Page, origin: string): Promise<void> {
  await page.goto(`${origin}/dashboard`);
  await page.locator('#status[data-state="connected"]').waitFor({ timeout: WAIT_MS });
}

function points(page: Page): Promise<number> {
  return page.locator("#chart").evaluate((chart) => Number((chart as HTMLElement).dataset.points));
}

async function waitForPoints(page: Page, atLeast: number): Promise<void> {
  await page.waitForFunction((least) => Number(document.getElementById("chart")?.dataset.points) >= least, atLeast, { timeout: WAIT_MS });
}

async function waitForViewers(page: Page, viewers: string): Promise<void> {
  await page.waitForFunction((wanted) => document.getElementById("viewers")?.textContent === wanted, viewers, { timeout: WAIT_MS });
}

describe("the dashboard in Chromium", { timeout: TEST_TIMEOUT_MS * 4 }, () => {
  let apps: RunningApps;
  before(async () => {
    apps = await startApps({ port: 0, interval: INTERVAL_MS });
  });
  after(async () => {
    await apps?.close();
  });

  it("draws a live chart that gains points, with the value, the latency and the transport; two pages each show 2 viewers, then 1 when one leaves", { timeout: TEST_TIMEOUT_MS }, async () => {
    const users: BrowserUser[] = [];
    try {
      const ann = await launchUser();
      users.push(ann);
      await openDashboard(ann.page, apps.url);
      const first = await points(ann.page);
      await waitForPoints(ann.page, first + 3);
      // The chart's canvas is drawn, and the same said in words.
      assert.equal(await ann.page.locator("#chart canvas").count(), 1);
      assert.match((await ann.page.locator("#chart-caption").textContent()) ?? "", /\d+ readings, from \d+\.\d to \d+\.\d/);
      assert.match((await ann.page.locator("#current").textContent()) ?? "", /^\d\.\d\d$/);
      assert.match((await ann.page.locator("#latency").textContent()) ?? "", /^\d+ ms$/);
      assert.equal(await ann.page.locator("#transport").textContent(), "websocket");

      const bob = await launchUser();
      users.push(bob);
      await openDashboard(bob.page, apps.url);
      await waitForViewers(ann.page, "2");
      await waitForViewers(bob.page, "2");
      // Bob's chart starts with the history and gains points too.
      await waitForPoints(bob.page, (await points(bob.page)) + 3);
      await screenshot(ann.page, "dashboard");
      // Bob leaves for the index page: his page's session ends with it (the client says goodbye
      // on pagehide), and Ann's page counts one viewer.
      await bob.page.goto(`${apps.url}/`);
      await waitForViewers(ann.page, "1");
      for (const user of users) {
        assert.deepEqual(user.pageErrors, []);
        assert.deepEqual(user.consoleErrors, [], "the page logged errors (a Content-Security-Policy violation?)");
      }
    } finally {
      await closeAll(users);
    }
  });

  it("the index page links both apps, and the keyboard follows a link", { timeout: TEST_TIMEOUT_MS }, async () => {
    const users: BrowserUser[] = [];
    try {
      const ann = await launchUser();
      users.push(ann);
      const page = ann.page;
      await page.goto(`${apps.url}/`);
      assert.equal(await page.getByRole("link", { name: "Chat" }).getAttribute("href"), "/chat");
      assert.equal(await page.getByRole("link", { name: "Dashboard" }).getAttribute("href"), "/dashboard");
      await page.getByRole("link", { name: "Dashboard" }).focus();
      await page.keyboard.press("Enter");
      await page.waitForURL(`${apps.url}/dashboard`, { timeout: WAIT_MS });
      await page.locator('#status[data-state="connected"]').waitFor({ timeout: WAIT_MS });
      assert.deepEqual(ann.pageErrors, []);
    } finally {
      await closeAll(users);
    }
  });

  it("works over long-polling, where neither WebSocket nor EventSource exists", { timeout: TEST_TIMEOUT_MS }, async () => {
    const users: BrowserUser[] = [];
    try {
      const ann = await launchUser({ initScript: WITHOUT_WEBSOCKET_AND_EVENTSOURCE });
      users.push(ann);
      await openDashboard(ann.page, apps.url);
      assert.equal(await ann.page.locator("#status").getAttribute("data-transport"), "longpoll");
      await waitForPoints(ann.page, (await points(ann.page)) + 3);
      assert.deepEqual(ann.pageErrors, []);
      assert.deepEqual(ann.consoleErrors, []);
    } finally {
      await closeAll(users);
    }
  });

  it("connects afresh when its session is lost (the server restarted) and draws the new server's readings", { timeout: TEST_TIMEOUT_MS }, async () => {
    const users: BrowserUser[] = [];
    let own: RunningApps | undefined = await startApps({ port: 0, interval: INTERVAL_MS });
    try {
      const ann = await launchUser();
      users.push(ann);
      await openDashboard(ann.page, own.url);
      await waitForPoints(ann.page, (await points(ann.page)) + 3);
      const { port } = own;
      await own.close();
      own = undefined;
      const restarted = Date.now();
      await waitForStates(ann.page, ["connected", "lost"]);
      own = await startApps({ port, interval: INTERVAL_MS });
      await waitForStates(ann.page, ["connected", "lost", "connected"]);
      // The new server's history replaced the old one (the oldest reading shown is the new
      // server's), and its readings come on.
      await ann.page.waitForFunction((since) => Number(document.getElementById("chart")?.dataset.oldest) >= since, restarted, { timeout: WAIT_MS });
      await waitForPoints(ann.page, 3);
      await waitForViewers(ann.page, "1");
      assert.deepEqual(ann.pageErrors, []);
    } finally {
      await closeAll(users);
      await own?.close();
    }
  });
});
