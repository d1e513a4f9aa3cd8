// The server's sessions: creation, lookup by id and secret, the link each one writes to, and
// one timer for every session's heartbeat, dead links and expiry (docs/protocol.md section 4).
import { randomBytes, timingSafeEqual } from "node:crypto";
import { MAX_TIMEOUT_MS } from "../../csp/timeout.js";
import { ProtocolError } from "../../wire/protocol-error.js";
import type { TransportName } from "../../wire/protocol.js";
import { ACK_DELAY_MS, type Link, type NamedTarget, Peer, type PeerOptions } from "../../session/peer.js";
import type { Codec } from "../../wire/codec.js";
import type { Logger } from "../../session/logger.js";
import type { ReplayLimits } from "../../session/sequence.js";
import type { ResolvedServerOptions } from "../options.js";
import { endReasonOf, type SessionEndReason, type SessionObserver } from "./session-events.js";


/** Where {@link clockNow} counts from. */
const CLOCK_ORIGIN = Date.now();

/**
 * The time in ms since this module loaded, for a session's `lastHeard` and the sweep. Not since
 * the epoch: a number that large is boxed as a heap number in each session (16 bytes), where one
 * below 2^31 (the first 24 days of a process) is kept in the field itself.
 */
function clockNow(): number {
  const ms = Date.now() - CLOCK_ORIGIN;
  // The same number; but a difference of two doubles stays a double, boxed, unless made an integer.
  return ms === (ms | 0) ? ms | 0 : ms;
}

/** What server code learns about the session a value came from (`envelope: true`). */
export interface SessionInfo {
  /** The session id (not its secret). */
  readonly id: string;
  /** What `authenticate` returned when the session was made. */
  readonly principal: unknown;
  /** The transport of its current link, or null between links. */
  readonly transport: TransportName | null;
  /**
   * The client address it was made from (what the `clientAddress` option returned, the one
   * `maxSessionsPerAddress` counts): for limits of server code's own per address, since one
   * address may hold many sessions.
   */
  readonly address: string;
}

/** A link as the session table sees it: the Peer's Link, and how to drop its connection. */
export interface ActiveLink extends Link {
  readonly transport: TransportName;
  /** Closes the connection under the link (a newer link replaced it, or it went silent). */
  drop(reason: string): void;
}

/**
 * Resolves a named server channel for one session: its target, a ProtocolError the put is
 * refused with (`ERR_FORBIDDEN`, not fatal), or undefined for a name nobody made.
 */
export type NameResolver = (name: string, session: SessionInfo) => NamedTarget | ProtocolError | undefined;

/** Characters of a client's `bye` reason or error message kept in a session's end reason. */
const MAX_PEER_WORDS = 200;

/** 128 random bits, base64url: 22 characters nobody can guess. */
function randomId(): string {
  return randomBytes(16).toString("base64url");
}

/** What server code sees of a session: never its secret or its state. */
class PublicSessionInfo implements SessionInfo {
  /** A real private field: not a property, so neither code nor a log line reaches the secret through it. */
  readonly #session: ServerSession;

  constructor(session: ServerSession) {
    this.#session = session;
  }

  get id(): string {
    return this.#session.id;
  }

  get principal(): unknown {
    return this.#session.principal;
  }

  get transport(): TransportName | null {
    return this.#session.transport;
  }

  get address(): string {
    return this.#session.address;
  }
}

/**
 * The smallest limit a client may ask the server to pack under: below it, the server's own puts
 * of ordinary values to that client would throw in server code (a loop serving every client
 * could be stopped by one hostile hello).
 */
export const MIN_CLIENT_PACKET_LIMIT = 64 * 1024;

/**
 * The largest packet the server sends a client: the smaller of its own limit and the client's
 * (a packet the client would refuse would lose the session), but never below
 * {@link MIN_CLIENT_PACKET_LIMIT} unless the server's own limit is.
 */
export function packetLimitFor(serverLimit: number, clientLimit: number | undefined): number {
  if (clientLimit === undefined) return serverLimit;
  return Math.min(serverLimit, Math.max(clientLimit, MIN_CLIENT_PACKET_LIMIT));
}

/** What a session needs from its table. */
interface SessionOwner {
  readonly options: ResolvedServerOptions;
  /** Every session's replay limits: one object for all of them. */
  readonly replayLimits: ReplayLimits;
  readonly resolveName: NameResolver;
  /** What every session id of this table ends with: `.<node tag>` with a backplane (cluster/node-tag.ts), else nothing. */
  readonly idSuffix: string;
  /** The session's replay buffer grew or shrank by `delta` (the server-wide budget). */
  replayCost(delta: number): void;
  /** The session ended, and why: forget it. */
  ended(session: ServerSession, reason: SessionEndReason): void;
}

