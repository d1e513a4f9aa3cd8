// The client's session: the first connect with fallback across transports, reconnects with
// backoff that resume the session, the WebSocket probe, heartbeats, and the states an app sees
// (docs/protocol.md section 6).
import type { WelcomeBody } from "../wire/frames.js";
import { ProtocolError } from "../wire/protocol-error.js";
import type { RemoteChannel } from "../wire/remote-channel.js";
import { ACK_DELAY_MS, type Link, Peer } from "../session/peer.js";
import type { ResolvedConnectOptions } from "./options.js";
import { type ClientLink, openTransport, type TransportContext, TransportError, type TransportName } from "./transports.js";

export type SessionState = "connecting" | "open" | "reconnecting" | "closed" | "lost";

/** Why a session went to `lost` or `closed`, for `onState` listeners. */
export interface StateChange {
  state: SessionState;
  /** The error that ended the session (`lost`), if any. */
  error?: ProtocolError;
}

/**
 * A session with a wirechan server. `serverChan(name)` proxies a named server channel;
 * channels put inside values travel as references. The session survives dropped links: it
 * reconnects and resumes with nothing lost or repeated, until `close()`, or until it is `lost`
 * (the server no longer has it); then every proxy is closed and the app connects afresh.
 */
export class Session {
  private current: SessionState = "connecting";
  private readonly listeners = new Set<(change: StateChange) => void>();
  private peer: Peer | null = null;
  private sid: string | null = null;
  private secret: string | null = null;
  private link: ClientLink | null = null;
  private linkName: TransportName | null = null;
  /** The transport that worked last: reconnects start with it. */
  private preferred: TransportName;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  private probeTimer: ReturnType<typeof setInterval> | null = null;
  private probing = false;
  private lastHeard = Date.now();
  private heartbeatMs = 25_000;
  private pingToken = 0;

  /** @internal Made by `connect`. */
  constructor(
    private readonly options: ResolvedConnectOptions,
    private readonly context: TransportContext,
  ) {
    this.preferred = options.transports[0] as TransportName;
  }

  get state(): SessionState {
    return this.current;
  }

  /** The transport of the current link, or null between links. */
  get transport(): TransportName | null {
    return this.linkName;
  }

  /** The session id (null before the first welcome). */
  get id(): string | null {
    return this.sid;
  }

