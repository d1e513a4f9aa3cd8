// The client's session: the first connect with fallback across transports, reconnects with
// backoff that resume the session, the WebSocket probe, heartbeats, and the states an app sees
// (docs/protocol.md section 6). A failure that resending cannot cure ends the session instead
// of a reconnect loop (refusals.ts); reconnect delays grow until a link makes progress
// (backoff.ts).
import { WirechanRangeError } from "../csp/errors.js";
import type { ControlFrame, WelcomeBody } from "../wire/frames.js";
import { ProtocolError } from "../wire/protocol-error.js";
import { errorFrame, peerError, type TransportName } from "../wire/protocol.js";
import type { RemoteChannel } from "../wire/remote-channel.js";
import { ACK_DELAY_MS, type Link, Peer } from "../session/peer.js";
import { Backoff } from "./backoff.js";
import { controlPacket, postAlone } from "./http-links.js";
import { type ClientLink, describe, type LinkDown, type LinkEvents, type TransportContext, TransportError } from "./link.js";
import type { ResolvedConnectOptions } from "./options.js";
import { endsSession, sessionGone } from "./refusals.js";
import { openTransport } from "./transports.js";

export type SessionState = "connecting" | "open" | "reconnecting" | "closed" | "lost";

/** Listeners one session keeps of each kind (`onState`, `onRefusal`). */
export const MAX_SESSION_LISTENERS = 1_000;

/** Adds `fn` to `listeners`, at most {@link MAX_SESSION_LISTENERS}; returns its remover. */
function addListener<F>(listeners: Set<F>, fn: F, kind: string): () => void {
  if (!listeners.has(fn) && listeners.size >= MAX_SESSION_LISTENERS) {
    throw new WirechanRangeError("ERR_TOO_MANY_LISTENERS", `at most ${MAX_SESSION_LISTENERS} ${kind} listeners (MAX_SESSION_LISTENERS): remove unused ones`);
  }
  listeners.add(fn);
  return () => void listeners.delete(fn);
}

/** Why the session is reconnecting, and when it tries next (`StateChange.cause`, the `shouldReconnect` option). */
export interface ReconnectCause {
  /** The transport of the link that went down, or the last one tried. */
  transport: TransportName;
  /** The WebSocket close code or the HTTP status, when there was one. */
  code?: number;
  /** What happened, in words. */
  reason: string;
  /** Which try this is since a link last made progress (stayed up `reconnect.stableAfter`): 1, 2, 3 … */
  attempt: number;
  /** How long the session waits before this try, in ms: the backoff, with its jitter. */
  delay: number;
}

/** A state change, for `onState` listeners. */
export interface StateChange {
  state: SessionState;
  /** `lost`: the error that ended the session. */
  error?: ProtocolError;
  /** `reconnecting`: why the link went down and when the first try comes; `closed` by `shouldReconnect`: the cause it declined. */
  cause?: ReconnectCause;
}

/** What the server is told when the client ends a session the server may still hold. */
interface Farewell {
  /** The `bye` frame's reason. */
  reason: string;
  /** A protocol error of the server's the client found, sent first. */
  error?: ProtocolError;
}

/**
 * A session with a wirechan server. `serverChan(name)` proxies a named server channel;
 * channels put inside values travel as references. The session survives dropped links: it
 * reconnects and resumes with nothing lost or repeated, until `close()`, or until it is `lost`
 * (the server no longer has it, or refused what cannot be sent again); then every proxy is
 * closed and the app connects afresh.
 */
export class Session {
  #current: SessionState = "connecting";
  #latest: StateChange = { state: "connecting" };
  readonly #listeners = new Set<(change: StateChange) => void>();
  readonly #refusalListeners = new Set<(error: ProtocolError) => void>();
  private peer: Peer | null = null;
  #sid: string | null = null;
  /** A real private field: neither util.inspect of the session nor a log line shows the secret. */
  #secret: string | null = null;
  #link: ClientLink | null = null;
  /** When the current link was adopted (ms since epoch). */
  #linkSince = 0;
  /** The transport that worked last: reconnects start with it. */
  #preferred: TransportName;
  readonly #backoff: Backoff;
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  #heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  #probeTimer: ReturnType<typeof setInterval> | null = null;
  #probing = false;
  /** When the current link's downstream last delivered a packet (answers to POSTs do not count). */
  #lastHeard = Date.now();
  #heartbeatMs = 25_000;
  #pingToken = 0;
  /** What every link tells this session; each call names its link, and a link that is not the current one is ignored. */
  readonly #events: LinkEvents;

