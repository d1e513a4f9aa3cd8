// An HTTP proxy on 127.0.0.1 with a smaller body limit than the server behind it, as nginx's
// client_max_body_size: a request whose Content-Length is over `limit` gets a plain 413 and
// never reaches the server; every other request is forwarded as it is, its response streamed
// back as it comes (an SSE stream included). For the client's failure tests: a refusal that
// no resend can cure, in a body that is not a wirechan packet.
import { once } from "node:events";
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One request, forwarded or refused, until its response is over. */
class Exchange {
  private upstream: ReturnType<typeof request> | null = null;

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
  ) {
    res.on("close", this.onClientGone);
  }

  refuse(): void {
    this.req.resume();
    this.res.writeHead(413, { "content-type": "text/html", connection: "close" }).end("<html><body><h1>413 Request Entity Too Large</h1></body></html>");
  }

  forward(port: number): void {
    const upstream = request({ host: "127.0.0.1", port, method: this.req.method, path: this.req.url, headers: this.req.headers }, this.onAnswer);
    upstream.on("error", this.onUpstreamError);
    this.upstream = upstream;
    this.req.pipe(upstream);
  }

  private readonly onAnswer = (answer: IncomingMessage): void => {
    this.res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(this.res);
  };

  private readonly onUpstreamError = (): void => {
    this.res.destroy();
  };

  /** The client went away before its response ended (an aborted SSE stream): so does the request upstream. */
  private readonly onClientGone = (): void => {
    if (!this.res.writableFinished) this.upstream?.destroy();
  };
}

export class BodyLimitProxy {
  /** `METHOD path` of every request, forwarded or not, in arrival order. */
  readonly requests: string[] = [];
  /** Requests answered 413. */
  refused = 0;

  private constructor(
    private readonly server: Server,
    private readonly targetPort: number,
    private readonly limit: number,
  ) {
    server.on("request", this.onRequest);
  }

  static async start(targetPort: number, limit: number): Promise<BodyLimitProxy> {
    const server = createServer();
    const proxy = new BodyLimitProxy(server, targetPort, limit);
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    this.requests.push(`${req.method ?? "GET"} ${req.url ?? "/"}`);
    const exchange = new Exchange(req, res);
    if (Number(req.headers["content-length"] ?? 0) > this.limit) {
      this.refused++;
      exchange.refuse();
    } else exchange.forward(this.targetPort);
  };
}
