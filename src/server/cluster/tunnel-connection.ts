// The owner's side of a forwarded connection (docs/api.md "No sticky sessions"): a Connection
// whose client is a connection on another node. The session's links (a WebSocket link, an SSE
// link, a long-poll) run over it unchanged: what they send crosses the backplane to the edge,
// which writes it to the client's real connection; what the client sends comes back the same way.
import type { CloseStatus, Connection, ConnectionTransport, RequestInfo, SendData } from "../connection.js";
import type { ForwardKind } from "./forward-frames.js";
import { writeAnswer } from "./forward-frames.js";
import { SLOW_CONSUMER_CLOSE_CODE } from "../../wire/protocol.js";

/** Publishes one message to the edge; throws when the backplane cannot take it (full, closed). */
export type TunnelSink = (kind: Extract<ForwardKind, "ok" | "down" | "answer" | "drop">, payload: string) => void;

const decoder = new TextDecoder();

export class TunnelConnection implements Connection {
  readonly isWebSocket: boolean;
  /** The edge buffers what its client has not read; the owner holds nothing. */
  readonly bufferedAmount = 0;
  #open = true;
  readonly #receivers: Array<(message: string | Uint8Array) => void> = [];
  readonly #closers: Array<(status: CloseStatus) => void> = [];

  constructor(
    readonly transport: ConnectionTransport,
    readonly request: RequestInfo,
    private readonly sink: TunnelSink,
    /** Called once when the tunnel ends, whichever side ended it: the owner forgets it. */
    private readonly onEnd: () => void,
  ) {
    this.isWebSocket = transport === "websocket";
  }

  get isOpen(): boolean {
    return this.#open;
  }

  send(data: SendData, close?: boolean): boolean {
    if (!this.#open) return false;
    try {
      if (typeof data === "string") this.sink("down", data);
      else if (data instanceof Uint8Array) this.sink("down", decoder.decode(data));
      else if ("data" in data) this.sink("down", typeof data.data === "string" ? data.data : decoder.decode(data.data));
      else {
        this.sink("answer", writeAnswer(data));
        // A plain HTTP answer ends its request, as it does on an HttpConnection.
        if (close ?? this.transport === "http") this.#end({ by: "server", code: 1000, reason: "" });
      }
    } catch {
      // The backplane did not take it: the link is as good as cut. The session keeps the frames
      // for replay, and its client reconnects.
      this.#end({ by: "server", code: 1011, reason: "the backplane did not take a packet" });
      return false;
    }
    return true;
  }

  close(): boolean {
    if (!this.#open) return false;
    try {
      this.sink("drop", "");
    } catch {
      // The edge will not hear it; its client's heartbeat finds the link dead.
    }
    this.#end({ by: "server", code: 1000, reason: "" });
    return true;
  }

  onReceive(fn: (message: string | Uint8Array) => void): void {
    this.#receivers.push(fn);
  }

  onClose(fn: (status: CloseStatus) => void): void {
    this.#closers.push(fn);
  }

  /** A packet from the client, through the edge. */
  receive(text: string): void {
    if (!this.#open) return;
    for (const receiver of this.#receivers) receiver(text);
  }

  /** The client's connection on the edge closed, with `code` (4008: the edge dropped a slow consumer). */
  closedByEdge(code: number): void {
    this.#end({ by: code === SLOW_CONSUMER_CLOSE_CODE ? "server" : "client", code, reason: "the connection on the edge node closed" });
  }

  #end(status: CloseStatus): void {
    if (!this.#open) return;
    this.#open = false;
    this.onEnd();
    for (const closer of this.#closers) closer(status);
  }
}
