// wirechan/client for Node >= 20, and the default for runtimes that match no `browser`
// condition. Channels across the wire to a wirechan server. Browsers (and their bundlers)
// get browser.ts instead, which has the same exports.
import { connectOn } from "./connect.js";
import { nodePlatform } from "./node-platform.js";
import type { ConnectOptions } from "./options.js";
import type { Session } from "./session.js";

export * from "./public.js";

/**
 * Opens a session with the wirechan server at `url` (its origin, `http://host:port`; `ws:`
 * and `wss:` mean the same server; the protocol's `path` is appended). Tries the transports
 * in order and resolves once one of them opened; rejects with a `TransportError`
 * (`ERR_TRANSPORT`) listing why each failed, or with the server's `ProtocolError`
 * (unauthorized, too many sessions) when it refused. In Node the WebSocket is the global one
 * or the `ws` package, and the HTTP transports go over node:http.
 */
export function connect(url: string | URL, options: ConnectOptions = {}): Promise<Session> {
  return connectOn(nodePlatform, url, options);
}
