/**
 * The live dashboard `npm start` serves at /dashboard (docs/apps.md, "Dashboard: the messages"):
 * a reading every `interval`, pushed to every page watching on the named channel "dashboard"
 * (each through its own queue: a frozen tab holds back nobody), and the same readings as JSON
 * text on `/happiness` for a plain WebSocket, an EventSource or a long-poll GET.
 *
 * Across nodes (a server with a backplane) it is one dashboard: one node makes the readings
 * (reading-source.ts) and puts them on a topic every node delivers to its own pages, so two pages
 * on two nodes draw the same chart; the engine's log keeps the last readings for a node that
 * starts later; the viewer count is a topic's presence, every node's pages counted. Alone, the
 * same topics work within the one process.
 */
import { chan, type Channel } from "../../src/index.js";
import type { Envelope, Logger, Topic, WirechanServer } from "../../src/server/index.js";
import { FanOut } from "../../src/server/fan-out.js";
import { EngineLog, parseJson } from "../shared/engine-log.js";
import { PresenceTally } from "../shared/presence-tally.js";
import { SessionInboxes } from "../shared/session-inboxes.js";
import { ThrottledWarning } from "../shared/throttled-warning.js";
import { type DashboardEvent, type DashboardInbox, isDashboardRequest } from "./dashboard-messages.js";
import { type DashboardOptions, type ResolvedDashboardOptions, resolveDashboardOptions } from "./dashboard-options.js";
import { JsonFeed } from "./json-feed.js";
import { ReadingSource } from "./reading-source.js";
import { isReading, type Reading, ReadingHistory } from "./readings.js";

export { dashboardDefaults, type DashboardOptions } from "./dashboard-options.js";
export type { DashboardEvent, DashboardRequest, Reading } from "./dashboard-messages.js";

/** The path of the plain feed. */
export const HAPPINESS_PATH = "/happiness";

/**
 * The dashboard's topics and log: private to the apps (`apps.`: clients may not subscribe, see
 * private-topics.ts). The readings' log has the readings topic's name; a log and a topic never meet.
 */
export const DASHBOARD_NAMES = {
  readings: "apps.dashboard.readings",
  viewers: "apps.dashboard.viewers",
  producers: "apps.dashboard.producers",
} as const;

/** A mounted dashboard. */
export interface MountedDashboard {
  /** Stops the readings, closes every watcher's inbox and the feed's clients. Idempotent. */
  close(): void;
}

/**
 * Makes the named channel "dashboard" and the route `/happiness` on `server`, and starts the
 * readings. Throws what `server.channel` throws (the name is taken) and a `RangeError` for a bad
 * option (see `resolveDashboardOptions`).
 */
export function mountDashboard(server: WirechanServer, options: DashboardOptions = {}): MountedDashboard {
  const resolved = resolveDashboardOptions(options, server.options.logger);
  const { backplane } = server.options;
  // The named channel first: a second dashboard on one server is refused naming "dashboard".
  const requests = server.channel<unknown>("dashboard", { envelope: true, buffer: resolved.buffer });
  // drop-oldest: this node's own loop is the only subscriber (clients may not subscribe) and must stay subscribed.
  const readings = server.topic<Reading>(DASHBOARD_NAMES.readings, { whenFull: "drop-oldest", queueLength: resolved.queueLength });
  const viewers = server.topic<never>(DASHBOARD_NAMES.viewers, { presence: resolved.presence, maxSubscribers: resolved.maxViewers });
  const producers = server.topic<never>(DASHBOARD_NAMES.producers, { presence: resolved.producerPresence });
  const log = backplane === null ? null : new EngineLog(backplane, DASHBOARD_NAMES.readings, resolved.maxHistory, readLoggedReading, resolved.logger);
  const source = new ReadingSource(readings, producers, log, resolved);
  const dashboard = new Dashboard(resolved, viewers, source);
  server.route(HAPPINESS_PATH, dashboard.feed.handler);
  const incoming = chan<Reading>(resolved.queueLength);
  readings.subscribe(incoming);
  void dashboard.start(log, incoming, requests);
  const timer = setInterval(source.tick, resolved.interval);
  // The server keeps the process alive; the readings alone should not.
  timer.unref();
  return {
    close(): void {
      clearInterval(timer);
      requests.close();
      source.close();
      dashboard.close();
      for (const topic of [readings, viewers, producers]) topic.close();
    },
  };
}

/** A reading of the engine's log, or null for an entry that is not one. */
function readLoggedReading(text: string): Reading | null {
  const value = parseJson(text);
  return isReading(value) ? { happiness: value.happiness, ts: value.ts } : null;
}

