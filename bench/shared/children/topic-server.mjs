// The wirechan topic server of the broadcast benchmarks (bench/topic over WebSocket,
// bench/longpoll over long-polling): clients put `{ subscribe: inbox }` on "t", and a broadcast
// is one `topic.put`, the value encoded once and framed per session.
const HOST = "127.0.0.1";

/** Every client of a benchmark comes from 127.0.0.1: one address may hold them all. */
export const BENCH_SERVER_OPTIONS = { maxSessionsPerAddress: 10_000 };

export async function makeTopic() {
  const { createServer } = await import("../../../dist/server/index.js");
  const server = createServer(BENCH_SERVER_OPTIONS);
  const topic = server.topic("t");
  const handle = await server.listen({ port: 0, host: HOST });
  return {
    port: handle.port,
    clients: () => topic.subscriberCount,
    broadcast: (obj) => topic.put(obj),
  };
}
