// serveChannel's history: a client that reconnects with Last-Event-ID gets what it missed,
// or a wirechan-reset event when that is gone or the id is not the feed's. Real HTTP requests
// on 127.0.0.1.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { chan, type Channel, mult } from "../../src/index.js";
import { type CloseStatus, serveChannel, type ServerHandle } from "../../src/server/index.js";
import { until, within } from "../helpers/async.js";
import { serverHandles } from "../helpers/server.js";
import { epochOf, ForeignFixedBuffer, IdReader, recordingCloses } from "../helpers/sse-feed.js";

const { serve } = serverHandles();

/** from, from + 1, … to. */
function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** Puts `values` one after the other, each within a bound. */
async function putAll(source: Channel<unknown, unknown>, values: readonly unknown[]): Promise<void> {
  for (const value of values) await within(source.put(value), () => `the feed did not take ${JSON.stringify(value)}`);
}

/**
 * A client that read the first `count` values of a feed and went away: its last id, as its
 * EventSource would send it back. The feed's values are `1 … count`, put here.
 */
async function clientThatLeft(handle: ServerHandle, source: Channel<unknown, unknown>, count: number): Promise<string> {
  const leaving = new AbortController();
  const client = await IdReader.open(handle.url, { signal: leaving.signal });
  await putAll(source, range(1, count));
  await client.waitFor(count, "the first client did not get its values");
  leaving.abort();
  await client.ended;
  return client.lastId;
}

