// What the long-polling benchmark measures, in one place (issue 12, item 4). The child
// processes get every count through their IPC commands.
import type { FixedRate, SharedPhases } from "../shared/broadcast-measure.js";
import { PHASES as TOPIC_PHASES } from "../topic/config.js";

export type LongpollImpl = "topic" | "socketio";
export type CaseName = "1000";

export interface ImplSpec {
  readonly name: LongpollImpl;
  readonly label: string;
  readonly description: string;
}

export interface CaseSpec extends FixedRate {
  readonly name: CaseName;
  readonly clients: number;
}

export const IMPLS: readonly ImplSpec[] = [
  {
    name: "topic",
    label: "wirechan topic (longpoll)",
    description:
      '`createServer({ maxSessionsPerAddress: 10_000 }).topic("t")`, default options; each client is ' +
      '`connect(url, { transports: ["longpoll"], upgradeProbeInterval: 0 })` putting `{ subscribe: inbox }` on ' +
      '`session.serverChan("t")`; a broadcast is `topic.put(msg)`',
  },
  {
    name: "socketio",
    label: "socket.io (polling)",
    description:
      'socket.io 4.8 `new Server(httpServer, { serveClient: false, transports: ["polling"] })`, clients ' +
      '`io(url, { transports: ["polling"], forceNew: true, reconnection: false })` listening for "m"; a broadcast is `io.emit("m", msg)`',
  },
];

export const CASES: readonly CaseSpec[] = [{ name: "1000", clients: 1_000, fixedHz: 4, fixedWarmupRounds: 4, fixedRounds: 20 }];

/** Load-generator processes per row. */
export const LOADGENS = 2;

/** The phases of the case, as bench/topic's (its config.ts says what each is), fewer connecting at once. */
export const PHASES: SharedPhases = { ...TOPIC_PHASES, connectConcurrency: 50 };

/** No round starts once this much time has gone. */
export const ROUNDS_BUDGET_MS = 5 * 60_000;
/** The whole benchmark gives up after this long, killing whatever still runs. */
export const TOTAL_TIMEOUT_MS = 7 * 60_000;

export const DEFAULT_RUNS = 3;

export function implSpec(name: LongpollImpl): ImplSpec {
  const spec = IMPLS.find((i) => i.name === name);
  if (spec === undefined) throw new Error(`unknown implementation ${name}`);
  return spec;
}
