// Raw protocol clients for the security, fuzz and memory tests: a WebSocket that speaks the
// wirechan protocol by hand (frames as plain arrays, docs/protocol.md section 2), and `fetch`
// wrappers for the HTTP endpoints. Nothing here trusts the library's client: these are the
// bytes an attacker or a buggy client would send.
import assert from "node:assert/strict";
import WebSocket from "ws";
import type { Session } from "../../src/client/index.js";
import { PROTOCOL_ERROR_CODES } from "../../src/csp/errors.js";
import type { WirechanServer } from "../../src/server/index.js";
import type { ServerSession } from "../../src/server/protocol/sessions.js";
import type { Peer } from "../../src/session/peer.js";
import { until } from "../helpers/async.js";
import { within as withinLimit } from "../helpers/async.js";

export type WireFrame = unknown[];

/** The protocol's error codes: the registry's (src/csp/errors.ts). */
export const ERROR_CODES: ReadonlySet<string> = PROTOCOL_ERROR_CODES;

export const PATH = "/wirechan";

export function hello(body: { sid?: string | null; secret?: string | null; recv?: number } = {}): WireFrame {
  return ["hello", 1, { sid: body.sid ?? null, secret: body.secret ?? null, recv: body.recv ?? 0 }];
}

/** `ws://host:port/wirechan` for a server's `http://host:port`. */
export function wsUrl(base: string, path = PATH): string {
  return `${base.replace(/^http/, "ws")}${path}`;
}

export interface CloseInfo {
  code: number;
  reason: string;
}

/** A WebSocket client that speaks the protocol by hand and records everything it receives. */
export class RawSocket {
  /** Every frame received, in order (from packets that parsed as arrays). */
  readonly frames: WireFrame[] = [];
  /** Every message received, as text (binary ones as `<binary n>`). */
  readonly messages: string[] = [];
  /** Messages that were not a JSON array of frames. */
  readonly malformed: string[] = [];
  closeInfo: CloseInfo | null = null;
  /** Highest sequenced frame number received from the server (WebSocket links are ordered). */
  received = 0;
  /** This side's next sequence number. */
  nextSeq = 1;
  sid: string | null = null;
  secret: string | null = null;

  private constructor(private readonly ws: WebSocket) {
    ws.on("message", (data, isBinary) => this.onMessage(data, isBinary));
    ws.on("close", (code, reason) => {
      this.closeInfo = { code, reason: reason.toString("utf8") };
    });
    ws.on("error", () => {
      // A server that closes with an error code (1009) makes ws emit 'error' first; 'close' follows.
    });
  }

