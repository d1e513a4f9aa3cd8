import assert from "node:assert/strict";
import { connect } from "node:net";
import { describe, it, mock } from "node:test";
import { EventSource } from "eventsource";
import { chan, mult } from "../../src/index.js";
import { serveChannel } from "../../src/server/index.js";
import { settle } from "../helpers/async.js";
import { serverHandles } from "../helpers/server.js";

const { serve } = serverHandles();

/** Collects `n` message events (data and id) from an EventSource. */
function collect(es: EventSource, n: number): Promise<Array<{ data: string; id: string }>> {
  return new Promise((resolve) => {
    const got: Array<{ data: string; id: string }> = [];
    es.addEventListener("message", function onMessage(event: MessageEvent) {
      got.push({ data: String(event.data), id: event.lastEventId });
      if (got.length === n) {
        es.removeEventListener("message", onMessage);
        resolve(got);
      }
    });
  });
}

function opened(es: EventSource): Promise<void> {
  return new Promise((resolve, reject) => {
    es.addEventListener("open", () => resolve(), { once: true });
    es.addEventListener("error", () => reject(new Error("EventSource failed")), { once: true });
  });
}

describe("serveChannel", { timeout: 20_000 }, () => {
  it("serves a mult: every client gets the initial values, then every value, JSON-encoded with increasing ids, framed once", async () => {
    const source = chan<unknown>();
    const m = mult(source);
    const handle = await serve(serveChannel(m, { initial: () => ["It works!"], tapBuffer: 1 }));
    const a = new EventSource(handle.url);
    const b = new EventSource(handle.url);
    try {
      const gotA = collect(a, 3);
      const gotB = collect(b, 3);
      // A client's tap exists before its stream's head can reach it.
      await Promise.all([opened(a), opened(b)]);
      await source.put({ n: 1 });
      await source.put("two");
      // `initial` values carry no id; feed ids come from one sequence for every client.
      const expected = [
        { data: '"It works!"', id: "" },
        { data: '{"n":1}', id: "1" },
        { data: '"two"', id: "2" },
      ];
      assert.deepEqual(await gotA, expected);
      assert.deepEqual(await gotB, expected);
    } finally {
      a.close();
      b.close();
    }
    // Both clients left: their taps (buffer 1, nobody reading) must be gone, or these puts
    // would wait for them forever.
    await settle(10);
    for (let i = 0; i < 5; i++) await source.put(i);
    source.close();
  });

  it("ends the response when the channel closes, and answers 406 to a non-SSE request", async () => {
    const source = chan<number>(4);
    const handle = await serve(serveChannel(source));
    const plain = await fetch(handle.url);
    assert.equal(plain.status, 406);
    await plain.text();
    await source.put(1);
    await source.put(2);
    source.close();
    const res = await fetch(handle.url, { headers: { accept: "text/event-stream" } });
    assert.equal(res.headers.get("content-type"), "text/event-stream; charset=utf-8");
    assert.equal(await res.text(), "id: 1\ndata: 1\n\nid: 2\ndata: 2\n\n");
  });

  it("a shared channel: a client that leaves while waiting does not swallow the next value", async () => {
    const source = chan<string>();
    const handle = await serve(serveChannel(source));
    const leaving = new AbortController();
    const first = await fetch(handle.url, { headers: { accept: "text/event-stream" }, signal: leaving.signal });
    await settle(3); // its feed is now parked on a take
    leaving.abort();
    await first.body?.cancel().catch(() => {});
    await settle(5);
    const second = new EventSource(handle.url);
    try {
      const got = collect(second, 1);
      await opened(second);
      await source.put("for the second client");
      assert.deepEqual(await got, [{ data: '"for the second client"', id: "1" }]);
    } finally {
      second.close();
    }
  });

  it("a reader that stops reading stops the producer instead of growing a queue", async () => {
    const source = chan<string>();
    const handle = await serve(serveChannel(source), { maxBufferedBytes: 64 * 1024 * 1024 });
    const socket = connect(handle.port, "127.0.0.1");
    socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
    socket.pause(); // never read: the kernel buffers fill, then node's
    const big = "x".repeat(64 * 1024);
    let accepted = 0;
    let refusedInARow = 0;
    // Offer until the feed stops taking: every offer succeeds only while a take is waiting.
    for (let i = 0; i < 2_000 && refusedInARow < 50; i++) {
      if (source.offer(big)) {
        accepted++;
        refusedInARow = 0;
      } else {
        refusedInARow++;
      }
      await settle(1);
    }
    socket.destroy();
    assert.ok(refusedInARow >= 50, `the feed kept taking: ${accepted} values of 64 KiB accepted`);
    // Only what the kernel's socket buffers and one high-water mark hold got through (a few
    // MiB); without waiting for drain the feed would take until maxBufferedBytes (64 MiB).
    assert.ok(accepted < 256, `the producer was not held back: ${accepted} values of 64 KiB taken`);
  });

  it("skips a value its encoder cannot encode and keeps serving", async () => {
    const errors = mock.method(console, "error", () => {});
    try {
      const source = chan<unknown>(4);
      const handle = await serve(serveChannel(source));
      await source.put(10n); // JSON.stringify throws on a BigInt
      await source.put("fine");
      source.close();
      const res = await fetch(handle.url, { headers: { accept: "text/event-stream" } });
      assert.equal(await res.text(), 'id: 1\ndata: "fine"\n\n');
      assert.equal(errors.mock.callCount(), 1);
    } finally {
      errors.mock.restore();
    }
  });
});
