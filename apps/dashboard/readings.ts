/**
 * The dashboard's readings: a happiness that wanders (a random walk looks like a mood; pure noise
 * looks like a broken sensor), and the last few minutes of them for a page that starts watching.
 * Pure: the random source and the clock are given.
 */
import { RingQueue } from "../../src/csp/ring-queue.js";

/** One reading: 0 <= happiness < 10; ts in ms since the epoch. */
export interface Reading {
  happiness: number;
  ts: number;
}

/** Just under 10: happiness never reaches it (docs/apps.md: 0 <= happiness < 10). */
const TOP = 10 - 1e-9;

/**
 * The next happiness after `previous`: a step of at most `maxStep` either way, `random()` in
 * [0, 1) choosing it, reflected at 0 and 10 so the walk stays in range without sticking there.
 */
export function nextHappiness(previous: number, random: () => number, maxStep: number): number {
  let next = previous + (random() * 2 - 1) * maxStep;
  if (next < 0) next = -next;
  if (next >= 10) next = 20 - next;
  return Math.min(TOP, Math.max(0, next));
}

/** The readings of the last `windowMs`, and at most `maxReadings` of them (oldest dropped first). */
export class ReadingHistory {
  private readonly readings = new RingQueue<Reading>(64);

  /** Throws a `RangeError` for a bound that is not a positive integer. */
  constructor(
    readonly windowMs: number,
    readonly maxReadings: number,
  ) {
    for (const [name, value] of [
      ["windowMs", windowMs],
      ["maxReadings", maxReadings],
    ] as const) {
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`ReadingHistory: ${name} must be a positive integer, got ${String(value)}`);
    }
  }

  get length(): number {
    return this.readings.length;
  }

  /** Keeps `reading`, then forgets those older than the window (from its `ts`) or past the count. */
  add(reading: Reading): void {
    this.readings.push(reading);
    while (this.readings.length > this.maxReadings) this.readings.shift();
    const oldest = reading.ts - this.windowMs;
    while ((this.readings.peek()?.ts ?? Infinity) < oldest) this.readings.shift();
  }

  /** The readings kept, oldest first (a copy). */
  list(): Reading[] {
    const out: Reading[] = [];
    this.readings.forEach((reading) => out.push(reading));
    return out;
  }
}

/** Whether `value` is a reading as the docs set it down (a reading from another node, or the engine's log, is checked). */
export function isReading(value: unknown): value is Reading {
  if (typeof value !== "object" || value === null) return false;
  const { happiness, ts } = value as { happiness?: unknown; ts?: unknown };
  return typeof happiness === "number" && happiness >= 0 && happiness < 10 && typeof ts === "number" && Number.isFinite(ts);
}