  /** @internal Made by `connect`. */
  readonly #options: ResolvedConnectOptions;
  readonly #context: TransportContext;

  constructor(options: ResolvedConnectOptions, context: TransportContext) {
    this.#options = options;
    this.#context = context;
    this.#preferred = options.transports[0] as TransportName;
    this.#backoff = new Backoff(options.reconnect);
    this.#events = { onPacket: this.#linkPacket, onAnswer: this.#linkAnswer, onDown: this.#linkDown, received: this.#received };
  }

  get state(): SessionState {
    return this.#current;
  }

  /**
   * Why the session is in its state, as the last `onState` listener call said: for `lost` the
   * error, for `reconnecting` the cause. For an app that looks after the fact (a session lost
   * before it attached a listener).
   */
  get lastChange(): StateChange {
    return this.#latest;
  }

  /** The transport of the current link, or null between links. */
  get transport(): TransportName | null {
    return this.#link?.transport ?? null;
  }

  /** The session id (null before the first welcome). */
  get id(): string | null {
    return this.#sid;
  }

  /**
   * Calls `fn` on every state change; returns a function that stops it. Throws a `RangeError`
   * (`ERR_TOO_MANY_LISTENERS`) past {@link MAX_SESSION_LISTENERS}: listeners added in a loop
   * and never removed are a leak to report, not to grow.
   */
  onState(fn: (change: StateChange) => void): () => void {
    return addListener(this.#listeners, fn, "onState");
  }

  /**
   * Calls `fn` with each refusal the server sends without ending the session (an `error` frame
   * that is not fatal): a put to a name no server channel has (`ERR_UNKNOWN_CHANNEL`) or one
   * the server's `authorize` refused (`ERR_FORBIDDEN`); that put itself resolved `false`.
   * A notice, not a receipt: one sent as the link dropped is not sent again. Returns a
   * function that stops it.
   */
  onRefusal(fn: (error: ProtocolError) => void): () => void {
    return addListener(this.#refusalListeners, fn, "onRefusal");
  }

  /**
   * A proxy of the server channel `name`. Throws a `RangeError` (`ERR_TOO_MANY_CHANNELS`) past
   * the session's channel limit. On a closed or lost session the proxy is closed.
   */
  serverChan<T>(name: string): RemoteChannel<T> {
    return (this.peer as Peer).serverChan<T>(name);
  }

  /**
   * Ends the session: tells the server (`bye`; on the WebSocket, or by a POST of its own when
   * there is no WebSocket link, given `connectTimeout` and never waited for), closes the link
   * and every proxy. Idempotent.
   */
  close(): void {
    this.#finish("closed", {}, { reason: "closed by the client" });
  }

  /** @internal The first connect: every transport in order, once. Rejects if none opens. */
  async start(): Promise<void> {
    const failures: string[] = [];
    for (const transport of this.#options.transports) {
      try {
        await this.#open(transport);
        return;
      } catch (error) {
        if (error instanceof TransportError && error.protocolError !== undefined) {
          this.#finish("closed", {}, null);
          throw error.protocolError;
        }
        failures.push(describe(error));
      }
    }
    this.#finish("closed", {}, null);
    throw new TransportError(this.#options.transports[0] as TransportName, `could not connect with any transport: ${failures.join("; ")}`);
  }

  get #ended(): boolean {
    return this.#current === "closed" || this.#current === "lost";
  }

  /** Opens `transport`, resuming the session if there is one, and makes it the link. */
  async #open(transport: TransportName): Promise<void> {
    const hello = { sid: this.#sid, secret: this.#secret, recv: this.peer?.received ?? 0, maxMessageSize: this.#options.maxMessageSize, lazyAnswers: true };
    const { welcome, link } = await openTransport(transport, this.#context, hello, this.#events);
    if (this.#ended) {
      link.close();
      return;
    }
    this.#adopt(welcome, link);
  }

  #adopt(welcome: WelcomeBody, link: ClientLink): void {
    if (this.#sid !== null && welcome.sid !== this.#sid) {
      link.close();
      this.#lose(new ProtocolError("ERR_SESSION_LOST", "the server answered with another session"), null);
      return;
    }
    if (this.peer === null) {
      this.#sid = welcome.sid;
      this.#secret = welcome.secret;
      this.#heartbeatMs = welcome.heartbeat;
      this.peer = this.#makePeer(welcome);
    }
    const old = this.#link;
    this.#link = link;
    this.#linkSince = Date.now();
    this.#lastHeard = this.#linkSince;
    this.#preferred = link.transport;
    const peer = this.peer;
    if (old !== null && old !== link) {
      peer.detach(linkOf(old));
      old.close();
    }
    try {
      peer.attach(linkOf(link), welcome.recv);
    } catch (error) {
      const lost = error instanceof ProtocolError ? error : new ProtocolError("ERR_SESSION_LOST", describe(error));
      this.#lose(lost, { reason: lost.message, error: lost });
      return;
    }
    this.#startTimers();
    this.#setState("open");
    // Packets that came before the adoption flow now; one of them may end the session, so the
    // state is set first, and a listener that closed the session meanwhile stops the link.
    if (this.#link === link) link.start();
  }

  #makePeer(welcome: WelcomeBody): Peer {
    return new Peer({
      side: "client",
      exportPrefix: "c.",
      window: welcome.window,
      maxChannels: welcome.limits.maxChannels,
      maxMessageSize: Math.min(welcome.limits.maxMessageSize, this.#options.maxMessageSize),
      ackDelay: ACK_DELAY_MS,
      lazyAnswers: welcome.lazyAnswers === true,
      replay: { messages: this.#options.replayMessages, bytes: this.#options.replayBytes },
      codec: this.#options.codec,
      onFatal: this.#peerFatal,
      onPeerError: this.#peerReported,
      onBye: this.#peerSaidBye,
      logger: this.#options.logger,
    });
  }

  /** This side cannot go on (its replay buffer overflowed): the server is told. */
  readonly #peerFatal = (error: ProtocolError): void => {
    this.#lose(error, { reason: error.message, error });
  };

  /** A fatal error frame: the server ended the session already; another is a refusal the session outlives. */
  readonly #peerReported = (code: string, message: string, fatal: boolean): void => {
    if (fatal) this.#lose(peerError({ code, message, fatal }), null);
    else this.#refused(peerError({ code, message, fatal }));
  };

  #refused(error: ProtocolError): void {
    for (const fn of [...this.#refusalListeners]) {
      try {
        fn(error);
      } catch (thrown) {
        this.#options.logger.error("an onRefusal listener threw:", thrown);
      }
    }
  }

  readonly #peerSaidBye = (): void => {
    this.#lose(new ProtocolError("ERR_SESSION_LOST", "the server ended the session"), null);
  };

  /** A packet from the current link's downstream: it lives. */
  readonly #linkPacket = (link: ClientLink, text: string): void => {
    if (link !== this.#link) return;
    this.#lastHeard = Date.now();
    this.#receive(text);
  };

  /** The answer to an upstream POST: read, but it says nothing of the downstream (a proxy may hold that back). */
  readonly #linkAnswer = (link: ClientLink, text: string): void => {
    if (link === this.#link) this.#receive(text);
  };

  readonly #received = (): number => this.peer?.received ?? 0;

  /**
   * Reads a packet. Whatever it throws ends the session here, never in the socket's or
   * fetch's callback that delivered it: a protocol error is told to the server; anything else
   * (a bug) goes to the logger too.
   */
  #receive(text: string): void {
    const peer = this.peer;
    if (peer === null) return;
    try {
      peer.receive(text);
    } catch (error) {
      if (error instanceof ProtocolError) {
        this.#lose(error, { reason: error.message, error });
        return;
      }
      this.#options.logger.error("a packet from the server could not be handled; the session ends:", error);
      const failed = new ProtocolError("ERR_BAD_FRAME", `the client could not handle a packet from the server (${describe(error)}); the logger has the error`);
      this.#lose(failed, { reason: failed.message, error: failed });
    }
  }

