// wirechan/client: browsers, and Node >= 20. Channels across the wire to a wirechan server.
import { type ConnectOptions, resolveConnectOptions, serverEndpoint } from "./options.js";
import { Session } from "./session.js";
import type { HttpFetch } from "./link.js";

export { type ConnectOptions, connectDefaults } from "./options.js";
export { type ReconnectCause, Session, type SessionState, type StateChange } from "./session.js";
export { TransportError, type TransportName } from "./transports.js";
export type { Logger } from "../session/logger.js";
export { RemoteChannel } from "../wire/remote-channel.js";
export { ProtocolError, type ProtocolErrorCode } from "../wire/protocol-error.js";
export { type Codec, jsonCodec } from "../wire/codec.js";

/**
 * Opens a session with the wirechan server at `url` (its origin, `http://host:port`; `ws:`
 * and `wss:` mean the same server; the protocol's `path` is appended). Tries the transports
 * in order and resolves once one of them opened; rejects with a `TransportError`
 * (`ERR_TRANSPORT`) listing why each failed, or with the server's `ProtocolError`
 * (unauthorized, too many sessions) when it refused.
 */
export async function connect(url: string | URL, options: ConnectOptions = {}): Promise<Session> {
  const resolved = resolveConnectOptions(options);
  const endpoint = serverEndpoint(url, resolved.path);
  const fetchFn: HttpFetch = options.fetch ?? (isNode() ? await nodeHttpFetch() : globalThis.fetch.bind(globalThis));
  const session = new Session(resolved, {
    endpoint,
    connectTimeout: resolved.connectTimeout,
    maxMessageSize: resolved.maxMessageSize,
    WebSocket: options.WebSocket,
    fetch: fetchFn,
    codec: resolved.codec,
  });
  await session.start();
  return session;
}

/** Node, where node:http serves the HTTP transports more cheaply than fetch. */
function isNode(): boolean {
  const process = (globalThis as { process?: { versions?: { node?: unknown } } }).process;
  return typeof process?.versions?.node === "string";
}

/** Where node-http.js is: not a literal, so neither the browser type check nor a bundler follows it into node:http. */
const NODE_HTTP: string = "./node-http.js";

async function nodeHttpFetch(): Promise<HttpFetch> {
  const module = (await import(NODE_HTTP)) as { nodeHttpFetch(): Promise<HttpFetch> };
  return module.nodeHttpFetch();
}
