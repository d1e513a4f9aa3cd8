// Readers of serveChannel's feeds for the tests: a fetch-based SSE client that keeps ids, a
// raw TCP client that stops reading, and the shape of the feed's ids.
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import type { Buffer as ChannelBuffer } from "../../src/index.js";
import type { FeedReset } from "../../src/server/feed-history.js";
import type { CloseStatus, Handler } from "../../src/server/index.js";
import type { IncomingRequest } from "../../src/server/request.js";
import { within } from "./async.js";
import type { AfterHook } from "./server.js";

/** An event id of serveChannel: `<epoch>-<n>`, the epoch eight hex digits random per handler. */
export const FEED_ID = /^([0-9a-f]{8})-(\d+)$/;

/** The place in its feed an event id names: `n` of `<epoch>-<n>`; 0 for no id. */
export function seqOf(id: string): number {
  if (id === "") return 0;
  const match = FEED_ID.exec(id);
  assert.ok(match !== null, `not a feed id: ${JSON.stringify(id)}`);
  return Number(match[2]);
}

/** The epoch of a feed id. */
export function epochOf(id: string): string {
  const match = FEED_ID.exec(id);
  assert.ok(match !== null, `not a feed id: ${JSON.stringify(id)}`);
  return match[1] as string;
}

/** SSE text with the epoch taken out of its ids, to compare with a text written by hand. */
export function withoutEpochs(text: string): string {
  return text.replace(/^id: [0-9a-f]{8}-/gm, "id: ");
}


