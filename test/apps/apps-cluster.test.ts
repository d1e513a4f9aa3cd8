// The apps on two nodes over each engine: the memory bus (one per cluster), a real Redis and a
// real NATS (test/helpers/services.ts: REDIS_URL, NATS_URL; unreachable fails, never skips),
// each cluster in a prefix of its own. The same suite, three callers (apps-cluster-suite.ts).
import { MemoryBus, memoryBackplane } from "../../src/backplane/index.js";
import { natsBackplane } from "../../src/backplane/nats.js";
import { redisBackplane } from "../../src/backplane/redis.js";
import type { Logger } from "../../src/server/index.js";
import { requireNats, requireRedis } from "../helpers/services.js";
import { appsClusterSuite } from "./apps-cluster-suite.js";

const quiet: Logger = { error: () => undefined, warn: () => undefined };

/** One bus per cluster: a cluster's nodes share it, and the clusters of other tests do not. At most one per test. */
const buses = new Map<string, MemoryBus>();

appsClusterSuite({
  name: "memory",
  node(space, nodeId) {
    const bus = buses.get(space) ?? new MemoryBus();
    buses.set(space, bus);
    return Promise.resolve(memoryBackplane(bus, { nodeId, logger: quiet }));
  },
});

appsClusterSuite({
  name: "Redis",
  async node(space, nodeId) {
    return redisBackplane({ url: await requireRedis(), prefix: space, nodeId, logger: quiet });
  },
});

appsClusterSuite({
  name: "NATS",
  async node(space, nodeId) {
    return natsBackplane({ servers: await requireNats(), prefix: space, nodeId, logger: quiet });
  },
});
