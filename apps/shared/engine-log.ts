/**
 * An app's bounded log in the cluster's engine (`Backplane.append` / `read`: a Redis list, a
 * JetStream stream, the memory bus's own), what must outlive any one node: the chat's lines, the
 * dashboard's readings. A node that starts reads it; the node that made an entry appends it.
 *
 * Appends are not awaited by the app (a line is shown before the engine stored it), so those in
 * flight are bounded here: past `maxInFlight` an entry is not stored (the engine is slow or down;
 * it was still delivered live) and a throttled warning says so.
 */
import type { Backplane } from "../../src/backplane/index.js";
import type { Logger } from "../../src/server/index.js";
import { ThrottledWarning } from "./throttled-warning.js";

/** Appends waiting for the engine, at most: the engine down must not grow memory. */
const MAX_IN_FLIGHT = 256;

export class EngineLog<T> {
  #inFlight = 0;
  readonly #notStored: ThrottledWarning;
  readonly #unreadable: ThrottledWarning;

  constructor(
    private readonly backplane: Backplane,
    /** The log's name in the engine (the engine's `prefix` goes before it). */
    readonly name: string,
    /** Entries the engine keeps, the newest. */
    readonly maxEntries: number,
    /** Reads one entry's text back, or null for text that is not an entry (another program's, an older format): skipped. */
    private readonly parse: (text: string) => T | null,
    private readonly logger: Logger,
  ) {
    this.#notStored = new ThrottledWarning(logger, `log ${name}: an entry was not stored in the engine`);
    this.#unreadable = new ThrottledWarning(logger, `log ${name}: an entry that is not one was skipped`);
  }

  /** Stores `text` as the newest entry, in the background; never throws, never waits. */
  append(text: string): void {
    if (this.#inFlight >= MAX_IN_FLIGHT) {
      this.#notStored.note(`${MAX_IN_FLIGHT} appends already wait for the engine`);
      return;
    }
    this.#inFlight++;
    this.backplane.append(this.name, text, this.maxEntries).then(this.#stored, this.#failed);
  }

  /** The entries kept, oldest first, those that read as entries; [] (logged) when the engine fails. */
  async read(): Promise<T[]> {
    let texts: string[];
    try {
      texts = await this.backplane.read(this.name, this.maxEntries);
    } catch (error) {
      this.logger.warn(`log ${this.name}: reading it from the engine failed; going on without what it held:`, error);
      return [];
    }
    const out: T[] = [];
    for (const text of texts) {
      const entry = this.parse(text);
      if (entry === null) this.#unreadable.note(text.slice(0, 80));
      else out.push(entry);
    }
    return out;
  }

  readonly #stored = (): void => {
    this.#inFlight--;
  };

  readonly #failed = (error: unknown): void => {
    this.#inFlight--;
    this.#notStored.note(error instanceof Error ? error.message : String(error));
  };
}

/** `JSON.parse` that answers undefined instead of throwing: log entries come from outside this process. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
