/**
 * The live dashboard `npm start` serves at /dashboard (docs/apps.md, "Dashboard: the messages"):
 * a reading every `interval`, pushed to every page watching on the named channel "dashboard"
 * (each through its own queue: a frozen tab holds back nobody), and the same readings as JSON
 * text on `/happiness` for a plain WebSocket, an EventSource or a long-poll GET.
 */
import type { Channel } from "../../src/index.js";
import type { Envelope, WirechanServer } from "../../src/server/index.js";
import { FanOut } from "../../src/server/fan-out.js";
import { SessionInboxes } from "../shared/session-inboxes.js";
import { ThrottledWarning } from "../shared/throttled-warning.js";
import { type DashboardEvent, type DashboardInbox, isDashboardRequest } from "./dashboard-messages.js";
import { type DashboardOptions, type ResolvedDashboardOptions, resolveDashboardOptions } from "./dashboard-options.js";
import { JsonFeed } from "./json-feed.js";
import { nextHappiness, type Reading, ReadingHistory } from "./readings.js";

export { dashboardDefaults, type DashboardOptions } from "./dashboard-options.js";
export type { DashboardEvent, DashboardRequest, Reading } from "./dashboard-messages.js";

/** The path of the plain feed. */
export const HAPPINESS_PATH = "/happiness";

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
  const requests = server.channel<unknown>("dashboard", { envelope: true, buffer: resolved.buffer });
  const dashboard = new Dashboard(resolved);
  server.route(HAPPINESS_PATH, dashboard.feed.handler);
  void dashboard.serve(requests);
  const timer = setInterval(dashboard.tick, resolved.interval);
  // The server keeps the process alive; the readings alone should not.
  timer.unref();
  return {
    close(): void {
      clearInterval(timer);
      requests.close();
      dashboard.close();
    },
  };
}

/** What a dropped page is told, so that it watches again. */
function dashboardFarewell(): DashboardEvent {
  return { dropped: { reason: "this page fell too far behind; watch again" } };
}

/** The dashboard's state: its readings, its watchers and its feed. */
class Dashboard {
  readonly feed: JsonFeed;
  private readonly watchers: FanOut<DashboardEvent>;
  private readonly history: ReadingHistory;
  /** Each session's watching inboxes, at most maxWatchesPerSession. */
  private readonly watches: SessionInboxes<DashboardInbox>;
  private readonly ignoring: ThrottledWarning;
  private happiness: number;
  private closed = false;

  constructor(private readonly options: ResolvedDashboardOptions) {
    this.feed = new JsonFeed({ maxClients: options.maxFeedClients });
    this.watchers = new FanOut<DashboardEvent>({ queueLength: options.queueLength, maxListeners: options.maxViewers }, { onDrop: this.onLeave, farewell: dashboardFarewell });
    this.history = new ReadingHistory(options.historyMs, options.maxHistory);
    this.watches = new SessionInboxes(options.maxWatchesPerSession);
    this.ignoring = new ThrottledWarning(options.logger, "dashboard: ignored a request that is not { watch: channel }");
    this.happiness = options.random() * 10;
  }

  /** Takes watch requests until the channel closes; `watch` never waits, so nobody holds the loop. */
  async serve(requests: Channel<Envelope<unknown>>): Promise<void> {
    for await (const { value, session } of requests) {
      if (isDashboardRequest(value)) this.watch(value.watch, session.id);
      else this.ignoring.note(`from session ${session.id}`);
    }
  }

  /** One reading: kept, pushed to every watcher with the viewer count, and published on the feed. */
  readonly tick = (): void => {
    this.happiness = nextHappiness(this.happiness, this.options.random, this.options.maxStep);
    const reading: Reading = { happiness: this.happiness, ts: Date.now() };
    this.history.add(reading);
    this.watchers.broadcast({ reading, viewers: this.watchers.size });
    this.feed.publish(JSON.stringify(reading));
  };

  close(): void {
    this.closed = true;
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
    this.watchers.broadcast({ viewers: this.watchers.size });
  }

  /** A watcher left (its page went, fell behind, or watched again): the others see the count change. */
  private readonly onLeave = (inbox: DashboardInbox): void => {
    this.watches.remove(inbox);
    if (!this.closed) this.watchers.broadcast({ viewers: this.watchers.size });
  };
}