/** What a dropped page is told, so that it watches again. */
function dashboardFarewell(): DashboardEvent {
  return { dropped: { reason: "this page fell too far behind; watch again" } };
}

/** The dashboard's state on this node: its readings, its watchers, their presence, and its feed. */
class Dashboard {
  readonly feed: JsonFeed;
  private readonly watchers: FanOut<DashboardEvent>;
  private readonly history: ReadingHistory;
  /** Each session's watching inboxes, at most maxWatchesPerSession. */
  private readonly watches: SessionInboxes<DashboardInbox>;
  /** Each watcher's entry in the viewers' presence: a channel nothing is put on. At most maxViewers, as the watchers. */
  private readonly entries = new Map<DashboardInbox, Channel<never>>();
  /** The viewers of every node. */
  private readonly tally: PresenceTally;
  private readonly ignoring: ThrottledWarning;
  private readonly logger: Logger;
  private closed = false;

  constructor(
    options: ResolvedDashboardOptions,
    private readonly viewers: Topic<never>,
    private readonly source: ReadingSource,
  ) {
    this.feed = new JsonFeed({ maxClients: options.maxFeedClients });
    this.watchers = new FanOut<DashboardEvent>({ queueLength: options.queueLength, maxListeners: options.maxViewers }, { onDrop: this.onLeave, farewell: dashboardFarewell });
    this.history = new ReadingHistory(options.historyMs, options.maxHistory);
    this.watches = new SessionInboxes(options.maxWatchesPerSession);
    this.ignoring = new ThrottledWarning(options.logger, "dashboard: ignored a request that is not { watch: channel }");
    this.logger = options.logger;
    const presence = viewers.presence;
    if (presence === null) throw new TypeError("dashboard: the viewers topic needs its presence on");
    this.tally = new PresenceTally(presence, this.viewersChanged, options.logger);
  }

  /**
   * Reads the engine's log of readings (a node that starts later draws what the others drew),
   * then takes readings and watch requests. A watch waits meanwhile in the channel's buffer, so
   * that its history has the log's readings.
   */
  async start(log: EngineLog<Reading> | null, readings: Channel<Reading>, requests: Channel<Envelope<unknown>>): Promise<void> {
    for (const reading of (await log?.read()) ?? []) this.received(reading);
    void this.follow(readings);
    for await (const { value, session } of requests) {
      if (isDashboardRequest(value)) this.watch(value.watch, session.id);
      else this.ignoring.note(`from session ${session.id}`);
    }
  }

  /** The readings topic's values, from whichever node made them, until the topic closes. */
  private async follow(readings: Channel<Reading>): Promise<void> {
    for await (const reading of readings) this.received(reading);
    // Dropped by the topic (this loop fell behind) rather than closed with the app: no more readings would come.
    if (!this.closed) this.logger.error("dashboard: the readings topic let this node go; restart it");
  }

  /** One reading: kept, pushed to every watcher with the viewer count, and published on the feed. */
  private received(reading: Reading): void {
    if (!isReading(reading)) return;
    this.source.received(reading);
    this.history.add(reading);
    this.watchers.broadcast({ reading, viewers: this.tally.size });
    this.feed.publish(JSON.stringify(reading));
  }

  close(): void {
    this.closed = true;
    this.tally.close();
    this.watchers.close();
    this.feed.close();
  }

  private watch(inbox: DashboardInbox, session: string): void {
    if (this.watchers.has(inbox)) return;
    const oldest = this.watches.oldestOver(session);
    if (oldest !== undefined) this.watchers.remove(oldest);
    if (!this.watchers.add(inbox)) return;
    this.watches.add(session, inbox);
    this.watchers.send(inbox, { history: this.history.list() });
    const entry = chan<never>(1);
    this.entries.set(inbox, entry);
    // The viewers topic takes as many as the watchers (maxViewers), and clients may not subscribe to it.
    this.viewers.subscribe(entry, { principal: "viewer" });
  }

  /** A watcher left (its page went, fell behind, or watched again): its entry leaves the presence, and every node sees the count change. */
  private readonly onLeave = (inbox: DashboardInbox): void => {
    this.watches.remove(inbox);
    const entry = this.entries.get(inbox);
    this.entries.delete(inbox);
    if (entry !== undefined) this.viewers.unsubscribe(entry);
  };

  /** The count changed (a page here or on another node came or went): this node's pages are told. */
  private readonly viewersChanged = (): void => {
    if (!this.closed) this.watchers.broadcast({ viewers: this.tally.size });
  };
}
