// Small helpers shared by the tests: letting the event loop run, looking at channels and
// promises without blocking on them, and catching what a call throws.
import assert from "node:assert/strict";
import type { Channel } from "../../src/index.js";

/** Lets every queued microtask and one macrotask turn run. */
export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Lets the event loop turn a few times, so every background loop that can progress does. */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await tick();
}

/** Whether `p` is still unsettled after everything already queued has run. */
export async function isPending(p: Promise<unknown>): Promise<boolean> {
  const marker = Symbol("pending");
  const result = await Promise.race([
    p.then(
      () => null,
      () => null,
    ),
    tick().then(() => marker),
  ]);
  return result === marker;
}

/** Takes every value until the channel is closed and drained. */
export async function drainAll<T>(ch: Channel<T, unknown>): Promise<T[]> {
  const out: T[] = [];
  for (let v = await ch.take(); v !== undefined; v = await ch.take()) out.push(v);
  return out;
}

/** Every value currently takeable without waiting. */
export function pollAll<T>(ch: Channel<T, unknown>): T[] {
  const out: T[] = [];
  for (let v = ch.poll(); v !== undefined; v = ch.poll()) out.push(v);
  return out;
}

/** Tracks whether a promise has settled (and with what value), without awaiting it. */
export function track<T>(p: Promise<T>): { readonly done: boolean; readonly value: T | undefined } {
  const state: { done: boolean; value: T | undefined } = { done: false, value: undefined };
  void p.then((v) => {
    state.done = true;
    state.value = v;
  });
  return state;
}

/** Runs `f`, expecting it to throw synchronously; returns what it threw. */
export function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (error) {
    return error;
  }
  assert.fail("expected a synchronous throw");
}

/**
 * Waits until `condition()` holds, checking every few milliseconds; fails with `what` after
 * `limitMs` (a bound on a hang, not a timing assertion).
 */
export async function until(condition: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Reads `read()` again every few milliseconds until `ok` holds for what it returned, and
 * returns that; fails with `what` after `limitMs` (a bound on a hang, not a timing assertion).
 */
export async function readUntil<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string, limitMs = 10_000): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * `promise`, or a failure naming `what` after `limitMs` (a bound on a hang, not a timing
 * assertion). `what` may be a function, to describe the state at the moment of giving up.
 */
export async function within<T>(promise: Promise<T>, what: string | (() => string), limitMs = 10_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      const description = typeof what === "string" ? what : what();
      reject(new assert.AssertionError({ message: `timed out after ${limitMs} ms waiting for ${description}` }));
    }, limitMs);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
