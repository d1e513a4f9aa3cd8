// One wirechan server as its own process, a node of a cluster on Redis or NATS, for the process
// cluster suite (process-suite.ts). It has the topic "t" and the named channel "in", and answers
// the test on two routes of its own: `GET /test/state` (what clients put on "in", with their
// session, and the session events, with `via`) and `POST /test/put` (puts the JSON body on the
// topic). Prints `ready <port>` once it listens and its backplane subscriptions are in effect.
//
// Settings come from the environment: WIRECHAN_ENGINE (redis | nats), WIRECHAN_ENGINE_URL,
// WIRECHAN_NODE_ID, WIRECHAN_PREFIX (keeps parallel test files apart on a shared engine), and
// WIRECHAN_SERVER_OPTIONS (JSON: numeric server options).
import type { Backplane } from "../../../src/backplane/backplane.js";
import { natsBackplane } from "../../../src/backplane/nats.js";
import { redisBackplane } from "../../../src/backplane/redis.js";
import { createServer, type Envelope, type ServerOptions, type ServerRequest } from "../../../src/server/index.js";
import type { SessionEvent } from "../../../src/server/protocol/session-events.js";

/** Entries kept of each kind: a test puts a few hundred at most. */
const MAX_KEPT = 10_000;

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`node-process: ${name} is required`);
  return value;
};

async function makeBackplane(): Promise<Backplane> {
  const engine = env("WIRECHAN_ENGINE");
  const options = { nodeId: env("WIRECHAN_NODE_ID"), prefix: env("WIRECHAN_PREFIX") };
  if (engine === "redis") return redisBackplane({ ...options, url: env("WIRECHAN_ENGINE_URL") });
  if (engine === "nats") return natsBackplane({ ...options, servers: env("WIRECHAN_ENGINE_URL") });
  throw new Error(`node-process: WIRECHAN_ENGINE must be redis or nats, got ${engine}`);
}

const received: Array<{ value: unknown; session: string }> = [];
const events: Array<{ type: SessionEvent["type"]; session: string; via: string | null }> = [];

const backplane = await makeBackplane();
const serverOptions = JSON.parse(process.env.WIRECHAN_SERVER_OPTIONS ?? "{}") as ServerOptions;
const server = createServer({ ...serverOptions, backplane, logger: { error: () => undefined, warn: () => undefined } });
const topic = server.topic<unknown>("t");
const inbound = server.channel<unknown>("in", { buffer: 1_024, envelope: true });
server.onSession((event) => {
  if (events.length < MAX_KEPT) events.push({ type: event.type, session: event.session.id, via: event.type === "resume" ? event.via : null });
});

async function collect(): Promise<void> {
  for (;;) {
    const envelope: Envelope<unknown> | null | undefined = await inbound.take();
    if (envelope === null || envelope === undefined) return;
    if (received.length < MAX_KEPT) received.push({ value: envelope.value, session: envelope.session.id });
  }
}
void collect();

server.route("/test/state", () => ({ status: 200, headers: { "content-type": "application/json" }, body: JSON.stringify({ received, events }) }));
server.route("/test/put", async (req: ServerRequest) => {
  const ok = await topic.put(JSON.parse(await req.text()) as unknown);
  return { status: 200, body: String(ok) };
});

const handle = await server.listen({ port: 0, host: "127.0.0.1" });
await backplane.ready();
process.stdout.write(`ready ${handle.port}\n`);

async function stop(): Promise<void> {
  await handle.close();
  await backplane.close();
  process.exit(0);
}
process.once("SIGTERM", () => void stop());
