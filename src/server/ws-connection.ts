// The WebSocket adapter: one `ws` socket seen through the Connection contract, with the
// limits the server promises (slow consumers, idle clients, oversized or malformed input).
import type { EventEmitter } from "node:events";
import type { Duplex } from "node:stream";
import { WebSocket, WebSocketServer } from "ws";
import type { RawData, Server as WsServer } from "ws";
import { WirechanTypeError } from "../csp/errors.js";
import { consoleLogger } from "../session/logger.js";
import type { CloseStatus, RequestInfo, SendData } from "./connection.js";
import type { EncodedMessage } from "./encoded-message.js";
import { HeartbeatSweep } from "./heartbeat-sweep.js";
import {
  callCloseListeners,
  type CloseListener,
  type CloseListeners,
  type CloseWatcher,
  type ReceiveWatcher,
  closedByServer,
  hasCloseListener,
  serverGoingAway,
  slowConsumer,
  slowConsumerGraceMs,
  withCloseListener,
  withoutCloseListener,
} from "./transport.js";
import type { AdapterOptions, ServerConnection } from "./transport.js";

/** Most messages kept for a connection that has no `onReceive` listener yet. */
export const maxQueuedMessages = 1024;

/** Status reported when messages piled up with no `onReceive` listener to take them. */
export const receiveQueueFull: CloseStatus = { by: "server", code: 1008, reason: "too many unread messages" };

/** Status reported when a client stopped answering pings (a half-open socket). */
export const idleTimedOut: CloseStatus = { by: "client", code: 1006, reason: "idle timeout" };

/** The close codes `ws` sends for its documented receive errors that are not 1002 (a protocol error, the code of every other `WS_ERR_…`). */
const closeCodeOfWsError: Readonly<Record<string, number>> = {
  WS_ERR_INVALID_UTF8: 1007,
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: 1009,
  WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH: 1009,
  WS_ERR_TOO_MANY_BUFFERED_PARTS: 1008,
};

/**
 * The `ws` server every WebSocket connection is accepted through: call
 * `wss.handleUpgrade(req, socket, head, cb)` and, synchronously in `cb`, {@link createWsConnection}.
 * Messages over `maxMessageSize` bytes close the socket with 1009 and invalid UTF-8 with 1007
 * (`ws` enforces both). `maxMessageSize` 0 means no limit: that is how `ws` reads `maxPayload` 0.
 * Throws nothing of its own.
 */
export function createWsServer(options: { maxMessageSize: number; perMessageDeflate: boolean }): WsServer<typeof ServerSocket> {
  return new WebSocketServer({
    WebSocket: ServerSocket,
    noServer: true,
    maxPayload: options.maxMessageSize,
    perMessageDeflate: options.perMessageDeflate,
    skipUTF8Validation: false,
    // The server keeps its own set of connections; a second one in ws would only cost memory.
    clientTracking: false,
    // ServerSocket answers pings itself: ws's answer keeps a closure and four fields per socket.
    autoPong: false,
  });
}

/**
 * Pongs a socket may have queued, unsent, before it is terminated (a client pinging faster
 * than it reads): what `ws` allows its own answers (`maxPendingAutoPongs`, by default).
 */
export const maxPendingPongs = 60;

export { HeartbeatSweep };

/** What the WebSocket adapter needs: the shared options, and the heartbeat it joins. */
export interface WsAdapterOptions extends AdapterOptions {
  heartbeat: HeartbeatSweep;
}

/**
 * Wraps a socket accepted by a server of {@link createWsServer} as a {@link ServerConnection}.
 * Call it synchronously in the `handleUpgrade` callback, so no event of the socket is missed.
 * `options` may be one object shared by every connection.
 *
 * - `send(data, close = false)`: strings go as text frames, bytes as binary frames (not copied:
 *   do not change them after sending), `{ body }` and `{ data }` send their payload (status,
 *   headers and SSE fields are ignored). Returns false once closing, and false when this send
 *   pushed `bufferedAmount` past `options.maxBufferedBytes`: the client is then closed with
 *   4008 "slow consumer" (`SLOW_CONSUMER_CLOSE_CODE`) and destroyed if its close frame has
 *   not gone out after {@link slowConsumerGraceMs}. Throws a `TypeError` (`ERR_WS_SEND_DATA`) for anything else.
 * - `sendEncoded(message)` (internal, for group broadcasts): see {@link WsConnection.sendEncoded};
 *   `socket` is the one passed to `handleUpgrade`, the socket `ws` writes to.
 * - `onReceive`: every listener gets every message from its registration on; messages that
 *   arrive before the first listener are kept (at most {@link maxQueuedMessages} or
 *   `maxBufferedBytes` bytes, beyond which the connection closes with {@link receiveQueueFull})
 *   and handed to every listener registered in the same tick as the first.
 * - Half-open clients: see {@link HeartbeatSweep}. The same check bounds a closing handshake
 *   the client never answers.
 * - `onClose` fires once the socket is gone (or at once when it is destroyed here), with the
 *   status of whoever started the close: `close()` → 1000, `goAway()` → 1001, input `ws`
 *   rejected → `{ by: "server", code: 1007 | 1009 | 1002 …, reason: <ws error message> }`, a
 *   client close → its code and reason (1005 without a code, 1006 without a close frame).
 */
