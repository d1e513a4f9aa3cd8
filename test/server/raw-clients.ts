// Clients for the server tests that need what fetch cannot do: a Host header of their choice,
// raw bytes on a TCP socket, a body sent a byte at a time.
import { request as httpRequest } from "node:http";
import { connect, type Socket } from "node:net";
import type { AfterHook } from "../helpers/server.js";

/** A whole answer: status, headers (lowercase names) and body text. */
export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** One request through node:http (which, unlike fetch, sends the `Host` it is given), on a socket of its own. */
export function send(port: number, options: { method?: string; path?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, method: options.method ?? "GET", path: options.path ?? "/", headers: options.headers, agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

/** Sends raw bytes on a new TCP connection and resolves with everything the server wrote until it closed. */
export function rawExchange(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(request));
    let got = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => (got += chunk));
    socket.on("end", () => resolve(got));
    socket.on("error", reject);
    // A server that never closes fails the test instead of hanging it.
    socket.setTimeout(5_000, () => {
      socket.destroy();
      reject(new Error(`no answer; got ${JSON.stringify(got)}`));
    });
  });
}

/** The body of a raw HTTP answer (after the head), as JSON. */
export function bodyOf(raw: string): unknown {
  return JSON.parse(raw.slice(raw.indexOf("\r\n\r\n") + 4));
}

/** A client that sends `head` and then one byte of body every `intervalMs`, reading what comes back. */
export class TricklingClient {
  /** Everything the server wrote so far. */
  received = "";
  closed = false;
  private readonly socket: Socket;
  private timer: NodeJS.Timeout | undefined;

  constructor(t: AfterHook, port: number, head: string, intervalMs: number) {
    // The trickle starts once the head is written: a socket takes writes before it connects, so
    // a byte due before a slow connect (a loaded machine) went out ahead of the head, and the
    // server answered the request line "xPOST …" with node's bare 400.
    this.socket = connect(port, "127.0.0.1", () => {
      this.socket.write(head);
      this.timer = setInterval(() => {
        if (!this.socket.destroyed && this.socket.writable) this.socket.write("x");
      }, intervalMs);
    });
    this.socket.setEncoding("latin1");
    this.socket.on("data", (chunk: string) => (this.received += chunk));
    this.socket.on("close", () => (this.closed = true));
    this.socket.on("error", () => {}); // the server may reset it once it gave up
    t.after(() => this.stop());
  }

  stop(): void {
    clearInterval(this.timer);
    this.socket.destroy();
  }
}
