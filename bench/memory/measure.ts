// One measurement of the memory benchmark: a fresh server process of one kind, a fresh client
// process, n idle clients, and either the server's memory after GC (per client) or two heap
// snapshots (before the clients and with them) read into bytes per client by kind.
import { rmSync } from "node:fs";
import path from "node:path";
import { Child } from "../shared/child.js";
import { totalsByKind, perClient, type KindPerClient } from "./heap.js";

export type Impl = "raw-ws" | "connection" | "session";

export const IMPLS: readonly Impl[] = ["raw-ws", "connection", "session"];

const children = path.join(import.meta.dirname, "children");
/** How long the server may take to start, a batch of clients to open, a snapshot to be written. */
const READY_MS = 15_000;
const OPEN_MS = 120_000;
const SNAPSHOT_MS = 120_000;
/** Time for the server to finish every handshake's leftovers before it is measured. */
const SETTLE_MS = 1_000;

export interface MemoryPerClient {
  /** RSS, heap used, and external memory (ArrayBuffers and other C++-side allocations), bytes per client after 3 GCs. */
  rss: number;
  heapUsed: number;
  /** The heap's reserved size (used, free and the young generation). */
  heapTotal: number;
  /** The young generation's size alone. */
  newSpace: number;
  external: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function withProcesses<T>(impl: Impl, run: (server: Child, clients: Child, port: number) => Promise<T>): Promise<T> {
  const server = new Child(`server ${impl}`, path.join(children, "server.mjs"), [impl], ["--expose-gc"], READY_MS);
  const clients = new Child(`clients of ${impl}`, path.join(children, "clients.mjs"), [impl === "session" ? "session" : "ws"], [], READY_MS);
  try {
    const ready = await server.ready;
    await clients.ready;
    return await run(server, clients, ready["port"] as number);
  } finally {
    await Promise.all([server.kill(), clients.kill()]);
  }
}

/** Opens n more clients and waits until the server itself counts `total`. */
async function openClients(server: Child, clients: Child, port: number, n: number, total = n): Promise<void> {
  await clients.request({ cmd: "open", port, n }, OPEN_MS);
  for (let tries = 0; ; tries++) {
    const count = (await server.request({ cmd: "count" }, READY_MS))["count"] as number;
    if (count === total) break;
    if (tries >= 100) throw new Error(`the server counts ${count} clients of ${total}`);
    await sleep(100);
  }
  await sleep(SETTLE_MS);
}

export function measureMemory(impl: Impl, n: number): Promise<MemoryPerClient> {
  return withProcesses(impl, async function memory(server, clients, port) {
    // As for the snapshots: the first clients' compiled code and grown pools are paid once, not
    // per client (without this, a Connection's RSS per client was over raw ws's at 5,000 clients
    // and equal to it at 10,000).
    await openClients(server, clients, port, WARMUP_CLIENTS);
    const before = await server.request({ cmd: "memory" }, READY_MS);
    await openClients(server, clients, port, n, WARMUP_CLIENTS + n);
    const after = await server.request({ cmd: "memory" }, READY_MS);
    const per = (key: string): number => ((after[key] as number) - (before[key] as number)) / n;
    return { rss: per("rss"), heapUsed: per("heapUsed"), heapTotal: per("heapTotal"), newSpace: per("newSpace"), external: per("external") };
  });
}

/**
 * Clients opened before the first snapshot: the code compiled and the pools grown for the first
 * ones are not per client, and would be counted as such at small n.
 */
export const WARMUP_CLIENTS = 100;

/** Bytes per client by kind of object (self sizes), from snapshots before and after n more clients (after a warm-up); the files are removed unless `keep`. */
export function measureHeap(impl: Impl, n: number, dir: string, keep: boolean): Promise<KindPerClient[]> {
  return withProcesses(impl, async function heap(server, clients, port) {
    const beforePath = path.join(dir, `${impl}-before.heapsnapshot`);
    const afterPath = path.join(dir, `${impl}-after.heapsnapshot`);
    try {
      await openClients(server, clients, port, WARMUP_CLIENTS);
      await server.request({ cmd: "snapshot", path: beforePath }, SNAPSHOT_MS);
      await openClients(server, clients, port, n, WARMUP_CLIENTS + n);
      await server.request({ cmd: "snapshot", path: afterPath }, SNAPSHOT_MS);
      return perClient(totalsByKind(beforePath), totalsByKind(afterPath), n);
    } finally {
      if (!keep) {
        rmSync(beforePath, { force: true });
        rmSync(afterPath, { force: true });
      }
    }
  });
}