  /** Calls `fn` on every state change; returns a function that stops it. */
  onState(fn: (change: StateChange) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * A proxy of the server channel `name`. Throws a `RangeError` (`ERR_TOO_MANY_CHANNELS`) past
   * the session's channel limit. On a closed or lost session the proxy is closed.
   */
  serverChan<T>(name: string): RemoteChannel<T> {
    return (this.peer as Peer).serverChan<T>(name);
  }

  /** Ends the session: tells the server (`bye`), closes the link and every proxy. Idempotent. */
  close(): void {
    if (this.current === "closed" || this.current === "lost") return;
    const peer = this.peer;
    if (peer !== null && this.link !== null) {
      peer.sendControl({ kind: "bye", reason: "closed by the client" });
      peer.flushNow();
    }
    this.finish("closed");
  }

  /** @internal The first connect: every transport in order, once. Rejects if none opens. */
  async start(): Promise<void> {
    const failures: string[] = [];
    for (const transport of this.options.transports) {
      try {
        await this.open(transport);
        return;
      } catch (error) {
        if (error instanceof TransportError && error.protocolError !== undefined) throw error.protocolError;
        failures.push(error instanceof Error ? error.message : String(error));
      }
    }
    this.finish("closed");
    throw new TransportError(this.options.transports[0] as TransportName, `could not connect with any transport: ${failures.join("; ")}`);
  }

  /** Opens `transport`, resuming the session if there is one, and makes it the link. */
  private async open(transport: TransportName): Promise<void> {
    // Filled in once the link is adopted: packets of a link that is not the current one are ignored.
    const linkRef: { link: ClientLink | null } = { link: null };
    const events = {
      onPacket: (text: string) => this.onPacket(linkRef, text),
      onDown: (reason: string) => this.onDown(linkRef, reason),
      received: () => this.peer?.received ?? 0,
    };
    const { welcome, link } = await openTransport(transport, this.context, { sid: this.sid, secret: this.secret, recv: this.peer?.received ?? 0 }, events);
    if (this.current === "closed" || this.current === "lost") {
      link.close();
      return;
    }
    linkRef.link = link;
    this.adopt(transport, welcome, link);
  }

  private adopt(transport: TransportName, welcome: WelcomeBody, link: ClientLink): void {
    if (this.sid !== null && welcome.sid !== this.sid) {
      link.close();
      this.lose(new ProtocolError("ERR_SESSION_LOST", "the server answered with another session"));
      return;
    }
    if (this.peer === null) {
      this.sid = welcome.sid;
      this.secret = welcome.secret;
      this.heartbeatMs = welcome.heartbeat;
      this.peer = this.makePeer(welcome);
    }
    const old = this.link;
    this.link = link;
    this.linkName = transport;
    this.preferred = transport;
    this.attempt = 0;
    this.lastHeard = Date.now();
    const peer = this.peer;
    if (old !== null && old !== link) {
      peer.detach(linkOf(old));
      old.close();
    }
    try {
      peer.attach(linkOf(link), welcome.recv);
    } catch (error) {
      this.lose(error instanceof ProtocolError ? error : new ProtocolError("ERR_SESSION_LOST", String(error)));
      return;
    }
    link.start();
    this.startTimers();
    this.setState("open");
  }

  private makePeer(welcome: WelcomeBody): Peer {
    return new Peer({
      side: "client",
      exportPrefix: "c.",
      window: welcome.window,
      maxChannels: welcome.limits.maxChannels,
      maxMessageSize: Math.min(welcome.limits.maxMessageSize, this.options.maxMessageSize),
      ackDelay: ACK_DELAY_MS,
      replay: { messages: this.options.replayMessages, bytes: this.options.replayBytes },
      codec: this.options.codec,
      onFatal: (error) => this.lose(error),
      onPeerError: (code, message, fatal) => {
        if (fatal) this.lose(new ProtocolError(code as ProtocolError["code"], message));
      },
      onBye: () => this.lose(new ProtocolError("ERR_SESSION_LOST", "the server ended the session")),
    });
  }

  private onPacket(ref: { link: ClientLink | null }, text: string): void {
    if (ref.link !== this.link || this.peer === null) return;
    this.lastHeard = Date.now();
    try {
      this.peer.receive(text);
    } catch (error) {
      if (error instanceof ProtocolError) {
        this.peer.sendControl({ kind: "error", code: error.code, message: error.message, fatal: true });
        this.peer.flushNow();
        this.lose(error);
      } else throw error;
    }
  }

  private onDown(ref: { link: ClientLink | null }, _reason: string): void {
    if (ref.link !== this.link || this.link === null) return;
    this.peer?.detach(linkOf(this.link));
    this.link = null;
    this.linkName = null;
    this.stopTimers();
    if (this.current === "open") this.setState("reconnecting");
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.current !== "reconnecting" || this.retryTimer !== null) return;
    const { initial, max, jitter } = this.options.reconnect;
    const base = Math.min(max, initial * 2 ** this.attempt);
    const delay = Math.max(0, base * (1 + jitter * (Math.random() * 2 - 1)));
    this.attempt++;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.reconnect();
    }, delay);
  }

  /** Tries the transport that worked last, then the others in order. */
  private async reconnect(): Promise<void> {
    const order = [this.preferred, ...this.options.transports.filter((t) => t !== this.preferred)];
    for (const transport of order) {
      if (this.current !== "reconnecting") return;
      try {
        await this.open(transport);
        return;
      } catch (error) {
        if (error instanceof TransportError && error.protocolError !== undefined) {
          this.lose(error.protocolError);
          return;
        }
      }
    }
    this.scheduleReconnect();
  }

  private startTimers(): void {
    this.stopTimers();
    const heartbeat = this.heartbeatMs;
    this.heartbeatTimer = setInterval(this.beat, heartbeat);
    unref(this.heartbeatTimer);
    if (this.linkName !== "websocket" && this.options.transports.includes("websocket") && this.options.upgradeProbeInterval > 0) {
      this.probeTimer = setInterval(this.probe, this.options.upgradeProbeInterval);
      unref(this.probeTimer);
    }
  }

  private stopTimers(): void {
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
    if (this.probeTimer !== null) clearInterval(this.probeTimer);
    this.heartbeatTimer = null;
    this.probeTimer = null;
  }

  /**
   * Pings, and drops a link the server has been silent on for `heartbeatTimeout`. The check
   * compares clock times, so a timer a background tab delayed never counts as silence.
   */
  private readonly beat = (): void => {
    const link = this.link;
    if (link === null || this.peer === null) return;
    if (Date.now() - this.lastHeard > this.options.heartbeatTimeout(this.heartbeatMs)) {
      this.onDown({ link }, "heartbeat timeout");
      link.close();
      return;
    }
    this.peer.sendControl({ kind: "ping", token: ++this.pingToken });
  };

  /** On SSE or long-polling: tries WebSocket again, and moves to it (a resume) if it opens. */
  private readonly probe = (): void => {
    if (this.probing || this.current !== "open" || this.linkName === "websocket") return;
    this.probing = true;
    this.open("websocket")
      .catch(() => {
        // Still not possible; the current link stays.
      })
      .finally(() => {
        this.probing = false;
      });
  };

  private lose(error: ProtocolError): void {
    this.finish("lost", error);
  }

  private finish(state: "closed" | "lost", error?: ProtocolError): void {
    if (this.current === "closed" || this.current === "lost") return;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.stopTimers();
    const link = this.link;
    this.link = null;
    this.linkName = null;
    link?.close();
    this.peer?.end();
    this.setState(state, error);
  }

  private setState(state: SessionState, error?: ProtocolError): void {
    if (this.current === state) return;
    this.current = state;
    const change: StateChange = error === undefined ? { state } : { state, error };
    for (const fn of [...this.listeners]) {
      try {
        fn(change);
      } catch (thrown) {
        console.error("wirechan: an onState listener threw:", thrown);
      }
    }
  }
}

/** The Peer's view of a client link: packets go upstream. */
const peerLinks = new WeakMap<ClientLink, Link>();

function linkOf(link: ClientLink): Link {
  let peerLink = peerLinks.get(link);
  if (peerLink === undefined) {
    peerLink = {
      oneShot: false,
      acksItself: link.transport === "longpoll",
      send: (packet: string) => link.send(packet),
      defer: (flush: () => void) => link.defer(flush),
    };
    peerLinks.set(link, peerLink);
  }
  return peerLink;
}

/** Node's timers would keep a process alive for a session's heartbeat; browsers' are numbers. */
function unref(timer: ReturnType<typeof setInterval>): void {
  (timer as { unref?: () => void }).unref?.();
}
