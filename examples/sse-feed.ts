/**
 * A server-sent-event feed of a channel (seed 001, JUXT's chat server on yada): messages
 * POSTed to `/events` are put on one channel; a `mult` gives every client of `GET /events` a
 * tap of its own (`serveChannel`), and each client first gets "It works!" (the `initial`
 * option, the seed's test message, sent without an id). Events carry JSON (serveChannel's
 * default encoding) and ids `<epoch>-1`, `<epoch>-2`, … from one sequence for all clients, so
 * a reconnecting EventSource gets what it missed (`Last-Event-ID`). CORS is open
 * (`cors: true`), as the seed's `:allow-origin true`.
 *
 * Back-pressure: the POST is answered 202 once the mult has taken the message, and the mult
 * takes the next one only when every tap has room, so a client that stops reading slows the
 * senders instead of growing a queue.
 *
 * Try it:
 *   npm run example -- sse-feed --port 8080
 *   curl -N -H 'Accept: text/event-stream' http://127.0.0.1:8080/events
 *   curl -i -X POST --data-binary 'Test message!' http://127.0.0.1:8080/events
 * In a browser: new EventSource("http://127.0.0.1:8080/events").onmessage = (e) => console.log(JSON.parse(e.data))
 */
import { chan, mult } from "../src/index.js";
import { createServer, serveChannel } from "../src/server/index.js";
import type { ExampleOptions, Running } from "./run.js";

export async function start({ port }: ExampleOptions): Promise<Running> {
  const messages = chan<string>();
  const feed = serveChannel(mult(messages), { initial: () => ["It works!"] });
  const server = createServer({ cors: true }).route("/events", async (req) => {
    if (req.method === "GET") return feed(req);
    if (req.method === "POST") {
      const text = await req.text();
      if (!(await messages.put(text))) return { status: 503, body: "the feed is closed\n" };
      return { status: 202, body: "accepted\n" };
    }
    return { status: 405, headers: { allow: "GET, POST" }, body: "GET the feed or POST a message\n" };
  });
  const handle = await server.listen({ port });
  return {
    url: handle.url,
    close: async () => {
      messages.close(); // every feed ends
      await handle.close();
    },
  };
}
