// The heartbeat of many WebSocket connections on one timer, spread over its interval.
import { MAX_TIMEOUT_MS } from "../csp/timeout.js";

/** What the sweep checks: a connection that pings its client, or ends it when it stayed silent. */
export interface HeartbeatMember {
  /** Ping, or terminate a client silent since the last call. */
  checkAlive(): void;
}

/** The sweep's timer never fires more often than this, in ms: short intervals (tests) sweep everyone at once. */
export const minSweepTickMs = 250;
/** At most this many slices of the members: at the default interval (30 s), one slice a second. */
export const maxSweepSlices = 30;

/**
 * The heartbeat of many WebSocket connections on one timer (the pattern `ws` documents): a
 * timer per connection would cost memory and a wake-up each. Every member is checked once
 * every `idleTimeout / 2` ms: one that showed no sign of life (pong, ping or message) since its
 * last check is destroyed, the others are pinged, so a silent client goes after between one
 * and two intervals. `idleTimeout` 0 turns the checks off, not the membership: the server
 * counts and closes its WebSocket connections through {@link HeartbeatSweep}'s members, one
 * table entry a connection instead of one here and one in a set of its own. The timer runs
 * only while there are members, and never holds the process open.
 *
 * The members are dealt into slices, and each tick of the timer checks one slice (up to
 * {@link maxSweepSlices} ticks per interval, none closer than {@link minSweepTickMs}): pinging
 * 5,000 sockets in one go holds the event loop long enough to delay everything queued behind
 * it (a broadcast, other clients' messages), and brings their 5,000 pongs back at once.
 */
export class HeartbeatSweep<M extends HeartbeatMember = HeartbeatMember> implements Iterable<M> {
  private readonly slices: Array<Set<M>>;
  /** The slice the next tick checks. */
  private next = 0;
  /** The slice the next member joins: round robin, so slices stay even. */
  private deal = 0;
  private count = 0;
  private timer: ReturnType<typeof setInterval> | null = null;
  /** Between two ticks, in ms; 0: off. */
  readonly tickMs: number;

  constructor(idleTimeout: number) {
    const intervalMs = idleTimeout > 0 ? Math.min(idleTimeout / 2, MAX_TIMEOUT_MS) : 0;
    const slices = Math.max(1, Math.min(maxSweepSlices, Math.floor(intervalMs / minSweepTickMs)));
    this.slices = Array.from({ length: slices }, () => new Set<M>());
    this.tickMs = intervalMs / slices;
  }

  /** Members now. */
  get size(): number {
    return this.count;
  }

  add(member: M): void {
    // A loop, not `some` with an arrow: a closure per connection made is garbage.
    for (const slice of this.slices) if (slice.has(member)) return;
    const slice = this.slices[this.deal] as Set<M>;
    this.deal = (this.deal + 1) % this.slices.length;
    slice.add(member);
    this.count++;
    if (this.timer === null && this.tickMs > 0) {
      this.timer = setInterval(this.tick, this.tickMs);
      (this.timer as { unref?: () => void }).unref?.();
    }
  }

  delete(member: M): void {
    // A member leaves once (when its socket closes): looking through the slices costs nothing then.
    for (const slice of this.slices) {
      if (slice.delete(member)) {
        this.count--;
        break;
      }
    }
    if (this.count === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  /** Every member, slice after slice. */
  *[Symbol.iterator](): Iterator<M> {
    for (const slice of this.slices) yield* slice;
  }

  private readonly tick = (): void => {
    const slice = this.slices[this.next] as Set<M>;
    this.next = (this.next + 1) % this.slices.length;
    // Deleting from a Set while iterating it is safe: a member terminated here is not revisited.
    for (const member of slice) member.checkAlive();
  };
}
