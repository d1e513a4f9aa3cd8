// A TCP proxy on 127.0.0.1 that plays a server closing an idle keep-alive connection at the
// very moment the client sends its next request on it. Bytes pass through unchanged, except
// that each request which starts on a reused connection (one that already carried an answer)
// and whose request line starts with the given prefix takes the next fault of a list, until
// the list is used up. For the Node client's resend of a `POST send` (src/client/node-http.ts).
import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { hardKill, HOST, ignoreError, listenOnLoopback } from "../../scripts/net/tcp-kit.js";

/**
 * What happens to a request that takes a fault. `fin`: it never reaches the server, and the
 * client reads the end of the connection (the server's idle close crossed the request: Node's
 * "socket hang up"). `reset`: it never reaches the server, and the client gets an RST (the
 * server's kernel answering bytes sent to a closed socket). `answered`: the server reads and
 * answers it, and the connection is reset before the answer's first byte reaches the client,
 * so a resend reaches the server as a second copy.
 */
export type StaleFault = "fin" | "reset" | "answered";

/** One proxied connection: the client's socket and the one opened to the server. */
class KeptConnection {
  /** Whether the server sent anything since the client's request started: the client's next bytes start a request on a reused connection. */
  #answered = false;
  #carried = false;
  /** An `answered` fault waits for the server's answer to cut the connection before it passes. */
  #cutOnAnswer = false;

  constructor(
    private readonly proxy: StaleSocketProxy,
    private readonly client: Socket,
    private readonly upstream: Socket,
  ) {
    client.on("data", this.#fromClient);
    upstream.on("data", this.#fromServer);
    client.on("error", this.close);
    upstream.on("error", this.close);
    client.on("close", this.close);
    upstream.on("close", this.close);
  }

  readonly close = (): void => {
    hardKill(this.client);
    hardKill(this.upstream);
    this.proxy.forget(this);
  };

  readonly #fromClient = (chunk: Buffer): void => {
    const reused = this.#carried && this.#answered;
    this.#carried = true;
    this.#answered = false;
    const fault = reused ? this.proxy.faultFor(chunk.toString("latin1", 0, Math.min(chunk.length, 256))) : undefined;
    if (fault === "fin") {
      this.upstream.destroy();
      this.client.end();
    } else if (fault === "reset") {
      this.close();
    } else {
      this.#cutOnAnswer = fault === "answered";
      this.upstream.write(chunk);
    }
  };

  readonly #fromServer = (chunk: Buffer): void => {
    this.#answered = true;
    if (this.#cutOnAnswer) this.close();
    else this.client.write(chunk);
  };
}

export class StaleSocketProxy {
  /** The faults taken so far, in order. */
  readonly taken: StaleFault[] = [];
  readonly url: string;
  readonly #connections = new Set<KeptConnection>();
  #accepted = 0;

  private constructor(
    private readonly server: Server,
    port: number,
    private readonly targetPort: number,
    /** The start of the request lines that take faults, such as `"POST /wirechan/send "`. */
    private readonly requestLine: string,
    private readonly faults: StaleFault[],
  ) {
    this.url = `http://${HOST}:${port}`;
    server.on("connection", this.#onConnection);
  }

  static async start(targetPort: number, requestLine: string, faults: readonly StaleFault[]): Promise<StaleSocketProxy> {
    const server = createServer({ allowHalfOpen: true, noDelay: true });
    const port = await listenOnLoopback("StaleSocketProxy", server);
    return new StaleSocketProxy(server, port, targetPort, requestLine, [...faults]);
  }

  /** Connections accepted so far. */
  get accepted(): number {
    return this.#accepted;
  }

  /** The next fault for a request on a reused connection that starts with `head`, if it takes one. */
  faultFor(head: string): StaleFault | undefined {
    if (!head.startsWith(this.requestLine)) return undefined;
    const fault = this.faults.shift();
    if (fault !== undefined) this.taken.push(fault);
    return fault;
  }

  forget(connection: KeptConnection): void {
    this.#connections.delete(connection);
  }

  async close(): Promise<void> {
    for (const connection of [...this.#connections]) connection.close();
    this.server.close();
    await once(this.server, "close");
  }

  readonly #onConnection = (client: Socket): void => {
    this.#accepted++;
    client.on("error", ignoreError);
    const upstream = connect({ host: HOST, port: this.targetPort, noDelay: true });
    upstream.on("error", ignoreError);
    this.#connections.add(new KeptConnection(this, client, upstream));
  };
}
