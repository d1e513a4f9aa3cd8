/**
 * A live "happiness" gauge (seed 004, a dashboard built on http-kit): every `--interval` ms
 * (default 5000) one random reading `{"happiness": x}`, 0 <= x < 10, goes to every client of
 * `/happiness`. WebSocket clients (and EventSource ones) stay connected and get every reading;
 * a plain GET is a long-poll answered with the next reading. CORS is open to any origin
 * (`cors: true`), so a chart page served from anywhere may connect.
 *
 * Try it:
 *   npm run example -- happiness --port 8080 --interval 1000
 *   websocat ws://127.0.0.1:8080/happiness   # a reading every second
 *   curl -i http://127.0.0.1:8080/happiness  # the next reading, then the end
 *   curl -N -H 'Accept: text/event-stream' http://127.0.0.1:8080/happiness
 * In a browser: new WebSocket("ws://127.0.0.1:8080/happiness").onmessage = (e) => console.log(JSON.parse(e.data).happiness)
 */
import { type Connection, createServer, withChannel } from "../src/server/index.js";
import type { ExampleOptions, Running } from "./run.js";

export interface HappinessOptions extends ExampleOptions {
  /** Gap between readings, in ms. Default 5000. */
  interval?: number;
}

export async function start({ port, interval = 5000 }: HappinessOptions): Promise<Running> {
  const clients = new Set<Connection>();
  const server = createServer({ cors: true }).route("/happiness", (req) =>
    withChannel(req, (conn) => {
      clients.add(conn);
      console.log(`${conn.transport} client connected from ${conn.request.remoteAddress}`);
      conn.onClose((status) => {
        clients.delete(conn);
        console.log(`${conn.transport} client disconnected, status:`, status);
      });
    }),
  );
  const handle = await server.listen({ port });
  const readings = setInterval(() => {
    const json = JSON.stringify({ happiness: Math.random() * 10 });
    for (const conn of [...clients]) {
      if (conn.transport === "http") {
        // A long-poll: answer with this reading and close.
        conn.send({ status: 200, headers: { "content-type": "application/json; charset=utf-8" }, body: json });
      } else {
        conn.send(json); // a WebSocket frame or an SSE event; the connection stays open
      }
    }
  }, interval);
  return {
    url: handle.url,
    close: async () => {
      clearInterval(readings);
      await handle.close();
    },
  };
}
