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
    // Nothing queued and a taker (or buffer room) ready: deliver now, without the async loop.
    if (!this.running && this.queue.length === 0) {
      if (this.channel.closed) {
        done(false);
        return;
      }
      let taken: boolean;
      try {
        taken = this.channel.offer(value);
      } catch (error) {
        console.error("wirechan: putting a value that arrived from the wire failed:", error);
        done(false);
        return;
      }
      if (taken) {
        done(true);
        return;
      }
    }
    this.queue.push({ value, done });
    if (!this.running) void this.run();
  }

  private async run(): Promise<void> {
    this.running = true;
    for (let item = this.queue.shift(); item !== undefined; item = this.queue.shift()) {
      let ok = false;
      try {
        ok = await this.channel.put(item.value);
      } catch (error) {
        // A transducer's exHandler error reaches here; the value is lost to the channel either way.
        console.error("wirechan: putting a value that arrived from the wire failed:", error);
      }
      item.done(ok);
    }
    this.running = false;
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
