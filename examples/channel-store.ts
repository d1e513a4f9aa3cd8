/**
 * Groups and broadcast with a ChannelStore (http-kit's "A utility: ChannelStore", seed 003).
 * Members join group G over WebSocket (`/ws?group=G`) or by long-polling
 * (`/poll?group=G&since_ts=T`), each with an attachment the store hands back at broadcast
 * time: a poller's `since_ts`, a WebSocket member's `since_ts` if given, else the time it
 * joined (ms since the epoch). `POST /publish?group=G` broadcasts its text body: every member
 * gets `{"message": body, "since_ts": its attachment}` (a WebSocket member as a frame, a poller
 * as the JSON answer to its poll, after which it has left and polls again), and the POST is
 * answered with how many members got it. `GET /members?group=G` says how many are waiting.
 *
 * Try it:
 *   npm run example -- channel-store --port 8080
 *   websocat 'ws://127.0.0.1:8080/ws?group=news'
 *   curl -i 'http://127.0.0.1:8080/poll?group=news&since_ts=0'        # held until a publish
 *   curl -i --data-binary 'hello, group' 'http://127.0.0.1:8080/publish?group=news'   # → 2
 */
import { type Connection, createServer, MemoryChannelStore, type ResponseParts, type ServerRequest, withChannel } from "../src/server/index.js";
import type { ExampleOptions, Running } from "./run.js";

const json = { "content-type": "application/json; charset=utf-8" };
const badRequest = (body: string): ResponseParts => ({ status: 400, body: `${body}\n` });

/** `since_ts` as a number of ms, undefined when absent, null when malformed. */
function sinceTs(req: ServerRequest): number | undefined | null {
  const value = req.query.get("since_ts");
  if (value === null) return undefined;
  return /^\d{1,15}$/.test(value) ? Number(value) : null;
}

export function start({ port }: ExampleOptions): Promise<Running> {
  // The attachment of each member: its since_ts.
  const store = new MemoryChannelStore<number>();
  const join = (group: string, since: number) => (conn: Connection) => store.addToGroup(group, conn, since);
  // (A member leaves its groups by itself when it closes: the store watches onClose.)

  const server = createServer()
    .route("/ws", (req) => {
      const group = req.query.get("group");
      const since = sinceTs(req);
      if (req.transport !== "websocket") return { status: 426, headers: { upgrade: "websocket" }, body: "connect with a WebSocket client\n" };
      if (!group) return badRequest("?group=G is required");
      if (since === null) return badRequest("since_ts must be a number of ms");
      return withChannel(req, join(group, since ?? Date.now()));
    })
    .route("/poll", (req) => {
      const group = req.query.get("group");
      const since = sinceTs(req);
      if (req.transport !== "http") return badRequest("/poll is a plain HTTP long-poll; WebSockets join at /ws");
      if (!group) return badRequest("?group=G is required");
      if (since === undefined || since === null) return badRequest("?since_ts=T (ms) is required");
      return withChannel(req, join(group, since));
    })
    .route("/publish", async (req) => {
      const group = req.query.get("group");
      if (req.method !== "POST") return { status: 405, headers: { allow: "POST" }, body: "POST the message\n" };
      if (!group) return badRequest("?group=G is required");
      const message = await req.text();
      const sent = store.broadcast(group, (_conn, since_ts) => JSON.stringify({ message, since_ts }));
      return { status: 200, headers: json, body: `${sent}\n` };
    })
    .route("/members", (req) => {
      const group = req.query.get("group");
      if (!group) return badRequest("?group=G is required");
      return { status: 200, headers: json, body: `${store.members(group)}\n` };
    });
  return server.listen({ port });
}
