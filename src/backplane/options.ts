// The options of one node's backplane (createBackplane, memoryBackplane): one defaults object,
// checked at construction.
import { WirechanRangeError, WirechanTypeError } from "../csp/errors.js";
import { consoleLogger, type Logger } from "../session/logger.js";
import { isNodeId } from "./framing.js";

export interface BackplaneOptions {
  /** This node's id, unique among the engine's nodes: 1 to 64 of letters, digits and `_ . : -`. Default: a random UUID. */
  nodeId?: string;
  /**
   * Publishes handed to the engine and not yet taken by it (the engine slow, or down and
   * buffering). Past it `publish` throws `ERR_BACKPLANE_FULL` at once rather than queueing
   * without end: the producer learns, and memory stays bounded. Default 1,024.
   */
  maxPending?: number;
  /** Subjects this node subscribes to at once (a server: one per topic). Past it `subscribe` throws `ERR_BACKPLANE_SUBJECT`. Default 10,000. */
  maxSubjects?: number;
  /** Where a publish the engine refused, a message not of this framing, and a handler that threw are reported. Default: the console. */
  logger?: Logger;
}

/** Every default of {@link BackplaneOptions}. */
export const backplaneDefaults = {
  maxPending: 1_024,
  maxSubjects: 10_000,
  logger: consoleLogger,
} as const satisfies Omit<Required<BackplaneOptions>, "nodeId">;

export type ResolvedBackplaneOptions = Required<BackplaneOptions>;

/** The options with their defaults. Throws a `TypeError` or `RangeError` (`ERR_BACKPLANE_OPTION`) naming a bad one. */
export function resolveBackplaneOptions(options: BackplaneOptions): ResolvedBackplaneOptions {
  const nodeId = options.nodeId ?? globalThis.crypto.randomUUID();
  if (!isNodeId(nodeId)) throw new WirechanTypeError("ERR_BACKPLANE_OPTION", `backplane: nodeId must be 1 to 64 of letters, digits and _ . : -, got ${JSON.stringify(nodeId)}`);
  const resolved = { ...backplaneDefaults, ...options, nodeId };
  for (const name of ["maxPending", "maxSubjects"] as const) {
    const value = resolved[name];
    if (!Number.isInteger(value) || value < 1) throw new WirechanRangeError("ERR_BACKPLANE_OPTION", `backplane: ${name} must be a positive integer, got ${String(value)}`);
  }
  return resolved;
}
