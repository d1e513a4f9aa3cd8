import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { type Channel, chan, mix, type MixAttrs, onto, type SoloMode } from "../../src/index.js";
import { pollAll, settle, track } from "../helpers/async.js";

/**
 * Whether the mix is reading `input` right now: an unbuffered input accepts an offer only
 * while the mix has a take waiting on it. Leaves the event loop a few turns first.
 */
async function isRead(input: Channel<number>, value: number): Promise<boolean> {
  await settle();
  return input.offer(value);
}

function attrs(...entries: Array<[Channel<number>, MixAttrs]>): Map<Channel<number>, MixAttrs> {
  return new Map(entries);
}

describe("mix", () => {
  it("delivers the values of every input to out, each input's order kept", async () => {
    const out = chan<string>(100);
    const m = mix<string>(out);
    const a = chan<string>();
    const b = chan<string>();
    const c = chan<string>(5);
    m.admix(a);
    m.admix(b);
    m.admix(c);
    await Promise.all([onto(a, ["a1", "a2", "a3"], false), onto(b, ["b1", "b2"], false), onto(c, ["c1"], false)]);
    await settle();
    const got = pollAll(out);
    assert.deepEqual([...got].sort(), ["a1", "a2", "a3", "b1", "b2", "c1"]);
    assert.deepEqual(got.filter((v) => v.startsWith("a")), ["a1", "a2", "a3"]);
    assert.deepEqual(got.filter((v) => v.startsWith("b")), ["b1", "b2"]);
  });

  it("never closes out, even when every input closed", async () => {
    const out = chan<number>(10);
    const m = mix<number>(out);
    const a = chan<number>();
    m.admix(a);
    a.close();
    await settle();
    assert.equal(out.closed, false);
  });

  it("unmix removes an input (not closing it); the others stay", async () => {
    const out = chan<number>(10);
    const m = mix<number>(out);
    const a = chan<number>();
    const b = chan<number>();
    m.admix(a);
    m.admix(b);
    assert.equal(await isRead(a, 1), true);
    m.unmix(a);
    assert.equal(await isRead(a, 2), false, "a is no longer read");
    assert.equal(a.closed, false);
    assert.equal(await isRead(b, 3), true);
    await settle();
    assert.deepEqual(pollAll(out), [1, 3]);
  });

  it("unmixAll removes every input", async () => {
    const out = chan<number>(10);
    const m = mix<number>(out);
    const a = chan<number>();
    const b = chan<number>();
    m.admix(a);
    m.admix(b);
    assert.equal(await isRead(a, 1), true);
    m.unmixAll();
    assert.equal(await isRead(a, 2), false);
    assert.equal(await isRead(b, 3), false);
    m.admix(b);
    assert.equal(await isRead(b, 4), true, "the mix still works");
    await settle();
    assert.deepEqual(pollAll(out), [1, 4]);
  });

  it("mute: the input is read but its values are dropped", async () => {
    const out = chan<number>(10);
    const m = mix<number>(out);
    const a = chan<number>();
    const b = chan<number>();
    m.admix(a);
    m.admix(b);
    m.toggle(attrs([a, { mute: true }]));
    assert.equal(await isRead(a, 1), true, "a muted input is still read");
    assert.equal(await isRead(b, 2), true);
    assert.equal(await isRead(a, 3), true);
    await settle();
    assert.deepEqual(pollAll(out), [2]);
    m.toggle(attrs([a, { mute: false }]));
    assert.equal(await isRead(a, 4), true);
    await settle();
    assert.deepEqual(pollAll(out), [4]);
  });

  it("pause: the input is not read; its producer stays parked until unpaused", async () => {
    const out = chan<number>(10);
    const m = mix<number>(out);
    const a = chan<number>();
    const b = chan<number>();
    m.admix(a);
    m.admix(b);
    m.toggle(attrs([a, { pause: true }]));
    assert.equal(await isRead(a, 1), false);
    const parked = track(a.put(2));
    assert.equal(await isRead(b, 3), true, "other inputs still flow");
    await settle();
    assert.equal(parked.done, false, "the paused input's producer waits");
    assert.deepEqual(pollAll(out), [3]);
    m.toggle(attrs([a, { pause: false }]));
    await settle();
    assert.equal(parked.done, true);
    assert.deepEqual(pollAll(out), [2]);
  });

  it("solo (mode mute, the default): non-soloed inputs are read and dropped", async () => {
    const out = chan<number>(10);
    const m = mix<number>(out);
    const a = chan<number>();
    const b = chan<number>();
    const c = chan<number>();
    m.admix(a);
    m.admix(b);
    m.admix(c);
    m.toggle(attrs([a, { solo: true }], [c, { solo: true, mute: true }]));
    assert.equal(await isRead(a, 1), true);
    assert.equal(await isRead(b, 2), true, "a non-soloed input is still read");
    assert.equal(await isRead(c, 3), true);
    await settle();
    assert.deepEqual(pollAll(out).sort(), [1, 3], "b's value is dropped; a soloed input's mute is ignored");
    m.toggle(attrs([a, { solo: false }], [c, { solo: false }]));
    assert.equal(await isRead(b, 4), true);
    await settle();
    assert.deepEqual(pollAll(out), [4], "without solos, b is heard again");
  });

  it("solo with soloMode pause: non-soloed inputs are not read", async () => {
    const out = chan<number>(10);
    const m = mix<number>(out);
    const a = chan<number>();
    const b = chan<number>();
    m.admix(a);
    m.admix(b);
    m.soloMode("pause");
    m.toggle(attrs([a, { solo: true }]));
    assert.equal(await isRead(a, 1), true);
    assert.equal(await isRead(b, 2), false, "b is not read");
    const parked = track(b.put(3));
    await settle();
    assert.equal(parked.done, false);
    assert.deepEqual(pollAll(out), [1]);
    m.soloMode("mute");
    await settle();
    assert.equal(parked.done, true, "in mute mode b is read again...");
    assert.deepEqual(pollAll(out), [], "...and dropped");
    m.soloMode("pause");
    assert.equal(await isRead(b, 4), false);
    m.toggle(attrs([a, { solo: false }]));
    assert.equal(await isRead(b, 5), true, "no solo left: b is read and heard");
    await settle();
    assert.deepEqual(pollAll(out), [5]);
  });

  it("soloMode rejects a bad mode with a TypeError", () => {
    const m = mix<number>(chan<number>());
    assert.throws(() => m.soloMode("loud" as SoloMode), TypeError);
    assert.throws(() => m.soloMode(undefined as unknown as SoloMode), TypeError);
  });

  it("toggle merges attributes into the current ones", async () => {
    const out = chan<number>(10);
    const m = mix<number>(out);
    const a = chan<number>();
    m.admix(a);
    m.toggle(attrs([a, { mute: true }]));
    m.toggle(attrs([a, { pause: true }]));
    assert.equal(await isRead(a, 1), false, "paused");
    m.toggle(attrs([a, { pause: false }]));
    assert.equal(await isRead(a, 2), true);
    await settle();
    assert.deepEqual(pollAll(out), [], "still muted: the earlier toggle was kept");
    m.toggle(attrs([a, {}]));
    assert.equal(await isRead(a, 3), true);
    await settle();
    assert.deepEqual(pollAll(out), [], "an empty toggle changes nothing");
    m.toggle(attrs([a, { mute: false }]));
    assert.equal(await isRead(a, 4), true);
    await settle();
    assert.deepEqual(pollAll(out), [4]);
  });

  it("toggle admits a channel not yet in the mix, with the given attributes", async () => {
    const out = chan<number>(10);
    const m = mix<number>(out);
    const a = chan<number>();
    const b = chan<number>();
    m.toggle(attrs([a, { pause: true }], [b, {}]));
    assert.equal(await isRead(a, 1), false, "added paused");
    assert.equal(await isRead(b, 2), true, "added plain");
    m.toggle(attrs([a, { pause: false }]));
    assert.equal(await isRead(a, 3), true);
    await settle();
    assert.deepEqual(pollAll(out), [2, 3]);
  });

  it("an input that closes leaves the mix; the others keep flowing", async () => {
    const out = chan<number>(10);
    const m = mix<number>(out);
    const a = chan<number>(5);
    const b = chan<number>();
    m.admix(a);
    m.admix(b);
    await a.put(1);
    a.close();
    await settle();
    assert.equal((m as unknown as { inputs: Map<unknown, unknown> }).inputs.has(a), false);
    assert.equal(await isRead(b, 2), true);
    await settle();
    assert.deepEqual(pollAll(out).sort(), [1, 2], "a's buffered value was still mixed");
  });

  it("stops for good once out is closed", async () => {
    const out = chan<number>();
    const m = mix<number>(out);
    const a = chan<number>();
    m.admix(a);
    assert.equal(await isRead(a, 1), true, "read; its put on out waits for a taker");
    out.close();
    // The parked put of 1 on out stays parked (a closed channel still delivers parked puts).
    assert.equal(await out.take(), 1);
    assert.equal(await isRead(a, 2), true, "read, refused by the closed out: the mix stops");
    assert.equal(await isRead(a, 3), false, "no longer read");
    m.admix(chan<number>());
    assert.equal(await isRead(a, 4), false, "a change does not restart it");
    assert.equal(await out.take(), undefined);
  });

  it("property: every value of every heard input reaches out exactly once, in order per input", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({ values: fc.array(fc.integer(), { maxLength: 15 }), buf: fc.integer({ min: 0, max: 3 }), mute: fc.boolean() }),
          { maxLength: 5 },
        ),
        async (inputs) => {
          const out = chan<{ i: number; v: number }>(1000);
          const m = mix<{ i: number; v: number }>(out);
          const chs = inputs.map((input) => chan<{ i: number; v: number }>(input.buf));
          m.toggle(new Map(chs.map((ch, i) => [ch, { mute: inputs[i]?.mute ?? false }])));
          await Promise.all(chs.map((ch, i) => onto(ch, (inputs[i]?.values ?? []).map((v) => ({ i, v })))));
          await settle();
          const got = pollAll(out);
          inputs.forEach((input, i) => {
            assert.deepEqual(
              got.filter((x) => x.i === i).map((x) => x.v),
              input.mute ? [] : input.values,
            );
          });
        },
      ),
      { numRuns: 50 },
    );
  });
});
