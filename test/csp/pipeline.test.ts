import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { type Channel, chan, into, pipeline, pipelineAsync, toChan, type Transducer, xf } from "../../src/index.js";
import { settle, track } from "../helpers/async.js";

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs a pipeline over `inputs` and collects what reaches `to`. */
async function runPipeline<In, Out>(n: number, xform: Transducer<In, Out>, inputs: In[]): Promise<Out[]> {
  const to = chan<Out>();
  const collected = into<Out>([], to);
  await pipeline(n, to, xform, toChan(inputs));
  return collected;
}

/**
 * An async job function whose jobs the test finishes by hand, recording how many are running
 * (started, result not yet closed) at any time.
 */
function controlledJobs<In>(): {
  af: (value: In, result: Channel<In>) => void;
  readonly pending: Array<{ value: In; finish: () => void }>;
  readonly started: In[];
  readonly maxRunning: number;
  readonly running: number;
} {
  const state = {
    pending: [] as Array<{ value: In; finish: () => void }>,
    started: [] as In[],
    running: 0,
    maxRunning: 0,
    af: (value: In, result: Channel<In>): void => {
      state.started.push(value);
      state.running++;
      state.maxRunning = Math.max(state.maxRunning, state.running);
      state.pending.push({
        value,
        finish: () => {
          state.running--;
          void result.put(value).then(() => result.close());
        },
      });
    },
  };
  return state;
}