  /** Opens a WebSocket to the protocol endpoint; fails the test if the upgrade is refused. */
  static async connect(base: string, headers: Record<string, string> = {}): Promise<RawSocket> {
    const ws = new WebSocket(wsUrl(base), { headers });
    const socket = new RawSocket(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("unexpected-response", (_req, res) => reject(new Error(`the upgrade was refused with ${res.statusCode ?? "?"}`)));
      ws.once("error", reject);
    });
    return socket;
  }

  /** Tries an upgrade that should be refused: its status and body. Fails the test if it opens. */
  static refusal(base: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
    const ws = new WebSocket(wsUrl(base), { headers });
    return new Promise((resolve, reject) => {
      ws.once("open", () => {
        ws.terminate();
        reject(new assert.AssertionError({ message: "the WebSocket upgrade was accepted, but it should have been refused" }));
      });
      ws.once("unexpected-response", (req, res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, body });
        });
        res.on("error", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      ws.on("error", () => {
        // After unexpected-response ws aborts the request; that error is expected.
      });
    });
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  sendText(text: string): void {
    if (this.isOpen) this.ws.send(text);
  }

  sendBinary(bytes: Uint8Array): void {
    if (this.isOpen) this.ws.send(bytes, { binary: true });
  }

  /** Sends one packet: an array of frames. */
  send(frames: WireFrame[]): void {
    this.sendText(JSON.stringify(frames));
  }

  /** A sequenced frame with this side's next number; returns the number. */
  sendSeq(op: string, ...args: unknown[]): number {
    const seq = this.nextSeq++;
    this.send([[seq, op, ...args]]);
    return seq;
  }

  /** `[seq, "p", target, value]`; returns its sequence number. */
  put(target: string, value: unknown): number {
    return this.sendSeq("p", target, value);
  }

  /** Acknowledges every sequenced frame received so far. */
  ack(): void {
    if (this.received > 0) this.send([["ack", this.received]]);
  }

  /** Sends a hello (plus `extra` frames in the same packet) and waits for the welcome. */
  async hello(body: { sid?: string | null; secret?: string | null; recv?: number } = {}, extra: WireFrame[] = []): Promise<Record<string, unknown>> {
    this.send([hello(body), ...extra]);
    const welcome = await this.frame((f) => f[0] === "welcome", "the welcome");
    const welcomeBody = welcome[2] as Record<string, unknown>;
    this.sid = welcomeBody.sid as string;
    if (typeof welcomeBody.secret === "string") this.secret = welcomeBody.secret;
    return welcomeBody;
  }

  /** The first frame (from `from` on) for which `pred` holds; fails if the socket closes or `limitMs` passes first. */
  async frame(pred: (frame: WireFrame) => boolean, what: string, limitMs = 5_000, from = 0): Promise<WireFrame> {
    const find = (): WireFrame | undefined => this.frames.slice(from).find(pred);
    const deadline = Date.now() + limitMs;
    while (find() === undefined) {
      if (this.closeInfo !== null) {
        assert.fail(`waiting for ${what}: the socket closed (${this.closeInfo.code} ${this.closeInfo.reason}); got ${this.describe()}`);
      }
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; got ${this.describe()}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return find() as WireFrame;
  }

  /**
   * The first fatal error frame (or, with `fatalOnly` false, any error frame), waiting for it:
   * the server sends it before closing.
   */
  async errorFrame(what: string, limitMs = 5_000, fatalOnly = true): Promise<WireFrame> {
    const deadline = Date.now() + limitMs;
    for (;;) {
      const found = this.frames.find((f) => f[0] === "error" && (!fatalOnly || f[3] === 1));
      if (found !== undefined) return found;
      // ws emits every message before 'close': a closed socket has nothing more to come.
      if (this.closeInfo !== null) {
        assert.fail(`waiting for ${what}: the socket closed (${this.closeInfo.code}) without a matching error frame; got ${this.describe()}`);
      }
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; got ${this.describe()}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Waits for the server to close the socket. */
  async closed(what: string, limitMs = 5_000): Promise<CloseInfo> {
    await until(() => this.closeInfo !== null, `${what} (got ${this.describe()})`, limitMs);
    return this.closeInfo as CloseInfo;
  }

  /**
   * Whether the server still serves this link: sends a ping and waits for its pong (true), or
   * for the socket to close (false). Fails after `limitMs` with neither: the server went quiet.
   */
  async answersPing(token: string, limitMs = 5_000): Promise<boolean> {
    const from = this.frames.length;
    this.send([["ping", token]]);
    const deadline = Date.now() + limitMs;
    for (;;) {
      if (this.frames.slice(from).some((f) => f[0] === "pong" && f[1] === token)) return true;
      if (this.closeInfo !== null) return false;
      if (Date.now() > deadline) assert.fail(`the server neither answered the ping ${token} nor closed the link; got ${this.describe()}`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }

  /** Sequenced frames received with this op. */
  sequenced(op: string): WireFrame[] {
    return this.frames.filter((f) => typeof f[0] === "number" && f[1] === op);
  }

  terminate(): void {
    this.ws.terminate();
  }

  close(): void {
    if (this.isOpen) this.ws.close(1000);
    else if (this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
  }

  describe(): string {
    const text = JSON.stringify(this.messages);
    return text.length > 600 ? `${text.slice(0, 600)}…` : text;
  }

  private onMessage(data: WebSocket.RawData, isBinary: boolean): void {
    if (isBinary) {
      this.messages.push(`<binary>`);
      this.malformed.push(`<binary>`);
      return;
    }
    const text = Buffer.isBuffer(data) ? data.toString("utf8") : Buffer.concat(data as Buffer[]).toString("utf8");
    this.messages.push(text);
    let packet: unknown;
    try {
      packet = JSON.parse(text);
    } catch {
      this.malformed.push(text);
      return;
    }
    if (!Array.isArray(packet)) {
      this.malformed.push(text);
      return;
    }
    for (const frame of packet as unknown[]) {
      if (!Array.isArray(frame)) {
        this.malformed.push(text);
        continue;
      }
      this.frames.push(frame as WireFrame);
      if (typeof frame[0] === "number" && frame[0] > this.received) this.received = frame[0];
    }
  }
}

export interface HttpAnswer {
  status: number;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

/** One HTTP request to `base + path`, its whole answer read. */
export async function request(base: string, path: string, init: RequestInit = {}): Promise<HttpAnswer> {
  const response = await fetch(`${base}${path}`, { ...init, signal: init.signal ?? AbortSignal.timeout(10_000) });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, text, json };
}

/** The first frame of an answer that is a packet, if it is an error frame: its code. */
export function errorCodeOf(answer: HttpAnswer): string | undefined {
  const packet = answer.json;
  if (!Array.isArray(packet)) return undefined;
  const frame: unknown = packet[0];
  return Array.isArray(frame) && frame[0] === "error" && typeof frame[1] === "string" ? frame[1] : undefined;
}

export interface HttpSession {
  sid: string;
  secret: string;
}

/** `POST path/open` with a fresh hello: the new session's id and secret. */
export async function openHttpSession(base: string, headers: Record<string, string> = {}): Promise<HttpSession> {
  const answer = await request(base, `${PATH}/open`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify([hello()]) });
  assert.equal(answer.status, 200, `POST ${PATH}/open answers 200 (got ${answer.status} ${answer.text})`);
  const frame = (answer.json as WireFrame[])[0] as WireFrame;
  assert.equal(frame[0], "welcome", "the open answer is a welcome");
  const body = frame[2] as { sid: string; secret: string };
  return { sid: body.sid, secret: body.secret };
}

/** The session headers of the HTTP transports. */
export function sessionHeaders(session: HttpSession, extra: Record<string, string> = {}): Record<string, string> {
  return { "x-wirechan-session": session.sid, "x-wirechan-secret": session.secret, ...extra };
}

/** `POST path/send` with `frames` and the given headers. */
export function send(base: string, headers: Record<string, string>, frames: WireFrame[] | string): Promise<HttpAnswer> {
  return request(base, `${PATH}/send`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof frames === "string" ? frames : JSON.stringify(frames),
  });
}

/** `promise`, or a test failure naming `what` after `limitMs` (a bound on a hang, not a timing assertion). */
export function within<T>(promise: Promise<T>, what: string, limitMs = 5_000): Promise<T> {
  return withinLimit(promise, what, limitMs);
}

/** Waits `ms`: lets whatever could still (wrongly) happen happen before a count is checked. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The server's session with this id. Test access to private state (WirechanServer.protocol is
 * private): fails with a clear message if that layout changes.
 */
export function serverSession(server: WirechanServer, sid: string): ServerSession {
  const table = (server as unknown as { protocol?: { sessions?: { sessions?: unknown } } }).protocol?.sessions?.sessions;
  assert.ok(table instanceof Map, "test access: WirechanServer.protocol.sessions.sessions is the Map of sessions by id");
  const session = (table as Map<string, ServerSession>).get(sid);
  assert.ok(session !== undefined, `the server has a session ${sid}`);
  return session;
}

/** The Peer of a client Session (a private field; test access). */
export function clientPeer(session: Session): Peer {
  const peer = (session as unknown as { peer?: Peer | null }).peer;
  assert.ok(peer !== undefined && peer !== null, "test access: Session.peer is the session's Peer once it opened");
  return peer;
}
