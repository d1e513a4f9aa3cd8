// The client's three ways to reach a server (docs/protocol.md section 3), behind one small
// contract (link.ts): open (handshake), start (downstream flows), send (upstream), close. The
// WebSocket link is here; the HTTP ones are in http-links.ts. Browser-safe: the WebSocket class
// comes from the platform (platform.ts), never from an import here.
import type { HelloBody, WelcomeBody } from "../wire/frames.js";
import { helloPacket } from "../wire/handshake.js";
import { HeldPackets, heldOverflow } from "./held-packets.js";
import { openHttp } from "./http-links.js";
import { type ClientLink, type LinkEvents, openTimedOut, type TransportContext, TransportError, type WebSocketLike, welcomeIn } from "./link.js";
import { closeRefusal } from "./refusals.js";

export type { TransportName } from "../wire/protocol.js";
export { type ClientLink, type HttpAnswer, type HttpFetch, type HttpRequest, type LinkDown, type LinkEvents, type TransportContext, TransportError, type WebSocketLike } from "./link.js";

/** Opens `transport`: the handshake, then a link whose downstream waits for `start()`. */
export function openTransport(
  transport: "websocket" | "sse" | "longpoll",
  context: TransportContext,
  hello: HelloBody,
  events: LinkEvents,
): Promise<{ welcome: WelcomeBody; link: ClientLink }> {
  return transport === "websocket" ? openWebSocket(context, hello, events) : openHttp(transport, context, hello, events);
}

// WebSocket.

async function openWebSocket(context: TransportContext, hello: HelloBody, events: LinkEvents): Promise<{ welcome: WelcomeBody; link: ClientLink }> {
  const WebSocketClass = context.WebSocket;
  if (WebSocketClass === undefined) throw new TransportError("websocket", "no WebSocket in this environment");
  const url = new URL(context.endpoint);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return new Promise((resolve, reject) => {
    const link = new WebSocketLink(new WebSocketClass(url.href), events);
    link.handshake(helloPacket(hello), context, resolve, reject);
  });
}

/** The close code and reason of a close event (the browser's CloseEvent, or ws's). */
function closeDetails(event: unknown): { code: number; reason: string } {
  const { code, reason } = (event ?? {}) as { code?: unknown; reason?: unknown };
  return { code: typeof code === "number" ? code : 1006, reason: typeof reason === "string" ? reason : "" };
}

class WebSocketLink implements ClientLink {
  readonly transport = "websocket" as const;
  /** A WebSocket has no request waiting for an answer: what it sends, TCP carries or resets. */
  readonly upstreamWaitingSince = null;
  #welcomed = false;
  #closedByUs = false;
  /** Packets before `start()`: the session is not ready for them yet. */
  readonly #early = new HeldPackets();

  readonly #socket: InstanceType<WebSocketLike>;
  readonly #events: LinkEvents;

  constructor(socket: InstanceType<WebSocketLike>, events: LinkEvents) {
    this.#socket = socket;
    this.#events = events;
  }

  /** The welcome came on the socket itself: the downstream delivered. */
  get proven(): boolean {
    return this.#welcomed;
  }

  handshake(
    hello: string,
    context: TransportContext,
    resolve: (value: { welcome: WelcomeBody; link: ClientLink }) => void,
    reject: (error: unknown) => void,
  ): void {
    const socket = this.#socket;
    const timer = setTimeout(() => fail(openTimedOut("websocket", context)), context.connectTimeout);
    const fail = (error: unknown): void => {
      clearTimeout(timer);
      this.#closedByUs = true;
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
      try {
        socket.close();
      } catch {
        // Closing a socket that never opened may throw in some implementations; it is gone either way.
      }
      reject(error);
    };
    socket.onopen = () => socket.send(hello);
    socket.onerror = () => {
      if (!this.#welcomed) fail(new TransportError("websocket", "could not connect (refused, blocked, or no upgrade)"));
    };
    socket.onclose = (event) => {
      if (!this.#welcomed) fail(new TransportError("websocket", "closed before the welcome"));
      else this.#closed(event);
    };
    socket.onmessage = (event) => {
      const text = typeof event.data === "string" ? event.data : null;
      if (this.#welcomed) {
        if (text === null) return;
        if (this.#early.released) this.#events.onPacket(this, text);
        else if (!this.#early.hold(text)) this.#overflowed();
        return;
      }
      let welcome;
      try {
        welcome = welcomeIn("websocket", text ?? "", context.maxMessageSize);
      } catch (error) {
        fail(error);
        return;
      }
      clearTimeout(timer);
      this.#welcomed = true;
      resolve({ welcome, link: this });
    };
  }

  start(): void {
    this.#early.release(this.#deliver, this.#isOpen);
  }

  readonly #deliver = (packet: string): void => this.#events.onPacket(this, packet);

  readonly #isOpen = (): boolean => !this.#closedByUs;

  /** More packets before `start()` than a link holds: it goes down, as a cut link would. */
  #overflowed(): void {
    this.close();
    this.#events.onDown(this, heldOverflow());
  }

  send(packet: string): void {
    if (this.#socket.readyState === 1) this.#socket.send(packet);
  }

  close(): void {
    this.#closedByUs = true;
    this.#socket.close(1000, "");
  }

  /** The socket closed after the welcome: down, with what its close code means (1009: a packet over the server's limit). */
  #closed(event: unknown): void {
    if (this.#closedByUs) return;
    this.#closedByUs = true;
    const { code, reason } = closeDetails(event);
    const refusal = closeRefusal(code, reason);
    const down = { code, reason: `the WebSocket closed with ${code}${reason === "" ? "" : ` (${reason})`}` };
    this.#events.onDown(this, refusal === null ? down : { ...down, refusal });
  }
}
