/**
 * `wirechan/backplane`: servers sharing topics (docs/api.md "More than one server"). The
 * contract an engine fills (`BackplaneEngine`), one node over it (`createBackplane`), and the
 * in-memory engine (`MemoryBus`, `memoryBackplane`). The Redis and NATS engines have entry points
 * of their own, `wirechan/redis` (redis.ts) and `wirechan/nats` (nats.ts), so that this one loads
 * neither ioredis nor nats: each is an optional peer dependency, installed by who uses it.
 */
export { type Backplane, type BackplaneEngine, BackplaneError, type BackplaneMessage, type Unsubscribe } from "./backplane.js";
export { MemoryBus, memoryBackplane, memoryBusDefaults, type MemoryBusOptions } from "./memory.js";
export { createBackplane } from "./node.js";
export { backplaneDefaults, type BackplaneOptions } from "./options.js";
