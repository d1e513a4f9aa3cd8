// Counts what crosses the backplane during a cluster benchmark's row, from outside the nodes: an
// extra subscriber of the parent's own on the engine hears every message published under the
// row's prefix, once each, whatever the number of nodes that receive it, and counts them per
// channel (Redis) or subject (NATS). Nothing in the nodes is wrapped. For Redis the server's own
// count of PUBLISH commands (`INFO commandstats`) is read too, as a cross-check: it counts every
// client of that Redis, so other work on the machine shows in it.
import { Redis } from "ioredis";
import { connect, type NatsConnection } from "nats";

/** Messages per channel or subject so far. */
export type Counts = ReadonlyMap<string, number>;

export interface BackplaneCounter {
  /** A copy of the counts now. */
  snapshot(): Counts;
  /** Redis only: the server's `cmdstat_publish` calls now, else null. */
  serverPublishes(): Promise<number | null>;
  /** Waits until the counts stop moving for `quietMs` (messages still on their way), at most `maxMs`. */
  settle(quietMs: number, maxMs: number): Promise<void>;
  close(): Promise<void>;
}

/** Messages on `channel` in `after` minus those in `before`. */
export function countDelta(before: Counts, after: Counts, channel: string): number {
  return (after.get(channel) ?? 0) - (before.get(channel) ?? 0);
}

/** Every message in `after` minus `before`, on any channel but `except`. */
export function otherDelta(before: Counts, after: Counts, except: string): number {
  let n = 0;
  for (const [channel, count] of after) if (channel !== except) n += count - (before.get(channel) ?? 0);
  return n;
}

class Tally {
  readonly counts = new Map<string, number>();
  changedAt = 0;
  add(channel: string): void {
    this.counts.set(channel, (this.counts.get(channel) ?? 0) + 1);
    this.changedAt = performance.now();
  }
  snapshot(): Counts {
    return new Map(this.counts);
  }
  async settle(quietMs: number, maxMs: number): Promise<void> {
    const until = performance.now() + maxMs;
    while (performance.now() < until && performance.now() - this.changedAt < quietMs) {
      await new Promise((resolve) => setTimeout(resolve, quietMs / 4));
    }
  }
}

/** `cmdstat_publish:calls=N,…` out of `INFO commandstats`. */
function publishCalls(info: string): number {
  const match = /^cmdstat_publish:calls=(\d+)/m.exec(info);
  return match === null ? 0 : Number(match[1]);
}

/** PSUBSCRIBEs `<prefix>*` on a connection of its own; resolves once Redis confirmed it. */
export async function redisCounter(url: string, prefix: string): Promise<BackplaneCounter> {
  const tally = new Tally();
  const subscriber = new Redis(url, { lazyConnect: true, connectionName: "wirechan-bench-count" });
  const admin = new Redis(url, { lazyConnect: true, connectionName: "wirechan-bench-admin" });
  await Promise.all([subscriber.connect(), admin.connect()]);
  subscriber.on("pmessageBuffer", (_pattern: Buffer, channel: Buffer) => tally.add(channel.toString()));
  await subscriber.psubscribe(`${prefix}*`);
  return {
    snapshot: () => tally.snapshot(),
    serverPublishes: async () => publishCalls(await admin.info("commandstats")),
    settle: (quietMs, maxMs) => tally.settle(quietMs, maxMs),
    async close() {
      await Promise.all([subscriber.quit(), admin.quit()]);
    },
  };
}

/** Subscribes `<prefix>>` on a connection of its own; resolves once the server confirmed it (a flush). */
export async function natsCounter(servers: string, prefix: string): Promise<BackplaneCounter> {
  const tally = new Tally();
  const nc: NatsConnection = await connect({ servers, name: "wirechan-bench-count" });
  nc.subscribe(`${prefix}>`, { callback: (_error, msg) => tally.add(msg.subject) });
  await nc.flush();
  return {
    snapshot: () => tally.snapshot(),
    serverPublishes: () => Promise.resolve(null),
    settle: (quietMs, maxMs) => tally.settle(quietMs, maxMs),
    async close() {
      await nc.close();
    },
  };
}
