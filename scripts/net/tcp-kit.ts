// Pieces shared by the loopback proxies: the test helpers' (test/helpers/latency-relay.ts,
// buffering-proxy.ts, fault-proxy.ts) and the round-robin balancer, which `npm run balancer` runs
// too (scripts/balancer.ts): the loopback address, a seeded random source, a network-failure-like
// socket kill, and listening on a loopback port.
import type { Server, Socket } from "node:net";

/** Loopback only: a test helper must never open a path to or from another machine. */
export const HOST = "127.0.0.1";

/** The end of an HTTP/1.x head: the empty line after the headers. */
export const HEADER_END = Buffer.from("\r\n\r\n", "latin1");

/** Any Upgrade header that names websocket, whatever the case or other offered protocols. */
const WEBSOCKET_UPGRADE = /^upgrade:[ \t]*[^\r\n]*\bwebsocket\b/im;

/** Whether an HTTP request head (start line and headers, latin1) asks for a WebSocket upgrade. */
export function asksForWebSocket(head: string): boolean {
  return WEBSOCKET_UPGRADE.test(head);
}

/**
 * mulberry32: tiny, fast, and good enough to pick cut moments; its only job is that the same
 * seed gives the same sequence, so the seed printed by a failing run reproduces the choices.
 */
export class Mulberry32 {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** An integer uniformly in [min, max]. */
  between(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
}

/** Swallows a socket or server error: a broken connection is what these proxies are for, not a crash. */
export function ignoreError(): void {}

/**
 * Ends a socket the way a network failure would: an RST rather than a FIN, so the peer sees
 * ECONNRESET instead of a clean end of stream. Two states can't be reset and are simply
 * destroyed: a socket still connecting (resetAndDestroy would wait for the connection), and one
 * whose FIN is still being sent (libuv refuses the reset with EINVAL, and Node then never
 * closes the handle: the descriptor leaks and server.close() never returns).
 */
export function hardKill(socket: Socket): void {
  if (socket.destroyed) return;
  const shuttingDown = socket.writableEnded && !socket.writableFinished;
  if (socket.connecting || shuttingDown || typeof socket.resetAndDestroy !== "function") socket.destroy();
  else socket.resetAndDestroy();
}

/** Checks a target port option, naming the helper in the error. */
export function checkPort(who: string, port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new RangeError(`${who}: targetPort must be a TCP port, got ${port}`);
}

/**
 * Listens on a loopback port and returns it: `port`, or by default an OS-chosen one (so that
 * parallel test files never collide). Rejects when the port is taken (EADDRINUSE).
 */
export async function listenOnLoopback(who: string, server: Server, port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const failed = (error: Error): void => {
      server.off("listening", listening);
      reject(error);
    };
    const listening = (): void => {
      server.off("error", failed);
      resolve();
    };
    server.once("error", failed);
    server.once("listening", listening);
    server.listen(port, HOST);
  });
  // After listening, a server error is a failed accept (EMFILE and the like): for the client it is a lost connection, not a reason to crash.
  server.on("error", ignoreError);
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error(`${who}: the server has no TCP address`);
  return address.port;
}

/** Closes a listening server; resolves once every connection it accepted is gone too. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
