// A TCP switch on 127.0.0.1 for tests that need a client's next connection to take another
// path than its last one, the URL staying the same: each new connection is forwarded to the
// port the test set last, and `cutAll` resets the open ones. (A client that reconnects through a
// proxy that was not there when it connected: the switch sends it to the proxy from then on.)
// `silence` stops passing on what the server sends on some open connections, the client's
// requests still going through: a downstream gone quiet while the upstream works.
import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";

const HOST = "127.0.0.1";
/** The start of an HTTP/1.1 request, as a client writes it at the head of a chunk. */
const REQUEST_LINE = /^[A-Z]+ \S+ HTTP\/1\.1\r\n/;

/** One forwarded connection: both sockets piped into each other, both reset together. */
class SwitchedPair {
  /** The request line of the last request the client sent on this connection (a keep-alive one carries several). */
  lastRequest = "";

  constructor(
    readonly client: Socket,
    readonly upstream: Socket,
    private readonly onEnd: (pair: SwitchedPair) => void,
  ) {
    client.on("error", this.cut);
    upstream.on("error", this.cut);
    client.on("close", this.cut);
    upstream.on("close", this.cut);
    client.on("data", this.onClientData);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** Stops forwarding what the server sends; the connection stays open and the client's bytes still go through. */
  silence(): void {
    this.upstream.unpipe(this.client);
    // Read and drop, so the server is never held back by a full buffer.
    this.upstream.resume();
  }

  private readonly onClientData = (chunk: Buffer): void => {
    const start = chunk.toString("latin1", 0, Math.min(chunk.length, 256));
    if (REQUEST_LINE.test(start)) this.lastRequest = start;
  };

  readonly cut = (): void => {
    this.client.resetAndDestroy();
    if (this.upstream.connecting) this.upstream.destroy();
    else this.upstream.resetAndDestroy();
    this.onEnd(this);
  };
}

export class TcpSwitch {
  private readonly pairs = new Set<SwitchedPair>();

  private constructor(
    private readonly server: Server,
    /** Where new connections go. */
    public target: number,
  ) {
    server.on("connection", this.onConnection);
  }

  static async start(target: number): Promise<TcpSwitch> {
    const server = createServer({ noDelay: true });
    const relay = new TcpSwitch(server, target);
    server.listen(0, HOST);
    await once(server, "listening");
    return relay;
  }

  get url(): string {
    return `http://${HOST}:${(this.server.address() as AddressInfo).port}`;
  }

  /** Resets every open connection, as a network failure would; the clients reconnect to `target`. */
  cutAll(): void {
    for (const pair of [...this.pairs]) pair.cut();
  }

  /**
   * Silences the open connections whose last request starts with `start` (such as
   * `"GET /wirechan/sse"`): the server's bytes are read and dropped from then on, as a proxy
   * that stopped passing a stream on. Returns how many.
   */
  silence(start: string): number {
    let count = 0;
    for (const pair of this.pairs) {
      if (!pair.lastRequest.startsWith(start)) continue;
      pair.silence();
      count++;
    }
    return count;
  }

  close(): Promise<void> {
    this.cutAll();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private readonly onConnection = (client: Socket): void => {
    const upstream = connect({ host: HOST, port: this.target, noDelay: true });
    this.pairs.add(new SwitchedPair(client, upstream, this.forget));
  };

  private readonly forget = (pair: SwitchedPair): void => {
    this.pairs.delete(pair);
  };
}