export function createWsConnection(ws: ServerSocket, request: RequestInfo, options: WsAdapterOptions, socket?: Duplex): ServerConnection {
  return new WsConnection(ws, request, options, socket);
}

type Message = string | Uint8Array;
type Listener = ((message: Message) => void) | ReceiveWatcher;
/** Any EventEmitter listener, as node types it. */
type EmitterListener = Parameters<EventEmitter["on"]>[1];

/**
 * The listener table every {@link ServerSocket} starts with: frozen, so that a write that
 * bypassed {@link ServerSocket.ownListeners} fails loudly instead of reaching every socket.
 */
const noListeners: object = Object.freeze(Object.create(null) as object);

/** The extensions of every {@link ServerSocket} that negotiated none: frozen, as {@link noListeners}. */
const noExtensions: object = Object.freeze({});

/**
 * The `ws` socket of every WebSocket connection, made by `ws` itself (its `WebSocket` option).
 * It tells its connection of messages, pings, pongs, errors and close by a direct call from
 * `emit`, with no listener at all: five listeners grew `ws`'s table of them by 96 bytes a socket.
 * Nobody else listens (no public API hands the socket out), so until somebody does, every
 * socket shares one empty table instead of node's own (184 bytes each); a listener added
 * anyway gets a table of its own first and hears every event, after the connection.
 */
export class ServerSocket extends WebSocket {
  /** Where the events go: set by the connection, synchronously in `handleUpgrade`'s callback, before any can come. */
  connection: WsConnection | null = null;
  /** EventEmitter's table of listeners (node's own field, which `on` writes to and `emit` reads), replaced as the socket is made. */
  private _events: object = noListeners;
  /**
   * ws's extensions in use, by name (its own field): read only, on the server side, and
   * replaced as a whole by ws when permessage-deflate is negotiated. Without one, every
   * socket shares one frozen empty object instead of an object of its own (about 47 bytes).
   */
  private _extensions: object = noExtensions;
  /** Pongs queued and not yet written (see {@link maxPendingPongs}). */
  private pendingPongs = 0;

  override emit(event: string | symbol, ...args: unknown[]): boolean {
    // ws emits a ping after answering it itself; with `autoPong` off the answer is ours, as ws's was.
    if (event === "ping") this.answerPing(args[0] as Buffer);
    const connection = this.connection;
    if (connection === null) return super.emit(event, ...args);
    switch (event) {
      case "message":
        connection.handleMessage(args[0] as RawData, args[1] as boolean);
        break;
      case "ping":
      case "pong":
        connection.markAlive();
        break;
      case "error":
        // Ours is the error listener: without it EventEmitter would throw (a bad frame would crash the process).
        connection.handleError(args[0] as Error);
        if (this.listenerCount("error") === 0) return true;
        break;
      case "close":
        connection.handleClose(args[0] as number, args[1] as Buffer);
        break;
      default:
        return super.emit(event, ...args);
    }
    if (this._events !== noListeners) super.emit(event, ...args);
    return true;
  }

  // Every way node adds a listener (`once` and `prependOnceListener` call these) first gives
  // the socket a table of its own.
  override addListener(event: string | symbol, listener: EmitterListener): this {
    this.ownListeners();
    return super.addListener(event, listener);
  }

  override on(event: string | symbol, listener: EmitterListener): this {
    this.ownListeners();
    return super.on(event, listener);
  }

  override prependListener(event: string | symbol, listener: EmitterListener): this {
    this.ownListeners();
    return super.prependListener(event, listener);
  }

