// Delivery of values that arrived from the wire into local channels.
import type { Channel } from "../csp/channel.js";
import { RingQueue } from "../csp/ring-queue.js";
import { consoleLogger, type Logger } from "./logger.js";

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
  readonly #queue = new RingQueue<Delivery>(8);
  #running = false;

  readonly #channel: Channel<unknown, unknown>;

  constructor(channel: Channel<unknown, unknown>) {
    this.#channel = channel;
  }

  push(delivery: Delivery): void {
    if (this.#running) {
      this.#queue.push(delivery);
      return;
    }
    this.#running = true;
    this.#start(delivery);
  }

  /**
   * Puts one value; the next queued one follows when it settled. A value that a taker or the
   * buffer takes at once is delivered in this call, without a promise.
   */
  #start(delivery: Delivery): void {
    for (;;) {
      const outcome = this.#offer(delivery);
      if (outcome instanceof Promise) {
        outcome.then(
          (ok) => this.#settled(delivery, ok),
          (error: unknown) => {
            delivery.logger.error("putting a value that arrived from the wire failed:", error);
            this.#settled(delivery, false);
          },
        );
        return;
      }
      tell(delivery, outcome);
      const next = this.#queue.shift();
      if (next === undefined) {
        this.#running = false;
        return;
      }
      delivery = next;
    }
  }

  /** Whether the channel took the value now, or the put that waits for it. */
  #offer({ value, logger }: Delivery): boolean | Promise<boolean> {
    if (this.#channel.closed) return false;
    try {
      return this.#channel.offer(value) || this.#channel.put(value);
    } catch (error) {
      // A transducer's exHandler error: the value is lost to the channel either way.
      logger.error("putting a value that arrived from the wire failed:", error);
      return false;
    }
  }

  #settled(delivery: Delivery, ok: boolean): void {
    tell(delivery, ok);
    const next = this.#queue.shift();
    if (next === undefined) this.#running = false;
    else this.#start(next);
  }
}

/** One value on its way into a channel: who to tell, and where to report a failure (the session's logger). */
interface Delivery {
  value: unknown;
  done: Delivered;
  logger: Logger;
}

/**
 * Calls `done` once, whatever it does: one that throws is reported and the values queued
 * behind it still go (in the put's own try it would have been told `false` a second time).
 */
function tell({ done, logger }: Delivery, ok: boolean): void {
  try {
    done(ok);
  } catch (error) {
    logger.error("a delivery callback threw:", error);
  }
}

const pumps = new WeakMap<Channel<unknown, unknown>, Pump>();

/** Puts `value` into `channel` after every value that arrived for it before, then calls `done`; failures go to `logger`. */
export function deliver(channel: Channel<unknown, unknown>, value: unknown, done: Delivered, logger: Logger = consoleLogger): void {
  let pump = pumps.get(channel);
  if (pump === undefined) {
    pump = new Pump(channel);
    pumps.set(channel, pump);
  }
  pump.push({ value, done, logger });
}
