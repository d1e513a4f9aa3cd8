// A topic's presence (docs/api.md "Presence"): who is subscribed now, on every node. Each node
// is the only source of its own entries (one per subscription made on it) and tells the others
// through the backplane, the only thing nodes share, so that it works on every engine:
// - a join or a leave is published as a delta, batched per turn and numbered (seq, per epoch);
// - while it has entries, a node publishes a heartbeat every heartbeatInterval, carrying the
//   number of its last delta: a node that sees a gap (a lost message) asks for a snapshot;
// - a node that starts asks every node for a snapshot; snapshots go in parts of at most
//   maxMessageBytes, to the nodes that asked;
// - a node closing says goodbye; one silent for `timeout` is taken for dead and its entries leave.
// This is Phoenix.Tracker's scheme (heartbeats, deltas, a transfer when clocks disagree, down
// after silence) without its CRDT: here every entry has one owner, its node, so the owner's
// order is enough, and the backplane keeps one publisher's order.
import type { Backplane, BackplaneMessage, Unsubscribe } from "../backplane/backplane.js";
import type { Channel } from "../csp/channel.js";
import { WirechanRangeError } from "../csp/errors.js";
import type { Logger } from "../session/logger.js";
import { crossingPrincipal, packByBytes, type PresenceMessage, presenceSubject, readPresenceMessage, type WireEntry, writePresenceMessage } from "./presence-messages.js";
import type { ResolvedPresenceOptions } from "./presence-options.js";
import { type PresenceEntry, type PresenceEvent, PresenceView } from "./presence-view.js";
import type { SessionInfo } from "./protocol/sessions.js";

/** What a topic's presence needs of its server. */
export interface PresenceHost {
  readonly backplane: Backplane | null;
  readonly logger: Logger;
}

/** The node id entries get on a server without a backplane. */
const LOCAL_NODE = "local";

/** What this node knows of another node's presence messages. */
interface RemoteNode {
  epoch: string;
  /** The number of the last delta applied. */
  seq: number;
  /** `performance.now()` when a message of it last came: a monotonic clock, so that setting the system clock counts no node down. */
  heardAt: number;
  /** A snapshot was asked for and has not come (asked again after a heartbeat interval at most). */
  syncAsked: boolean;
  /** The snapshot being received: its id, the part expected next, the entries so far. */
  snapshot: { id: string; next: number; entries: PresenceEntry[] } | null;
}

/**
 * The presence of one topic (`topic.presence`, with the topic option `presence`): every
 * subscription to the topic on every node, as `{ node, key, session, principal }` entries.
 * Read it with {@link TopicPresence.list} and {@link TopicPresence.size}; follow it with
 * {@link TopicPresence.watch}, a channel of join and leave events.
 */
export class TopicPresence {
  /** This node's id in the entries (the backplane's `nodeId`, or `"local"`). */
  readonly node: string;
  readonly #view: PresenceView;
  /** Watchers' channels, each given every event with `offer`: its own buffer is its queue. */
  readonly #watchers = new Set<Channel<PresenceEvent>>();
  readonly #remote = new Map<string, RemoteNode>();
  readonly #backplane: Backplane | null;
  readonly #subject: string;
  /** This run of the topic on this node: a node restarted with the same id is another epoch. */
  readonly #epoch = globalThis.crypto.randomUUID();
  #seq = 0;
  #nextKey = 0;
  /** Deltas of this turn, published together: a join and a leave of one key in one turn cancel out. */
  readonly #joins = new Map<string, WireEntry>();
  readonly #leaves = new Set<string>();
  #flushScheduled = false;
  /** Nodes that asked this one for a snapshot, answered together in the next turn; at most maxNodes. */
  readonly #snapshotFor = new Set<string>();
  #snapshotScheduled = false;
  #snapshots = 0;
  #timer: ReturnType<typeof setInterval> | null = null;
  #relay: Unsubscribe | null;
  /** Left the backplane (goodbye said, or the topic closed): changes stay on this node. */
  #left = false;
  /** This node asked every node for a snapshot and no heartbeat interval has passed: a node first heard now is not asked again. */
  #askedAll = false;
  /** Entries held in snapshots being received, every node's together: at most maxEntries. */
  #receiving = 0;
  /** The last publish failed (logged): the next failures are not, until one succeeds (an engine down would log every heartbeat). */
  #failing = false;
  /** A message from one node past maxNodes was logged in this heartbeat interval: the next are not. */
  #warnedNodes = false;
  private readonly logger: Logger;

