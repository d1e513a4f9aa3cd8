import { type Channel, chan, type ExHandler } from "./channel.js";
import type { Transducer } from "./transducer-protocol.js";
import { WirechanRangeError } from "./errors.js";

/**
 * Starts a job for one input value, writing its outputs to `result` and closing it when done.
 * The job owns `result`: nothing else writes to it.
 */
type Job<In, Out> = (value: In, result: Channel<Out>) => void;

function checkParallelism(n: number): void {
  if (!Number.isInteger(n) || n < 1) {
    throw new WirechanRangeError("ERR_PIPELINE_PARALLELISM", `pipeline parallelism n must be a positive integer, got ${String(n)}`);
  }
}

/**
 * Takes from `from`, runs each value through `xform` (each value on its own, so a stateful
 * transducer sees one value at a time, as in core.async), and puts the outputs onto `to` in
 * input order. Closes `to` when `from` closes unless `close` is false. Resolves when done.
 *
 * JavaScript runs one job at a time, so `n` only bounds how many results may be computed
 * ahead of the slowest reader. `exHandler` handles what `xform` throws, as in {@link chan}.
 */
export function pipeline<In, Out>(
  n: number,
  to: Channel<unknown, Out>,
  xform: Transducer<In, Out>,
  from: Channel<In, unknown>,
  close = true,
  exHandler?: ExHandler<Out>,
): Promise<void> {
  checkParallelism(n);
  function computeJob(value: In, result: Channel<Out>): void {
    // A fresh channel per value, as core.async: its buffer takes every output of this value
    // (a transducer may add past the buffer's size), then closing flushes completion.
    const step = chan<Out, In>(1, xform, exHandler);
    step.offer(value);
    step.close();
    void pumpOutputs(step, result);
  }
  return runPipeline(n, to, from, close, computeJob);
}

async function pumpOutputs<Out>(step: Channel<Out, unknown>, result: Channel<Out>): Promise<void> {
  for (let v = step.poll(); v !== undefined; v = step.poll()) await result.put(v);
  result.close();
}

/**
 * Like {@link pipeline}, but each value is handed to `af(value, result)`, which starts
 * asynchronous work, puts its outputs on `result` and must close `result` when finished. At
 * most `n` jobs are in flight; outputs reach `to` in input order. If `af` throws, the returned
 * promise rejects with that error and no further value is taken from `from`.
 */
export function pipelineAsync<In, Out>(
  n: number,
  to: Channel<unknown, Out>,
  af: (value: In, result: Channel<Out>) => void,
  from: Channel<In, unknown>,
  close = true,
): Promise<void> {
  checkParallelism(n);
  return runPipeline(n, to, from, close, af);
}

/**
 * The ordering machinery shared by both pipelines. `results` holds one channel per input, in
 * input order; the job for a value starts once its channel has a place there, so at most `n`
 * jobs (n - 1 queued plus the one being drained) are in flight.
 */
async function runPipeline<In, Out>(
  n: number,
  to: Channel<unknown, Out>,
  from: Channel<In, unknown>,
  close: boolean,
  job: Job<In, Out>,
): Promise<void> {
  const results = chan<Channel<Out>>(n - 1);
  // Awaited together: if a job throws (say `af`), the feeding loop fails while the drain still
  // waits, and that failure must reject the returned promise rather than go unhandled.
  await Promise.all([drainInOrder(results, to, close), feed(from, results, job)]);
}

async function feed<In, Out>(from: Channel<In, unknown>, results: Channel<Channel<Out>>, job: Job<In, Out>): Promise<void> {
  for (;;) {
    const value = await from.take();
    if (value === undefined) {
      results.close();
      return;
    }
    const result = chan<Out>(1);
    await results.put(result);
    job(value, result);
  }
}

async function drainInOrder<Out>(results: Channel<Channel<Out>>, to: Channel<unknown, Out>, close: boolean): Promise<void> {
  for (;;) {
    const result = await results.take();
    if (result === undefined) {
      if (close) to.close();
      return;
    }
    for (;;) {
      const value = await result.take();
      if (value === undefined || !(await to.put(value))) break;
    }
  }
}