  /**
   * Answers a ping with a pong of the same payload, as `ws` would: only while open, and a
   * socket with {@link maxPendingPongs} pongs still unsent is terminated instead. The callback
   * is a closure while the pong is queued, not one kept for the socket's whole life.
   */
  private answerPing(data: Buffer): void {
    if (this.readyState !== WebSocket.OPEN) return;
    if (this.pendingPongs >= maxPendingPongs) {
      this.terminate();
      return;
    }
    this.pendingPongs++;
    this.pong(data, false, () => this.pendingPongs--);
  }

  private ownListeners(): void {
    if (this._events === noListeners) this._events = Object.create(null) as object;
  }
}

/**
 * The timers of slow consumers being dropped, a second each at most: a field for them would
 * cost every connection 8 bytes for what few ever need.
 */
const slowConsumerTimers = new Map<WsConnection, NodeJS.Timeout>();

/** A connection's `closeListeners` once it closed (told by identity): none are kept, and later ones are called at once. */
const CLOSED: CloseListener = function closed(): void {};

/** Made by {@link createWsConnection}; exported only for {@link HeartbeatSweep}'s signatures. */
export class WsConnection implements ServerConnection {
  // Getters, not fields: the same for every connection, so kept once on the prototype.
  get transport(): "websocket" {
    return "websocket";
  }

  get isWebSocket(): true {
    return true;
  }

  // The `onClose` and `onReceive` bookkeeping lives in these fields rather than in objects of
  // its own (a CloseNotifier, a receive queue): two objects fewer for each of many idle sockets.
  /** The listeners until the socket is gone, then {@link CLOSED} (and `ending` what `onClose` reported). */
  private closeListeners: CloseListeners = null;
  /**
   * The first {@link CloseWatcher} (a store's group, a session's link), told before the
   * listeners: in a field of its own, a connection with a listener of the handler's too makes
   * no array for the two (64 bytes).
   */
  private closeWatcher: CloseWatcher | null = null;
  /** Nearly every connection has one listener: an array only from the second on. */
  private receivers: Listener | Listener[] | null = null;
  /** Messages that came before the first `onReceive` listener, until handed over; nearly always null. */
  private backlog: Backlog | null = null;
  /** Why the connection is ending, set by whichever side started first; reported when the socket is gone. */
  private ending: CloseStatus | null = null;
  /** Whether the client showed any sign of life since the last sweep. */
  private alive = true;
  /**
   * The socket under `ws`, where {@link sendEncoded} may write whole frames; null when it must
   * not (no socket given, or an extension such as permessage-deflate negotiated: then every
   * frame must go through `ws`, which compresses and sets RSV1).
   */
  private readonly frameSocket: Duplex | null;

  constructor(
    private readonly ws: ServerSocket,
    readonly request: RequestInfo,
    private readonly options: WsAdapterOptions,
    socket?: Duplex,
  ) {
    this.frameSocket = socket !== undefined && ws.extensions === "" ? socket : null;
    ws.connection = this;
    options.heartbeat.add(this);
  }

  /** What `onClose` reported, once the socket is gone. */
  private get closedWith(): CloseStatus | null {
    return this.closeListeners === CLOSED ? this.ending : null;
  }

