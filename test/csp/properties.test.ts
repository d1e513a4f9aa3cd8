import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { alts, chan, type Channel, droppingBuffer, promiseChan, slidingBuffer } from "../../src/index.js";

// Every run below is bounded: producers put a finite number of values, the channel is always
// closed, and consumers take until `undefined`. A schedule that deadlocked would leave no timer
// or I/O behind, so node:test would fail it ("event loop has already resolved") instead of hanging.

type Kind = "unbuffered" | "fixed" | "dropping" | "sliding";

interface BufferSpec {
  kind: Kind;
  n: number;
}

function makeChannel(spec: BufferSpec): Channel<number> {
  switch (spec.kind) {
    case "unbuffered":
      return chan<number>();
    case "fixed":
      return chan<number>(spec.n);
    case "dropping":
      return chan<number>(droppingBuffer(spec.n));
    case "sliding":
      return chan<number>(slidingBuffer(spec.n));
  }
}

/**
 * One step of an actor's schedule: 0 runs on at once, 1..3 yield that many microtasks, 4 yields
 * a macrotask (setImmediate), so actors interleave in many different ways.
 */
async function pause(step: number): Promise<void> {
  if (step >= 4) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    return;
  }
  for (let i = 0; i < step; i++) await Promise.resolve();
}

/** An actor's pauses, read round and round from its generated array. */
function pacer(steps: readonly number[]): () => Promise<void> {
  let i = 0;
  return () => pause(steps.length === 0 ? 0 : (steps[i++ % steps.length] as number));
}

const stepsArb = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 8 });

/** Producer `p`'s `s`-th value. */
const encode = (p: number, s: number): number => p * 1000 + s;
const producerOf = (v: number): number => Math.floor(v / 1000);
const seqOf = (v: number): number => v % 1000;

/** Asserts that, in each consumer's own sequence, every producer's values are increasing. */
function assertPerProducerOrder(perConsumer: readonly (readonly number[])[]): void {
  for (const [c, seq] of perConsumer.entries()) {
    const last = new Map<number, number>();
    for (const v of seq) {
      const p = producerOf(v);
      const prev = last.get(p);
      assert.ok(prev === undefined || seqOf(v) > prev, `consumer ${c} got ${v} after ${p}:${String(prev)}`);
      last.set(p, seqOf(v));
    }
  }
}

function assertNoDuplicates(values: readonly number[]): void {
  const seen = new Set<number>();
  for (const v of values) {
    assert.ok(!seen.has(v), `value ${v} received twice`);
    seen.add(v);
  }
}

type ConsumerStyle = "take" | "iterate" | "poll" | "alts";

async function consume(ch: Channel<number>, style: ConsumerStyle, pace: () => Promise<void>, out: number[]): Promise<void> {
  if (style === "iterate") {
    for await (const v of ch) {
      out.push(v);
      await pace();
    }
    return;
  }
  for (;;) {
    await pace();
    let v: number | undefined;
    if (style === "take") v = await ch.take();
    else if (style === "alts") v = (await alts([ch])).value as number | undefined;
    else {
      v = ch.poll();
      // poll gives undefined both for "nothing now" and "closed"; take tells them apart.
      if (v === undefined) v = await ch.take();
    }
    if (v === undefined) return;
    out.push(v);
  }
}

const scheduleArb = fc.record({
  buffer: fc.record({
    kind: fc.constantFrom<Kind>("unbuffered", "fixed", "dropping", "sliding"),
    n: fc.integer({ min: 1, max: 4 }),
  }),
  producers: fc.array(fc.record({ count: fc.integer({ min: 0, max: 12 }), steps: stepsArb }), {
    minLength: 1,
    maxLength: 4,
  }),
  consumers: fc.array(
    fc.record({ style: fc.constantFrom<ConsumerStyle>("take", "iterate", "poll", "alts"), steps: stepsArb }),
    { minLength: 1, maxLength: 3 },
  ),
  // Close after the closer's own pauses (possibly while producers still run), or once every
  // producer is done.
  close: fc.oneof(
    fc.record({ when: fc.constant("early" as const), steps: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 30 }) }),
    fc.record({ when: fc.constant("after-producers" as const) }),
  ),
});

