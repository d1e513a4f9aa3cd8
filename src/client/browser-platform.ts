// The platform of the browser entry (browser.ts): only what the browser has, read from
// `globalThis` when a session connects, so a page (or a test) that removed an API is taken at
// its word. Nothing here reaches `ws`, `node:*` or node-http.ts.
import type { HttpFetch, WebSocketLike } from "./link.js";
import type { PageEvents, Platform } from "./platform.js";

/**
 * Transports follow what the browser has:
 * - `websocket` needs `globalThis.WebSocket`; without it that transport fails at once and is
 *   never probed again.
 * - `sse` needs `globalThis.EventSource`, and `ReadableStream` and `TextDecoder` to read
 *   with. The client reads the stream through `fetch` (an EventSource cannot send the
 *   session's headers), but a browser without EventSource is one whose event streams are not
 *   to be relied on (an old engine, or a page that removed it on purpose), so it goes to
 *   long-polling, which needs nothing but `fetch`.
 * - `longpoll` needs `fetch` only.
 */
export const browserPlatform: Platform = {
  webSocket: globalWebSocket,
  fetch: globalFetch,
  eventStreams: hasEventStreams,
  page: currentPage,
};

interface BrowserGlobals {
  WebSocket?: WebSocketLike;
  EventSource?: unknown;
  ReadableStream?: unknown;
  TextDecoder?: unknown;
}

function globalWebSocket(): Promise<WebSocketLike | undefined> {
  return Promise.resolve((globalThis as BrowserGlobals).WebSocket);
}

function globalFetch(): Promise<HttpFetch> {
  return Promise.resolve(globalThis.fetch.bind(globalThis));
}

function hasEventStreams(): boolean {
  const g = globalThis as BrowserGlobals;
  return typeof g.EventSource === "function" && typeof g.ReadableStream === "function" && typeof g.TextDecoder === "function";
}

/** The window (globalThis in a page). A worker has the methods too but never sees pagehide: listening there costs nothing. */
function currentPage(): PageEvents | undefined {
  const g = globalThis as Partial<PageEvents>;
  return typeof g.addEventListener === "function" && typeof g.removeEventListener === "function" ? (g as PageEvents) : undefined;
}
