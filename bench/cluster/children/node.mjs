// One node of the cluster benchmark: `node --expose-gc node.mjs <impl> <prefix> <engine-url>`,
// impl one of wirechan-redis | wirechan-nats | socketio-redis (bench/cluster/config.ts describes
// each). It listens on 127.0.0.1 (a free port), joins the cluster on the engine under `prefix`
// (one per run, so runs and other users of the same Redis or NATS never hear each other) and
// serves the phases of bench/shared/children/broadcast-server.mjs; the parent runs the phases on
// node 0 only, so only node 0 publishes. Nothing here prints to stdout but errors.
import http from "node:http";
import { serveBroadcast } from "../../shared/children/broadcast-server.mjs";
import { listenForBroadcasts } from "../../shared/children/socketio-server.mjs";

const HOST = "127.0.0.1";
const [impl, prefix, engineUrl] = process.argv.slice(2);

/** Every client of the benchmark comes from 127.0.0.1: one address may hold them all. */
const MAX_SESSIONS_PER_ADDRESS = 10_000;

/**
 * A wirechan server on a backplane: clients put `{ subscribe: inbox }` on the topic "t"; a
 * broadcast is one `topic.put`, published once on the engine and delivered by every node
 * (this one included) when the engine brings it back.
 */
async function makeWirechan(makeBackplane) {
  const { createServer } = await import("../../../dist/server/index.js");
  const backplane = await makeBackplane();
  const server = createServer({ backplane, maxSessionsPerAddress: MAX_SESSIONS_PER_ADDRESS });
  const topic = server.topic("t");
  await backplane.ready();
  const handle = await server.listen({ port: 0, host: HOST });
  return {
    port: handle.port,
    // This node's subscribers only (presence is off: nothing of them crosses the backplane).
    clients: () => topic.subscriberCount,
    broadcast: (obj) => topic.put(obj),
  };
}

async function redisWirechan() {
  const { redisBackplane } = await import("../../../dist/backplane/redis.js");
  return makeWirechan(() => redisBackplane({ url: engineUrl, prefix }));
}

async function natsWirechan() {
  const { natsBackplane } = await import("../../../dist/backplane/nats.js");
  return makeWirechan(() => natsBackplane({ servers: engineUrl, prefix }));
}

/**
 * Socket.IO with `@socket.io/redis-adapter` on two ioredis connections (the adapter's README's
 * way: a client and its duplicate for subscribing); its channels start with `prefix`. A
 * broadcast is `io.emit`: sent to this node's sockets and published once for the others.
 */
async function redisSocketIo() {
  const [{ Server }, { createAdapter }, { Redis }] = await Promise.all([
    import("socket.io"),
    import("@socket.io/redis-adapter"),
    import("ioredis"),
  ]);
  const pubClient = new Redis(engineUrl);
  const subClient = pubClient.duplicate();
  const httpServer = http.createServer();
  const io = new Server(httpServer, {
    serveClient: false,
    transports: ["websocket"],
    adapter: createAdapter(pubClient, subClient, { key: `${prefix}socket.io` }),
  });
  // The adapter subscribes as it is made; PING on the subscriber answers after its SUBSCRIBE
  // and PSUBSCRIBE, so from then on this node hears what the others publish.
  await subClient.ping();
  return listenForBroadcasts(httpServer, io);
}

const IMPLS = { "wirechan-redis": redisWirechan, "wirechan-nats": natsWirechan, "socketio-redis": redisSocketIo };

async function main() {
  const make = IMPLS[impl];
  if (make === undefined) throw new Error(`unknown node "${impl}"`);
  if (!prefix || !engineUrl) throw new Error("usage: node node.mjs <impl> <prefix> <engine-url>");
  await serveBroadcast(make);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
