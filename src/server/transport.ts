import { consoleLogger, type Logger } from "../session/logger.js";
import { SLOW_CONSUMER_CLOSE_CODE } from "../wire/protocol.js";
import type { CloseStatus, Connection } from "./connection.js";

/**
 * The contract between the server and each transport adapter (websocket, sse, http). The
 * server picks the adapter per request, wires CORS and limits, counts connections, and on
 * shutdown tells every connection to go away; the adapter owns its socket.
 */
export interface ServerConnection extends Connection {
  /**
   * Server shutdown: close with "going away" (WebSocket 1001; HTTP and SSE end their
   * response), reporting `{ by: "server", code: 1001 }` to `onClose`. Idempotent.
   */
  goAway(): void;
  /** Destroys the socket at once (after `closeTimeout`), reporting like `goAway` if not yet closed. */
  destroy(): void;
}

/** What every adapter needs from the server's options. */
export interface AdapterOptions {
  /** Outbound bytes allowed queued, unsent, before the client counts as a slow consumer. */
  maxBufferedBytes: number;
  /** Headers added to every HTTP response this connection writes (CORS). */
  extraHeaders: Readonly<Record<string, string>>;
  /**
   * Called once when a connection closes, before its `onClose` listeners: the server's own
   * bookkeeping, one function for every connection rather than a closure each.
   */
  forgetConnection?: (connection: ServerConnection) => void;
  /** Where a listener that threw is reported (the server's `logger` option). Default {@link consoleLogger}. */
  logger?: Logger;
}

/** Status reported when the server ends a connection itself. */
export const closedByServer: CloseStatus = { by: "server", code: 1000, reason: "" };
/** Status reported on server shutdown. */
export const serverGoingAway: CloseStatus = { by: "server", code: 1001, reason: "server shutting down" };
/** Status reported when an HTTP or SSE client vanished (its socket closed under us). */
export const clientGone: CloseStatus = { by: "client", code: 1006, reason: "" };
/**
 * Status reported when a slow consumer is dropped: more than `maxBufferedBytes` of what was
 * sent to it wait unsent. A WebSocket is closed with this code and reason; an SSE stream is
 * ended, an HTTP stream cut (neither has a close frame), and both report it to `onClose`.
 */
export const slowConsumer: CloseStatus = { by: "server", code: SLOW_CONSUMER_CLOSE_CODE, reason: "slow consumer" };

/**
 * How long a slow consumer's end (a WebSocket's close frame, an HTTP or SSE stream's end) may
 * sit behind its unread backlog before the socket is destroyed. Ended rather than destroyed at
 * once, so that a client that reads again gets what was already queued (at most
 * `maxBufferedBytes` and one message) and then the reason, instead of a cut that loses it; not
 * longer, because the client has shown it is not reading, and waiting only holds that memory.
 */
export const slowConsumerGraceMs = 1_000;

/** An `onClose` listener. */
export type CloseListener = (status: CloseStatus) => void;

/**
 * @internal Told when a connection closes, with its `onClose` listeners: an object that exists
 * anyway (a `MemoryChannelStore`'s group for its many members, a session's link), where a
 * listener would be a closure per connection. Connections of ours take one with `watchClose`
 * and let it go with `unwatchClose`.
 */
export interface CloseWatcher {
  connectionClosed(connection: Connection, status: CloseStatus): void;
}

/** @internal Told of each message, in turn with the `onReceive` listeners (see {@link CloseWatcher}). */
export interface ReceiveWatcher {
  messageReceived(message: string | Uint8Array): void;
}

type CloseEntry = CloseListener | CloseWatcher;

/**
 * Listeners kept in one field: most connections have one or two, so an array only from the
 * second on (memory per connection).
 */
export type CloseListeners = CloseEntry | CloseEntry[] | null;

/** `listeners` with `entry` added (the array, when there is one, grows in place). */
export function withCloseListener(listeners: CloseListeners, entry: CloseEntry): CloseListeners {
  if (listeners === null) return entry;
  if (!Array.isArray(listeners)) return [listeners, entry];
  listeners.push(entry);
  return listeners;
}

/** `listeners` without `entry`, back to one field when one is left (the array shrinks in place). */
export function withoutCloseListener(listeners: CloseListeners, entry: CloseEntry): CloseListeners {
  if (!Array.isArray(listeners)) return listeners === entry ? null : listeners;
  const at = listeners.indexOf(entry);
  if (at !== -1) listeners.splice(at, 1);
  return listeners.length === 1 ? (listeners[0] as CloseEntry) : listeners;
}

/** Whether `entry` is one of `listeners`. */
export function hasCloseListener(listeners: CloseListeners, entry: CloseEntry): boolean {
  return Array.isArray(listeners) ? listeners.includes(entry) : listeners === entry;
}

/**
 * Calls every listener with `status` (and every watcher with `connection`); one that throws is
 * reported to `logger`, and the others still run.
 */
export function callCloseListeners(listeners: CloseListeners, status: CloseStatus, logger: Logger, connection: Connection): void {
  for (const entry of Array.isArray(listeners) ? listeners : listeners === null ? [] : [listeners]) {
    try {
      if (typeof entry === "function") entry(status);
      else entry.connectionClosed(connection, status);
    } catch (error) {
      logger.error("an onClose listener threw:", error);
    }
  }
}

/**
 * The `onClose` bookkeeping of the HTTP and SSE adapters: listeners registered before or after
 * the close, called at most once each, with the first status. A listener that throws is
 * reported to `options.logger` and the others still run. (The WebSocket adapter keeps the same
 * two fields in the connection itself: one object less for each of many idle sockets.)
 */
export class CloseNotifier {
  private status: CloseStatus | null = null;
  private readonly forgetConnection: ((connection: ServerConnection) => void) | undefined;
  private readonly logger: Logger;

  constructor(
    private readonly owner: ServerConnection,
    options: Pick<AdapterOptions, "forgetConnection" | "logger">,
  ) {
    this.forgetConnection = options.forgetConnection;
    this.logger = options.logger ?? consoleLogger;
  }

  private listeners: CloseListeners = null;

  get closed(): boolean {
    return this.status !== null;
  }

  add(fn: CloseListener): void {
    if (this.status !== null) queueMicrotask(() => fn(this.status as CloseStatus));
    else this.listeners = withCloseListener(this.listeners, fn);
  }

  /** Adds `watcher` unless it is there already (see {@link CloseWatcher}). */
  watch(watcher: CloseWatcher): void {
    const status = this.status;
    if (status !== null) queueMicrotask(() => watcher.connectionClosed(this.owner, status));
    else if (!hasCloseListener(this.listeners, watcher)) this.listeners = withCloseListener(this.listeners, watcher);
  }

  /** Removes `watcher`, if it is there and the connection has not closed yet. */
  unwatch(watcher: CloseWatcher): void {
    this.listeners = withoutCloseListener(this.listeners, watcher);
  }

  /** Records the status and calls the listeners; later calls do nothing. Returns whether this was the first. */
  fire(status: CloseStatus): boolean {
    if (this.status !== null) return false;
    this.status = status;
    const listeners = this.listeners;
    this.listeners = null;
    this.forgetConnection?.(this.owner);
    callCloseListeners(listeners, status, this.logger, this.owner);
    return true;
  }
}