/**
 * One session on the server. Made by {@link SessionTable.create}. It is also its Peer's
 * {@link PeerOptions}: what differs per session in two fields, the rest read from the table,
 * and the callbacks prototype methods. An object literal with four arrow functions cost about
 * 400 bytes more per session (bench/memory/README.md), and a separate options object 56 more.
 * Peer calls each callback as a method of its options (`options.onFatal(error)`), so `this` is
 * the session.
 */
export class ServerSession implements PeerOptions {
  readonly id: string;
  /** A real private field: neither a log line nor `util.inspect` shows the secret. */
  readonly #secret = randomId();
  readonly peer: Peer;
  /** Handed to server code with each value of an envelope channel. */
  readonly info: SessionInfo = new PublicSessionInfo(this);
  private active: ActiveLink | null = null;
  /** When the client was last heard from, or when the session lost its link (see {@link clockNow}). */
  lastHeard = clockNow();
  /** Whether a link ever attached: a session that never got one ends after `linkTimeout`. */
  linked = false;
  /** Which of the table's sweeps pings this session (see SessionTable's sweep): sessions are pinged a slice at a time. */
  pingSlot = 0;
  /** The tag scopes references to this session: another session's are recognised and refused. */
  readonly exportPrefix = `s.${randomBytes(6).toString("base64url")}.`;
  /** The largest packet the server sends this client (see {@link packetLimitFor}). */
  readonly maxMessageSize: number;
  /** The client reads a put's lazy flag (its latest hello said so): the topic's puts may carry it. */
  lazyAnswers = false;

  constructor(
    readonly principal: unknown,
    /** The client address it is counted under (`maxSessionsPerAddress`). */
    readonly address: string,
    private readonly owner: SessionOwner,
    /** The largest packet the client accepts, if it said so in its hello. */
    clientMaxMessageSize?: number,
  ) {
    this.id = randomId() + owner.idSuffix;
    this.maxMessageSize = packetLimitFor(owner.options.maxMessageSize, clientMaxMessageSize);
    this.peer = new Peer(this);
  }

  get side(): "server" {
    return "server";
  }

  get window(): number {
    return this.owner.options.window;
  }

  get maxChannels(): number {
    return this.owner.options.maxChannelsPerSession;
  }

  get ackDelay(): number {
    return ACK_DELAY_MS;
  }

  get replay(): ReplayLimits {
    return this.owner.replayLimits;
  }

  get codec(): Codec {
    return this.owner.options.codec;
  }

  get logger(): Logger {
    return this.owner.options.logger;
  }

  resolveName(name: string): NamedTarget | ProtocolError | undefined {
    return this.owner.resolveName(name, this.info);
  }

  onFatal(error: ProtocolError): void {
    this.fail(error);
  }

  /** The client's words are cut short: they come from the wire and go to server code's logs. */
  onBye(reason: string): void {
    this.end({ code: "bye", message: `the client said bye: ${reason.slice(0, MAX_PEER_WORDS)}` });
  }

  /** A fatal one: the client gave up on the session (it found a protocol error), and nothing will resume it. */
  onPeerError(code: string, message: string, fatal: boolean): void {
    if (fatal) this.end({ code: "error", message: `the client reported ${code.slice(0, 64)}: ${message.slice(0, MAX_PEER_WORDS)}` });
  }

  get transport(): TransportName | null {
    return this.active?.transport ?? null;
  }

  get link(): ActiveLink | null {
    return this.active;
  }

  /** The secret, for the welcome of a new session only. */
  revealSecret(): string {
    return this.#secret;
  }

