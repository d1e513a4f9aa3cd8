/**
 * Long-polling (http-kit's "Long polling example", seeds 002 and 003): `GET /` is held open
 * until the next event (one every `--every` ms, default 1000), then answered and closed with
 * `send({ status, headers, body })` (on plain HTTP `send` closes by default). A client that
 * leaves before the event is forgotten (`onClose`); on shutdown a held poll gets an empty 200.
 *
 * Try it:
 *   npm run example -- polling --port 8080
 *   curl -i http://127.0.0.1:8080/          # waits up to a second, then: "hello, polling"
 */
import { type Connection, createServer, withChannel } from "../src/server/index.js";
import type { ExampleOptions, Running } from "./run.js";

export interface PollingOptions extends ExampleOptions {
  /** Gap between events, in ms. Default 1000. */
  every?: number;
}

export async function start({ port, every = 1000 }: PollingOptions): Promise<Running> {
  const waiting = new Set<Connection>();
  const server = createServer().route("/", (req) =>
    withChannel(req, (conn) => {
      waiting.add(conn);
      conn.onClose(() => waiting.delete(conn));
    }),
  );
  const handle = await server.listen({ port });
  const events = setInterval(() => {
    const polls = [...waiting];
    waiting.clear();
    for (const conn of polls) {
      conn.send({
        status: 200,
        headers: { "content-type": "application/json; charset=utf-8" },
        // The seed sends the bare text `hello, polling` under this JSON content type, which
        // is not valid JSON; we send the JSON string "hello, polling" instead.
        body: JSON.stringify("hello, polling"),
      });
    }
  }, every);
  return {
    url: handle.url,
    close: async () => {
      clearInterval(events);
      await handle.close();
    },
  };
}
