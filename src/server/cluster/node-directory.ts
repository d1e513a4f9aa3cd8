// Which nodes are alive, as heard on the backplane (docs/api.md "No sticky sessions"): every
// node says its tag on one subject every `clusterHeartbeat` ms, and remembers when it last heard
// each. It tells the edge whether a session's owner can still answer (forward the request), is
// gone (the session died with it: `ERR_SESSION_LOST` at once), or cannot be told because this
// node does not hear the backplane itself (its own heartbeat is late: `ERR_UNAVAILABLE`, try
// again; an outage of the engine must not lose every forwarded session).
import type { Backplane, BackplaneMessage, Unsubscribe } from "../../backplane/backplane.js";
import type { Logger } from "../../session/logger.js";
import { isNodeTag } from "./node-tag.js";

/** The subject every node says it is alive on. */
export const NODES_SUBJECT = "wirechan.nodes";

/** What the directory can say of a node. */
export type NodeState = "alive" | "gone" | "unknown";

export interface NodeDirectoryOptions {
  readonly tag: string;
  /** How often this node says it is alive (ms). */
  readonly heartbeat: number;
  /** A node not heard from for this long is gone (ms); more than `heartbeat`. */
  readonly timeout: number;
  /** Nodes remembered at most; past it the one heard from longest ago is forgotten. */
  readonly maxNodes: number;
  readonly logger: Logger;
}

export class NodeDirectory {
  /** When each node was last heard, by tag; in the order last heard (a Map keeps insertion order). */
  readonly #heard = new Map<string, number>();
  readonly #startedAt = Date.now();
  readonly #backplane: Backplane;
  readonly #options: NodeDirectoryOptions;
  readonly #unsubscribe: Unsubscribe;
  readonly #timer: NodeJS.Timeout;

  constructor(backplane: Backplane, options: NodeDirectoryOptions) {
    this.#backplane = backplane;
    this.#options = options;
    this.#unsubscribe = backplane.subscribe(NODES_SUBJECT, this.#onHeartbeat);
    this.#timer = setInterval(this.#sayAlive, options.heartbeat);
    this.#timer.unref();
    this.#sayAlive();
  }

  /**
   * `alive`: heard within `timeout`. `gone`: not heard within `timeout`, while this node hears
   * its own heartbeats and has run long enough to have heard everyone. `unknown`: this node
   * cannot tell yet (it just started, or the backplane does not carry its own heartbeats).
   */
  stateOf(tag: string): NodeState {
    const now = Date.now();
    const last = this.#heard.get(tag);
    if (last !== undefined && now - last < this.#options.timeout) return "alive";
    return this.hearsItself(now) && now - this.#startedAt >= this.#options.timeout ? "gone" : "unknown";
  }

  /** Whether this node's own heartbeat came back within `timeout`: the backplane works. */
  hearsItself(now = Date.now()): boolean {
    const own = this.#heard.get(this.#options.tag);
    return own !== undefined && now - own < this.#options.timeout;
  }

  /** Nodes heard from within `timeout`, this one included. */
  get alive(): number {
    const now = Date.now();
    let count = 0;
    for (const last of this.#heard.values()) if (now - last < this.#options.timeout) count++;
    return count;
  }

  close(): void {
    clearInterval(this.#timer);
    this.#unsubscribe();
  }

  readonly #sayAlive = (): void => {
    try {
      this.#backplane.publish(NODES_SUBJECT, this.#options.tag);
      if (this.#failing) this.#options.logger.warn("cluster: this node's heartbeat is published again");
      this.#failing = false;
    } catch (error) {
      // Full or closed: the next beat tries again; meanwhile the others may count this node gone.
      // Told once per streak, not every beat.
      if (!this.#failing) this.#options.logger.warn(`cluster: this node's heartbeat could not be published (${error instanceof Error ? error.message : String(error)}); the other nodes will count it gone after clusterTimeout`);
      this.#failing = true;
    }
  };

  /** The last heartbeat could not be published. */
  #failing = false;

  readonly #onHeartbeat = (message: BackplaneMessage): void => {
    const tag = message.body;
    if (!isNodeTag(tag)) return;
    this.#heard.delete(tag);
    this.#heard.set(tag, Date.now());
    if (this.#heard.size > this.#options.maxNodes) {
      const oldest = this.#heard.keys().next().value;
      if (oldest !== undefined) this.#heard.delete(oldest);
    }
  };
}
