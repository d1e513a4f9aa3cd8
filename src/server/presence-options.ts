// The options of a topic's presence (`server.topic(name, { presence })`, docs/api.md "Presence"):
// the one defaults object, and the check that refuses a bad option before the topic's name is
// taken. The timing defaults follow Phoenix.Tracker's shape (a heartbeat, and a node silent for
// a few of them counted down), scaled to a web page's patience for a stale "who is here".
import { WirechanRangeError, WirechanTypeError } from "../csp/errors.js";
import type { SessionInfo } from "./protocol/sessions.js";

/** The options of a topic's presence; defaults in {@link presenceDefaults}. */
export interface PresenceOptions {
  /**
   * How often, in ms, a node that has entries on the topic tells the other nodes it is alive
   * (one small message per topic per node), and checks for nodes gone silent. Default 5,000.
   */
  heartbeatInterval?: number;
  /**
   * A node not heard from for this long, in ms, is taken for dead: its entries leave, with
   * reason `"expired"`. At least twice `heartbeatInterval`, so that one late heartbeat does not
   * count a node down. Entries go between `timeout` and `timeout + heartbeatInterval` after the
   * node's last word. Default 15,000.
   */
  timeout?: number;
  /**
   * Entries this node keeps for the topic, every node's together. This node's own always are
   * (`maxSubscribers` bounds them); past it, other nodes' new entries are left out of `list()`
   * and `size`, counted in `presence.leftOut`, and a warning is logged. Default 100,000.
   */
  maxEntries?: number;
  /** Other nodes this node keeps entries of; a message from one more is dropped and logged. Default 1,000. */
  maxNodes?: number;
  /**
   * Largest presence message published, in UTF-8 bytes: a snapshot, or a burst of joins, is cut
   * into messages of at most this size (a snapshot of 100,000 entries is a few hundred
   * messages, never one). At least `maxPrincipalBytes + 1,024`. Default 65,536.
   */
  maxMessageBytes?: number;
  /**
   * Largest principal that crosses, in UTF-8 bytes of its JSON. One larger, one JSON cannot
   * write (a cycle, a `BigInt`), or one nested more than 32 deep, is listed as `null` on every
   * node, and a warning is logged.
   * Default 1,024.
   */
  maxPrincipalBytes?: number;
  /**
   * What a client's entry shows as its principal, from its session. Runs once per
   * subscription. The session's principal may hold what other nodes and clients should not see
   * (a token): pick what to show here. Default: `session.principal`.
   */
  principalOf?: (session: SessionInfo) => unknown;
  /** Server channels watching the presence at once (`presence.watch`); past it `ERR_TOO_MANY_LISTENERS`. Default 1,000. */
  maxWatchers?: number;
  /** Entries a client's `{ presence: inbox }` request gets at most (the count is always whole). Default 1,000. */
  maxListed?: number;
}

/** Every default of {@link PresenceOptions}. */
export const presenceDefaults = {
  heartbeatInterval: 5_000,
  timeout: 15_000,
  maxEntries: 100_000,
  maxNodes: 1_000,
  maxMessageBytes: 65_536,
  maxPrincipalBytes: 1_024,
  principalOf: principalOfSession,
  maxWatchers: 1_000,
  maxListed: 1_000,
} as const satisfies Required<PresenceOptions>;

export type ResolvedPresenceOptions = Required<PresenceOptions>;

function principalOfSession(session: SessionInfo): unknown {
  return session.principal;
}

/** The longest interval a timer takes (2^31 - 1 ms). */
const MAX_DELAY = 2_147_483_647;

/**
 * The topic option `presence` with its defaults, or null when presence is off (`undefined` or
 * `false`). Throws a `TypeError` or `RangeError` (`ERR_PRESENCE_OPTION`) naming a bad option.
 */
export function resolvePresenceOptions(option: boolean | PresenceOptions | undefined): ResolvedPresenceOptions | null {
  if (option === undefined || option === false) return null;
  if (option !== true && (typeof option !== "object" || option === null)) {
    throw new WirechanTypeError("ERR_PRESENCE_OPTION", `topic option presence must be true, false or an object of options, got ${typeof option}`);
  }
  const given = option === true ? {} : option;
  const resolved: ResolvedPresenceOptions = { ...presenceDefaults };
  for (const [name, value] of Object.entries(given) as Array<[keyof PresenceOptions, unknown]>) {
    // An option given as undefined gets its default, as the server's options do.
    if (value !== undefined) Object.assign(resolved, { [name]: value });
  }
  for (const name of ["heartbeatInterval", "timeout", "maxEntries", "maxNodes", "maxMessageBytes", "maxPrincipalBytes", "maxWatchers", "maxListed"] as const) {
    const value = resolved[name];
    const max = name === "heartbeatInterval" || name === "timeout" ? MAX_DELAY : Number.MAX_SAFE_INTEGER;
    if (!Number.isSafeInteger(value) || value < 1 || value > max) {
      throw new WirechanRangeError("ERR_PRESENCE_OPTION", `topic presence option ${name} must be an integer from 1 to ${max}, got ${String(value)}`);
    }
  }
  if (resolved.timeout < 2 * resolved.heartbeatInterval) {
    throw new WirechanRangeError("ERR_PRESENCE_OPTION", `topic presence option timeout (${resolved.timeout}) must be at least twice heartbeatInterval (${resolved.heartbeatInterval}): one late heartbeat must not count a node down`);
  }
  if (resolved.maxMessageBytes < resolved.maxPrincipalBytes + 1_024) {
    throw new WirechanRangeError("ERR_PRESENCE_OPTION", `topic presence option maxMessageBytes (${resolved.maxMessageBytes}) must be at least maxPrincipalBytes + 1,024 (${resolved.maxPrincipalBytes + 1_024}): every entry must fit in one message`);
  }
  if (typeof resolved.principalOf !== "function") {
    throw new WirechanTypeError("ERR_PRESENCE_OPTION", `topic presence option principalOf must be a function, got ${typeof resolved.principalOf}`);
  }
  return resolved;
}