describe("properties: random schedules of producers, consumers and closes", () => {
  it("puts made while open are accepted, nothing accepted is lost (unbuffered, fixed), nothing is duplicated, refused values never arrive, each producer's order holds", async () => {
    await fc.assert(
      fc.asyncProperty(scheduleArb, async (schedule) => {
        const ch = makeChannel(schedule.buffer);
        const accepted = new Set<number>();
        const refused = new Set<number>();

        const producers = schedule.producers.map(async ({ count, steps }, p) => {
          const pace = pacer(steps);
          for (let s = 0; s < count; s++) {
            await pace();
            const v = encode(p, s);
            const openAtPut = !ch.closed;
            const ok = await ch.put(v);
            (ok ? accepted : refused).add(v);
            // A put made while the channel is open is accepted, at once or (parked) later: a
            // close does not cancel parked puts. A put made after the close is refused.
            assert.equal(ok, openAtPut, `put of ${v} made while ${openAtPut ? "open" : "closed"}`);
          }
        });

        const received = schedule.consumers.map(() => [] as number[]);
        const consumers = schedule.consumers.map(({ style, steps }, c) =>
          consume(ch, style, pacer(steps), received[c] as number[]),
        );

        const closer = (async () => {
          if (schedule.close.when === "early") {
            const pace = pacer(schedule.close.steps);
            for (let i = 0; i < schedule.close.steps.length; i++) await pace();
          } else {
            await Promise.all(producers);
          }
          ch.close();
          ch.close(); // idempotent
        })();

        await Promise.all([...producers, ...consumers, closer]);

        const all = received.flat();
        assertNoDuplicates(all);
        assertPerProducerOrder(received);
        for (const v of all) {
          assert.ok(!refused.has(v), `value ${v} was refused but received`);
          assert.ok(accepted.has(v), `value ${v} received but never accepted`);
        }
        if (schedule.buffer.kind === "unbuffered" || schedule.buffer.kind === "fixed") {
          assert.equal(all.length, accepted.size, "every accepted value is received");
        } else {
          assert.ok(all.length <= accepted.size);
        }
        assert.equal(ch.closed, true);
        assert.equal(await ch.take(), undefined, "drained");
      }),
      { numRuns: 250 },
    );
  });
});

describe("properties: offer and poll", () => {
  type Command = { op: "offer"; value: number } | { op: "poll" } | { op: "close" };
  const commandArb: fc.Arbitrary<Command> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ op: fc.constant("offer" as const), value: fc.integer({ min: 0, max: 99 }) }) },
    { weight: 4, arbitrary: fc.record({ op: fc.constant("poll" as const) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("close" as const) }) },
  );

  it("match a simple model of each buffer kind", () => {
    fc.assert(
      fc.property(
        fc.constantFrom<Kind | "promise">("unbuffered", "fixed", "dropping", "sliding", "promise"),
        fc.integer({ min: 1, max: 4 }),
        fc.array(commandArb, { maxLength: 60 }),
        (kind, n, commands) => {
          const ch = kind === "promise" ? promiseChan<number>() : makeChannel({ kind, n });
          const model: number[] = [];
          let closed = false;
          let promised: number | undefined;
          for (const c of commands) {
            if (c.op === "close") {
              ch.close();
              closed = true;
            } else if (c.op === "offer") {
              let expected: boolean;
              if (closed) expected = false;
              else if (kind === "unbuffered") expected = false;
              else if (kind === "fixed") {
                expected = model.length < n;
                if (expected) model.push(c.value);
              } else if (kind === "dropping") {
                expected = true;
                if (model.length < n) model.push(c.value);
              } else if (kind === "sliding") {
                expected = true;
                model.push(c.value);
                if (model.length > n) model.shift();
              } else {
                expected = true;
                promised ??= c.value;
              }
              assert.equal(ch.offer(c.value), expected, `offer(${c.value})`);
            } else {
              const expected = kind === "promise" ? promised : model.shift();
              assert.equal(ch.poll(), expected, "poll()");
            }
            assert.equal(ch.closed, closed);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it("an offer to a waiting taker hands over exactly that value, in taker order", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 6 }), fc.array(fc.integer(), { maxLength: 10 }), async (takers, values) => {
        const ch = chan<number>();
        const takes = Array.from({ length: takers }, () => ch.take());
        const offered = values.map((v) => ch.offer(v));
        const handed = Math.min(takers, values.length);
        assert.deepEqual(
          offered,
          values.map((_, i) => i < handed),
        );
        ch.close();
        const got = await Promise.all(takes);
        assert.deepEqual(got, [...values.slice(0, handed), ...Array<undefined>(takers - handed).fill(undefined)]);
      }),
      { numRuns: 100 },
    );
  });
});

