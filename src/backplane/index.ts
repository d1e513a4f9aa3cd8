/**
 * `wirechan/backplane`: servers sharing topics (docs/api.md "More than one server"). The
 * contract an engine fills (`BackplaneEngine`), one node over it (`createBackplane`), and the
 * in-memory engine (`MemoryBus`, `memoryBackplane`). Redis and NATS engines are to come.
 */
export { type Backplane, type BackplaneEngine, BackplaneError, type BackplaneMessage, type Unsubscribe } from "./backplane.js";
export { MemoryBus, memoryBackplane, memoryBusDefaults, type MemoryBusOptions } from "./memory.js";
export { createBackplane } from "./node.js";
export { backplaneDefaults, type BackplaneOptions } from "./options.js";