  /** Whether `secret` is this session's, compared in constant time. */
  hasSecret(secret: string): boolean {
    const given = Buffer.from(secret);
    const own = Buffer.from(this.#secret);
    return given.length === own.length && timingSafeEqual(given, own);
  }

  /** What `util.inspect` and `console.log` show: the id and state, never the secret or the tables. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `ServerSession { id: ${this.id}, transport: ${this.transport ?? "none"}, ended: ${this.peer.hasEnded} }`;
  }

  /**
   * Makes `link` the session's link, replacing (and dropping) the one before, and sends the
   * frames after `peerRecv` on it. Throws `ERR_SESSION_LOST` when they cannot be sent; the
   * session is then ended.
   */
  attach(link: ActiveLink, peerRecv: number): void {
    const previous = this.active;
    this.active = link;
    this.linked = true;
    this.lastHeard = clockNow();
    if (previous !== null && previous !== link) {
      this.peer.detach(previous);
      previous.drop("replaced by a newer link");
    }
    try {
      this.peer.attach(link, peerRecv);
    } catch (error) {
      if (error instanceof ProtocolError) this.end(endReasonOf(error));
      throw error;
    }
  }

  /** The link closed; the session waits `sessionTtl` for the next one. */
  detach(link: ActiveLink): void {
    if (this.active !== link) return;
    this.active = null;
    this.peer.detach(link);
    this.lastHeard = clockNow();
  }

  /** The client sent something. */
  heard(): void {
    this.lastHeard = clockNow();
  }

  /** Reports a fatal error to the client on the current link, then ends the session. */
  fail(error: ProtocolError): void {
    const link = this.active;
    if (link !== null) {
      this.peer.sendControl({ kind: "error", code: error.code, message: error.message, fatal: true });
      this.peer.flushNow();
    }
    this.end(endReasonOf(error));
    link?.drop(error.code);
  }

  /** Ends the session for `reason`: proxies close, references go, the table forgets it. Idempotent: the first reason is the one told. */
  end(reason: SessionEndReason): void {
    if (this.peer.hasEnded) return;
    this.peer.end();
    const link = this.active;
    this.active = null;
    if (link !== null) {
      this.peer.detach(link);
      // Nothing more will come on it: a WebSocket closes, an SSE stream ends, a poll is answered.
      link.drop("session ended");
    }
    this.owner.ended(this, reason);
  }
}

/**
 * Every session of one server: bounded by `maxSessions`, by `maxSessionsPerAddress` per client
 * address, and in replay memory by `replayBudget` over all of them.
 */
export class SessionTable implements SessionOwner {
  private readonly sessions = new Map<string, ServerSession>();
  /** Sessions per client address; an address leaves the map with its last session. */
  private readonly perAddress = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private pingToken = 0;
  /** Sessions made so far: each one's `pingSlot`, dealt round robin. */
  private made = 0;
  /** Sweeps since the timer started: which slice of the sessions the next one pings. */
  private sweeps = 0;
  /** The sweep runs more often than `heartbeat` (for `linkTimeout`): each sweep pings one of this many slices. */
  private pingSlices = 1;
  /** What every session's replay buffer costs together, in bytes. */
  private replayTotal = 0;
  private budgetCheckScheduled = false;
  readonly replayLimits: ReplayLimits;

