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
import { JsonFeed } from "../apps/dashboard/json-feed.js";
import { createServer } from "../src/server/index.js";
import type { ExampleOptions, Running } from "./run.js";

export interface HappinessOptions extends ExampleOptions {
  /** Gap between readings, in ms. Default 5000. */
  interval?: number;
}

export async function start({ port, interval = 5000 }: HappinessOptions): Promise<Running> {
  // The feed keeps the clients of every transport and answers each the way it expects (the
  // dashboard `npm start` serves uses the same one): a frame, an event, or a long-poll's answer.
  const feed = new JsonFeed();
  const server = createServer({ cors: true }).route("/happiness", feed.handler);
  const handle = await server.listen({ port });
  const readings = setInterval(() => feed.publish(JSON.stringify({ happiness: Math.random() * 10 })), interval);
  return {
    url: handle.url,
    close: async () => {
      clearInterval(readings);
      feed.close();
      await handle.close();
    },
  };
}
