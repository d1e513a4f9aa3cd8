// What the cluster benchmark measures, in one place. The child processes get every count through
// their arguments and IPC commands, so nothing here is repeated in the .mjs files.

export type ClusterImpl = "wirechan-redis" | "wirechan-nats" | "socketio-redis";
export type CaseName = "300" | "1000";
export type Engine = "redis" | "nats";

export interface ImplSpec {
  readonly name: ClusterImpl;
  readonly label: string;
  readonly engine: Engine;
  /** The load generator's entry (relative to bench/cluster/) and its client kind. */
  readonly loadgen: { readonly entry: string; readonly kind: string };
  /** The channel (Redis) or subject (NATS) a broadcast is published on, given the run's prefix. */
  broadcastChannel(prefix: string): string;
  readonly description: string;
}

export interface CaseSpec {
  readonly name: CaseName;
  readonly clients: number;
}

export const IMPLS: readonly ImplSpec[] = [
  {
    name: "wirechan-redis",
    label: "wirechan topic, Redis",
    engine: "redis",
    loadgen: { entry: "../topic/children/loadgen.mjs", kind: "topic" },
    broadcastChannel: (prefix) => `${prefix}wirechan.topic.t`,
    description:
      "`createServer({ backplane: redisBackplane({ url, prefix }), maxSessionsPerAddress: 10_000 }).topic(\"t\")`, default " +
      "topic and backplane options; clients are wirechan's Node client (WebSocket only), each putting `{ subscribe: inbox }` " +
      "on `session.serverChan(\"t\")` (bench/topic's load generator); a broadcast is `topic.put(msg)` on node 0",
  },
  {
    name: "wirechan-nats",
    label: "wirechan topic, NATS",
    engine: "nats",
    loadgen: { entry: "../topic/children/loadgen.mjs", kind: "topic" },
    broadcastChannel: (prefix) => `${prefix}wirechan.topic.t`,
    description: "the same with `await natsBackplane({ servers, prefix })` (core NATS subjects)",
  },
  {
    name: "socketio-redis",
    label: "socket.io + redis-adapter",
    engine: "redis",
    loadgen: { entry: "../server/children/loadgen.mjs", kind: "socketio" },
    broadcastChannel: (prefix) => `${prefix}socket.io#/#`,
    description:
      "`new Server(httpServer, { serveClient: false, transports: [\"websocket\"], adapter: createAdapter(pub, pub.duplicate(), " +
      "{ key }) })` with two ioredis connections; clients are `socket.io-client` (`transports: [\"websocket\"]`) listening " +
      "for \"m\" (bench/server's load generator); a broadcast is `io.emit(\"m\", msg)` on node 0",
  },
];

/**
 * 1,000 clients is the case; 300 is there to show that what crosses the backplane per
 * broadcast does not depend on the number of clients.
 */
export const CASES: readonly CaseSpec[] = [
  { name: "300", clients: 300 },
  { name: "1000", clients: 1_000 },
];

/** Server processes per row; every node has one load generator of its own, its clients connected to it directly. */
export const NODES = 3;

/**
 * Fixed-rate phase: broadcasts per second, un-measured warm-up rounds and measured rounds. The
 * warm-up is 3 s: with 1 s (5 rounds), wirechan's p99 at 1,000 clients read 450 to 540 ms against
 * socket.io's 74 ms (commit 077fdb6's README), and 83 ms with 3 s: the tail comes from the first
 * seconds after 1,000 sessions connect, not from the steady state.
 */
export const FIXED_HZ = 5;
export const FIXED_WARMUP_ROUNDS = 15;
export const FIXED_ROUNDS = 25;

/** Max-rate phase: rounds in flight at most, warm-up and measured wall time. */
export const MAX_WINDOW = 8;
export const MAX_WARMUP_MS = 1_000;
export const MAX_MEASURE_MS = 3_000;
/** Bounds the max-rate phase (the load generators count up to 65,536 rounds). */
export const MAX_ROUNDS = 60_000;

/** Simultaneous connection attempts per load generator. */
export const CONNECT_CONCURRENCY = 50;
export const CONNECT_TIMEOUT_MS = 60_000;

/** Until the backplane counter has heard nothing for this long after a phase, its messages may still be on their way. */
export const COUNT_QUIET_MS = 300;

/** A row (its nodes, its load generators, every phase) that takes longer is killed and fails. */
export const ROW_TIMEOUT_MS = 90_000;
/** No round starts once this much time has gone, so the run ends in time with what it has. */
export const ROUNDS_BUDGET_MS = 4 * 60_000;
/** The whole benchmark gives up after this long, killing whatever still runs. */
export const TOTAL_TIMEOUT_MS = 5.5 * 60_000;

export const DEFAULT_RUNS = 2;

/** Targets from issue 11, against socket.io + redis-adapter at 1,000 clients. */
export const TARGET_THROUGHPUT_VS_SOCKETIO = 2;
export const TARGET_P99_VS_SOCKETIO = 1;

export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";
export const DEFAULT_NATS_URL = "nats://127.0.0.1:4222";

export function implSpec(name: ClusterImpl): ImplSpec {
  const spec = IMPLS.find((i) => i.name === name);
  if (spec === undefined) throw new Error(`unknown implementation ${name}`);
  return spec;
}
