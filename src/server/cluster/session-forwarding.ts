// Sessions across nodes without sticky sessions (docs/api.md "No sticky sessions"): a session
// stays on the node that made it (its channels, proxies and server code live there), and a
// request for it that reaches another node is forwarded to it through the backplane. Each node
// listens on its own subject, `wirechan.node.<tag>`, for both halves: as owner (edges forward
// to it) and as edge (owners answer it).
import type { Backplane, BackplaneMessage, Unsubscribe } from "../../backplane/backplane.js";
import type { Logger } from "../../session/logger.js";
import type { ForwardKind } from "./forward-frames.js";
import { readForward, writeForward } from "./forward-frames.js";
import { EdgeTunnels } from "./edge-tunnels.js";
import { NodeDirectory } from "./node-directory.js";
import { nodeTag, ownerTagOf } from "./node-tag.js";
import { type OwnerHost, OwnerTunnels } from "./owner-tunnels.js";

/** What forwarding needs from the server's options. */
export interface ForwardingOptions {
  readonly forwardTimeout: number;
  readonly pollTimeout: number;
  readonly heartbeatTimeout: number;
  readonly clusterHeartbeat: number;
  readonly clusterTimeout: number;
  readonly maxForwarded: number;
  readonly maxBufferedBytes: number;
  readonly logger: Logger;
}

/** Kinds an owner receives; the others are answers an edge receives. */
const TO_OWNER: ReadonlySet<ForwardKind> = new Set<ForwardKind>(["socket", "up", "open", "attach", "send", "close"]);

/** The subject of the node with `tag`. */
export function nodeSubject(tag: string): string {
  return `wirechan.node.${tag}`;
}

export class SessionForwarding {
  /** This node's tag: the suffix of its session ids (`.<tag>`). */
  readonly tag: string;
  readonly edge: EdgeTunnels;
  readonly owner: OwnerTunnels;
  readonly directory: NodeDirectory;
  readonly #backplane: Backplane;
  readonly #logger: Logger;
  readonly #unsubscribe: Unsubscribe;

  /** Throws what the backplane's `subscribe` throws (`ERR_BACKPLANE_SUBJECT`, `ERR_BACKPLANE_CLOSED`). */
  constructor(backplane: Backplane, host: OwnerHost, options: ForwardingOptions) {
    this.tag = nodeTag(backplane.nodeId);
    this.#backplane = backplane;
    this.#logger = options.logger;
    this.#unsubscribe = backplane.subscribe(nodeSubject(this.tag), this.#onMessage);
    this.directory = new NodeDirectory(backplane, {
      tag: this.tag,
      heartbeat: options.clusterHeartbeat,
      timeout: options.clusterTimeout,
      maxNodes: 4_096,
      logger: options.logger,
    });
    this.edge = new EdgeTunnels(this.#publish, this.directory, {
      forwardTimeout: options.forwardTimeout,
      pollTimeout: options.pollTimeout,
      heartbeatTimeout: options.heartbeatTimeout,
      maxForwarded: options.maxForwarded,
      maxEarlyBytes: options.maxBufferedBytes,
      logger: options.logger,
    });
    this.owner = new OwnerTunnels(host, this.#publish, options.maxForwarded, options.logger);
  }

  /** The tag of the node holding session `sid` when that is another node; null when it is this one (or the id names none). */
  remoteOwner(sid: string | null): string | null {
    if (sid === null) return null;
    const owner = ownerTagOf(sid);
    return owner === null || owner === this.tag ? null : owner;
  }

  /** Ends every tunnel both ways, and stops listening. */
  close(): void {
    this.owner.close();
    this.edge.close();
    this.directory.close();
    this.#unsubscribe();
  }

  readonly #publish = (to: string, kind: ForwardKind, tunnel: string, payload: string): void => {
    this.#backplane.publish(nodeSubject(to), writeForward(kind, this.tag, tunnel, payload));
  };

  readonly #onMessage = (message: BackplaneMessage): void => {
    const forward = readForward(message.body);
    if (forward === null) {
      this.#logger.warn(`cluster: a message on this node's subject not of this version was dropped (from node ${message.from})`);
      return;
    }
    if (TO_OWNER.has(forward.kind)) this.owner.receive(forward, message.from);
    else this.edge.receive(forward);
  };
}
