// The server of the flood test (flood.test.ts), run in a child process of its own so that the
// RSS it reports is the server's alone, not the flooding clients'. It serves a named channel
// "echo" for the well-behaved clients, samples its own RSS every 50 ms keeping the peak (and
// what the heap and the tables held at that moment, to tell what grew), and answers the
// parent's requests for those numbers over the IPC channel of `fork`.
import { pathToFileURL } from "node:url";
import type { Logger } from "../../src/session/logger.js";
import { createServer, type RemoteChannel, type ServerOptions, type WirechanServer } from "../../src/server/index.js";

/**
 * The options the flood runs against. Every limit the flood leans on is explicit, so that the
 * ceiling documented in flood.test.ts (and README.md, "Memory under a flood") follows from
 * numbers written here rather than from defaults that may move.
 */
export const FLOOD_OPTIONS = {
  // 50 sessions that never acknowledge 2,000 answers each keep about 11 MB for replay
  // (2,000 × (18 bytes + 96 overhead)): under a budget of 32 MiB the budget would never act.
  // 8 MiB makes it the bound that ends the largest of them.
  replayBudget: 8 * 1024 * 1024,
  linkTimeout: 1_000,
  // 2,000 opens from four addresses are 500 each: a limit of 500 could never refuse one. At
  // 200, an address that opens more than 200 sessions within linkTimeout is refused.
  maxSessionsPerAddress: 200,
  maxConnections: 3_000,
  pollTimeout: 2_000,
  // A body trickled a byte at a time must not hold a slot toward maxConnections: the handler's
  // read gives up after bodyTimeout, node's after requestTimeout (headersTimeout may not be
  // above it).
  bodyTimeout: 2_000,
  requestTimeout: 2_000,
  headersTimeout: 2_000,
  // Longer than the test: the flood's sessions must end by the protocol (bye, a fatal error,
  // linkTimeout), not by expiring, for the drain at the end to mean anything.
  sessionTtl: 60_000,
  closeTimeout: 1_000,
} as const satisfies ServerOptions;

/** The server's side of one stats request: its memory, now and at its peak, and its tables. */
export interface FloodStats {
  /** RSS now, bytes. */
  rss: number;
  /** The highest RSS sampled (every 50 ms) since the server started listening. */
  peakRss: number;
  /** What the process held when the peak was sampled: where the memory went. */
  atPeak: MemorySnapshot;
  /** RSS once listening, before any client came. */
  baselineRss: number;
  sessions: number;
  connections: number;
  /** The most sessions and connections sampled at once. */
  peakSessions: number;
  peakConnections: number;
  /** Bytes every session keeps for replay together (`replayBudget`), or null if this build hides it. */
  replayBytes: number | null;
  /** What the server reported through its logger, counted, with the first few distinct lines. */
  loggedErrors: number;
  loggedWarnings: number;
  firstLogLines: string[];
}

export interface MemorySnapshot {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  sessions: number;
  connections: number;
}

/** Parent to child. */
export type FloodRequest = { type: "stats" };

/** Child to parent. */
export type FloodReport = { type: "listening"; port: number } | { type: "stats"; stats: FloodStats };

const SAMPLE_INTERVAL_MS = 50;
const KEPT_LOG_LINES = 10;

/** A logger that counts instead of printing: a flood makes the server log, and the parent wants the numbers. */
class CountingLogger implements Logger {
  errors = 0;
  warnings = 0;
  readonly lines: string[] = [];

  error(message: string, error?: unknown): void {
    this.errors++;
    this.keep(`error: ${message}${error === undefined ? "" : ` ${String(error)}`}`);
  }

  warn(message: string, detail?: unknown): void {
    this.warnings++;
    this.keep(`warn: ${message}${detail === undefined ? "" : ` ${String(detail)}`}`);
  }

  /** Keeps distinct lines only: a flood tends to log one line a thousand times. */
  private keep(line: string): void {
    if (this.lines.length < KEPT_LOG_LINES && !this.lines.includes(line)) this.lines.push(line);
  }
}