  /** @internal Made by the topic; `relay` is its subscription to {@link presenceSubject}, made by `server.topic`. */
  constructor(
    readonly topic: string,
    host: PresenceHost,
    private readonly options: ResolvedPresenceOptions,
    relay: Unsubscribe | null,
  ) {
    this.#backplane = host.backplane;
    this.#relay = relay;
    this.#subject = presenceSubject(topic);
    this.node = host.backplane?.nodeId ?? LOCAL_NODE;
    this.logger = host.logger;
    this.#view = new PresenceView(this.node, options.maxEntries, this.#emit, host.logger, topic);
    if (this.#backplane !== null) {
      this.#timer = setInterval(this.#tick, options.heartbeatInterval);
      // A presence must not keep a process alive that has nothing else to do.
      this.#timer.unref();
      this.#askedAll = this.#publish({ kind: "sync", epoch: this.#epoch, seq: this.#seq, to: "*" });
    }
  }

  /** Entries now, every node's (those this node keeps: see `maxEntries`). */
  get size(): number {
    return this.#view.size;
  }

  /** Nodes with at least one entry, this one included. */
  get nodes(): number {
    return this.#view.nodes;
  }

  /** @internal Entries a client's `{ presence }` request gets at most. */
  get maxListed(): number {
    return this.options.maxListed;
  }

  /**
   * Other nodes' entries left out since the topic began, `maxEntries` being reached: a counter of
   * refusals, as `bus.published` counts messages (an entry a later snapshot lists again, still
   * not kept, counts again). Above 0, `list()` may be missing entries.
   */
  get leftOut(): number {
    return this.#view.leftOut;
  }

  /** Every entry now, this node's first (at most `limit`, when given). A copy: O(entries listed). */
  list(limit?: number): PresenceEntry[] {
    return this.#view.list(limit);
  }

  /**
   * Offers every later join and leave to `channel`, in the order they happen here, and returns
   * the entries now: taken in one call, so that nothing falls between the list and the events.
   * The channel's buffer is the watcher's queue: give it one (`chan(1024)`). An event it cannot
   * take at once (its buffer full, nobody taking) drops the watcher: its channel is closed, after
   * the events it holds, so that its reader learns it missed some (watch again for a fresh list).
   * The topic's close closes it too. Throws a `RangeError` (`ERR_TOO_MANY_LISTENERS`) past
   * `maxWatchers`.
   */
  watch(channel: Channel<PresenceEvent>): PresenceEntry[] {
    if (!this.#watchers.has(channel) && this.#watchers.size >= this.options.maxWatchers) {
      throw new WirechanRangeError("ERR_TOO_MANY_LISTENERS", `the presence of topic ${JSON.stringify(this.topic)} has ${this.options.maxWatchers} watchers (maxWatchers)`);
    }
    if (!channel.closed) this.#watchers.add(channel);
    return this.list();
  }

  /** Stops offering events to `channel`, leaving it open. True if it was watching. */
  unwatch(channel: Channel<PresenceEvent>): boolean {
    return this.#watchers.delete(channel);
  }

  readonly #emit = (event: PresenceEvent): void => {
    for (const channel of [...this.#watchers]) {
      if (channel.offer(event)) continue;
      // Behind, or closed by its reader: it goes, and a closed channel tells the reader why.
      this.#watchers.delete(channel);
      channel.close();
    }
  };

  /**
   * @internal A subscription began: its entry joins, here at once and on the other nodes with the
   * next delta. `session` is null for server code's channel, whose principal is given. Returns
   * the entry's key.
   */
  track(session: SessionInfo | null, principal: unknown): string {
    const key = (this.#nextKey++).toString(36);
    const given = session === null ? principal : this.#principalOf(session);
    let crossing = crossingPrincipal(given, this.options.maxPrincipalBytes);
    if (crossing === undefined) {
      this.logger.warn(`topic ${JSON.stringify(this.topic)}: a presence principal that JSON cannot write, nested too deep, or over ${this.options.maxPrincipalBytes} bytes (maxPrincipalBytes), is listed as null`);
      crossing = { value: null };
    }
    const entry: PresenceEntry = { node: this.node, key, session: session?.id ?? null, principal: crossing.value };
    this.#view.add(entry);
    if (!this.#left && this.#backplane !== null) {
      this.#joins.set(key, [key, entry.session, entry.principal]);
      this.#scheduleFlush();
    }
    return key;
  }

  #principalOf(session: SessionInfo): unknown {
    try {
      return this.options.principalOf(session);
    } catch (error) {
      this.logger.error(`topic ${JSON.stringify(this.topic)}: presence option principalOf threw; the entry's principal is null`, error);
      return null;
    }
  }

