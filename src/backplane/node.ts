// One node's backplane over any engine: the logic every engine shares, written once. It frames
// what crosses with the node id (framing.ts), bounds the publishes the engine has not taken
// (the engine slow or down: the next publish fails at once with ERR_BACKPLANE_FULL), keeps one
// handler per subject, and reports what it cannot hand to anyone.
import { WirechanRangeError } from "../csp/errors.js";
import type { Logger } from "../session/logger.js";
import { type Backplane, type BackplaneEngine, BackplaneError, type BackplaneMessage, type Unsubscribe } from "./backplane.js";
import { frameMessage, readMessage } from "./framing.js";
import { type BackplaneOptions, resolveBackplaneOptions } from "./options.js";

/**
 * One node's {@link Backplane} over `engine`. Options and defaults: {@link BackplaneOptions},
 * `backplaneDefaults`; throws a `TypeError` or `RangeError` (`ERR_BACKPLANE_OPTION`) for a bad one.
 */
export function createBackplane(engine: BackplaneEngine, options: BackplaneOptions = {}): Backplane {
  return new BackplaneNode(engine, options);
}

class BackplaneNode implements Backplane {
  readonly nodeId: string;
  readonly #engine: BackplaneEngine;
  readonly #maxPending: number;
  readonly #maxSubjects: number;
  readonly #logger: Logger;
  /** This node's subscriptions, one per subject, at most maxSubjects. */
  readonly #subjects = new Map<string, Unsubscribe>();
  #pending = 0;
  #closing: Promise<void> | null = null;

  constructor(engine: BackplaneEngine, options: BackplaneOptions) {
    const resolved = resolveBackplaneOptions(options);
    this.nodeId = resolved.nodeId;
    this.#engine = engine;
    this.#maxPending = resolved.maxPending;
    this.#maxSubjects = resolved.maxSubjects;
    this.#logger = resolved.logger;
  }

  get pending(): number {
    return this.#pending;
  }

  publish(subject: string, body: string): void {
    if (this.#closing !== null) throw new BackplaneError("ERR_BACKPLANE_CLOSED", `backplane node ${this.nodeId} is closed`);
    if (this.#pending >= this.#maxPending) {
      throw new BackplaneError("ERR_BACKPLANE_FULL", `backplane node ${this.nodeId}: the engine has not taken ${this.#maxPending} publishes (maxPending); it is slow or unreachable`);
    }
    // Handed over at once and in call order: the engine keeps one node's order.
    const taken = this.#engine.publish(subject, frameMessage(this.nodeId, body));
    this.#pending++;
    taken.then(this.#taken, this.#refused);
  }

  readonly #taken = (): void => {
    this.#pending--;
  };

  readonly #refused = (error: unknown): void => {
    this.#pending--;
    this.#logger.error(`backplane node ${this.nodeId}: the engine refused a publish; it is lost`, error);
  };

  subscribe(subject: string, handler: (message: BackplaneMessage) => void): Unsubscribe {
    if (this.#closing !== null) throw new BackplaneError("ERR_BACKPLANE_CLOSED", `backplane node ${this.nodeId} is closed`);
    if (this.#subjects.has(subject)) throw new BackplaneError("ERR_BACKPLANE_SUBJECT", `backplane node ${this.nodeId} already subscribes to ${JSON.stringify(subject)}`);
    if (this.#subjects.size >= this.#maxSubjects) throw new BackplaneError("ERR_BACKPLANE_SUBJECT", `backplane node ${this.nodeId} subscribes to ${this.#maxSubjects} subjects (maxSubjects)`);
    const stop = this.#engine.subscribe(subject, (text) => this.#deliver(subject, text, handler));
    const unsubscribe = (): void => {
      if (this.#subjects.get(subject) !== unsubscribe) return;
      this.#subjects.delete(subject);
      stop();
    };
    this.#subjects.set(subject, unsubscribe);
    return unsubscribe;
  }

  #deliver(subject: string, text: string, handler: (message: BackplaneMessage) => void): void {
    const message = readMessage(text);
    if (message === null) {
      this.#logger.warn(`backplane node ${this.nodeId}: a message on ${JSON.stringify(subject)} not of this framing (another version?) was dropped`);
      return;
    }
    try {
      handler(message);
    } catch (error) {
      // The engine's delivery loop serves every subject: one handler must not stop it.
      this.#logger.error(`backplane node ${this.nodeId}: the handler of ${JSON.stringify(subject)} threw`, error);
    }
  }

  append(log: string, text: string, maxEntries: number): Promise<void> {
    if (this.#closing !== null) return Promise.reject(closed(this.nodeId));
    checkMaxEntries(maxEntries);
    return this.#engine.append(log, text, maxEntries);
  }

  read(log: string, maxEntries: number): Promise<string[]> {
    if (this.#closing !== null) return Promise.reject(closed(this.nodeId));
    checkMaxEntries(maxEntries);
    return this.#engine.read(log, maxEntries);
  }

  ready(): Promise<void> {
    if (this.#closing !== null) return Promise.reject(new BackplaneError("ERR_BACKPLANE_CLOSED", `backplane node ${this.nodeId} is closed`));
    return this.#engine.ready?.() ?? Promise.resolve();
  }

  close(): Promise<void> {
    if (this.#closing === null) {
      for (const unsubscribe of [...this.#subjects.values()]) unsubscribe();
      this.#closing = this.#engine.close();
    }
    return this.#closing;
  }
}

function closed(nodeId: string): BackplaneError {
  return new BackplaneError("ERR_BACKPLANE_CLOSED", `backplane node ${nodeId} is closed`);
}

/** A log's bound: a positive integer (the engines trim to it). */
function checkMaxEntries(maxEntries: number): void {
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) throw new WirechanRangeError("ERR_BACKPLANE_OPTION", `a log's maxEntries must be a positive integer, got ${String(maxEntries)}`);
}
