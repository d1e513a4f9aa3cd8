/**
 * The backplane of a node of the apps' cluster (`npm start -- --redis URL` or `--nats URL`):
 * the engine's entry point is loaded only here, and only when asked for, so that `npm start`
 * alone loads neither ioredis nor nats (optional peer dependencies of the library).
 */
import type { Backplane } from "../../src/backplane/index.js";
import type { Logger } from "../../src/server/index.js";
import type { ClusterArg } from "./app-args.js";

/**
 * This node's backplane on `cluster`. Redis returns at once and connects in the background
 * (`ready()` waits for it); NATS connects first and rejects with `ERR_BACKPLANE_CONNECT` when
 * nothing answers at the URL.
 */
export async function openBackplane(cluster: ClusterArg, nodeId: string | undefined, logger: Logger, prefix = ""): Promise<Backplane> {
  const node = { logger, prefix, ...(nodeId === undefined ? {} : { nodeId }) };
  if (cluster.engine === "redis") {
    const { redisBackplane } = await import("../../src/backplane/redis.js");
    return redisBackplane({ url: cluster.url, ...node });
  }
  const { natsBackplane } = await import("../../src/backplane/nats.js");
  return natsBackplane({ servers: cluster.url, ...node });
}
