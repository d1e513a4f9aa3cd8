// A load balancer in front of several real servers on 127.0.0.1: each HTTP request, and each
// WebSocket upgrade, goes to the next server in turn, as a balancer without sticky sessions does.
// The tests use it (test/cluster/no-sticky-sessions.test.ts), and so does `npm run balancer`
// (scripts/balancer.ts), the balancer of README's "Running more than one server". Long-poll GETs, POSTs and SSE streams of one client land on different nodes,
// and a reconnect after a cut lands on another. It can hold each request back a random while
// (seeded), so that requests of one client overtake each other as they do across real
// networks, and cut every connection at once.
import { type IncomingMessage, request as httpRequest, createServer, type Server, type ServerResponse } from "node:http";
import { connect, Socket } from "node:net";
import type { Duplex } from "node:stream";
import { closeServer, hardKill, HOST, ignoreError, listenOnLoopback, Mulberry32 } from "./tcp-kit.js";

export interface BalancerOptions {
  /** The servers' ports on 127.0.0.1, in the order requests go round. */
  readonly ports: readonly number[];
  /** Each request and upgrade waits a random 0 to `maxDelayMs` before it is passed on. Default 0. */
  readonly maxDelayMs?: number;
  /** Seed of the delays. Default: Date.now() (printed by a failing test through `seed`). */
  readonly seed?: number;
  /** The port it listens on, on 127.0.0.1. Default 0: any free one (`url` says which). */
  readonly port?: number;
}

/** Sockets open at once; past it new ones are dropped (a runaway reconnect loop must not exhaust descriptors). */
const MAX_SOCKETS = 10_000;

export class RoundRobinBalancer {
  readonly seed: number;
  /** Requests and upgrades passed to each server, by its index in `ports`. */
  readonly routed: number[];
  readonly #ports: number[];
  readonly #maxDelayMs: number;
  readonly #random: Mulberry32;
  readonly #server: Server;
  readonly #sockets = new Set<Socket | Duplex>();
  /** Servers out of the rotation. */
  readonly #down = new Set<number>();
  #next = 0;
  #port: number;

  constructor(options: BalancerOptions) {
    if (options.ports.length === 0) throw new RangeError("RoundRobinBalancer: at least one port");
    this.#ports = [...options.ports];
    this.routed = this.#ports.map(() => 0);
    this.#maxDelayMs = options.maxDelayMs ?? 0;
    this.seed = options.seed ?? Date.now();
    this.#port = options.port ?? 0;
    this.#random = new Mulberry32(this.seed);
    this.#server = createServer(this.#onRequest);
    this.#server.on("upgrade", this.#onUpgrade);
    this.#server.on("connection", this.#track);
  }

  get url(): string {
    return `http://${HOST}:${this.#port}`;
  }

  async listen(): Promise<void> {
    this.#port = await listenOnLoopback("RoundRobinBalancer", this.#server, this.#port);
  }

  /** Takes server `index` out of the rotation (it is down), or puts it back. */
  setDown(index: number, down: boolean): void {
    const port = this.#ports[index];
    if (port === undefined) throw new RangeError(`no server ${index}`);
    if (down) this.#down.add(index);
    else this.#down.delete(index);
  }

  /** Cuts every connection, both sides, as a network failure would. */
  cutAll(): void {
    for (const socket of [...this.#sockets]) {
      if (socket instanceof Socket) hardKill(socket);
      else socket.destroy();
    }
  }

  async close(): Promise<void> {
    this.cutAll();
    this.#server.closeAllConnections();
    await closeServer(this.#server);
  }

  /** The next server's port, in turn, skipping those set down. */
  #pick(): { port: number; index: number } {
    for (let tries = 0; tries < this.#ports.length; tries++) {
      const index = this.#next;
      this.#next = (this.#next + 1) % this.#ports.length;
      if (!this.#down.has(index)) {
        this.routed[index] = (this.routed[index] ?? 0) + 1;
        return { port: this.#ports[index] ?? 0, index };
      }
    }
    return { port: 0, index: -1 };
  }

  #delay(): Promise<void> {
    const ms = this.#maxDelayMs === 0 ? 0 : this.#random.between(0, this.#maxDelayMs);
    return ms === 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
  }

  readonly #track = (socket: Socket | Duplex): void => {
    if (this.#sockets.size >= MAX_SOCKETS) {
      socket.destroy();
      return;
    }
    this.#sockets.add(socket);
    socket.on("error", ignoreError);
    socket.once("close", () => this.#sockets.delete(socket));
  };

  readonly #onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    // The body waits in the request's stream while the delay runs.
    req.pause();
    void this.#delay().then(() => this.#pass(req, res));
  };

  #pass(req: IncomingMessage, res: ServerResponse): void {
    const { port } = this.#pick();
    if (port === 0 || req.destroyed) {
      res.writeHead(502).end();
      return;
    }
    // A fresh connection per request (agent: false): the next request goes where the turn says.
    const upstream = httpRequest({ host: HOST, port, method: req.method, path: req.url, headers: req.headers, agent: false }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      res.flushHeaders();
      answer.pipe(res);
      answer.on("error", () => res.destroy());
    });
    upstream.on("socket", this.#track);
    upstream.on("error", () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    res.on("close", () => upstream.destroy());
    req.pipe(upstream);
    req.resume();
  }

  readonly #onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.pause();
    void this.#delay().then(() => this.#passUpgrade(req, socket, head));
  };

  #passUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const { port } = this.#pick();
    if (port === 0 || socket.destroyed) {
      socket.destroy();
      return;
    }
    const upstream = connect(port, HOST);
    this.#track(upstream);
    upstream.on("connect", () => {
      const lines = [`${req.method ?? "GET"} ${req.url ?? "/"} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(`${lines.join("\r\n")}\r\n\r\n`, "latin1");
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
      socket.resume();
    });
    upstream.on("close", () => socket.destroy());
    socket.on("close", () => upstream.destroy());
  }
}
