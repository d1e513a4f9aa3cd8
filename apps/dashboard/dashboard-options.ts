/** The dashboard's options and their defaults: one object, every bound named. */
import { MAX_TIMEOUT_MS } from "../../src/index.js";
import type { Logger, PresenceOptions } from "../../src/server/index.js";
import { jsonFeedDefaults } from "./json-feed.js";

/** How `mountDashboard` runs the dashboard; see {@link dashboardDefaults} for each default. */
export interface DashboardOptions {
  /** Gap between readings, in ms (`npm start --interval`). Default 1000. */
  interval?: number;
  /** How far back the history a new watcher gets goes, in ms. Default 5 minutes. */
  historyMs?: number;
  /**
   * Most readings kept, whatever the interval: a short interval must not grow the history (or
   * the message carrying it) without bound. Default 600 (five minutes at two a second).
   */
  maxHistory?: number;
  /** Largest change between two readings (the walk's step). Default 0.5. */
  maxStep?: number;
  /** Events waiting for one watcher; one that falls this far behind is dropped. Default 64. */
  queueLength?: number;
  /** Watchers at once over the wirechan protocol; a further watch gets its inbox closed. Default 10,000. */
  maxViewers?: number;
  /**
   * Inboxes one session may watch with at once; a watch past this replaces the session's
   * oldest (a page reads only its latest), so one session cannot fill maxViewers. Default 4.
   */
  maxWatchesPerSession?: number;
  /** Clients of the plain `/happiness` feed at once; a further one is answered 503. Default 10,000. */
  maxFeedClients?: number;
  /** Buffer of the named channel "dashboard". Default 16. */
  buffer?: number;
  /**
   * The viewers' presence (docs/api.md "Presence"): how soon a dead node's viewers leave the
   * count (a node that closes takes them away at once). Default 2 s heartbeats, a 6 s timeout.
   */
  presence?: PresenceOptions;
  /**
   * The producers' presence (reading-source.ts): how soon the next node takes over the readings
   * when the one making them dies. Default 1 s heartbeats, a 3 s timeout: a gap of at most 4 s.
   */
  producerPresence?: PresenceOptions;
  /** The walk's random source, [0, 1). Default `Math.random`. */
  random?: () => number;
  /** Where ignored requests are reported. Default: the server's logger. */
  logger?: Logger;
}

/** The defaults of {@link DashboardOptions} (`logger` defaults to the server's). */
export const dashboardDefaults = {
  interval: 1000,
  historyMs: 5 * 60 * 1000,
  maxHistory: 600,
  maxStep: 0.5,
  queueLength: 64,
  maxViewers: 10_000,
  maxWatchesPerSession: 4,
  maxFeedClients: jsonFeedDefaults.maxClients,
  buffer: 16,
  presence: { heartbeatInterval: 2_000, timeout: 6_000 },
  producerPresence: { heartbeatInterval: 1_000, timeout: 3_000 },
  random: Math.random,
} satisfies Required<Omit<DashboardOptions, "logger">>;

export type ResolvedDashboardOptions = Required<DashboardOptions>;

const COUNTS = ["historyMs", "maxHistory", "queueLength", "maxViewers", "maxWatchesPerSession", "maxFeedClients", "buffer"] as const;

/** Applies the defaults; a `RangeError` names an option out of range. */
export function resolveDashboardOptions(options: DashboardOptions, serverLogger: Logger): ResolvedDashboardOptions {
  const defined = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as DashboardOptions;
  const resolved: ResolvedDashboardOptions = { ...dashboardDefaults, logger: serverLogger, ...defined };
  for (const name of COUNTS) {
    const value = resolved[name];
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`dashboard: ${name} must be a positive integer, got ${String(value)}`);
  }
  if (!Number.isInteger(resolved.interval) || resolved.interval < 1 || resolved.interval > MAX_TIMEOUT_MS) {
    throw new RangeError(`dashboard: interval must be a whole number of ms from 1 to ${MAX_TIMEOUT_MS}, got ${String(resolved.interval)}`);
  }
  if (!(resolved.maxStep > 0 && resolved.maxStep < 10)) throw new RangeError(`dashboard: maxStep must be above 0 and below 10, got ${String(resolved.maxStep)}`);
  return resolved;
}
