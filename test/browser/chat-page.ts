/**
 * The chat page as a person uses it, for the browser tests: by its labels ("Nickname",
 * "Message", the button "Send") and the keyboard, reading what the page shows.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { WAIT_MS } from "./chromium.js";

/** Opens /chat of `origin` as `nick` and waits until the status line says connected. */
export async function openChat(page: Page, origin: string, nick: string): Promise<void> {
  await page.goto(`${origin}/chat`);
  const field = page.getByLabel("Nickname");
  await field.fill(nick);
  await field.press("Tab");
  await waitForState(page, "connected");
}

/** Waits until the status line shows `state` ("connected", "reconnecting" …). */
export async function waitForState(page: Page, state: string): Promise<void> {
  await page.locator(`#status[data-state="${state}"]`).waitFor({ timeout: WAIT_MS });
}

/** Types `text` in the field labelled Message and presses Enter. */
export async function say(page: Page, text: string): Promise<void> {
  const message = page.getByLabel("Message");
  await message.fill(text);
  await message.press("Enter");
}

/** The texts of the lines shown, in order. */
export function lineTexts(page: Page): Promise<string[]> {
  return page.locator("#lines li .text").allTextContents();
}

/** Waits until a line with exactly `text` is shown (at least once). */
export async function waitForLine(page: Page, text: string): Promise<void> {
  await page.waitForFunction(
    (wanted) => Array.from(document.querySelectorAll("#lines li .text")).some((span) => span.textContent === wanted),
    text,
    { timeout: WAIT_MS },
  );
}

/** Asserts that each of `texts` is shown exactly once; `who` names the page in the message. */
export async function assertShownOnce(page: Page, texts: readonly string[], who = "the page"): Promise<void> {
  const shown = await lineTexts(page);
  for (const text of texts) {
    const count = shown.filter((line) => line === text).length;
    assert.equal(count, 1, `${who} shows ${JSON.stringify(text)} ${count} times; lines: ${JSON.stringify(shown)}`);
  }
}

/** The ids of the lines shown: none twice. */
export async function assertNoDuplicateIds(page: Page, who = "the page"): Promise<void> {
  const ids = await page.locator("#lines li").evaluateAll((items) => items.map((item) => (item as HTMLElement).dataset.id ?? ""));
  assert.equal(new Set(ids).size, ids.length, `${who} shows a line id twice: ${JSON.stringify(ids)}`);
}