  get isOpen(): boolean {
    return this.ending === null && this.ws.readyState === this.ws.OPEN;
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  send(data: SendData, close = false): boolean {
    if (!this.isOpen) return false;
    const payload = payloadOf(data);
    if (payload !== undefined) this.ws.send(payload, { binary: typeof payload !== "string" });
    return this.afterSend(close);
  }

  /**
   * @internal One message made for many sockets (a group broadcast), sent as `send` sends its
   * payload (a TEXT frame for text, BINARY for bytes) with the same slow-consumer check, but
   * nothing made per socket: its prebuilt frame ({@link EncodedMessage.wsFrame}) is written to
   * the socket as it is, in one write. That is safe only while `ws` has nothing of its own
   * waiting to be written, which it would then overtake: without extensions `ws` writes every
   * frame (data, ping, close) to the socket synchronously, so its `bufferedAmount` is the
   * socket's `writableLength` unless something is queued inside `ws` (a frame being
   * compressed, a Blob being read). When the two differ, or with an extension, the message's
   * bytes go through `ws.send` instead: still encoded once for all, only framed by `ws`.
   */
  sendEncoded(message: EncodedMessage): boolean {
    if (!this.isOpen) return false;
    const socket = this.frameSocket;
    if (socket !== null && this.ws.bufferedAmount === socket.writableLength) socket.write(message.wsFrame);
    else this.ws.send(message.bytes, { binary: !message.isText });
    return this.afterSend(false);
  }

  /** After a frame was queued: drop a client past `maxBufferedBytes`, or close if asked. */
  private afterSend(close: boolean): boolean {
    if (this.ws.bufferedAmount > this.options.maxBufferedBytes) {
      this.dropSlowConsumer();
      return false;
    }
    if (close) this.beginClose(closedByServer);
    return true;
  }

  close(): boolean {
    if (!this.isOpen) return false;
    this.beginClose(closedByServer);
    return true;
  }

  goAway(): void {
    if (this.isOpen) this.beginClose(serverGoingAway);
  }

  destroy(): void {
    this.terminate(serverGoingAway);
  }

  onReceive(fn: (message: Message) => void): void {
    this.addReceiver(fn);
  }

  /** @internal Adds `watcher`, told of each message as a listener would be (see {@link ReceiveWatcher}). */
  watchReceive(watcher: ReceiveWatcher): void {
    this.addReceiver(watcher);
  }

  private addReceiver(fn: Listener): void {
    const receivers = this.receivers;
    const first = receivers === null;
    if (receivers === null) this.receivers = fn;
    else if (!Array.isArray(receivers)) this.receivers = [receivers, fn];
    else receivers.push(fn);
    const backlog = this.backlog;
    // Handed over in a microtask, so that every listener registered in this tick gets it; what
    // arrives meanwhile queues behind it.
    if (first && backlog !== null) queueMicrotask(() => this.handOver(backlog));
  }

  onClose(fn: CloseListener): void {
    const status = this.closedWith;
    if (status !== null) queueMicrotask(() => fn(status));
    else this.closeListeners = withCloseListener(this.closeListeners, fn);
  }

  /** @internal Adds `watcher` unless it is there already (see {@link CloseWatcher}). */
  watchClose(watcher: CloseWatcher): void {
    const status = this.closedWith;
    if (status !== null) queueMicrotask(() => watcher.connectionClosed(this, status));
    else if (this.closeWatcher === watcher || hasCloseListener(this.closeListeners, watcher)) return;
    else if (this.closeWatcher === null) this.closeWatcher = watcher;
    else this.closeListeners = withCloseListener(this.closeListeners, watcher);
  }

  /** @internal Removes `watcher` (see {@link CloseWatcher}); nothing once the socket is gone. */
  unwatchClose(watcher: CloseWatcher): void {
    if (this.closeWatcher === watcher) this.closeWatcher = null;
    else this.closeListeners = withoutCloseListener(this.closeListeners, watcher);
  }

  private beginClose(status: CloseStatus): void {
    this.ending = status;
    this.ws.close(status.code, status.reason);
  }

  /** Destroys the socket and reports at once: after `terminate` no close frame can arrive. */
  private terminate(status: CloseStatus): void {
    this.ending ??= status;
    this.ws.terminate();
    this.finish(this.ending);
  }

  private dropSlowConsumer(): void {
    this.beginClose(slowConsumer);
    // The close frame is queued behind the very backlog the client is not reading.
    const timer = setTimeout(() => this.terminate(slowConsumer), slowConsumerGraceMs);
    timer.unref();
    slowConsumerTimers.set(this, timer);
  }

  /** Called by the {@link HeartbeatSweep}: ping, or terminate a client silent since the last call. */
  checkAlive(): void {
    if (!this.alive) {
      this.terminate(idleTimedOut);
      return;
    }
    this.alive = false;
    // While closing no ping may be sent; the client's close frame or data then counts instead.
    if (this.ws.readyState === this.ws.OPEN) this.ws.ping();
  }

  markAlive(): void {
    this.alive = true;
  }

  handleMessage(data: RawData, isBinary: boolean): void {
    this.markAlive();
    // After a terminate, ws may still parse bytes that were already read; onClose came first.
    if (this.closedWith !== null) return;
    const bytes = bytesOf(data);
    const message = isBinary ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : bytes.toString("utf8");
    if (this.receivers !== null && this.backlog === null) {
      this.deliver(message);
      return;
    }
    this.backlog ??= new Backlog();
    if (!this.backlog.push(message, bytes.byteLength, this.options.maxBufferedBytes) && this.isOpen) this.beginClose(receiveQueueFull);
  }

  private handOver(backlog: Backlog): void {
    if (this.backlog === backlog) this.backlog = null;
    for (const message of backlog.messages) this.deliver(message);
  }

  private deliver(message: Message): void {
    const receivers = this.receivers;
    if (!Array.isArray(receivers)) {
      if (receivers !== null) this.callReceiver(receivers, message);
      return;
    }
    // A copy: a listener may register another one while being called.
    for (const fn of [...receivers]) this.callReceiver(fn, message);
  }

  private callReceiver(fn: Listener, message: Message): void {
    try {
      if (typeof fn === "function") fn(message);
      else fn.messageReceived(message);
    } catch (error) {
      // Thrown into ws's socket handler it would crash the process; one bad listener must not.
      (this.options.logger ?? consoleLogger).error("an onReceive listener threw:", error);
    }
  }

  handleError(error: Error): void {
    // ws has already sent its close frame (or ended the socket); only the report is ours.
    this.ending ??= statusOfWsError(error);
  }

  handleClose(code: number, reason: Buffer): void {
    this.finish(this.ending ?? { by: "client", code, reason: reason.toString("utf8") });
  }

  private finish(status: CloseStatus): void {
    this.options.heartbeat.delete(this);
    const timer = slowConsumerTimers.get(this);
    if (timer !== undefined) {
      clearTimeout(timer);
      slowConsumerTimers.delete(this);
    }
    if (this.closeListeners === CLOSED) return;
    this.ending = status;
    const listeners = this.closeListeners;
    const watcher = this.closeWatcher;
    this.closeListeners = CLOSED;
    this.closeWatcher = null;
    this.options.forgetConnection?.(this);
    const logger = this.options.logger ?? consoleLogger;
    callCloseListeners(watcher, status, logger, this);
    callCloseListeners(listeners, status, logger, this);
  }
}

/**
 * Messages that arrive before the first `onReceive` listener (handlers often register after an
 * `await`), at most {@link maxQueuedMessages} and `maxBufferedBytes` bytes.
 */
class Backlog {
  readonly messages: Message[] = [];
  private bytes = 0;

