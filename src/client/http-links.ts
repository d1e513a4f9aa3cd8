// The client's HTTP transports (docs/protocol.md section 3): the handshake by `POST path/open`,
// an upstream of POSTs to `path/send`, one at a time and one packet each, and a downstream of
// server-sent events (`path/sse`) or long-polls (`path/poll`). An SSE link opens only once its
// stream delivered an event: a proxy that holds every response until it ends would otherwise
// pass a stream that never arrives for an open one (section 6). Browser-safe.
import { isWirechanError } from "../csp/errors.js";
import type { Codec } from "../wire/codec.js";
import { controlFrame, type ControlFrame, type HelloBody, type WelcomeBody } from "../wire/frames.js";
import { helloPacket } from "../wire/handshake.js";
import { ProtocolError } from "../wire/protocol-error.js";
import { endpointPath, HEADERS } from "../wire/protocol.js";
import { HeldPackets, heldOverflow } from "./held-packets.js";
import { type ClientLink, describe, type HttpRequest, type LinkDown, type LinkEvents, openTimedOut, type TransportContext, TransportError, welcomeIn } from "./link.js";
import { httpRefusal } from "./refusals.js";
import { SseParser } from "./sse-parser.js";

/** A session's id and secret, as the HTTP transports send them in headers. */
export interface SessionCredentials {
  id: string;
  secret: string;
}

/**
 * Opens `transport` by `POST path/open`: the welcome, then a link. An SSE link is returned only
 * once its stream delivered its first event, all within `connectTimeout`; if it does not, and
 * the hello made a new session, that session is ended (`bye`) before the next transport makes
 * another.
 */
export async function openHttp(transport: "sse" | "longpoll", context: TransportContext, hello: HelloBody, events: LinkEvents): Promise<{ welcome: WelcomeBody; link: ClientLink }> {
  if (transport === "sse" && !context.eventStreams) throw new TransportError("sse", "no EventSource in this environment");
  const started = Date.now();
  const welcome = await openRequest(transport, context, hello);
  const credentials = { id: welcome.sid, secret: welcome.secret ?? hello.secret ?? "" };
  if (transport === "longpoll") return { welcome, link: new LongPollLink(context, credentials, events) };
  const link = new SseLink(context, credentials, events);
  try {
    await link.listen(hello.recv, context.connectTimeout - (Date.now() - started));
  } catch (error) {
    if (hello.sid === null) postAlone(context, credentials, controlPacket(context.codec, [{ kind: "bye", reason: "the event stream never arrived; trying another transport" }]));
    throw error;
  }
  return { welcome, link };
}

/** `POST path/open` with the hello: the welcome, or a TransportError (carrying the server's refusal, if it refused). */
async function openRequest(transport: "sse" | "longpoll", context: TransportContext, hello: HelloBody): Promise<WelcomeBody> {
  const [abort, timer] = timedAbort(context);
  let answer: { ok: boolean; status: number; text: string };
  try {
    const response = await context.fetch(endpointUrl(context, "open"), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: helloPacket(hello),
      signal: abort.signal,
    });
    answer = { ok: response.ok, status: response.status, text: await response.text() };
  } catch (error) {
    throw abort.signal.aborted ? openTimedOut(transport, context) : new TransportError(transport, `could not connect (${describe(error)})`);
  } finally {
    clearTimeout(timer);
  }
  if (!answer.ok) {
    const refusal = httpRefusal(answer.status, answer.text);
    throw new TransportError(transport, `open answered ${answer.status}${refusal === null ? "" : `: ${refusal.code} ${refusal.message}`}`, refusal ?? undefined);
  }
  return welcomeIn(transport, answer.text, context.maxMessageSize);
}

/**
 * Sends `packet` to `path/send` by a request of its own, given `connectTimeout`, its answer
 * read and dropped: the `bye` of a session that has no link to carry it (closed while
 * reconnecting, given up, or on an HTTP link). `keepalive`, so that it leaves even when the
 * page is going away (`pagehide`). Never throws, never reports: the session is over either way.
 */
export function postAlone(context: TransportContext, credentials: SessionCredentials, packet: string): void {
  const [abort, timer] = timedAbort(context);
  context
    .fetch(endpointUrl(context, "send"), {
      method: "POST",
      headers: { [HEADERS.session]: credentials.id, [HEADERS.secret]: credentials.secret, "content-type": "application/json" },
      body: packet,
      signal: abort.signal,
      keepalive: true,
      resend: true,
    })
    .then(readAndDrop)
    .catch(ignore)
    .finally(() => clearTimeout(timer));
}

/** A packet of control frames in the session's codec (the handshake's are JSON: handshake.ts). */
export function controlPacket(codec: Codec, frames: readonly ControlFrame[]): string {
  return codec.joinPacket(frames.map((frame) => codec.encodeFrame(controlFrame(frame))));
}