describe("properties: alts puts", () => {
  const altsScheduleArb = fc.record({
    bufA: fc.integer({ min: 0, max: 3 }),
    bufB: fc.integer({ min: 0, max: 3 }),
    producers: fc.array(
      fc.record({ count: fc.integer({ min: 0, max: 10 }), priority: fc.boolean(), steps: stepsArb }),
      { minLength: 1, maxLength: 3 },
    ),
    consumers: fc.array(
      fc.record({ from: fc.constantFrom("a", "b", "alts", "alts-priority"), steps: stepsArb }),
      { minLength: 1, maxLength: 3 },
    ),
  });

  it("every value put through alts is received exactly once, from the channel alts reported", async () => {
    await fc.assert(
      fc.asyncProperty(altsScheduleArb, async (schedule) => {
        const a = chan<number>(schedule.bufA);
        const b = chan<number>(schedule.bufB);
        const reported = new Map<number, Channel<number>>();

        const producers = schedule.producers.map(async ({ count, priority, steps }, p) => {
          const pace = pacer(steps);
          for (let s = 0; s < count; s++) {
            await pace();
            const v = encode(p, s);
            const result = await alts(
              [
                [a, v],
                [b, v],
              ],
              { priority },
            );
            assert.equal(result.value, true, "neither channel is closed yet");
            reported.set(v, result.channel as Channel<number>);
          }
        });

        // [value, channel it came from], per consumer
        const received = schedule.consumers.map(() => [] as Array<[number, Channel<number>]>);
        const consumers = schedule.consumers.map(async ({ from, steps }, c) => {
          const pace = pacer(steps);
          const out = received[c] as Array<[number, Channel<number>]>;
          let open = from === "a" ? [a] : from === "b" ? [b] : [a, b];
          while (open.length > 0) {
            await pace();
            const { value, channel } = await alts(open, { priority: from === "alts-priority" });
            const ch = channel as Channel<number>;
            if (value === undefined) open = open.filter((x) => x !== ch);
            else out.push([value as number, ch]);
          }
        });

        await Promise.all(producers);
        a.close();
        b.close();
        await Promise.all(consumers);
        // A channel nobody reads from may still hold values; they count as received too.
        const leftovers: Array<[number, Channel<number>]> = [];
        for (const ch of [a, b]) {
          for (let v = ch.poll(); v !== undefined; v = ch.poll()) leftovers.push([v, ch]);
        }

        const all = [...received.flat(), ...leftovers];
        assertNoDuplicates(all.map(([v]) => v));
        assert.equal(all.length, reported.size, "every value put is received");
        for (const [v, ch] of all) {
          assert.equal(ch, reported.get(v), `value ${v} came from the channel alts reported`);
        }
        // Per consumer and per channel, each producer's values keep their order.
        for (const ch of [a, b]) {
          assertPerProducerOrder(received.map((seq) => seq.filter(([, from]) => from === ch).map(([v]) => v)));
        }
      }),
      { numRuns: 150 },
    );
  });
});
