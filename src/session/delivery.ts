// Delivery of values that arrived from the wire into local channels.
import type { Channel } from "../csp/channel.js";
import { RingQueue } from "../csp/ring-queue.js";

/** Told whether the channel took the value (`false`: it was closed). */
export type Delivered = (ok: boolean) => void;

/**
 * One queue per local channel, shared by every session that puts into it, with one put in
 * flight at a time. Values go in arrival order (so each session's order is kept), a channel
 * whose taker is slow parks one put instead of one per value (its 1024-pending-puts limit is
 * never hit however many sessions send to it), and the queue is bounded by the senders'
 * credit: each session has at most `window` values per channel on their way here.
 */
class Pump {
  private readonly queue = new RingQueue<{ value: unknown; done: Delivered }>(8);
  private running = false;

  constructor(private readonly channel: Channel<unknown, unknown>) {}

  push(value: unknown, done: Delivered): void {
    if (this.running) {
      this.queue.push({ value, done });
      return;
    }
    this.running = true;
    this.start(value, done);
  }

  /**
   * Puts one value; the next queued one follows when it settled. A value that a taker or the
   * buffer takes at once is delivered in this call, without a promise.
   */
  private start(value: unknown, done: Delivered): void {
    for (;;) {
      if (this.channel.closed) {
        done(false);
      } else {
        let pending: Promise<boolean> | null = null;
        try {
          if (this.channel.offer(value)) done(true);
          else pending = this.channel.put(value);
        } catch (error) {
          // A transducer's exHandler error: the value is lost to the channel either way.
          console.error("wirechan: putting a value that arrived from the wire failed:", error);
          done(false);
        }
        if (pending !== null) {
          pending.then(
            (ok) => this.settled(done, ok),
            (error: unknown) => {
              console.error("wirechan: putting a value that arrived from the wire failed:", error);
              this.settled(done, false);
            },
          );
          return;
        }
      }
      const next = this.queue.shift();
      if (next === undefined) {
        this.running = false;
        return;
      }
      ({ value, done } = next);
    }
  }

  private settled(done: Delivered, ok: boolean): void {
    done(ok);
    const next = this.queue.shift();
    if (next === undefined) this.running = false;
    else this.start(next.value, next.done);
  }
}

const pumps = new WeakMap<Channel<unknown, unknown>, Pump>();

/** Puts `value` into `channel` after every value that arrived for it before, then calls `done`. */
export function deliver(channel: Channel<unknown, unknown>, value: unknown, done: Delivered): void {
  let pump = pumps.get(channel);
  if (pump === undefined) {
    pump = new Pump(channel);
    pumps.set(channel, pump);
  }
  pump.push(value, done);
}