describe("serveChannel history (Last-Event-ID)", { timeout: 20_000 }, () => {
  it("a client that reconnects gets exactly the events it missed, in order, then the live feed", async () => {
    const source = chan<number>();
    const handle = await serve(serveChannel(mult(source)));
    const lastId = await clientThatLeft(handle, source, 5);
    // Nobody is connected now: these are kept for a client that comes back.
    await putAll(source, range(6, 10));
    const back = await IdReader.open(handle.url, { lastEventId: lastId });
    await putAll(source, [11, 12]);
    await back.waitFor(7, "the client that came back did not get what it missed and the live feed");
    assert.deepEqual(back.ids, range(6, 12));
    assert.deepEqual(back.resets, []);
    // One that missed nothing gets nothing twice.
    const current = await IdReader.open(handle.url, { lastEventId: back.lastId });
    await putAll(source, [13]);
    await current.waitFor(1, "the client that missed nothing did not get the next value");
    assert.deepEqual(current.ids, [13]);
    source.close();
    await within(Promise.all([back.ended, current.ended]), () => "a response did not end when the source closed");
    assert.deepEqual(back.ids, range(6, 13));
  });

  it("reconnecting while the producer goes on: no event is lost or repeated at the seam", async () => {
    const source = chan<number>();
    // A history longer than the feed: however late the request arrives, nothing it missed is gone.
    const handle = await serve(serveChannel(mult(source), { history: 1_000 }));
    const staying = await IdReader.open(handle.url);
    const leaving = new AbortController();
    const left = await IdReader.open(handle.url, { signal: leaving.signal });
    const total = 600;
    let back: Promise<IdReader> | null = null;
    for (let i = 1; i <= total; i++) {
      await within(source.put(i), () => `value ${i} was not taken`);
      if (i === 100) {
        await left.waitFor(100, "the client that leaves did not get its values");
        leaving.abort();
      }
      // Not awaited: the client joins while values keep coming.
      if (i === 200) back = IdReader.open(handle.url, { lastEventId: left.lastId });
    }
    assert.ok(back !== null);
    const client = await back;
    await client.waitFor(total - 100, "the client that came back missed values");
    await staying.waitFor(total, "the client that stayed missed values");
    assert.deepEqual(client.ids, range(101, total));
    assert.deepEqual(client.resets, []);
    source.close();
  });

  it("an id older than the history: a wirechan-reset event, then every kept event, then the live feed", async () => {
    const source = chan<number>();
    const handle = await serve(serveChannel(mult(source), { history: 4 }));
    const lastId = await clientThatLeft(handle, source, 3);
    const epoch = epochOf(lastId);
    await putAll(source, range(4, 10)); // 10 events: 7 … 10 kept
    const back = await IdReader.open(handle.url, { lastEventId: lastId });
    // The reset's id is just before what follows: reconnecting from it gets no second reset.
    const again = await IdReader.open(handle.url, { lastEventId: `${epoch}-6` });
    await putAll(source, [11]);
    await back.waitFor(5, "the client that came back did not get the kept events and the live feed");
    assert.deepEqual(back.resets, [{ id: `${epoch}-6`, data: { reason: "expired", resumesFrom: `${epoch}-7` }, after: 0 }]);
    assert.deepEqual(back.ids, range(7, 11));
    await again.waitFor(5, "reconnecting from the reset's id did not resume there");
    assert.deepEqual(again.resets, []);
    assert.deepEqual(again.ids, range(7, 11));
    source.close();
  });

  it("the history is bounded by bytes too: filled past historyBytes it keeps only the newest events", async () => {
    const source = chan<string>();
    const value = "x".repeat(1000); // an event of about 1,030 bytes
    const handle = await serve(serveChannel(mult(source), { history: 100, historyBytes: 3 * 1100 }));
    const leaving = new AbortController();
    const first = await IdReader.open(handle.url, { signal: leaving.signal });
    await putAll(source, [value]);
    await first.waitFor(1, "the first client got nothing");
    leaving.abort();
    await first.ended;
    await putAll(source, Array.from({ length: 50 }, () => value)); // 51 events: 3 fit
    const epoch = epochOf(first.lastId);
    const back = await IdReader.open(handle.url, { lastEventId: first.lastId });
    await back.waitFor(3, "the client that came back did not get the kept events");
    assert.deepEqual(back.resets.map((reset) => reset.data), [{ reason: "expired", resumesFrom: `${epoch}-49` }]);
    assert.deepEqual(back.ids, range(49, 51));
    source.close();
    await within(back.ended, () => "the response did not end when the source closed");
  });

  it("history 0 keeps nothing: a client that missed events is told so, one that missed none is not", async () => {
    const source = chan<number>();
    const handle = await serve(serveChannel(mult(source), { history: 0 }));
    const lastId = await clientThatLeft(handle, source, 2);
    const epoch = epochOf(lastId);
    const current = await IdReader.open(handle.url, { lastEventId: lastId });
    await putAll(source, [3]);
    await current.waitFor(1, "the client that missed nothing got nothing");
    assert.deepEqual(current.resets, []);
    const behind = await IdReader.open(handle.url, { lastEventId: lastId });
    await putAll(source, [4]);
    await behind.waitFor(1, "the client that missed an event got nothing");
    assert.deepEqual(behind.resets.map((reset) => reset.data), [{ reason: "expired", resumesFrom: `${epoch}-4` }]);
    assert.deepEqual(behind.ids, [4]);
    source.close();
  });

  it("an id that is not the feed's (another process, a restart, garbage, the future): a wirechan-reset event, never silence", async () => {
    // The same feed before and after a restart: the second handler numbers from 1 again.
    const before = chan<number>();
    const beforeHandle = await serve(serveChannel(mult(before)));
    const oldId = await clientThatLeft(beforeHandle, before, 3);
    const source = chan<number>();
    const handle = await serve(serveChannel(mult(source)));
    const ownId = await clientThatLeft(handle, source, 5); // 5 events, past the old id's 3
    const epoch = epochOf(ownId);
    assert.notEqual(epochOf(oldId), epoch);
    let next = 6;
    for (const lastEventId of [oldId, "banana", "3", `${epoch}-99`, `${epoch}-x`, `${epoch}-`]) {
      const client = await IdReader.open(handle.url, { lastEventId });
      await putAll(source, [next]);
      await client.waitFor(next, `the client with Last-Event-ID ${lastEventId} did not get the kept events and the live one`);
      assert.deepEqual(
        client.resets,
        [{ id: `${epoch}-0`, data: { reason: "unknown", resumesFrom: `${epoch}-1` }, after: 0 }],
        `Last-Event-ID ${lastEventId}`,
      );
      assert.deepEqual(client.ids, range(1, next), `Last-Event-ID ${lastEventId}`);
      next++;
    }
    before.close();
    source.close();
  });

  it("a plain channel keeps no history: Last-Event-ID is ignored, each value still goes to one client", async () => {
    const source = chan<number>(8);
    const statuses: CloseStatus[] = [];
    const handle = await serve(recordingCloses(serveChannel(source), statuses));
    const lastId = await clientThatLeft(handle, source, 2);
    // Until the server has seen it go, the client that left still takes values (and loses them).
    await until(() => statuses.length === 1, "the server to see the first client go");
    await putAll(source, [3, 4]);
    source.close();
    const back = await IdReader.open(handle.url, { lastEventId: lastId });
    await within(back.ended, () => "the response did not end when the source closed");
    assert.deepEqual(back.ids, [3, 4]);
    assert.deepEqual(back.resets, []);
  });

  it("a feed that has ended: a client that comes back gets what it missed, then the response ends", async () => {
    const source = chan<number>();
    const handle = await serve(serveChannel(mult(source)));
    const lastId = await clientThatLeft(handle, source, 2);
    await putAll(source, [3, 4]);
    source.close();
    const back = await IdReader.open(handle.url, { lastEventId: lastId });
    await within(back.ended, () => "the response did not end");
    assert.deepEqual(back.ids, [3, 4]);
  });

  it("a mult with a Buffer of another kind: a client that comes back gets what it missed, once each", async () => {
    const source = chan<number>();
    const handle = await serve(serveChannel(mult(source), { tapBuffer: new ForeignFixedBuffer(2) }));
    const lastId = await clientThatLeft(handle, source, 3);
    await putAll(source, range(4, 6));
    const back = await IdReader.open(handle.url, { lastEventId: lastId });
    await putAll(source, range(7, 9));
    source.close();
    await within(back.ended, () => "the response did not end when the source closed");
    assert.deepEqual(back.ids, range(4, 9));
  });

  it("a history, historyBytes or slowClientTimeout out of range is refused at once", () => {
    const m = mult(chan<number>());
    for (const history of [-1, 1.5, Number.NaN]) {
      assert.throws(() => serveChannel(m, { history }), { name: "RangeError", code: "ERR_BUFFER_SIZE" });
      assert.throws(() => serveChannel(m, { historyBytes: history }), { name: "RangeError", code: "ERR_BUFFER_SIZE" });
    }
    for (const slowClientTimeout of [-1, Number.NaN, 2 ** 31, -Infinity]) {
      assert.throws(() => serveChannel(m, { slowClientTimeout }), { name: "RangeError", code: "ERR_TIMEOUT_DELAY" });
    }
  });
});
