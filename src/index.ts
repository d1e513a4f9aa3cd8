/**
 * wirechan: core.async-style channels that cross the wire.
 *
 * The root entry point is the channel library; the server, client and backplanes have their
 * own entry points (`wirechan/server`, `wirechan/client`, …).
 */
export * from "./csp/index.js";