/** Samples the process's RSS and remembers the peak, with what the heap and the tables held then. */
class MemorySampler {
  peakRss = 0;
  peakSessions = 0;
  peakConnections = 0;
  atPeak: MemorySnapshot;
  readonly baselineRss: number;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly server: WirechanServer) {
    this.atPeak = this.snapshot();
    this.baselineRss = this.atPeak.rss;
    this.peakRss = this.atPeak.rss;
    this.timer = setInterval(this.sample, SAMPLE_INTERVAL_MS);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  readonly sample = (): void => {
    // process.memoryUsage.rss() is cheap; the full breakdown walks the heap spaces, so it is
    // taken only when the peak moves.
    const rss = process.memoryUsage.rss();
    this.peakSessions = Math.max(this.peakSessions, this.server.sessionCount);
    this.peakConnections = Math.max(this.peakConnections, this.server.connectionCount);
    if (rss <= this.peakRss) return;
    this.peakRss = rss;
    this.atPeak = this.snapshot();
  };

  private snapshot(): MemorySnapshot {
    const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
    return { rss, heapUsed, heapTotal, external, arrayBuffers, sessions: this.server.sessionCount, connections: this.server.connectionCount };
  }
}

/** The echo the well-behaved clients use: `{ reply, n }` is answered by putting `n` into `reply`. */
interface EchoRequest {
  reply: RemoteChannel<number>;
  n: number;
}

/**
 * Answers every echo request without waiting for the answer to be taken, so that one client's
 * slow round trip under the flood does not hold up the other's.
 */
async function serveEcho(server: WirechanServer, logger: CountingLogger): Promise<void> {
  const echo = server.channel<EchoRequest>("echo");
  for await (const request of echo) answerEcho(request, logger);
}

function answerEcho({ reply, n }: EchoRequest, logger: CountingLogger): void {
  try {
    reply.put(n).catch((error: unknown) => logger.error("an echo answer failed", error));
  } catch (error) {
    // A proxy with 1,024 puts already waiting throws at once; only a client that stopped taking gets there.
    logger.error("an echo answer was refused", error);
  }
}

/** The bytes every session keeps for replay: internal, read for the report only. */
function replayBytesOf(server: WirechanServer): number | null {
  const protocol: unknown = Reflect.get(server, "protocol");
  if (typeof protocol !== "object" || protocol === null) return null;
  const sessions: unknown = Reflect.get(protocol, "sessions");
  if (typeof sessions !== "object" || sessions === null) return null;
  const bytes: unknown = Reflect.get(sessions, "replayBytes");
  return typeof bytes === "number" ? bytes : null;
}

function statsOf(server: WirechanServer, sampler: MemorySampler, logger: CountingLogger): FloodStats {
  sampler.sample();
  return {
    rss: process.memoryUsage.rss(),
    peakRss: sampler.peakRss,
    atPeak: sampler.atPeak,
    baselineRss: sampler.baselineRss,
    sessions: server.sessionCount,
    connections: server.connectionCount,
    peakSessions: sampler.peakSessions,
    peakConnections: sampler.peakConnections,
    replayBytes: replayBytesOf(server),
    loggedErrors: logger.errors,
    loggedWarnings: logger.warnings,
    firstLogLines: [...logger.lines],
  };
}

function isStatsRequest(message: unknown): message is FloodRequest {
  return typeof message === "object" && message !== null && (message as { type?: unknown }).type === "stats";
}

function report(message: FloodReport): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  if (process.send === undefined) throw new Error("flood-server.ts runs as a child of flood.test.ts (fork), which talks to it over IPC");
  const logger = new CountingLogger();
  const server = createServer({ ...FLOOD_OPTIONS, logger });
  void serveEcho(server, logger);
  const handle = await server.listen({ host: "127.0.0.1", port: 0 });
  const sampler = new MemorySampler(server);
  process.on("message", function onRequest(message: unknown): void {
    if (isStatsRequest(message)) report({ type: "stats", stats: statsOf(server, sampler, logger) });
  });
  // The parent gone (the test ended, or died), the server has nobody to report to: stop.
  process.once("disconnect", function onParentGone(): void {
    sampler.stop();
    void handle.close().finally(() => process.exit(0));
  });
  report({ type: "listening", port: handle.port });
}

// Run only as the child: the test imports FLOOD_OPTIONS and the types from this file too.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error("flood-server: failed to start", error);
    process.exit(1);
  });
}
