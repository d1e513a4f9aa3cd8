// The logs of the NATS engine (Backplane.append/read): one JetStream stream per log, kept by the
// NATS server (on its disk: it outlives every node, and a restart of the server), trimmed by the
// server to its newest maxEntries (max_msgs, discard old). Only the logs use JetStream; fan-out
// stays on core subjects.
import { createHash } from "node:crypto";
import { DiscardPolicy, type JetStreamManager, type NatsConnection, StorageType } from "nats";
import { natsSubject } from "./subjects.js";

/** Streams this node made sure of, at most this many remembered (one per log; a log past it is checked again). */
const MAX_KNOWN_STREAMS = 1_000;

/** A stream name may not hold `.`, `*`, `>` nor spaces: a hash of the log's subject stands for it. */
function streamName(subject: string): string {
  return `WIRECHAN_LOG_${createHash("sha256").update(subject).digest("hex").slice(0, 32)}`;
}

export class NatsLogs {
  #manager: Promise<JetStreamManager> | null = null;
  /** Stream name → the maxEntries it was made or updated with. */
  readonly #known = new Map<string, number>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly prefix: string,
  ) {}

  async append(log: string, text: string, maxEntries: number): Promise<void> {
    const subject = this.#subject(log);
    await this.#ensure(streamName(subject), subject, maxEntries);
    // Resolves with the server's acknowledgement: the entry is stored.
    await this.nc.jetstream().publish(subject, new TextEncoder().encode(text));
  }

  async read(log: string, maxEntries: number): Promise<string[]> {
    const name = streamName(this.#subject(log));
    const manager = await this.#jsm();
    let state;
    try {
      state = (await manager.streams.info(name)).state;
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
    if (state.messages === 0) return [];
    const first = Math.max(state.first_seq, state.last_seq - maxEntries + 1);
    const seqs = Array.from({ length: state.last_seq - first + 1 }, (_, i) => first + i);
    // One request each, all in flight at once: a log is read whole, at most maxEntries.
    const stored = await Promise.all(seqs.map((seq) => manager.streams.getMessage(name, { seq }).catch(missing)));
    return stored.flatMap((message) => (message === null ? [] : [message.string()]));
  }

  #subject(log: string): string {
    return natsSubject(`${this.prefix}log.${log}`);
  }

  #jsm(): Promise<JetStreamManager> {
    this.#manager ??= this.nc.jetstreamManager();
    return this.#manager;
  }

  async #ensure(name: string, subject: string, maxEntries: number): Promise<void> {
    if (this.#known.get(name) === maxEntries) return;
    const manager = await this.#jsm();
    const config = { name, subjects: [subject], max_msgs: maxEntries, discard: DiscardPolicy.Old, storage: StorageType.File };
    try {
      await manager.streams.add(config);
    } catch (error) {
      // Made by another node (or with another bound): the newest writer's bound holds.
      if (!isInUse(error)) throw error;
      await manager.streams.update(name, { subjects: [subject], max_msgs: maxEntries });
    }
    if (this.#known.size >= MAX_KNOWN_STREAMS) this.#known.clear();
    this.#known.set(name, maxEntries);
  }
}

function isNotFound(error: unknown): boolean {
  return error instanceof Error && /not found/i.test(error.message);
}

function isInUse(error: unknown): boolean {
  return error instanceof Error && /already in use/i.test(error.message);
}

/** A message trimmed between the stream's info and its get: it is no longer in the log. */
function missing(error: unknown): null {
  if (isNotFound(error)) return null;
  throw error;
}