  constructor(
    readonly options: ResolvedServerOptions,
    readonly resolveName: NameResolver,
    /** Told of each session opened, resumed and ended (after the table forgot it: a topic's subscriptions go with it). */
    private readonly observer: SessionObserver = unobserved,
    readonly idSuffix = "",
  ) {
    this.replayLimits = { messages: options.replayMessages, bytes: options.replayBytes, onCostChange: this.replayCost, budgetPressed: this.budgetPressed };
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Bytes kept for replay by every session together (see `replayBudget`). */
  get replayBytes(): number {
    return this.replayTotal;
  }

  /** A new session. Throws `ERR_TOO_MANY_SESSIONS` at `maxSessions`, or at `maxSessionsPerAddress` for `address`. */
  create(principal: unknown, address: string, clientMaxMessageSize?: number): ServerSession {
    const { maxSessions, maxSessionsPerAddress } = this.options;
    if (this.sessions.size >= maxSessions) {
      throw new ProtocolError("ERR_TOO_MANY_SESSIONS", `the server has ${maxSessions} sessions (maxSessions); try again later`);
    }
    const fromAddress = this.perAddress.get(address) ?? 0;
    if (fromAddress >= maxSessionsPerAddress) {
      throw new ProtocolError("ERR_TOO_MANY_SESSIONS", `this address has ${maxSessionsPerAddress} sessions (maxSessionsPerAddress); close some, or try again later`);
    }
    const session = new ServerSession(principal, address, this, clientMaxMessageSize);
    session.pingSlot = this.made++;
    this.sessions.set(session.id, session);
    this.perAddress.set(address, fromAddress + 1);
    this.startSweep();
    this.observer.opened(session.info);
    return session;
  }

  /** The session with this id and secret, or undefined (unknown, expired, or the wrong secret: the caller cannot tell which). */
  find(id: string, secret: string): ServerSession | undefined {
    const session = this.sessions.get(id);
    return session !== undefined && session.hasSecret(secret) ? session : undefined;
  }

  /** A hello resumed `session` (every check passed; its welcome goes out next); `via`: the node it was forwarded from, if any. */
  resumed(session: ServerSession, via: string | null): void {
    this.observer.resumed(session.info, via);
  }

  /** Ends every session, telling each client why on its link if it has one (server shutdown). */
  endAll(error: ProtocolError): void {
    for (const session of [...this.sessions.values()]) session.fail(error);
    this.stopSweep();
  }

  /** A session's replay buffer changed by `delta` bytes (its sessions call it). */
  readonly replayCost = (delta: number): void => {
    this.replayTotal += delta;
    // Checked once the turn's frames are made: ending a session inside the append that
    // crossed the budget would pull its tables from under the code appending.
    if (this.replayTotal > this.options.replayBudget && !this.budgetCheckScheduled) {
      this.budgetCheckScheduled = true;
      queueMicrotask(this.enforceBudget);
    }
  };

  /** Whether every session's replay buffers together hold over half of `replayBudget`: lazy puts go prompt then. */
  readonly budgetPressed = (): boolean => this.replayTotal * 2 > this.options.replayBudget;

  /** Ends the sessions keeping the most for replay until the total is within `replayBudget`. */
  private readonly enforceBudget = (): void => {
    this.budgetCheckScheduled = false;
    while (this.replayTotal > this.options.replayBudget) {
      let largest: ServerSession | null = null;
      for (const session of this.sessions.values()) {
        if (largest === null || session.peer.replayCost > largest.peer.replayCost) largest = session;
      }
      if (largest === null || largest.peer.replayCost === 0) return;
      largest.fail(
        new ProtocolError(
          "ERR_SESSION_LOST",
          `the server's replay memory is full (replayBudget ${this.options.replayBudget} bytes) and this session kept the most unacknowledged frames (${largest.peer.replayCost} bytes)`,
        ),
      );
    }
  };

  /** The session ended: forget it (its sessions call it). */
  readonly ended = (session: ServerSession, reason: SessionEndReason): void => {
    if (this.sessions.get(session.id) !== session) return;
    this.sessions.delete(session.id);
    const left = (this.perAddress.get(session.address) ?? 1) - 1;
    if (left === 0) this.perAddress.delete(session.address);
    else this.perAddress.set(session.address, left);
    if (this.sessions.size === 0) this.stopSweep();
    this.observer.ended(session.info, reason);
  };

  private startSweep(): void {
    if (this.timer !== null) return;
    const { heartbeat, heartbeatTimeout, sessionTtl, linkTimeout } = this.options;
    const interval = Math.max(1, Math.min(heartbeat, Math.floor(heartbeatTimeout / 2), Math.floor(sessionTtl / 2), Math.floor(linkTimeout / 2), MAX_TIMEOUT_MS));
    // Rounded, as "a heartbeat, give or take half a sweep": each session is pinged every `heartbeat` ms, to within half a sweep.
    this.pingSlices = Math.max(1, Math.round(heartbeat / interval));
    this.timer = setInterval(this.sweep, interval);
    this.timer.unref();
  }

  private stopSweep(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * Pings a slice of the links (each link once per `heartbeat`, so that 5,000 pings never go in
   * one sweep: they would hold the event loop and delay every other message), drops links
   * silent for `heartbeatTimeout` (their clients reconnect and resume), ends sessions that
   * never got a link within `linkTimeout`, and sessions without a link for `sessionTtl`.
   */
  private readonly sweep = (): void => {
    const now = clockNow();
    const { sessionTtl, linkTimeout, heartbeatTimeout } = this.options;
    const slice = this.sweeps++ % this.pingSlices;
    const token = ++this.pingToken;
    for (const session of [...this.sessions.values()]) {
      const link = session.link;
      if (link === null) {
        if (session.linked && now - session.lastHeard >= sessionTtl) session.end(EXPIRED);
        else if (!session.linked && now - session.lastHeard >= linkTimeout) session.end(NO_LINK);
      } else if (now - session.lastHeard >= heartbeatTimeout) {
        session.detach(link);
        link.drop("heartbeat timeout");
      } else if (session.pingSlot % this.pingSlices === slice) {
        session.peer.sendControl({ kind: "ping", token });
      }
    }
  };
}

const EXPIRED: SessionEndReason = { code: "expired", message: "no link for sessionTtl" };
const NO_LINK: SessionEndReason = { code: "link-timeout", message: "a new session got no link within linkTimeout" };

/** The observer of a table nobody asked to hear from. */
const unobserved: SessionObserver = {
  opened: ignore,
  resumed: ignore,
  ended: ignore,
};

function ignore(): void {
  // Nobody asked to hear of sessions.
}