describe("pipeline", () => {
  it("applies the xform and keeps input order", async () => {
    const inputs = Array.from({ length: 50 }, (_, i) => i);
    assert.deepEqual(await runPipeline(4, xf.map((x: number) => x * x), inputs), inputs.map((x) => x * x));
  });

  it("with a mapcat-style xform emits every output of each input, in order", async () => {
    const out = await runPipeline(3, xf.mapcat((x: number) => [x, x * 10, x * 100]), [1, 2, 3]);
    assert.deepEqual(out, [1, 10, 100, 2, 20, 200, 3, 30, 300]);
  });

  it("with an xform that filters drops those values", async () => {
    const out = await runPipeline(2, xf.filter((x: number) => x % 3 !== 0), [1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(out, [1, 2, 4, 5, 7]);
  });

  it("applies a stateful xform to each value on its own (completion flushes per value)", async () => {
    const out = await runPipeline(2, xf.comp(xf.mapcat((x: number) => [x, x, x]), xf.partitionAll<number>(2)), [1, 2]);
    assert.deepEqual(out, [[1, 1], [1], [2, 2], [2]]);
  });

  it("replaces what the xform throws with exHandler's value, in place", async () => {
    const errors: unknown[] = [];
    const to = chan<number>();
    const collected = into<number>([], to);
    const boom = new Error("boom");
    await pipeline(
      2,
      to,
      xf.map((x: number) => {
        if (x === 3) throw boom;
        return x;
      }),
      toChan([1, 2, 3, 4]),
      true,
      (error) => {
        errors.push(error);
        return -1;
      },
    );
    assert.deepEqual(await collected, [1, 2, -1, 4]);
    assert.deepEqual(errors, [boom]);
  });

  it("drops a failing value when exHandler returns undefined", async () => {
    const to = chan<number>();
    const collected = into<number>([], to);
    await pipeline(
      1,
      to,
      xf.map((x: number) => {
        if (x % 2 === 0) throw new Error("even");
        return x;
      }),
      toChan([1, 2, 3, 4, 5]),
      true,
      () => undefined,
    );
    assert.deepEqual(await collected, [1, 3, 5]);
  });

  it("reports and drops a failing value without exHandler", async (t) => {
    const error = t.mock.method(console, "error", () => {});
    const out = await runPipeline(
      2,
      xf.map((x: number) => {
        if (x === 2) throw new Error("two");
        return x;
      }),
      [1, 2, 3],
    );
    assert.deepEqual(out, [1, 3]);
    assert.equal(error.mock.callCount(), 1);
  });

  it("resolves its promise when done, after closing `to`", async () => {
    const from = chan<number>();
    const to = chan<number>(10);
    const done = track(pipeline(2, to, xf.map((x: number) => x + 1), from));
    await from.put(1);
    await settle();
    assert.equal(done.done, false, "from is still open");
    assert.equal(to.closed, false);
    from.close();
    await settle();
    assert.equal(done.done, true);
    assert.equal(to.closed, true);
    assert.equal(to.poll(), 2);
  });

  it("leaves `to` open when close is false, and still resolves", async () => {
    const to = chan<number>(10);
    await pipeline(2, to, xf.map((x: number) => -x), toChan([1, 2, 3]), false);
    assert.equal(to.closed, false);
    assert.deepEqual([to.poll(), to.poll(), to.poll(), to.poll()], [-1, -2, -3, undefined]);
  });

  it("keeps consuming `from` after `to` closed, and resolves once `from` closes (as core.async)", async () => {
    const to = chan<number>();
    to.close();
    const from = toChan([1, 2, 3]);
    await pipeline(2, to, xf.map((x: number) => x), from);
    assert.equal(from.poll(), undefined);
    assert.equal(from.closed, true);
  });

  it("rejects a bad parallelism with a RangeError, synchronously", () => {
    for (const n of [0, 1.5, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => pipeline(n, chan<number>(), xf.map((x: number) => x), chan<number>()), RangeError, String(n));
    }
  });

  it("property: output equals inputs.map(f) for any inputs and n", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer(), { maxLength: 60 }),
        fc.integer({ min: 1, max: 10 }),
        fc.func(fc.oneof(fc.integer(), fc.string(), fc.constant(null))),
        async (inputs, n, f) => {
          const out = await runPipeline(n, xf.map((x: number) => f(x)), inputs);
          assert.deepEqual(out, inputs.map((x) => f(x)));
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe("pipelineAsync", () => {
  it("keeps input order when jobs finish in reverse order", async () => {
    const jobs = controlledJobs<number>();
    const to = chan<number>();
    const collected = into<number>([], to);
    const done = pipelineAsync(5, to, jobs.af, toChan([1, 2, 3, 4, 5]));
    await settle();
    assert.deepEqual(jobs.started, [1, 2, 3, 4, 5]);
    for (const job of [...jobs.pending].reverse()) {
      job.finish();
      await settle();
    }
    await done;
    assert.deepEqual(await collected, [1, 2, 3, 4, 5]);
  });

  it("keeps input order when jobs finish at random times, with several outputs each", async () => {
    const to = chan<string>();
    const collected = into<string>([], to);
    const inputs = Array.from({ length: 30 }, (_, i) => i);
    const finished: number[] = [];
    await pipelineAsync(
      6,
      to,
      (v: number, result: Channel<string>) => {
        void (async () => {
          await delay(Math.floor(Math.random() * 4));
          finished.push(v);
          await result.put(`${v}a`);
          await result.put(`${v}b`);
          result.close();
        })();
      },
      toChan(inputs),
    );
    assert.deepEqual(await collected, inputs.flatMap((v) => [`${v}a`, `${v}b`]));
    assert.deepEqual([...finished].sort((a, b) => a - b), inputs);
  });

  it("a job that closes its result without a value outputs nothing", async () => {
    const to = chan<number>();
    const collected = into<number>([], to);
    await pipelineAsync(
      3,
      to,
      (v: number, result: Channel<number>) => {
        if (v % 2 === 0) result.close();
        else void result.put(v).then(() => result.close());
      },
      toChan([1, 2, 3, 4, 5]),
    );
    assert.deepEqual(await collected, [1, 3, 5]);
  });

  it("runs at most n jobs at once, and does use n", async () => {
    const n = 3;
    const jobs = controlledJobs<number>();
    const to = chan<number>();
    const collected = into<number>([], to);
    const inputs = Array.from({ length: 12 }, (_, i) => i);
    const done = track(pipelineAsync(n, to, jobs.af, toChan(inputs)));
    const finishedSet = new Set<unknown>();
    // Finish jobs in a scrambled order: always the newest running one, sometimes the oldest.
    let round = 0;
    for (;;) {
      await settle();
      assert.ok(jobs.running <= n, `running ${jobs.running} > ${n}`);
      const unfinished = jobs.pending.filter((j) => !finishedSet.has(j));
      if (unfinished.length === 0) break;
      const pick = round++ % 3 === 2 ? unfinished[0] : unfinished[unfinished.length - 1];
      assert.ok(pick !== undefined);
      finishedSet.add(pick);
      pick.finish();
    }
    await settle();
    assert.equal(done.done, true);
    assert.equal(jobs.maxRunning, n, "parallelism n is actually used");
    assert.deepEqual(jobs.started, inputs);
    assert.deepEqual(await collected, inputs);
  });

  it("with n = 1 runs one job at a time", async () => {
    const jobs = controlledJobs<number>();
    const to = chan<number>(10);
    const done = pipelineAsync(1, to, jobs.af, toChan([1, 2, 3]));
    for (let i = 0; i < 3; i++) {
      await settle();
      assert.equal(jobs.running, 1);
      assert.equal(jobs.started.length, i + 1);
      jobs.pending[i]?.finish();
    }
    await done;
    assert.equal(jobs.maxRunning, 1);
    assert.deepEqual([to.poll(), to.poll(), to.poll(), to.poll()], [1, 2, 3, undefined]);
  });

  it("resolves its promise after closing `to`, and leaves it open when close is false", async () => {
    const passThrough = (v: number, result: Channel<number>): void => {
      void result.put(v).then(() => result.close());
    };
    const closing = chan<number>(5);
    await pipelineAsync(2, closing, passThrough, toChan([1, 2]));
    assert.equal(closing.closed, true);
    const open = chan<number>(5);
    await pipelineAsync(2, open, passThrough, toChan([1, 2]), false);
    assert.equal(open.closed, false);
    assert.deepEqual([open.poll(), open.poll(), open.poll()], [1, 2, undefined]);
  });

  it("rejects its promise when af throws, taking no further value", async () => {
    const from = chan<number>(10);
    for (const v of [1, 2, 3]) from.offer(v);
    const failure = new Error("af failed");
    const calls: number[] = [];
    await assert.rejects(
      pipelineAsync(
        2,
        chan<number>(10),
        (v: number) => {
          calls.push(v);
          throw failure;
        },
        from,
      ),
      failure,
    );
    assert.deepEqual(calls, [1]);
    assert.equal(from.poll(), 2, "2 and 3 are still in `from`");
  });

  it("rejects a bad parallelism with a RangeError, synchronously", () => {
    for (const n of [0, 1.5, -2]) {
      assert.throws(() => pipelineAsync(n, chan<number>(), () => {}, chan<number>()), RangeError, String(n));
    }
  });

  it("property: random job durations and n keep order and bound the jobs in flight", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer(), fc.integer({ min: 0, max: 3 })), { maxLength: 25 }),
        fc.integer({ min: 1, max: 6 }),
        async (inputs, n) => {
          let running = 0;
          let maxRunning = 0;
          const to = chan<number>();
          const collected = into<number>([], to);
          await pipelineAsync(
            n,
            to,
            ([v, ms]: [number, number], result: Channel<number>) => {
              running++;
              maxRunning = Math.max(maxRunning, running);
              setTimeout(() => {
                running--;
                void result.put(v).then(() => result.close());
              }, ms);
            },
            toChan(inputs),
          );
          assert.deepEqual(await collected, inputs.map(([v]) => v));
          assert.ok(maxRunning <= n, `max running ${maxRunning} > n = ${n}`);
          assert.equal(maxRunning, Math.min(n, inputs.length), "all n slots get used");
        },
      ),
      { numRuns: 30 },
    );
  });
});