  /** The current link went down: the session ends if resending cannot cure why, else it reconnects. */
  readonly #linkDown = (link: ClientLink, down: LinkDown): void => {
    if (link !== this.#link) return;
    this.#backoff.linkEnded(Date.now() - this.#linkSince, link.proven);
    this.peer?.detach(linkOf(link));
    this.#link = null;
    this.#stopTimers();
    const refusal = down.refusal;
    if (refusal !== undefined && endsSession(refusal)) {
      this.#lose(refusal, sessionGone(refusal) ? null : { reason: refusal.message });
      return;
    }
    this.#retry(down.code === undefined ? { transport: link.transport, reason: down.reason } : { transport: link.transport, code: down.code, reason: down.reason });
  };

  /** Schedules the next try, if `shouldReconnect` agrees; else the session closes. */
  #retry(what: Omit<ReconnectCause, "attempt" | "delay">): void {
    if (this.#ended || this.#retryTimer !== null) return;
    const cause: ReconnectCause = { ...what, ...this.#backoff.next() };
    if (!this.#mayReconnect(cause)) {
      this.#finish("closed", { cause }, { reason: "the client stopped reconnecting (shouldReconnect)" });
      return;
    }
    this.#setState("reconnecting", { cause });
    this.#retryTimer = setTimeout(this.#reconnectNow, cause.delay);
  }

  #mayReconnect(cause: ReconnectCause): boolean {
    try {
      return this.#options.shouldReconnect(cause) !== false;
    } catch (error) {
      this.#options.logger.error("the shouldReconnect option threw; reconnecting, as by default:", error);
      return true;
    }
  }

