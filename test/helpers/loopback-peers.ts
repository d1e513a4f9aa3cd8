// Raw peers on 127.0.0.1 for the proxy self-tests (fault-proxy, latency-relay, buffering-proxy):
// a client that records what it gets and how it ended, an echo server that records every
// connection, a firehose server that writes as fast as back-pressure lets it, and a WebSocket
// opener that says whether the upgrade went through.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";
import WebSocket from "ws";
import { within } from "./async.js";
import { closeServer, listenOnLoopback } from "../../scripts/net/tcp-kit.js";

/** What a client connection saw by the time it closed. */
export interface ClientResult {
  data: Buffer;
  /** The error code it ended with, e.g. ECONNRESET when a proxy cut it. */
  error: string | undefined;
  /** Whether the peer's FIN came (a clean end, as opposed to a reset). */
  ended: boolean;
}

/** A raw client of `port` that collects what comes back until the socket closes. */
export class RawClient {
  readonly socket: Socket;
  readonly closed: Promise<ClientResult>;
  received = 0;
  isClosed = false;
  private readonly chunks: Buffer[] = [];
  private error: string | undefined;
  private ended = false;
  private waiter: { target: number; wake: () => void } | undefined;

  constructor(port: number) {
    this.socket = connect({ port, host: "127.0.0.1", noDelay: true });
    this.socket.on("data", this.onData);
    this.socket.on("error", this.onError);
    this.socket.on("end", this.onEnd);
    // Not events.once: it rejects on 'error', and a reset is an outcome to record here, not a failure.
    this.closed = new Promise((resolve) => this.socket.once("close", () => resolve(this.onClose())));
  }

  /** Everything received so far. */
  get data(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** Resolves once `target` bytes in all have arrived, or the socket closed first. */
  waitForBytes(target: number): Promise<void> {
    if (this.received >= target || this.isClosed) return Promise.resolve();
    return new Promise((wake) => {
      this.waiter = { target, wake };
    });
  }

  /** Sends `data` and waits until as many bytes came back (from an echo). */
  async roundTrip(data: Buffer | string): Promise<void> {
    const bytes = typeof data === "string" ? Buffer.from(data, "latin1") : data;
    const target = this.received + bytes.length;
    this.socket.write(bytes);
    await within(this.waitForBytes(target), "the echo", 5_000);
    assert.ok(this.received >= target, `the echo came back (${this.received} of ${target} bytes)`);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.chunks.push(chunk);
    this.received += chunk.length;
    if (this.waiter !== undefined && this.received >= this.waiter.target) this.wakeWaiter();
  };

  private readonly onError = (error: NodeJS.ErrnoException): void => {
    this.error = error.code;
  };

  private readonly onEnd = (): void => {
    this.ended = true;
  };

  private onClose(): ClientResult {
    this.isClosed = true;
    this.wakeWaiter();
    return { data: this.data, error: this.error, ended: this.ended };
  }

  private wakeWaiter(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.wake();
  }
}

/** What one server-side connection saw. */
export interface ServerConnection {
  socket: Socket;
  received: number;
  error: string | undefined;
  closed: boolean;
}

/** A TCP server on 127.0.0.1 that records every connection in accept order; `serve` decides what it does. */
export abstract class RecordingServer {
  readonly connections: ServerConnection[] = [];
  private readonly server: Server = createServer({ allowHalfOpen: true }, this.onConnection.bind(this));

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async listen(): Promise<void> {
    await listenOnLoopback("RecordingServer", this.server);
  }

  close(): Promise<void> {
    for (const c of this.connections) c.socket.destroy();
    return closeServer(this.server);
  }

  protected abstract serve(socket: Socket): void;

  private onConnection(socket: Socket): void {
    const record: ServerConnection = { socket, received: 0, error: undefined, closed: false };
    this.connections.push(record);
    socket.on("data", (chunk: Buffer) => {
      record.received += chunk.length;
    });
    socket.on("error", (error: NodeJS.ErrnoException) => {
      record.error = error.code;
    });
    socket.on("close", () => {
      record.closed = true;
    });
    this.serve(socket);
  }
}

/** Echoes every byte, with pipe's back-pressure, and passes a half-close back. */
export class EchoServer extends RecordingServer {
  protected serve(socket: Socket): void {
    socket.pipe(socket);
  }
}

/** Writes `total` bytes to each connection as fast as back-pressure allows, then ends. */
export class FirehoseServer extends RecordingServer {
  written = 0;
  private readonly chunk = randomBytes(64 * 1024);

  constructor(readonly total: number) {
    super();
  }

  protected serve(socket: Socket): void {
    const pump = (): void => {
      while (this.written < this.total) {
        this.written += this.chunk.length;
        if (!socket.write(this.chunk)) return;
      }
      socket.end();
    };
    socket.on("drain", pump);
    pump();
  }
}

/** Lets the event loop poll a few times: enough for bytes already written on loopback to be read. */
export async function pollTurns(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setTimeout(resolve, 1));
}

/** Opens a `ws` WebSocket: "open" if it opened (then closes it), or the HTTP status it got instead. */
export function openWebSocket(url: string): Promise<"open" | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on("open", () => {
      ws.close();
      resolve("open");
    });
    ws.on("unexpected-response", (_req, res: IncomingMessage) => {
      res.resume();
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on("error", reject);
  });
}
