/**
 * WebSocket echo (http-kit's "Websocket example", seeds 002 and 003): `withChannel` takes the
 * upgrade over as a Connection, and `onReceive` sends every message straight back, in order
 * (text as text, binary as binary). `onClose` reports who closed it and with which code.
 *
 * Try it:
 *   npm run example -- echo --port 8080
 *   websocat ws://127.0.0.1:8080/          # type a line, get it back
 *   npx wscat -c ws://127.0.0.1:8080/
 * A plain `curl -i http://127.0.0.1:8080/` gets 426 Upgrade Required: this path only speaks WebSocket.
 */
import { createServer, withChannel } from "../src/server/index.js";
import type { ExampleOptions, Running } from "./run.js";

export function start({ port }: ExampleOptions): Promise<Running> {
  const server = createServer().route("/", (req) => {
    if (req.transport !== "websocket") {
      return { status: 426, headers: { upgrade: "websocket" }, body: "this is a WebSocket echo: connect to ws://host:port/\n" };
    }
    withChannel(req, (conn) => {
      conn.onClose((status) => console.log("client close it", status));
      conn.onReceive((message) => conn.send(message)); // echo it back
    });
    return undefined;
  });
  return server.listen({ port });
}
