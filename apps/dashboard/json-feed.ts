/**
 * A plain JSON feed on one path, for clients that speak no wirechan: a `new WebSocket(url)`
 * and an `EventSource` stay connected and get each text published; a plain GET is a long-poll,
 * answered with the next one. The live dashboard's `/happiness` (the http-kit article's
 * endpoint), shared by apps/dashboard and examples/happiness.ts.
 */
import { type Connection, type Handler, type ResponseParts, withChannel } from "../../src/server/index.js";

/** The bound of a {@link JsonFeed}. */
export interface JsonFeedOptions {
  /** Clients at once, every transport; a further one is answered 503. Default 10,000. */
  maxClients?: number;
}

/** The defaults of {@link JsonFeedOptions}. */
export const jsonFeedDefaults: Required<JsonFeedOptions> = {
  maxClients: 10_000,
};

const FULL: ResponseParts = { status: 503, headers: { "retry-after": "5" }, body: "too many clients of this feed" };
const JSON_TYPE = { "content-type": "application/json; charset=utf-8" };

/**
 * The connected clients of one feed. Mount `handler` with `server.route(path, feed.handler)`,
 * then `publish` each text. A slow WebSocket or SSE reader is the server's to bound (its
 * `maxBufferedBytes` closes it), so `publish` never waits. Throws a `RangeError` for a
 * `maxClients` that is not a positive integer.
 */
export class JsonFeed {
  private readonly clients = new Set<Connection>();
  private readonly maxClients: number;
  private closed = false;

  constructor(options: JsonFeedOptions = {}) {
    const { maxClients } = { ...jsonFeedDefaults, ...options };
    if (!Number.isInteger(maxClients) || maxClients < 1) throw new RangeError(`JsonFeed: maxClients must be a positive integer, got ${String(maxClients)}`);
    this.maxClients = maxClients;
  }

  /** Clients connected now. */
  get size(): number {
    return this.clients.size;
  }

  /** The route's handler: takes the request over as a connection, or answers 503 when full or closed. */
  readonly handler: Handler = (req) => {
    if (this.closed || this.clients.size >= this.maxClients) return FULL;
    withChannel(req, this.admit);
  };

  /** Sends `json` to every client: a frame or an event, or the answer of a long-poll. */
  publish(json: string): void {
    for (const connection of [...this.clients]) {
      if (connection.transport === "http") connection.send({ status: 200, headers: JSON_TYPE, body: json });
      else connection.send(json);
    }
  }

  /** Closes every client; later requests are answered 503. */
  close(): void {
    this.closed = true;
    for (const connection of [...this.clients]) connection.close();
    this.clients.clear();
  }

  private readonly admit = (connection: Connection): void => {
    // Checked again: requests admitted together may have passed the handler's check at once.
    if (this.closed || this.clients.size >= this.maxClients) {
      connection.close();
      return;
    }
    this.clients.add(connection);
    connection.onClose(() => this.clients.delete(connection));
  };
}