  readonly #reconnectNow = (): void => {
    this.#retryTimer = null;
    void this.#reconnect();
  };

  /** Tries the transport that worked last, then the others in order. */
  async #reconnect(): Promise<void> {
    const order = [this.#preferred, ...this.#options.transports.filter((t) => t !== this.#preferred)];
    let failure: Omit<ReconnectCause, "attempt" | "delay"> = { transport: this.#preferred, reason: "no transport opened" };
    for (const transport of order) {
      if (this.#current !== "reconnecting") return;
      try {
        await this.#open(transport);
        return;
      } catch (error) {
        const refusal = error instanceof TransportError ? error.protocolError : undefined;
        if (refusal !== undefined && endsSession(refusal)) {
          this.#lose(refusal, sessionGone(refusal) ? null : { reason: refusal.message });
          return;
        }
        if (!(error instanceof TransportError)) this.#options.logger.error("a reconnect failed unexpectedly:", error);
        failure = { transport, reason: describe(error) };
      }
    }
    if (this.#current === "reconnecting") this.#retry(failure);
  }

  #startTimers(): void {
    this.#stopTimers();
    const heartbeat = this.#heartbeatMs;
    this.#heartbeatTimer = setInterval(this.#beat, heartbeat);
    unref(this.#heartbeatTimer);
    // No probe where there is no WebSocket at all (a browser without one): it could only fail.
    const canProbe = this.#context.WebSocket !== undefined && this.#options.transports.includes("websocket") && this.#options.upgradeProbeInterval > 0;
    if (this.#link?.transport !== "websocket" && canProbe) {
      this.#probeTimer = setInterval(this.#probe, this.#options.upgradeProbeInterval);
      unref(this.#probeTimer);
    }
  }

  #stopTimers(): void {
    if (this.#heartbeatTimer !== null) clearInterval(this.#heartbeatTimer);
    if (this.#probeTimer !== null) clearInterval(this.#probeTimer);
    this.#heartbeatTimer = null;
    this.#probeTimer = null;
  }

  /**
   * Pings, and drops a link whose downstream has been silent for `heartbeatTimeout`. The check
   * compares clock times, so a timer a background tab delayed never counts as silence.
   */
  readonly #beat = (): void => {
    const link = this.#link;
    if (link === null || this.peer === null) return;
    const now = Date.now();
    const timeout = this.#options.heartbeatTimeout(this.#heartbeatMs);
    if (now - this.#lastHeard > timeout) {
      link.close();
      this.#linkDown(link, { reason: "nothing arrived from the server within heartbeatTimeout" });
      return;
    }
    const posted = link.upstreamWaitingSince;
    if (posted !== null && now - posted > timeout) {
      link.close();
      this.#linkDown(link, { reason: "a request upstream got no answer within heartbeatTimeout" });
      return;
    }
    this.peer.sendControl({ kind: "ping", token: ++this.#pingToken });
  };

  /** On SSE or long-polling: tries WebSocket again, and moves to it (a resume) if it opens. */
  readonly #probe = (): void => {
    if (this.#probing || this.#current !== "open" || this.#link?.transport === "websocket") return;
    this.#probing = true;
    this.#open("websocket").catch(ignore).finally(this.#probed);
  };

  readonly #probed = (): void => {
    this.#probing = false;
  };

  /** Ends the session as `lost` with `error`; `farewell`: the server may still hold it, and is told. */
  #lose(error: ProtocolError, farewell: Farewell | null): void {
    this.#finish("lost", { error }, farewell);
  }

  #finish(state: "closed" | "lost", detail: Omit<StateChange, "state">, farewell: Farewell | null): void {
    if (this.#ended) return;
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#stopTimers();
    const link = this.#link;
    this.#link = null;
    if (farewell !== null) this.#sayBye(link, farewell);
    link?.close();
    this.peer?.end();
    this.#setState(state, detail);
  }

  /**
   * Tells the server the session ends: on the WebSocket, after what is already written; without
   * one (an HTTP link, or none while reconnecting) by a POST of its own to `path/send`, which
   * the server takes from any link of the session.
   */
  #sayBye(link: ClientLink | null, farewell: Farewell): void {
    const peer = this.peer;
    const sid = this.#sid;
    const secret = this.#secret;
    if (peer === null || sid === null || secret === null) return;
    const frames: ControlFrame[] = farewell.error === undefined ? [] : [errorFrame(farewell.error)];
    frames.push({ kind: "bye", reason: farewell.reason });
    if (link?.transport === "websocket") {
      for (const frame of frames) peer.sendControl(frame);
      peer.flushNow();
    } else {
      postAlone(this.#context, { id: sid, secret }, controlPacket(this.#options.codec, frames));
    }
  }

  #setState(state: SessionState, detail: Omit<StateChange, "state"> = {}): void {
    if (this.#current === state) return;
    this.#current = state;
    const change: StateChange = { state, ...detail };
    this.#latest = change;
    for (const fn of [...this.#listeners]) {
      try {
        fn(change);
      } catch (thrown) {
        this.#options.logger.error("an onState listener threw:", thrown);
      }
    }
  }
}

/** The Peer's view of a client link: packets go upstream. */
const peerLinks = new WeakMap<ClientLink, Link>();

function linkOf(link: ClientLink): Link {
  let peerLink = peerLinks.get(link);
  if (peerLink === undefined) {
    const defer = link.defer?.bind(link);
    peerLink = {
      oneShot: false,
      acksItself: link.transport === "longpoll",
      send: (packet: string) => link.send(packet),
      ...(defer === undefined ? {} : { defer }),
    };
    peerLinks.set(link, peerLink);
  }
  return peerLink;
}

/** Node's timers would keep a process alive for a session's heartbeat; browsers' are numbers. */
function unref(timer: ReturnType<typeof setInterval>): void {
  (timer as { unref?: () => void }).unref?.();
}

function ignore(): void {
  // A probe that fails leaves the current link as it is.
}
