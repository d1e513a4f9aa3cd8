// A wirechan server played by hand, for the client's failure tests: a real `ws` server on
// 127.0.0.1 (OS-chosen port) that answers each hello with a welcome, or with the refusal the
// test chooses, and then does what the test asks. It does what the real server never does on
// purpose: welcome with a larger limit than its socket accepts (so the client's packet is
// refused with close code 1009), or drop every link right after its welcome.
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type RawData, type WebSocket, WebSocketServer } from "ws";
import type { HelloBody, WelcomeBody } from "../../src/wire/frames.js";
import { refusalPacket, welcomePacket } from "../../src/wire/handshake.js";
import type { ProtocolError } from "../../src/wire/protocol-error.js";

export interface HandServerOptions {
  /** Largest message a socket accepts: past it `ws` closes the socket with 1009. The welcome says 1 MiB whatever this is. */
  maxPayload?: number;
  /** Close every link (code 1011) as soon as its welcome is written: a link that opens and is cut at once. */
  dropAfterWelcome?: boolean;
  /** The refusal to answer the `n`th hello (1, 2 …) with instead of a welcome, or null to welcome it. */
  refuse?: (hello: HelloBody, n: number) => ProtocolError | null;
}

const SID = "handmadesessionid00000";
const SECRET = "handmadesecret00000000";

export class HandServer {
  /** Hellos received, refused ones included. */
  hellos = 0;
  /** Plain HTTP requests (a client's `bye` by POST lands here), by method and path. */
  readonly requests: string[] = [];

  private constructor(
    private readonly http: Server,
    private readonly wss: WebSocketServer,
    private readonly options: HandServerOptions,
  ) {
    wss.on("connection", this.onConnection);
    http.on("request", this.onRequest);
  }

  static async start(options: HandServerOptions = {}): Promise<HandServer> {
    const http = createServer();
    const wss = new WebSocketServer({ server: http, maxPayload: options.maxPayload ?? 1024 * 1024 });
    const server = new HandServer(http, wss, options);
    http.listen(0, "127.0.0.1");
    await once(http, "listening");
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
  }

  /** Closes every open link (code 1011), as a server that drops its connections. */
  dropAll(): void {
    for (const client of this.wss.clients) client.close(1011, "dropped by the test");
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    this.requests.push(`${req.method ?? "GET"} ${req.url ?? "/"}`);
    req.resume();
    res.writeHead(404).end();
  };

  private readonly onConnection = (socket: WebSocket): void => {
    socket.on("error", ignore);
    socket.once("message", (data: RawData) => this.onHello(socket, data));
  };

  private onHello(socket: WebSocket, data: RawData): void {
    const [[, , hello]] = JSON.parse(data.toString()) as [[string, number, HelloBody]];
    this.hellos++;
    const refusal = this.options.refuse?.(hello, this.hellos) ?? null;
    if (refusal !== null) {
      socket.send(refusalPacket(refusal));
      socket.close(1008, refusal.code);
      return;
    }
    const welcome: WelcomeBody = {
      sid: SID,
      secret: hello.sid === null ? SECRET : null,
      recv: 0,
      resumed: hello.sid !== null,
      heartbeat: 30_000,
      window: 256,
      limits: { maxMessageSize: 1024 * 1024, maxChannels: 1000 },
    };
    socket.send(welcomePacket(welcome), () => {
      if (this.options.dropAfterWelcome === true) socket.close(1011, "dropped by the test");
    });
    // What the client sends after the welcome is taken and never answered.
    socket.on("message", ignore);
  }
}

function ignore(): void {}
