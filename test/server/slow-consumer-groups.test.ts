// Members of a group that never read, while the server broadcasts to it (docs/api.md "Slow
// consumers"): a raw socket over each transport that sends its request and reads nothing, not
// even the answer's head: a WebSocket and an SSE stream in a MemoryChannelStore group, and an
// HTTP stream written by a handler. The server holds at most `maxBufferedBytes` plus one
// payload for each, closes each with 4008, and a client of the same transport that reads gets
// every payload in order meanwhile.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import WebSocket from "ws";
import { MemoryChannelStore } from "../../src/server/channel-store.js";
import type { EncodedMessage } from "../../src/server/encoded-message.js";
import { type CloseStatus, type Connection, createServer, type ServerRequest, withChannel } from "../../src/server/index.js";
import { until, within } from "../helpers/async.js";
import { nonReadingClient } from "../helpers/server.js";

const TEST = { timeout: 60_000 };
const BOUND = 256 * 1024;
const PAYLOAD_BYTES = 64 * 1024;
/** More than the kernel's buffers (about 4 MB a socket on loopback) and the bound take: 25 MiB. */
const MAX_BROADCASTS = 400;
const KINDS = ["websocket", "sse", "stream"] as const;
type Kind = (typeof KINDS)[number];

/** A payload that says its number first, then fills 64 KiB; one line. */
function payload(n: number): string {
  return `${String(n).padStart(6, "0")}${"x".repeat(PAYLOAD_BYTES)}\n`;
}

/** The numbers of the payloads in `text`, in order (the SSE framing and chunk boundaries aside). */
function numbersIn(text: string): number[] {
  return [...text.matchAll(/(\d{6})x{100}/g)].map((match) => Number(match[1]));
}

/** The server: "/room?kind=…&who=…" joins the group (WebSocket, SSE) or the handler's streams (plain HTTP). */
class Room {
  readonly store = new MemoryChannelStore<null>();
  readonly streams = new Set<Connection>();
  readonly byName = new Map<string, Connection>();
  readonly peaks = new Map<Connection, number>();

  handle = (req: ServerRequest): undefined => {
    const who = req.query.get("who") ?? "";
    withChannel(req, (conn) => this.join(who, conn));
    return undefined;
  };

  private join(who: string, conn: Connection): void {
    this.byName.set(who, conn);
    this.measure(conn);
    if (conn.transport !== "http") {
      this.store.addToGroup("room", conn, null);
      return;
    }
    conn.send({ status: 200, headers: { "content-type": "text/plain; charset=utf-8" } }, false);
    this.streams.add(conn);
    conn.onClose(() => this.streams.delete(conn));
  }

  /** Records, after every send (and every write of a broadcast encoded once), what `conn` holds unsent. */
  private measure(conn: Connection): void {
    this.peaks.set(conn, 0);
    const record = (): void => {
      this.peaks.set(conn, Math.max(this.peaks.get(conn) ?? 0, conn.bufferedAmount));
    };
    const send = conn.send.bind(conn);
    conn.send = function sendAndMeasure(data, close) {
      const sent = send(data, close);
      record();
      return sent;
    };
    const ours = conn as Connection & { sendEncoded?: (message: EncodedMessage) => boolean };
    const sendEncoded = ours.sendEncoded?.bind(conn);
    if (sendEncoded !== undefined) {
      ours.sendEncoded = function sendEncodedAndMeasure(message) {
        const sent = sendEncoded(message);
        record();
        return sent;
      };
    } else if (conn.transport !== "http") {
      assert.fail(`a ${conn.transport} member writes broadcasts through sendEncoded, which this test measures`);
    }
  }

  broadcast(n: number): void {
    const text = payload(n);
    this.store.broadcastEncoded("room", text);
    for (const conn of [...this.streams]) conn.send(text, false);
  }
}

