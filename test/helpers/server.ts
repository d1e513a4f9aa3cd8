// Small helpers shared by the server tests: real node:http servers on 127.0.0.1, queues of what
// they accept, and readers of what the clients get back.
import assert from "node:assert/strict";
import { type IncomingMessage, type ServerResponse, createServer } from "node:http";
import { type AddressInfo, connect, type Socket } from "node:net";
import { after } from "node:test";
import type { CloseStatus, Connection, RequestInfo } from "../../src/server/connection.js";
import { runServer, type ServerHandle } from "../../src/server/index.js";

/** Values in arrival order, for whoever asks next. */
export class AsyncQueue<T> {
  private readonly items: T[] = [];
  private readonly waiters: Array<(item: T) => void> = [];

  push(item: T): void {
    const waiter = this.waiters.shift();
    if (waiter === undefined) this.items.push(item);
    else waiter(item);
  }

  next(): Promise<T> {
    if (this.items.length > 0) return Promise.resolve(this.items.shift() as T);
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

/** The part of a test context a harness needs: a hook that runs when the test ends. */
export interface AfterHook {
  after(fn: () => void | Promise<void>): void;
}

/** A node:http server on 127.0.0.1 (OS-chosen port) that hands every request to `onRequest`. */
export abstract class TestHttpServer {
  private readonly server = createServer((req, res) => this.onRequest(req, res));

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  listen(): Promise<void> {
    return new Promise((resolve) => this.server.listen(0, "127.0.0.1", resolve));
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  protected abstract onRequest(req: IncomingMessage, res: ServerResponse): void;
}

/** The RequestInfo an adapter is given for a node request. */
export function requestInfo(req: IncomingMessage): RequestInfo {
  return { method: req.method ?? "GET", url: req.url ?? "/", headers: req.headers, remoteAddress: req.socket.remoteAddress ?? "" };
}

/** A raw TCP client that sends `request` and never reads, so the buffers fill; destroyed when the test ends. */
export function nonReadingClient(t: AfterHook, port: number, request: string): Socket {
  const socket = connect({ port, host: "127.0.0.1" });
  t.after(() => {
    socket.destroy();
  });
  socket.on("error", () => {}); // the server resets it
  socket.pause(); // never reads: the kernel buffers fill, then node's
  socket.write(request);
  return socket;
}

/** Every status `onClose` reported, and the first one. */
export class CloseRecorder {
  readonly statuses: CloseStatus[] = [];
  readonly first: Promise<CloseStatus>;

  constructor(connection: Pick<Connection, "onClose">) {
    this.first = new Promise((resolve) => {
      connection.onClose((status) => {
        this.statuses.push(status);
        resolve(status);
      });
    });
  }
}

/** Reads a response body as text, as far as the test needs. */
export class BodyReader {
  text = "";
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();

  constructor(response: Response) {
    assert.ok(response.body, "the response has a body");
    this.reader = response.body.getReader();
  }

  /** Reads until `found(text so far)`; fails if the stream ends first. */
  async until(found: (text: string) => boolean): Promise<string> {
    await this.readWhile(() => !found(this.text), () => `the stream ended at ${JSON.stringify(this.text)}`);
    return this.text;
  }

  /** Reads until the text so far is `expected`; fails if the stream ends first. */
  async untilText(expected: string): Promise<void> {
    await this.readWhile(() => this.text.length < expected.length, () => `the body ended at ${JSON.stringify(this.text)}, expected ${JSON.stringify(expected)}`);
    assert.equal(this.text, expected);
  }

  /** Reads to the end; rejects if the stream breaks. */
  async toEnd(): Promise<string> {
    for (;;) {
      const { done, value } = await this.reader.read();
      if (done) return this.text;
      this.text += this.decoder.decode(value, { stream: true });
    }
  }

  /** Reads while `more()` holds; fails with `ended()` if the stream ends first. */
  private async readWhile(more: () => boolean, ended: () => string): Promise<void> {
    while (more()) {
      const { done, value } = await this.reader.read();
      if (done) assert.fail(ended());
      this.text += this.decoder.decode(value, { stream: true });
    }
  }
}

/** Call at a file's top level: `serve` runs a server and keeps its handle; all of `handles` close after the file's tests. */
export function serverHandles(): { handles: ServerHandle[]; serve: (...args: Parameters<typeof runServer>) => Promise<ServerHandle> } {
  const handles: ServerHandle[] = [];
  after(async () => {
    await Promise.all(handles.map((h) => h.close()));
  });
  async function serve(...args: Parameters<typeof runServer>): Promise<ServerHandle> {
    const handle = await runServer(...args);
    handles.push(handle);
    return handle;
  }
  return { handles, serve };
}
