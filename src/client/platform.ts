// The seam between the client and where it runs: the WebSocket class, the fetch of the HTTP
// transports, whether event streams are to be used, and the page whose `pagehide` ends a
// session. `connect` (connect.ts) takes one; the Node entry (index.ts, node-platform.ts) and
// the browser entry (browser.ts, browser-platform.ts) each bring theirs, so that a browser
// bundle has no path to `ws`, `node:*` or node-http.ts. Browser-safe: types only.
import type { HttpFetch, WebSocketLike } from "./link.js";

/** What the page tells a session: `pagehide` (the tab closes, navigates away, or goes to the back/forward cache). */
export interface PageEvents {
  addEventListener(type: "pagehide", listener: () => void): void;
  removeEventListener(type: "pagehide", listener: () => void): void;
}

/** What `connect` asks of the environment it runs in. */
export interface Platform {
  /**
   * The WebSocket class, or undefined where there is none: the websocket transport then fails
   * at once (and is never probed), and the next transport is tried. Asked only when the
   * transports include `"websocket"` and no `WebSocket` option was given.
   */
  webSocket(): Promise<WebSocketLike | undefined>;
  /** The fetch of the SSE and long-polling transports, when no `fetch` option was given. */
  fetch(): Promise<HttpFetch>;
  /** Whether the SSE transport may be tried: if not, it fails at once and long-polling follows. */
  eventStreams(): boolean;
  /** The page whose `pagehide` closes a session (the `closeOnPageHide` option), or undefined outside a page. */
  page(): PageEvents | undefined;
}