  /** @internal A subscription ended: its entry leaves, here at once and elsewhere with the next delta. */
  untrack(key: string): void {
    if (this.#view.remove(this.node, key, "left") === undefined) return;
    if (this.#left || this.#backplane === null) return;
    // Never announced: the other nodes need not hear of it at all.
    if (!this.#joins.delete(key)) {
      this.#leaves.add(key);
      this.#scheduleFlush();
    }
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(this.#flush);
  }

  /** Publishes this turn's deltas: joins, then leaves, each cut to maxMessageBytes and numbered. */
  readonly #flush = (): void => {
    this.#flushScheduled = false;
    if (this.#left) return;
    const joins = [...this.#joins.values()];
    const leaves = [...this.#leaves];
    this.#joins.clear();
    this.#leaves.clear();
    const { maxMessageBytes } = this.options;
    // Numbered even when the publish fails: the others see the gap at the next heartbeat and ask for a snapshot.
    for (const entries of packByBytes(joins, maxMessageBytes)) this.#publish({ kind: "join", epoch: this.#epoch, seq: ++this.#seq, entries });
    for (const keys of packByBytes(leaves, maxMessageBytes)) this.#publish({ kind: "leave", epoch: this.#epoch, seq: ++this.#seq, keys });
  };

  /** Publishes `message`; what the backplane throws (full, closed) is logged: the heartbeats' gap check repairs it. */
  #publish(message: PresenceMessage): boolean {
    if (this.#backplane === null) return false;
    try {
      this.#backplane.publish(this.#subject, writePresenceMessage(message));
      this.#failing = false;
      return true;
    } catch (error) {
      if (!this.#failing) this.logger.error(`topic ${JSON.stringify(this.topic)}: a presence ${message.kind} could not be published (later failures are not logged until a publish succeeds)`, error);
      this.#failing = true;
      return false;
    }
  }

  /** Every heartbeatInterval: say this node is alive, count silent nodes down, and ask again what was lost. */
  readonly #tick = (): void => {
    if (this.#left) return;
    this.#askedAll = false;
    this.#warnedNodes = false;
    if (this.#view.countOf(this.node) > 0) {
      this.#flush();
      this.#publish({ kind: "beat", epoch: this.#epoch, seq: this.#seq });
    }
    const now = performance.now();
    for (const [node, remote] of [...this.#remote]) {
      if (now - remote.heardAt > this.options.timeout) {
        this.#forgetNode(node, remote);
        this.#view.dropNode(node, "expired");
      } else remote.syncAsked = false;
    }
  };

  /** @internal A message on the presence subject, from any node (this one's come back and are ignored). */
  relayed(message: BackplaneMessage): void {
    if (this.#left || message.from === this.node) return;
    const read = readPresenceMessage(message.body);
    if (read === null) {
      this.logger.warn(`topic ${JSON.stringify(this.topic)}: a presence message from node ${message.from} that this version cannot read was dropped`);
      return;
    }
    const remote = this.#remoteNode(message.from, read.epoch);
    if (remote === null) return;
    remote.heardAt = performance.now();
    this.#apply(message.from, remote, read);
  }

  /** What this node knows of `node`, made or restarted for a new epoch; null past maxNodes (dropped, logged). */
  #remoteNode(node: string, epoch: string): RemoteNode | null {
    const known = this.#remote.get(node);
    if (known !== undefined && known.epoch === epoch) return known;
    if (known !== undefined) {
      // The node restarted: what its last run had is gone.
      this.#forgetNode(node, known);
      this.#view.dropNode(node, "resync");
    } else if (this.#remote.size >= this.options.maxNodes) {
      if (!this.#warnedNodes) this.logger.warn(`topic ${JSON.stringify(this.topic)}: presence keeps ${this.options.maxNodes} other nodes (maxNodes); messages from node ${node} are dropped (logged once per heartbeat interval)`);
      this.#warnedNodes = true;
      return null;
    }
    const fresh: RemoteNode = { epoch, seq: 0, heardAt: performance.now(), syncAsked: this.#askedAll, snapshot: null };
    this.#remote.set(node, fresh);
    return fresh;
  }

  #apply(node: string, remote: RemoteNode, message: PresenceMessage): void {
    switch (message.kind) {
      case "join":
      case "leave":
        if (message.seq !== remote.seq + 1) this.#askSync(node, remote);
        remote.seq = message.seq;
        if (message.kind === "join") for (const [key, session, principal] of message.entries) this.#view.add({ node, key, session, principal });
        else for (const key of message.keys) this.#view.remove(node, key, "left");
        return;
      case "beat":
        if (message.seq !== remote.seq) this.#askSync(node, remote);
        return;
      case "sync":
        // Asked of every node: only those with entries answer (the others have nothing to tell).
        if (message.to === "*" ? this.#view.countOf(this.node) > 0 : message.to.includes(this.node)) this.#queueSnapshot(node);
        return;
      case "snap":
        if (message.to.includes(this.node)) this.#receivePart(node, remote, message);
        return;
      case "bye":
        this.#forgetNode(node, remote);
        this.#view.dropNode(node, "node-left");
        return;
    }
  }

  /** Asks `node` for a snapshot, at most once per heartbeat interval while none has come. */
  #askSync(node: string, remote: RemoteNode): void {
    if (remote.syncAsked) return;
    remote.syncAsked = true;
    this.#publish({ kind: "sync", epoch: this.#epoch, seq: this.#seq, to: [node] });
  }

  #receivePart(node: string, remote: RemoteNode, part: Extract<PresenceMessage, { kind: "snap" }>): void {
    if (part.part === 0) {
      this.#dropSnapshot(remote);
      remote.snapshot = { id: part.id, next: 0, entries: [] };
    }
    const snapshot = remote.snapshot;
    // A part lost or out of place: this snapshot is spoiled; the next heartbeat asks again.
    if (snapshot === null || snapshot.id !== part.id || snapshot.next !== part.part) {
      this.#dropSnapshot(remote);
      return;
    }
    snapshot.next++;
    // Bounded as the view is: snapshots being received hold at most maxEntries in all (the view keeps no more anyway).
    const taken = part.entries.slice(0, Math.max(0, this.options.maxEntries - this.#receiving));
    for (const [key, session, principal] of taken) snapshot.entries.push({ node, key, session, principal });
    this.#receiving += taken.length;
    if (!part.last) return;
    this.#dropSnapshot(remote);
    remote.seq = part.seq;
    remote.syncAsked = false;
    this.#view.replaceNode(node, snapshot.entries);
  }

  /** Forgets the snapshot being received from `remote`, if any, giving its room back. */
  #dropSnapshot(remote: RemoteNode): void {
    if (remote.snapshot !== null) this.#receiving -= remote.snapshot.entries.length;
    remote.snapshot = null;
  }

  #forgetNode(node: string, remote: RemoteNode): void {
    this.#dropSnapshot(remote);
    this.#remote.delete(node);
  }

  #queueSnapshot(node: string): void {
    if (this.#snapshotFor.size >= this.options.maxNodes) return;
    this.#snapshotFor.add(node);
    if (this.#snapshotScheduled) return;
    this.#snapshotScheduled = true;
    // Every node asking in this turn (several starting at once) gets one snapshot together.
    setImmediate(this.#sendSnapshot);
  }

  /** This node's entries, in parts of at most maxMessageBytes, to the nodes that asked. */
  readonly #sendSnapshot = (): void => {
    this.#snapshotScheduled = false;
    if (this.#left) return;
    const to = [...this.#snapshotFor];
    this.#snapshotFor.clear();
    // Deltas first, so that the snapshot's seq counts every change it shows.
    this.#flush();
    const entries: WireEntry[] = [];
    for (const entry of this.#view.entriesOf(this.node)) entries.push([entry.key, entry.session, entry.principal]);
    const parts = packByBytes(entries, this.options.maxMessageBytes, JSON.stringify(to).length * 3);
    if (parts.length === 0) parts.push([]);
    const id = `${this.#epoch.slice(0, 8)}.${(this.#snapshots++).toString(36)}`;
    for (const [part, run] of parts.entries()) {
      const sent = this.#publish({ kind: "snap", epoch: this.#epoch, seq: this.#seq, to, id, part, last: part === parts.length - 1, entries: run });
      // The rest would be a snapshot with a hole: the receivers drop it and ask again.
      if (!sent) return;
    }
  };

  /**
   * @internal The topic leaves the backplane (its server closes) or closes: a goodbye, so that the
   * other nodes drop this node's entries at once, and nothing more is published.
   */
  leave(): void {
    if (this.#left) return;
    this.#left = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#relay?.();
    this.#relay = null;
    this.#publish({ kind: "bye", epoch: this.#epoch, seq: this.#seq });
  }

  /** @internal The topic closed: the goodbye, then every entry leaves here (`closed`) and every watcher's channel closes. */
  close(): void {
    this.leave();
    for (const [node, remote] of [...this.#remote]) this.#forgetNode(node, remote);
    for (const node of [...this.#view.nodeIds()]) this.#view.dropNode(node, "closed");
    for (const channel of this.#watchers) channel.close();
    this.#watchers.clear();
  }
}

/**
 * @internal The presence subscription of topic `name` on `backplane` (made before the topic's name
 * is taken, as its value subscription is), or null without a backplane or presence. What
 * `subscribe` throws is thrown after `relay`, the topic's other subscription, is undone.
 */
export function subscribePresence(backplane: Backplane | null, name: string, enabled: boolean, relay: Unsubscribe | null, handler: (message: BackplaneMessage) => void): Unsubscribe | null {
  if (backplane === null || !enabled) return null;
  try {
    return backplane.subscribe(presenceSubject(name), handler);
  } catch (error) {
    relay?.();
    throw error;
  }
}