  /** Keeps `message`; false when the backlog is full and it was dropped. */
  push(message: Message, size: number, maxBytes: number): boolean {
    if (this.messages.length >= maxQueuedMessages || this.bytes + size > maxBytes) return false;
    this.messages.push(message);
    this.bytes += size;
    return true;
  }
}

/** The payload a WebSocket frame carries for `data`, or undefined when there is none (`{ status }`). */
function payloadOf(data: SendData): string | Uint8Array | undefined {
  if (typeof data === "string" || data instanceof Uint8Array) return data;
  if (typeof data !== "object" || data === null) throw invalidSendData(data);
  const payload = "data" in data ? data.data : data.body;
  if (payload === undefined && !("data" in data)) return undefined;
  if (typeof payload === "string" || payload instanceof Uint8Array) return payload;
  throw invalidSendData(payload);
}

function invalidSendData(value: unknown): WirechanTypeError {
  const kind = value === null ? "null" : typeof value;
  return new WirechanTypeError(
    "ERR_WS_SEND_DATA",
    `a WebSocket can send a string, a Uint8Array, { body } or { data } holding one of those; got ${kind}`,
  );
}

/** ws hands over Buffers by default; the other shapes only appear with another `binaryType`. */
function bytesOf(data: RawData): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  return data;
}

/**
 * How to report an error `ws` emitted. Receive errors (bad UTF-8, too big, protocol
 * violations) come after ws has sent a close frame with its own code; its later 'close' event
 * says 1006 because it stops reading, so the code comes from here, read from the error's
 * documented `code` (`WS_ERR_…`, ws's doc/ws.md), never from ws's private symbols. Other
 * errors end the socket without a close frame: 1006.
 */
function statusOfWsError(error: Error): CloseStatus {
  return { by: "server", code: closeCodeOf(error), reason: error.message };
}

function closeCodeOf(error: Error): number {
  const code = (error as Error & { code?: unknown }).code;
  if (typeof code !== "string") return 1006;
  // ws closes with 1007 when inflating a compressed message fails: zlib's codes are Z_….
  if (code.startsWith("Z_")) return 1007;
  return closeCodeOfWsError[code] ?? (code.startsWith("WS_ERR_") ? 1002 : 1006);
}