/**
 * The upstream of the HTTP transports: one POST at a time, one packet each, so a body is never
 * larger than the packets the session makes (each within `maxMessageSize`, in UTF-8 bytes).
 * While a POST is in flight the session does not write (see {@link defer}): what it has to
 * send waits in the session, bounded there, and goes when the POST is answered.
 */
abstract class HttpLink implements ClientLink {
  abstract readonly transport: "sse" | "longpoll";
  abstract readonly proven: boolean;
  protected closed = false;
  /** A real private field: neither util.inspect of a session nor a log line shows the secret. */
  readonly #credentials: SessionCredentials;
  /** One controller per request: a signal shared by many fetches collects a listener per fetch. */
  readonly #requests = new Set<AbortController>();
  /** Packets waiting for the POST in flight: what one held flush wrote (the packer's split of it). */
  #queue: string[] = [];
  #posting = false;
  /** When the POST in flight was sent. */
  #postedAt: number | null = null;

  get upstreamWaitingSince(): number | null {
    return this.#postedAt;
  }
  /** The session's flush, held until the POST in flight is answered. */
  #waitingFlush: (() => void) | null = null;

  constructor(
    protected readonly context: TransportContext,
    credentials: SessionCredentials,
    protected readonly events: LinkEvents,
  ) {
    this.#credentials = credentials;
  }

  abstract start(): void;

  send(packet: string): void {
    if (this.closed) return;
    this.#queue.push(packet);
    if (!this.#posting) void this.#post();
  }

  defer(flush: () => void): void {
    if (this.#posting) this.#waitingFlush = flush;
    else queueMicrotask(flush);
  }

  /**
   * Stops everything at once, the POST in flight included: what it carried is in the
   * session's replay buffer, and a closing session says `bye` by a request of its own.
   */
  close(): void {
    this.closed = true;
    this.#queue = [];
    this.#waitingFlush = null;
    for (const request of this.#requests) request.abort();
    this.#requests.clear();
  }

  /** A request whose whole answer is read as text; `close()` aborts it. */
  protected async fetchText(url: URL, init: HttpRequest): Promise<{ ok: boolean; status: number; text: string }> {
    const controller = this.track();
    try {
      const response = await this.context.fetch(url, { ...init, signal: controller.signal });
      return { ok: response.ok, status: response.status, text: await response.text() };
    } finally {
      this.untrack(controller);
    }
  }

  /** A controller `close()` aborts; the caller hands it to `untrack` when done. */
  protected track(): AbortController {
    const controller = new AbortController();
    this.#requests.add(controller);
    return controller;
  }

  protected untrack(controller: AbortController): void {
    this.#requests.delete(controller);
  }

  protected headers(extra: Record<string, string> = {}): Record<string, string> {
    return { [HEADERS.session]: this.#credentials.id, [HEADERS.secret]: this.#credentials.secret, ...extra };
  }

  protected url(endpoint: "sse" | "poll" | "send"): URL {
    return endpointUrl(this.context, endpoint);
  }

  /** The link failed: report once, stop everything. */
  protected down(down: LinkDown): void {
    if (this.closed) return;
    this.close();
    this.events.onDown(this, down);
  }

  /** An answer that is not 2xx: down, with the refusal it carries or means, if any (refusals.ts). */
  protected refused(request: string, status: number, body: string): void {
    const refusal = httpRefusal(status, body);
    const reason = `${request} answered ${status}${refusal === null ? "" : ` (${refusal.code}: ${refusal.message})`}`;
    this.down(refusal === null ? { code: status, reason } : { code: status, reason, refusal });
  }

  async #post(): Promise<void> {
    this.#posting = true;
    try {
      for (let packet = this.#queue.shift(); packet !== undefined && !this.closed; packet = this.#queue.shift()) {
        await this.#postOne(packet);
        // What the session held back meanwhile is written now, into the queue this loop sends next.
        const flush = this.#waitingFlush;
        this.#waitingFlush = null;
        if (flush !== null && !this.closed) flush();
      }
    } finally {
      this.#posting = false;
      this.#postedAt = null;
    }
  }

  async #postOne(packet: string): Promise<void> {
    let answer;
    this.#postedAt = Date.now();
    try {
      answer = await this.fetchText(this.url("send"), { method: "POST", headers: this.headers({ "content-type": "application/json" }), body: packet, resend: true });
    } catch (error) {
      // The frames are still in the session's replay buffer: the next link sends them again.
      this.down({ reason: `send failed (${describe(error)})` });
      return;
    }
    if (this.closed) return;
    if (!answer.ok) this.refused("send", answer.status, answer.text);
    else this.events.onAnswer(this, answer.text);
  }
}

/** An SSE downstream: each event's data is one packet. Opened by {@link listen}. */
class SseLink extends HttpLink {
  readonly transport = "sse" as const;
  #heard = false;
  /** Events before `start()`: the session is not ready for them yet. */
  readonly #early = new HeldPackets();
  /** While the stream has not delivered its first event: how `listen` settles. */
  #proof: { resolve: () => void; reject: (error: TransportError) => void; timer: ReturnType<typeof setTimeout>; timeout: number } | null = null;

  get proven(): boolean {
    return this.#heard;
  }

  /**
   * Opens the stream from server frame `recv` on. Resolves once its first event arrived (the
   * server pings every new stream at once); rejects with a TransportError if the stream fails,
   * or delivers nothing within `timeout` ms (a proxy holding responses until they end).
   */
  listen(recv: number, timeout: number): Promise<void> {
    const wait = Math.max(0, timeout);
    return new Promise<void>((resolve, reject) => {
      this.#proof = { resolve, reject, timer: setTimeout(this.#silent, wait), timeout: wait };
      void this.#read(recv);
    });
  }

  start(): void {
    this.#early.release(this.#deliver, this.#isOpen);
  }

  readonly #deliver = (packet: string): void => this.events.onPacket(this, packet);

  readonly #isOpen = (): boolean => !this.closed;

  protected override down(down: LinkDown): void {
    if (this.#proof === null) {
      super.down(down);
      return;
    }
    this.close();
    this.#settle(new TransportError("sse", down.reason, down.refusal));
  }

  readonly #silent = (): void => {
    const timeout = this.#proof?.timeout ?? 0;
    this.close();
    this.#settle(new TransportError("sse", `the event stream delivered nothing within ${timeout} ms (a proxy that holds responses until they end?)`));
  };

  readonly #onEvent = (data: string): void => {
    if (this.closed) return;
    this.#heard = true;
    this.#settle(null);
    if (this.#early.released) this.events.onPacket(this, data);
    else if (!this.#early.hold(data)) this.down(heldOverflow());
  };

  /** Ends the wait of `listen`: resolved (`null`) or rejected. */
  #settle(error: TransportError | null): void {
    const proof = this.#proof;
    if (proof === null) return;
    this.#proof = null;
    clearTimeout(proof.timer);
    if (error === null) proof.resolve();
    else proof.reject(error);
  }

  async #read(recv: number): Promise<void> {
    const controller = this.track();
    try {
      const response = await this.context.fetch(this.url("sse"), {
        headers: this.headers({ accept: "text/event-stream", [HEADERS.recv]: String(recv) }),
        signal: controller.signal,
      });
      if (!response.ok || response.body === null) {
        this.refused("sse", response.status, await response.text());
        return;
      }
      const parser = new SseParser(this.#onEvent, this.context.maxMessageSize + 64);
      const decoder = new TextDecoder();
      const reader = response.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parser.push(decoder.decode(value, { stream: true }));
      }
      this.down({ reason: "the event stream ended" });
    } catch (error) {
      // An event over the limit: the server would send it again on every stream.
      if (isWirechanError(error, "ERR_MESSAGE_TOO_LARGE")) this.down({ reason: error.message, refusal: new ProtocolError("ERR_MESSAGE_TOO_LARGE", error.message) });
      else this.down({ reason: `sse failed (${describe(error)})` });
    } finally {
      this.untrack(controller);
    }
  }
}

