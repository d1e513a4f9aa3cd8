import assert from "node:assert/strict";
import { connect } from "node:net";
import { describe, it, mock } from "node:test";
import { EventSource } from "eventsource";
import { chan, droppingBuffer, mult, slidingBuffer } from "../../src/index.js";
import { type CloseStatus, serveChannel } from "../../src/server/index.js";
import { settle, track, until, within } from "../helpers/async.js";
import { serverHandles } from "../helpers/server.js";
import { ForeignFixedBuffer, IdReader, recordingCloses, seqOf, StalledClient, upTo, withoutEpochs } from "../helpers/sse-feed.js";

const { serve } = serverHandles();

/** Collects `n` message events (data and the place their id names) from an EventSource. */
function collect(es: EventSource, n: number): Promise<Array<{ data: string; id: number }>> {
  return new Promise((resolve) => {
    const got: Array<{ data: string; id: number }> = [];
    es.addEventListener("message", function onMessage(event: MessageEvent) {
      got.push({ data: String(event.data), id: seqOf(event.lastEventId) });
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

/** About 64 KiB of JSON: one event fills a socket's high-water mark, a few dozen the kernel's buffers. */
const BIG = "x".repeat(64 * 1024);
/** About 4 KiB of JSON. */
const SMALL = "x".repeat(4 * 1024);

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
        { data: '"It works!"', id: 0 },
        { data: '{"n":1}', id: 1 },
        { data: '"two"', id: 2 },
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
    assert.equal(withoutEpochs(await res.text()), "id: 1\ndata: 1\n\nid: 2\ndata: 2\n\n");
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
      assert.deepEqual(await got, [{ data: '"for the second client"', id: 1 }]);
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
      assert.equal(withoutEpochs(await res.text()), 'id: 1\ndata: "fine"\n\n');
      assert.equal(errors.mock.callCount(), 1);
    } finally {
      errors.mock.restore();
    }
  });

  it("reports a value its encoder cannot encode to its logger option, not the console", async () => {
    const errors = mock.method(console, "error", () => {});
    try {
      const lines: string[] = [];
      const source = chan<unknown>(4);
      const handle = await serve(serveChannel(source, { logger: { error: (message) => lines.push(message), warn: () => undefined } }));
      await source.put(10n);
      await source.put("fine");
      source.close();
      const res = await fetch(handle.url, { headers: { accept: "text/event-stream" } });
      assert.equal(withoutEpochs(await res.text()), 'id: 1\ndata: "fine"\n\n');
      assert.equal(lines.length, 1, "one line to the logger");
      assert.match(lines[0] ?? "", /could not encode/);
      assert.equal(errors.mock.callCount(), 0, "nothing on the console");
    } finally {
      errors.mock.restore();
    }
  });

  it("a mult, fixed tap buffer: a client that stops reading holds the producer back; the others get everything once it leaves", async (t) => {
    const source = chan<string>();
    // Held for as long as it stays: what this test looks at is the back-pressure itself.
    const handle = await serve(serveChannel(mult(source), { tapBuffer: 4, slowClientTimeout: Infinity }));
    const fast = await IdReader.open(handle.url);
    const slow = await StalledClient.open(t, handle.port);
    let held: { put: Promise<boolean>; at: number } | null = null;
    for (let at = 1; at < 256 && held === null; at++) {
      const put = source.put(BIG);
      const state = track(put);
      // Of the values taken before this one, at most two wait between the producer and the
      // fan-out (the mult's put and the handler's tap): once the fast client has the rest, it
      // holds at most those two queued, within its buffer of 4, so it holds nothing back.
      await fast.waitFor(at - 3, `the fast client fell behind at value ${at}`);
      await settle(10);
      if (!state.done) held = { put, at };
    }
    // The slow client's kernel buffers, one high-water mark and its 4 queued values: a few MiB.
    assert.ok(held !== null, "the producer was not held back: 255 values of 64 KiB taken");
    await fast.waitFor(held.at - 3, "the fast client did not get what the fan-out passed on");
    await settle(10);
    assert.equal(track(held.put).done, false, "the producer went on while the slow client was still stuck");
    slow.socket.destroy();
    await within(held.put, () => `value ${held.at} still waits after the slow client left`);
    await within(source.put("after"), () => "the producer is held back after the slow client left");
    await fast.waitFor(held.at + 1, "the fast client did not get every value");
    assert.deepEqual(fast.ids, upTo(held.at + 1), "the fast client missed values or got them out of order");
    source.close();
    await within(fast.ended, () => "the fast client's response did not end when the source closed");
  });

  it("a mult, fixed tap buffer (the default): a client stuck past slowClientTimeout stops holding the feed, and is dropped as a slow reader", async (t) => {
    const source = chan<string>();
    const statuses: CloseStatus[] = [];
    // A small maxBufferedBytes: once the feed no longer waits for it, the stuck client's
    // connection passes it soon. Not too small, and a timeout well above a loaded machine's
    // pauses: the reading client must never look stuck itself (with 50 ms and 256 KiB it was
    // let go and dropped when the whole suite ran on two cores).
    const feed = recordingCloses(serveChannel(mult(source), { slowClientTimeout: 1_000 }), statuses);
    const handle = await serve(feed, { maxBufferedBytes: 1024 * 1024 });
    const reader = await IdReader.open(handle.url);
    const stuck = await StalledClient.open(t, handle.port);
    // 5,000 × 4 KiB (20 MiB): more than the stuck client's kernel buffers (a few MiB), its
    // queue of 256 and maxBufferedBytes together, so the producer would stall without the fix.
    const total = 5_000;
    for (let i = 1; i <= total; i++) {
      await within(source.put(SMALL), () => `value ${i}: the producer is stalled (the reader has ${reader.ids.length} values)`);
    }
    await reader.waitFor(total, "the reading client did not get every value");
    assert.deepEqual(reader.ids, upTo(total), "the reading client missed values or got them out of order");
    await until(() => statuses.length > 0, "the stuck client to be dropped");
    assert.deepEqual(statuses, [{ by: "server", code: 4008, reason: "slow consumer" }], "only the stuck client is closed, as a slow consumer");
    // What it got before it was dropped is the start of the feed, in order. Its stream was
    // ended behind its backlog, or cut if it had not read that within a second (it reads only
    // now): an EventSource reconnects after either.
    const got = await stuck.readUntilClosed();
    assert.deepEqual(got.ids, upTo(got.ids.length), "the stuck client got values out of order");
    assert.ok(got.ids.length < total, "the stuck client got everything: it was never dropped");
    source.close();
    await within(reader.ended, () => "the reading client's response did not end when the source closed");
  });

  for (const { policy, tapBuffer } of [
    { policy: "sliding", tapBuffer: slidingBuffer<unknown>(2) },
    { policy: "dropping", tapBuffer: droppingBuffer<unknown>(2) },
  ]) {
    it(`a mult, ${policy} tap buffer: a client that stops reading misses values and never holds the others back`, async (t) => {
      const source = chan<string>();
      const handle = await serve(serveChannel(mult(source), { tapBuffer }));
      const fast = await IdReader.open(handle.url);
      const slow = await StalledClient.open(t, handle.port);
      // 300 × 64 KiB: far more than the stalled client's kernel buffers take.
      const total = 300;
      for (let i = 1; i <= total; i++) {
        await within(source.put(BIG), () => `value ${i}: the producer was held back`);
        // The fast client keeps up, so its own buffer of 2 never drops anything.
        await fast.waitFor(i, `the fast client did not get value ${i}`);
      }
      source.close();
      await within(fast.ended, () => "the fast client's response did not end when the source closed");
      assert.deepEqual(fast.ids, upTo(total), "the fast client missed values or got them out of order");
      const got = await slow.readToEnd(); // its queue is written, then its response ends
      assert.ok(got.length < total, `the stalled client missed nothing (${got.length} events)`);
      for (let i = 1; i < got.length; i++) assert.ok((got[i] as number) > (got[i - 1] as number), `ids out of order: ${got.join(",")}`);
      if (policy === "sliding") {
        assert.deepEqual(got.slice(-2), [total - 1, total], "a sliding buffer keeps the newest values");
      } else {
        assert.ok(!got.includes(total), "a dropping buffer drops the newest values while full");
      }
    });
  }

  it("a mult: a client leaving mid-feed removes only itself", async () => {
    const source = chan<number>();
    const handle = await serve(serveChannel(mult(source), { tapBuffer: 1 }));
    const leaving = new AbortController();
    const a = await IdReader.open(handle.url);
    const b = await IdReader.open(handle.url, { signal: leaving.signal });
    const c = await IdReader.open(handle.url);
    for (let i = 1; i <= 20; i++) {
      if (i === 8) leaving.abort();
      await within(source.put(i), () => `value ${i}: the producer is held back (by the client that left?)`);
    }
    await a.waitFor(20, "a client that stayed missed values");
    await c.waitFor(20, "a client that stayed missed values");
    assert.deepEqual(a.ids, upTo(20));
    assert.deepEqual(c.ids, upTo(20));
    assert.deepEqual(b.ids, upTo(b.ids.length), "the client that left got values out of order");
    // Joining after the others: the next values, numbered on.
    const d = await IdReader.open(handle.url);
    await within(source.put(21), () => "the producer is held back after a client left");
    await d.waitFor(1, "a client that joined later got nothing");
    assert.deepEqual(d.ids, [21]);
    source.close();
    await within(Promise.all([a.ended, c.ended, d.ended]), () => "a response did not end when the source closed");
  });

  it("a mult that has closed: a client gets its initial values, then the response ends", async () => {
    const source = chan<number>();
    const feed = serveChannel(mult(source), { initial: () => ["hello"] });
    source.close();
    await settle(3);
    const handle = await serve(feed);
    // The first client makes the handler's tap (closed at once), the second finds the feed over.
    for (const which of ["first", "second"]) {
      const res = await fetch(handle.url, { headers: { accept: "text/event-stream" } });
      assert.equal(await within(res.text(), () => `the ${which} response did not end`), 'data: "hello"\n\n');
    }
  });

  it("a mult with a Buffer of another kind: a tap per client, fed in order", async () => {
    const source = chan<number>();
    const handle = await serve(serveChannel(mult(source), { tapBuffer: new ForeignFixedBuffer(8) }));
    const client = await IdReader.open(handle.url);
    for (let i = 1; i <= 5; i++) await within(source.put(i), () => `value ${i} was not taken`);
    source.close();
    await within(client.ended, () => "the response did not end when the source closed");
    assert.deepEqual(client.ids, upTo(5));
  });

  it("a mult: a tapBuffer that is neither 0 nor a positive integer is refused at once", () => {
    const m = mult(chan<number>());
    for (const tapBuffer of [-1, 1.5, Number.NaN]) {
      assert.throws(() => serveChannel(m, { tapBuffer }), { name: "RangeError", code: "ERR_BUFFER_SIZE" });
    }
  });
});
