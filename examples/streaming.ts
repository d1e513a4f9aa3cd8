/**
 * HTTP streaming (http-kit's "Streaming example", seeds 002 and 003): one response, sent in
 * chunks. The first `send(x, false)` starts a chunked response (`false`: do not close after
 * sending); ten messages go out `--every` ms apart (200), and the server closes the response
 * `--close-after` ms after the request came in (10000). `onClose` logs who closed it.
 *
 * The same handler streams on every transport: a WebSocket client gets ten frames and an
 * EventSource ten events, then the close.
 *
 * Try it:
 *   npm run example -- streaming --port 8080
 *   curl -N http://127.0.0.1:8080/          # a new message every 200 ms, the end after 10 s
 *   curl -N -H 'Accept: text/event-stream' http://127.0.0.1:8080/
 *   websocat ws://127.0.0.1:8080/
 * (The messages carry no separator, as in the seed: curl prints them on one growing line.)
 */
import { createServer, withChannel } from "../src/server/index.js";
import type { ExampleOptions, Running } from "./run.js";

export interface StreamingOptions extends ExampleOptions {
  /** Gap between messages, in ms. Default 200. */
  every?: number;
  /** When the server closes the response, in ms after the request. Default 10,000. */
  closeAfter?: number;
}

export function start({ port, every = 200, closeAfter = 10_000 }: StreamingOptions): Promise<Running> {
  const server = createServer().route("/", (req) =>
    withChannel(req, (conn) => {
      const timers: NodeJS.Timeout[] = [];
      conn.onClose((status) => {
        for (const timer of timers) clearTimeout(timer); // a client that left gets nothing more
        console.log("closed by server, or client", status);
      });
      for (let id = 0; id < 10; id++) {
        timers.push(setTimeout(() => conn.send(`message from server #${id}`, false), id * every));
      }
      timers.push(setTimeout(() => conn.close(), closeAfter));
    }),
  );
  return server.listen({ port });
}