/** A long-polling downstream: each answer is one packet, and the next poll asks for what follows. */
class LongPollLink extends HttpLink {
  readonly transport = "longpoll" as const;
  #heard = false;

  get proven(): boolean {
    return this.#heard;
  }

  start(): void {
    void this.#poll();
  }

  async #poll(): Promise<void> {
    while (!this.closed) {
      let answer;
      try {
        answer = await this.fetchText(this.url("poll"), { headers: this.headers({ [HEADERS.recv]: String(this.events.received()) }) });
      } catch (error) {
        this.down({ reason: `poll failed (${describe(error)})` });
        return;
      }
      if (this.closed) return;
      if (!answer.ok) {
        this.refused("poll", answer.status, answer.text);
        return;
      }
      this.#heard = true;
      this.events.onPacket(this, answer.text);
    }
  }
}

/** The URL of one of the protocol's HTTP endpoints. */
function endpointUrl(context: TransportContext, endpoint: "open" | "sse" | "poll" | "send"): URL {
  return new URL(endpointPath(context.endpoint.pathname, endpoint), context.endpoint);
}

/** A controller aborted after `connectTimeout`, and its timer (to clear once answered). */
function timedAbort(context: TransportContext): [AbortController, ReturnType<typeof setTimeout>] {
  const abort = new AbortController();
  return [abort, setTimeout(abortWith, context.connectTimeout, abort)];
}

function abortWith(controller: AbortController): void {
  controller.abort();
}

async function readAndDrop(answer: { text(): Promise<string> }): Promise<void> {
  // Read to the end, so that a keep-alive connection goes back to its pool.
  await answer.text();
}

function ignore(): void {}
