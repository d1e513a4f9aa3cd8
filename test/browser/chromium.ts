/**
 * Headless Chromium for the browser tests: Debian's /usr/bin/chromium driven by
 * playwright-core, never a downloaded browser. Each user is a browser of its own with a fresh
 * profile (`--user-data-dir` in a temporary folder), so two users share no storage, cookies or
 * cache. The flags keep the browser off the network: the tests reach 127.0.0.1 only.
 */
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type BrowserContext, chromium, type Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

/** Exactly these: headless, no sandbox (containers), and nothing that reaches out on its own. */
export const CHROMIUM_FLAGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** Where the tests write their screenshots (git-ignored). */
export const RESULTS_DIR = join(ROOT, "test-results");
const DOCS_DIR = join(ROOT, "docs");

/** Generous waits: a loaded 2-core machine, and reconnect backoff after a restart. */
export const WAIT_MS = 30_000;

/** One person with a browser: one page, plus what the page did that a test must see. */
export interface BrowserUser {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Messages of dialogs (alert, confirm, prompt) the page opened; each was dismissed. */
  readonly dialogs: string[];
  /** Uncaught errors in the page. */
  readonly pageErrors: string[];
  /** What the page logged as errors: a refused resource, a Content-Security-Policy violation … */
  readonly consoleErrors: string[];
  close(): Promise<void>;
}

export interface UserOptions {
  /** Run in every page before its own scripts (deleting `WebSocket`, say). */
  initScript?: string;
  viewport?: { width: number; height: number };
}

/** Throws, saying how to install it, when there is no browser at `path`: the browser tests fail rather than skip. */
export function requireChromium(path = CHROMIUM): void {
  if (!existsSync(path)) {
    throw new Error(`${path} is missing: the browser tests need Debian's chromium; install it with \`apt-get install -y chromium\` (they never download a browser)`);
  }
}

/**
 * Starts a browser with a fresh profile and opens one page. Throws, saying how to install it,
 * when /usr/bin/chromium is missing: the browser tests fail rather than skip.
 */
export async function launchUser(options: UserOptions = {}): Promise<BrowserUser> {
  requireChromium();
  const profile = await mkdtemp(join(tmpdir(), "wirechan-chromium-"));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_FLAGS],
      viewport: options.viewport ?? { width: 900, height: 640 },
    });
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw error;
  }
  await context.addInitScript(RECORD_STATUS_STATES);
  if (options.initScript !== undefined) await context.addInitScript(options.initScript);
  const page = context.pages()[0] ?? (await context.newPage());
  const dialogs: string[] = [];
  const pageErrors: string[] = [];
  page.on("dialog", (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  page.on("pageerror", (error) => pageErrors.push(error.message));
  const consoleErrors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(message.text());
  });
  return {
    context,
    page,
    dialogs,
    pageErrors,
    consoleErrors,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Closes every user, whatever fails. */
export async function closeAll(users: readonly (BrowserUser | undefined)[]): Promise<void> {
  await Promise.allSettled(users.map((user) => user?.close()));
}

/** Init scripts that remove a transport from the page, so the client falls back to the next one. */
export const WITHOUT_WEBSOCKET = "delete window.WebSocket;";
export const WITHOUT_WEBSOCKET_AND_EVENTSOURCE = "delete window.WebSocket; delete window.EventSource;";

/** Each transport a page can end up on, and the init script that makes it fall back there. */
export const TRANSPORT_CASES: ReadonlyArray<{ transport: "websocket" | "sse" | "longpoll"; initScript: string | undefined }> = [
  { transport: "websocket", initScript: undefined },
  { transport: "sse", initScript: WITHOUT_WEBSOCKET },
  { transport: "longpoll", initScript: WITHOUT_WEBSOCKET_AND_EVENTSOURCE },
];

/**
 * An init script: records each state the status line (`#status`, its `data-state`) shows, in
 * order, in `window.statusStates`, including one that lasted less than a task (a lost session
 * replaced at once), which a test polling the text could miss. A string, not a function: tsx
 * would wrap a function's inner names in a helper the page does not have.
 */
const RECORD_STATUS_STATES = `(() => {
  const states = [];
  window.statusStates = states;
  const note = (state) => {
    if (state !== null && state !== undefined && states[states.length - 1] !== state) states.push(state);
  };
  const watch = () => {
    const status = document.getElementById("status");
    if (status === null) return;
    note(status.dataset.state);
    new MutationObserver((records) => {
      for (const record of records) note(record.oldValue);
      note(status.dataset.state);
    }).observe(status, { attributes: true, attributeFilter: ["data-state"], attributeOldValue: true });
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", watch);
  else watch();
})();`;

/** The states the status line has shown so far, in order (see {@link RECORD_STATUS_STATES}). */
export function statusStates(page: Page): Promise<string[]> {
  return page.evaluate(() => [...(window as unknown as { statusStates?: string[] }).statusStates ?? []]);
}

/** Waits until the status line has shown `expected` in this order (other states may come between). */
export async function waitForStates(page: Page, expected: readonly string[]): Promise<void> {
  await page.waitForFunction(
    (wanted) => {
      const seen = (window as unknown as { statusStates?: string[] }).statusStates ?? [];
      let at = 0;
      for (const state of seen) if (state === wanted[at]) at++;
      return at === wanted.length;
    },
    [...expected],
    { timeout: WAIT_MS },
  );
}

/** Saves a screenshot of `page` to test-results/NAME.png and copies it to docs/NAME.png (the README shows it). */
export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${name}.png`);
  await page.screenshot({ path });
  await copyFile(path, join(DOCS_DIR, `${name}.png`));
}