/** A client of `kind` that reads everything, keeping the text it got. */
async function reader(t: TestContext, base: string, kind: Kind): Promise<{ text: () => string }> {
  let text = "";
  if (kind === "websocket") {
    const ws = new WebSocket(`${base.replace(/^http/, "ws")}/room?who=reader-websocket`);
    t.after(() => ws.terminate());
    ws.on("message", (data: Buffer) => (text += data.toString("utf8")));
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    return { text: () => text };
  }
  const controller = new AbortController();
  t.after(() => controller.abort());
  const headers: Record<string, string> = kind === "sse" ? { accept: "text/event-stream" } : {};
  const response = await fetch(`${base}/room?who=reader-${kind}`, { headers, signal: controller.signal });
  const body = response.body;
  assert.ok(body !== null);
  void readAll(body.getReader(), (chunk) => (text += chunk));
  return { text: () => text };
}

async function readAll(stream: ReadableStreamDefaultReader<Uint8Array>, onText: (chunk: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  try {
    for (let chunk = await stream.read(); !chunk.done; chunk = await stream.read()) onText(decoder.decode(chunk.value, { stream: true }));
  } catch {
    // Aborted when the test ends.
  }
}

/** The request head of a member of `kind` that will never read its answer. */
function silentRequest(kind: Kind, port: number): string {
  const head = `GET /room?who=silent-${kind} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`;
  if (kind === "websocket") return `${head}Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${Buffer.from("slow consumer 16").toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
  if (kind === "sse") return `${head}Accept: text/event-stream\r\n\r\n`;
  return `${head}\r\n`;
}

function closeStatus(conn: Connection): Promise<CloseStatus> {
  return new Promise((resolve) => conn.onClose(resolve));
}

describe("a group member that never reads", TEST, () => {
  it("over WebSocket, SSE and an HTTP stream: at most the bound plus one payload held for each, each closed with 4008, and the readers of each transport get every payload in order", async (t) => {
    const room = new Room();
    const server = createServer({ maxBufferedBytes: BOUND, closeTimeout: 1_000 }).route("/room", room.handle);
    const handle = await server.listen();
    t.after(() => handle.close());
    const readers = new Map<Kind, { text: () => string }>();
    for (const kind of KINDS) readers.set(kind, await reader(t, handle.url, kind));
    const silent = new Map<Kind, Connection>();
    const closes = new Map<Kind, Promise<CloseStatus>>();
    for (const kind of KINDS) {
      nonReadingClient(t, handle.port, silentRequest(kind, handle.port));
      await until(() => room.byName.has(`silent-${kind}`), `the silent ${kind} member`);
      const conn = room.byName.get(`silent-${kind}`) as Connection;
      silent.set(kind, conn);
      closes.set(kind, closeStatus(conn));
    }
    assert.equal(room.store.members("room"), 4);

    let sent = 0;
    while ([...silent.values()].some((conn) => conn.isOpen) && sent < MAX_BROADCASTS) {
      room.broadcast(sent++);
      // A turn for the sockets to write, as a producer's loop would give them.
      await new Promise((resolve) => setImmediate(resolve));
    }
    for (const kind of KINDS) {
      const conn = silent.get(kind) as Connection;
      assert.equal(conn.isOpen, false, `the silent ${kind} member was not dropped after ${sent} payloads`);
      assert.deepEqual(await within(closes.get(kind) as Promise<CloseStatus>, `the silent ${kind} member's close`), { by: "server", code: 4008, reason: "slow consumer" }, kind);
      // One payload, and its SSE framing, past the bound at most.
      const peak = room.peaks.get(conn) ?? 0;
      assert.ok(peak <= BOUND + PAYLOAD_BYTES + 64, `${kind}: held ${peak} bytes (bound ${BOUND})`);
      // Measured where the broadcast wrote: the write that went past the bound was seen.
      if (kind !== "stream") assert.ok(peak > BOUND, `${kind}: the measure saw ${peak} bytes held, not past the bound ${BOUND}`);
    }
    assert.equal(room.store.members("room"), 2, "the dropped members left the group");
    const expected = Array.from({ length: sent }, (_, i) => i);
    for (const kind of KINDS) {
      const got = readers.get(kind) as { text: () => string };
      await until(() => numbersIn(got.text()).length >= sent, `the ${kind} reader's payloads`, 20_000);
      assert.deepEqual(numbersIn(got.text()), expected, `the ${kind} reader got every payload, once, in order`);
      assert.equal(room.byName.get(`reader-${kind}`)?.isOpen, true, `the ${kind} reader was never taken for a slow consumer`);
    }
  });
});