/** 1, 2, … n. */
export function upTo(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

/** The ids of the events in SSE text (raw HTTP/1.1 chunked text too: each event is one whole chunk). */
export function idsIn(lines: readonly string[]): number[] {
  const ids: number[] = [];
  for (const line of lines) {
    const match = /^id: [0-9a-f]{8}-(\d+)$/.exec(line);
    if (match !== null) ids.push(Number(match[1]));
  }
  return ids;
}

/** A `wirechan-reset` event as a client read it, and how many message events came before it. */
export interface ResetSeen {
  readonly id: string;
  readonly data: FeedReset;
  readonly after: number;
}

/**
 * A fetch-based SSE client that keeps only the ids of the message events it has read (so big
 * events cost no memory), the last id, and any `wirechan-reset` event whole.
 */
export class IdReader {
  readonly ids: number[] = [];
  readonly resets: ResetSeen[] = [];
  /** The id of the last event read, as `EventSource` would send it back in `Last-Event-ID`. */
  lastId = "";
  /** Settles when the response ends (or the request is aborted). */
  readonly ended: Promise<void>;
  private carry = "";
  /** The event being read: its id, type, and data if it is a reset (a message's data is not kept). */
  private current: { id: string | null; event: string; data: string } = { id: null, event: "message", data: "" };
  private readonly waiters: Array<{ count: number; resolve: () => void }> = [];

  private constructor(body: ReadableStream<Uint8Array>) {
    this.ended = this.pump(body.getReader());
  }

  /** Opens the feed; resolves once the head arrived, when the server has added this client. */
  static async open(url: string, options: { signal?: AbortSignal; lastEventId?: string } = {}): Promise<IdReader> {
    const headers: Record<string, string> = { accept: "text/event-stream" };
    if (options.lastEventId !== undefined) headers["last-event-id"] = options.lastEventId;
    const res = await fetch(url, { headers, ...(options.signal === undefined ? {} : { signal: options.signal }) });
    assert.equal(res.status, 200);
    assert.ok(res.body, "the feed has a body");
    return new IdReader(res.body);
  }

  /** Resolves once `count` events were read; fails, saying `what`, if that does not happen soon. */
  waitFor(count: number, what: string): Promise<void> {
    if (this.ids.length >= count) return Promise.resolve();
    const reached = new Promise<void>((resolve) => this.waiters.push({ count, resolve }));
    return within(reached, () => `${what}: ${this.ids.length} of ${count} events arrived`);
  }

  private async pump(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        this.read(decoder.decode(value, { stream: true }));
      }
    } catch {
      return; // aborted
    }
  }

  private read(text: string): void {
    const lines = (this.carry + text).split("\n");
    this.carry = lines.pop() ?? "";
    for (const line of lines) this.field(line);
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const waiter = this.waiters[i];
      if (waiter !== undefined && this.ids.length >= waiter.count) {
        this.waiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  /** One line of the stream: a field of the current event, or the blank line that ends it. */
  private field(line: string): void {
    const current = this.current;
    if (line === "") {
      if (current.id !== null) this.lastId = current.id;
      if (current.event === "wirechan-reset") {
        this.resets.push({ id: current.id ?? "", data: JSON.parse(current.data) as FeedReset, after: this.ids.length });
      } else if (current.id !== null) {
        this.ids.push(seqOf(current.id));
      }
      this.current = { id: null, event: "message", data: "" };
    } else if (line.startsWith("id: ")) {
      current.id = line.slice(4);
    } else if (line.startsWith("event: ")) {
      current.event = line.slice(7);
    } else if (line.startsWith("data: ") && current.event === "wirechan-reset") {
      current.data += line.slice(6);
    }
  }
}

/**
 * A raw TCP client that reads the feed's head (so the server has added it) and then stops
 * reading until `readToEnd`: the kernel buffers fill, then node's, and the server sees a
 * connection that never drains. Destroyed when the test ends.
 */
export class StalledClient {
  private readonly chunks: Buffer[] = [];
  private tail = "";
  private onData: (() => void) | null = null;

  private constructor(readonly socket: Socket) {}

  static async open(t: AfterHook, port: number): Promise<StalledClient> {
    const socket = connect({ port, host: "127.0.0.1" });
    t.after(() => {
      socket.destroy();
    });
    socket.on("error", () => {}); // the server may reset it
    const client = new StalledClient(socket);
    const head = new Promise<void>((resolve) => {
      socket.once("data", () => {
        socket.pause();
        resolve();
      });
    });
    socket.on("data", client.received);
    socket.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n");
    await within(head, () => "the stalled client got no response head");
    return client;
  }

  /** Reads again, until the response's last chunk; the ids of every event it got. */
  async readToEnd(): Promise<number[]> {
    const ended = new Promise<void>((resolve) => {
      this.onData = () => {
        if (this.tail.endsWith("\r\n0\r\n\r\n")) resolve();
      };
      this.onData();
    });
    this.socket.resume();
    await within(ended, () => `the stalled client's response did not end; it ends with ${JSON.stringify(this.tail)}`);
    return idsIn(Buffer.concat(this.chunks).toString("utf8").split("\n"));
  }

  /**
   * Reads again, until the server closes the socket; the ids it got, and whether the response
   * ended normally (its last chunk) rather than being cut.
   */
  async readUntilClosed(): Promise<{ ids: number[]; ended: boolean }> {
    const closed = new Promise<void>((resolve) => {
      if (this.socket.destroyed) resolve();
      else this.socket.once("close", () => resolve());
    });
    this.socket.resume();
    await within(closed, () => `the stalled client's socket was not closed; its stream ends with ${JSON.stringify(this.tail)}`);
    return { ids: idsIn(Buffer.concat(this.chunks).toString("utf8").split("\n")), ended: this.tail.endsWith("\r\n0\r\n\r\n") };
  }

  private readonly received = (chunk: Buffer): void => {
    this.chunks.push(chunk);
    this.tail = (this.tail + chunk.toString("latin1")).slice(-16);
    this.onData?.();
  };
}

/**
 * `feed`, recording the close status of every connection it takes over: how a test sees why
 * the server closed one. It wraps the callback `withChannel` stored on the request, which
 * runs once the connection is open.
 */
export function recordingCloses(feed: Handler, statuses: CloseStatus[]): Handler {
  return function recordClosesHandler(req) {
    const answer = feed(req);
    const incoming = req as IncomingRequest;
    const takeover = incoming.takeover;
    if (takeover !== null) {
      incoming.takeover = function recordCloses(conn) {
        conn.onClose((status) => statuses.push(status));
        takeover(conn);
      };
    }
    return answer;
  };
}

/** A fixed buffer of `size` that is none of the library's classes: serveChannel gives each client a real tap with it. */
export class ForeignFixedBuffer implements ChannelBuffer<unknown> {
  private readonly items: unknown[] = [];

  constructor(private readonly size: number) {}

  full(): boolean {
    return this.items.length >= this.size;
  }
  count(): number {
    return this.items.length;
  }
  add(value: unknown): void {
    this.items.push(value);
  }
  remove(): unknown {
    return this.items.shift();
  }
  close(): void {}
}
