// What the topic benchmark measures, in one place. The child processes get every count through
// their IPC commands, so nothing here is repeated in the .mjs files.
import type { FixedRate, SharedPhases } from "../shared/broadcast-measure.js";

export type TopicImpl = "topic" | "loop" | "ws";
export type CaseName = "1000" | "5000";

export interface ImplSpec {
  readonly name: TopicImpl;
  readonly label: string;
  readonly description: string;
}

/**
 * A case: its clients and its fixed rate (broadcasts per second, un-measured warm-up rounds and
 * measured rounds), fewer per second at 5,000 clients, so that every row's load generators
 * keep up (the deliveries of a round must not queue into the next's) and CPU per delivery is
 * not measured on a backlog.
 */
export interface CaseSpec extends FixedRate {
  readonly name: CaseName;
  readonly clients: number;
}

export const IMPLS: readonly ImplSpec[] = [
  {
    name: "topic",
    label: "wirechan topic",
    description:
      "`createServer({ maxSessionsPerAddress: 10_000 }).topic(\"t\")`, default topic options; each client subscribes by putting " +
      "`{ subscribe: inbox }` on `session.serverChan(\"t\")`; a broadcast is `topic.put(msg)` (the value encoded once, framed per session)",
  },
  {
    name: "loop",
    label: "wirechan loop of proxy puts",
    description:
      "the same server with `server.channel(\"join\", 64)`; each client puts `{ join: inbox }` on it and the server keeps the " +
      "inbox's proxy; a broadcast is `for (const inbox of inboxes) void inbox.put(msg)` (a plain loop, not the apps' `FanOut`: " +
      "the per-proxy put it makes, without its queues), each put encoding the value for its own session",
  },
  {
    name: "ws",
    label: "raw ws",
    description:
      "`new WebSocketServer({ port, perMessageDeflate: false })`, broadcast with `JSON.stringify(msg)` once and " +
      "`ws.send(text)` to every open socket in `wss.clients`",
  },
];

export const CASES: readonly CaseSpec[] = [
  { name: "1000", clients: 1_000, fixedHz: 4, fixedWarmupRounds: 4, fixedRounds: 20 },
  { name: "5000", clients: 5_000, fixedHz: 1, fixedWarmupRounds: 2, fixedRounds: 8 },
];

/**
 * Load-generator processes per row, the same for every row: wirechan's client (a session with
 * its timers, sequence numbers and acknowledgements) is heavier than a bare socket, and 5,000
 * of them are split over two processes.
 */
export const LOADGENS = 2;

/**
 * The phases of every case. Max rate: at most `maxWindow` rounds in flight, `maxWarmupMs` of
 * warm-up, `maxMeasureMs` measured, `maxRounds` bounding it even if acks came impossibly fast
 * (the load generators count up to 65,536). `connectConcurrency` connection attempts at once
 * per load generator; `warmupClients` connected (and subscribed) first, RSS per client counted
 * from after them; `idleSettleMs` between the last client subscribing and each RSS reading;
 * a row (one server, its load generators, every phase) that takes longer than `rowTimeoutMs`
 * is killed and fails.
 */
export const PHASES: SharedPhases = {
  connectConcurrency: 100,
  warmupClients: 100,
  idleSettleMs: 1_000,
  maxWindow: 8,
  maxWarmupMs: 1_000,
  maxMeasureMs: 3_000,
  maxRounds: 60_000,
  connectTimeoutMs: 60_000,
  rowTimeoutMs: 90_000,
};

/** No round starts once this much time has gone, so the run ends in time with what it has. */
export const ROUNDS_BUDGET_MS = 4 * 60_000;
/** The whole benchmark gives up after this long, killing whatever still runs. */
export const TOTAL_TIMEOUT_MS = 6 * 60_000;

export const DEFAULT_RUNS = 2;

/** Target from issue 11: the topic's server CPU per delivery at most this times raw ws's. */
export const TARGET_CPU_VS_WS = 1.5;

export function implSpec(name: TopicImpl): ImplSpec {
  const spec = IMPLS.find((i) => i.name === name);
  if (spec === undefined) throw new Error(`unknown implementation ${name}`);
  return spec;
}
