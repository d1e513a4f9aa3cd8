// The server's public types, in a module of their own: the server, the protocol's endpoints and
// serveChannel all name `Handler`, and importing it from server.ts made an import cycle
// (server.ts builds the endpoints, the endpoints imported server.ts).
import type { ResponseParts } from "./connection.js";
import type { SessionInfo } from "./protocol/sessions.js";
import type { ServerRequest } from "./request.js";

/**
 * A request handler: answer with `{ status, headers, body }` (a plain response), or call
 * `withChannel(req, fn)` and return nothing to keep the connection. Returning nothing
 * without `withChannel` answers 204.
 */
export type Handler = (req: ServerRequest) => ResponseParts | undefined | void | Promise<ResponseParts | undefined | void>;

/** Where to listen. */
export interface ListenOptions {
  /** Default 0: any free port (the handle tells which). */
  port?: number;
  /** Default `"127.0.0.1"`: loopback only; pass `"0.0.0.0"` or `"::"` to listen on every interface. */
  host?: string;
  /**
   * Connections the kernel may hold accepted but not yet taken by node (a burst of clients
   * connecting at once): past it, new ones wait or are refused. Default 511, node's; the
   * kernel caps it (Linux: `net.core.somaxconn`). An integer from 1 to 2^31 - 1, else a
   * `RangeError` (`ERR_SERVER_OPTION`).
   */
  backlog?: number;
}

/** A listening server. */
export interface ServerHandle {
  readonly port: number;
  /** `http://host:port`, ready to print. */
  readonly url: string;
  /** Graceful stop: see `WirechanServer.close`. */
  close(): Promise<void>;
}

/** A value put to a server channel made with `{ envelope: true }`, with the session that put it. */
export interface Envelope<T> {
  value: T;
  session: SessionInfo;
}
