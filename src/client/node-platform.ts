// The platform of the Node entry (index.ts), which is also the default one for runtimes that
// match no `browser` condition: the global WebSocket, else the `ws` package (Node 20 has no
// global one); node:http for the HTTP transports in Node, the global fetch elsewhere. Never in
// a browser bundle: package.json's `browser` condition leads to browser.ts instead.
import type { HttpFetch, WebSocketLike } from "./link.js";
import type { Platform } from "./platform.js";

export const nodePlatform: Platform = {
  webSocket: globalOrWsWebSocket,
  fetch: nodeOrGlobalFetch,
  eventStreams: always,
  page: noPage,
};

/** The global WebSocket (Node >= 22, Deno, Bun), else `ws`, loaded only then; undefined if neither. */
async function globalOrWsWebSocket(): Promise<WebSocketLike | undefined> {
  const global = (globalThis as { WebSocket?: WebSocketLike }).WebSocket;
  if (global !== undefined) return global;
  try {
    const module = (await import("ws")) as unknown as { default: WebSocketLike };
    return module.default;
  } catch {
    return undefined;
  }
}

/** In Node, node:http serves the HTTP transports at a quarter of the CPU of Node's fetch (node-http.ts). */
async function nodeOrGlobalFetch(): Promise<HttpFetch> {
  if (!isNode()) return globalThis.fetch.bind(globalThis);
  const { nodeHttpFetch } = await import("./node-http.js");
  return nodeHttpFetch();
}

function isNode(): boolean {
  const process = (globalThis as { process?: { versions?: { node?: unknown } } }).process;
  return typeof process?.versions?.node === "string";
}

/** Node and the other server runtimes read SSE through fetch streams, which they all have. */
function always(): boolean {
  return true;
}

/** No page outside a browser: nothing to say goodbye on. */
function noPage(): undefined {
  return undefined;
}
