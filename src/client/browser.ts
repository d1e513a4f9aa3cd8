// wirechan/client in browsers: package.json's `browser` condition leads bundlers here, and
// src/browser.ts (`/wirechan/client.js`) builds on it. The same exports as index.ts, on the
// browser's own WebSocket and fetch only (browser-platform.ts): no path to `ws`, `node:*` or
// node-http.ts.
import { browserPlatform } from "./browser-platform.js";
import { connectOn } from "./connect.js";
import type { ConnectOptions } from "./options.js";
import type { Session } from "./session.js";

export * from "./public.js";

/**
 * Opens a session with the wirechan server at `url` (its origin, `http://host:port`; `ws:`
 * and `wss:` mean the same server; the protocol's `path` is appended). Tries the transports
 * in order, skipping at once those the browser lacks (no `WebSocket`: SSE next; no
 * `EventSource` either: long-polling), and resolves once one of them opened; rejects with a
 * `TransportError` (`ERR_TRANSPORT`) listing why each failed, or with the server's
 * `ProtocolError` (unauthorized, too many sessions) when it refused. Unless
 * `closeOnPageHide` is false, the session closes itself (telling the server) on the page's
 * `pagehide`.
 */
export function connect(url: string | URL, options: ConnectOptions = {}): Promise<Session> {
  return connectOn(browserPlatform, url, options);
}
