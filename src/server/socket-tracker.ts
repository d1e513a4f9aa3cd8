import type { IncomingMessage, Server as HttpServer, ServerResponse } from "node:http";
import type { Socket } from "node:net";

/**
 * Knows which sockets of a server are between requests, so a graceful stop can close those at
 * once. node's `closeIdleConnections()` leaves alone a socket that connected and never sent a
 * request (browsers and fetch open such spare sockets), which would hold `close()` for the
 * whole `closeTimeout`.
 */
export class SocketTracker {
  /** Every open socket, with the number of requests it is serving. */
  private readonly sockets = new Map<Socket, number>();
  private draining = false;

  constructor(server: HttpServer) {
    server.on("connection", this.onConnection);
    server.on("request", this.onRequest);
  }

  /**
   * Marks a socket busy while its WebSocket upgrade is being answered (node emits no
   * `request` for it): a close that begins meanwhile lets the handler answer it (a refusal,
   * at least) instead of cutting it off. It is done with when it closes or {@link forget} is called.
   */
  hold(socket: Socket): void {
    if (this.sockets.has(socket)) this.sockets.set(socket, (this.sockets.get(socket) ?? 0) + 1);
  }

  /**
   * Stops tracking a socket that became a WebSocket: the server tracks it as a connection
   * from then on, and a tracked entry would only cost memory for as long as it lives.
   */
  forget(socket: Socket): void {
    if (this.sockets.delete(socket)) socket.off("close", this.onSocketClose);
  }

  /** From now on a socket is closed as soon as it has no request; those idle now close at once. */
  drain(): void {
    this.draining = true;
    for (const [socket, busy] of this.sockets) if (busy === 0) socket.destroy();
  }

  /**
   * Destroys every socket still open, busy or not (`closeTimeout` ran out). node's
   * `closeAllConnections()` does not reach a socket whose upgrade a handler is still answering.
   */
  destroyAll(): void {
    for (const socket of this.sockets.keys()) socket.destroy();
  }

  private readonly onConnection = (socket: Socket): void => {
    this.sockets.set(socket, 0);
    socket.on("close", this.onSocketClose);
  };

  /** One listener for every socket (node calls it with the socket as `this`): a closure each would cost memory per connection. */
  private readonly onSocketClose = ((sockets: Map<Socket, number>) =>
    function forgetSocket(this: Socket): void {
      sockets.delete(this);
    })(this.sockets);

  private readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const socket = req.socket;
    this.sockets.set(socket, (this.sockets.get(socket) ?? 0) + 1);
    res.once("close", () => this.requestDone(socket));
  };

  private requestDone(socket: Socket): void {
    const busy = (this.sockets.get(socket) ?? 1) - 1;
    if (!this.sockets.has(socket)) return;
    this.sockets.set(socket, busy);
    if (this.draining && busy === 0) socket.destroy();
  }
}
