// A proxy's puts in flight (src/wire/remote-channel.ts), against a host that answers when the
// test says: each answer settles its own put whatever the order answers come in, a session
// that ends settles every put `false` in the order they were sent, and a proxy awaiting each
// put keeps it in two fields, never in a Map (one set and delete per put made a Map rebuild its
// table every few puts). Counted, not timed.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { type ProxyHost, RemoteChannel } from "../../src/wire/remote-channel.js";

/** A host with credit for everything: each put gets the next sequence number. */
class AnsweringHost implements ProxyHost {
  seq = 0;
  encodePut(_target: string, value: unknown): unknown {
    return value;
  }
  encodePreEncodedPut(): unknown {
    throw new Error("not used");
  }
  sendPut(): number {
    return ++this.seq;
  }
  released(): void {}
  discard(): void {}
}

/** What `promise` settled with, in the order the settlements were seen. */
function recorder(): { seen: string[]; note: (name: string, promise: Promise<boolean>) => void } {
  const seen: string[] = [];
  return { seen, note: (name, promise) => void promise.then((ok) => seen.push(`${name}:${ok}`)) };
}

/** A proxy on an answering host with puts of 1 to `count` made, each settlement noted (as `recorder`). */
function proxyWithPuts(count: number): { proxy: RemoteChannel<number>; seen: string[]; note: (name: string, promise: Promise<boolean>) => void } {
  const proxy = new RemoteChannel<number>(new AnsweringHost(), "n:x");
  const { seen, note } = recorder();
  for (let i = 1; i <= count; i++) note(String(i), proxy.put(i));
  return { proxy, seen, note };
}

/** Counts Map.prototype.set calls made while the test runs (the host above uses no Map). */
function countMapSets(t: TestContext): () => number {
  let sets = 0;
  const original = Map.prototype.set;
  Map.prototype.set = function countedSet(this: Map<unknown, unknown>, key: unknown, value: unknown) {
    sets++;
    return original.call(this, key, value);
  };
  t.after(() => {
    Map.prototype.set = original;
  });
  return () => sets;
}

describe("remote channel: puts in flight", () => {
  it("answers in any order settle their own puts", async () => {
    const { proxy, seen } = proxyWithPuts(4);
    proxy.settle(3, false);
    proxy.settle(1, true);
    proxy.settle(4, true);
    // An answer to a put that is not in flight changes nothing.
    proxy.settle(1, false);
    proxy.settle(9, false);
    proxy.settle(2, true);
    await Promise.resolve();
    assert.deepStrictEqual(seen, ["3:false", "1:true", "4:true", "2:true"]);
  });

  it("the session ends: every put in flight resolves false, in the order they were sent", async () => {
    const { proxy, seen, note } = proxyWithPuts(3);
    // The first goes: the next put takes the free slot while 2 and 3 are still in flight.
    proxy.settle(1, true);
    note("4", proxy.put(4));
    note("5", proxy.put(5));
    proxy.shut(true);
    await Promise.resolve();
    assert.deepStrictEqual(seen, ["1:true", "2:false", "3:false", "4:false", "5:false"]);
    assert.equal(proxy.closed, true);
  });

  it("a proxy awaiting each put keeps it without a Map; a second put in flight is the first to use one", async (t) => {
    const host = new AnsweringHost();
    const proxy = new RemoteChannel<number>(host, "n:x");
    const sets = countMapSets(t);
    for (let n = 0; n < 1000; n++) {
      const put = proxy.put(n);
      proxy.settle(host.seq, true);
      assert.equal(await put, true);
    }
    assert.equal(sets(), 0, "1000 puts, one at a time: no Map entry");
    const first = proxy.put(1000);
    const second = proxy.put(1001);
    assert.equal(sets(), 1, "the second put in flight is kept in a Map");
    proxy.settle(host.seq, true);
    proxy.settle(host.seq - 1, true);
    assert.deepStrictEqual(await Promise.all([first, second]), [true, true]);
  });
});
