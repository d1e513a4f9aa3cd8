// One direction of a delayed TCP pair, for latency-relay.ts: a FIFO of chunks each released a
// given delay after it arrived, written on with the destination's back-pressure, and bounded: past
// its limits it stops reading its source until it drains.
import { performance } from "node:perf_hooks";
import type { Socket } from "node:net";

/** The queue's limits; see LATENCY_RELAY_LIMITS. */
export const DELAY_LINE_LIMITS = {
  queuedBytes: 512 * 1024,
  queuedChunks: 8_192,
} as const;

/** Marks a half-close in a delay queue: the FIN is delayed like the bytes before it. */
const FIN = null;

interface Timed {
  data: Buffer | typeof FIN;
  releaseAt: number;
}

/**
 * One direction of a pair: a FIFO of chunks each released at its time, written on with the
 * destination's back-pressure. Release times never decrease, so a chunk queued after the latency
 * was lowered waits behind the earlier ones: bytes stay in order whatever the delays.
 */
export class DelayLine {
  queuedBytes = 0;
  private readonly queue: Timed[] = [];
  /** Index of the next entry to release; the array is compacted now and then rather than shifted per chunk. */
  private next = 0;
  private lastReleaseAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private waitingForDrain = false;
  private pausedSource = false;
  private stopped = false;

  constructor(
    private readonly from: Socket,
    private readonly to: Socket,
  ) {
    to.on("drain", this.onDrain);
  }

  /**
   * Queues `data` for release `delayMs` from now (or with the entry before it, if that is later);
   * with `spacingMs`, at least that long after the entry before it, so that the two are written
   * apart and the receiver is likely to read them apart.
   */
  push(data: Buffer, delayMs: number, spacingMs = 0): void {
    if (data.length === 0 || this.stopped) return;
    this.enqueue(data, delayMs, spacingMs);
    this.queuedBytes += data.length;
    if (this.queuedBytes >= DELAY_LINE_LIMITS.queuedBytes || this.queue.length - this.next >= DELAY_LINE_LIMITS.queuedChunks) {
      this.pausedSource = true;
      this.from.pause();
    }
  }

  /** Queues the source's half-close: the destination is ended once everything before it is released. */
  pushEnd(delayMs: number): void {
    if (!this.stopped) this.enqueue(FIN, delayMs);
  }

  /** Drops whatever is queued and releases nothing more: the pair is over. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
    this.next = 0;
    this.queuedBytes = 0;
  }

  private enqueue(data: Buffer | typeof FIN, delayMs: number, spacingMs = 0): void {
    const releaseAt = Math.max(performance.now() + delayMs, this.lastReleaseAt + spacingMs);
    this.lastReleaseAt = releaseAt;
    this.queue.push({ data, releaseAt });
    // An entry behind a scheduled one is released by that timer's run; otherwise this may be due now (zero latency).
    if (this.timer === undefined && !this.waitingForDrain) this.release();
  }

  private readonly onDue = (): void => {
    this.timer = undefined;
    this.release();
  };

  /** The destination took what it had buffered: carry on with what is due. */
  private readonly onDrain = (): void => {
    this.waitingForDrain = false;
    if (this.timer === undefined) this.release();
  };

  private release(): void {
    if (this.stopped) return;
    const now = performance.now();
    while (!this.waitingForDrain && this.next < this.queue.length) {
      const entry = this.queue[this.next];
      if (entry === undefined || entry.releaseAt > now) break;
      this.next += 1;
      if (entry.data === FIN) {
        this.to.end();
        continue;
      }
      this.queuedBytes -= entry.data.length;
      if (!this.to.write(entry.data)) this.waitingForDrain = true;
    }
    this.compact();
    if (this.pausedSource && this.queuedBytes < DELAY_LINE_LIMITS.queuedBytes && this.queue.length - this.next < DELAY_LINE_LIMITS.queuedChunks) {
      this.pausedSource = false;
      this.from.resume();
    }
    this.schedule(now);
  }

  private compact(): void {
    if (this.next === this.queue.length) {
      this.queue.length = 0;
      this.next = 0;
    } else if (this.next > 1_024 && this.next * 2 > this.queue.length) {
      this.queue.splice(0, this.next);
      this.next = 0;
    }
  }

  private schedule(now: number): void {
    const head = this.queue[this.next];
    if (head === undefined || this.waitingForDrain || this.timer !== undefined) return;
    // At least 1 ms: a timer may fire a little before performance.now() says it is due; release() then just reschedules.
    this.timer = setTimeout(this.onDue, Math.max(1, Math.ceil(head.releaseAt - now)));
  }
}
