// Groups of connections with an attachment each, and broadcast to a group: http-kit's
// ChannelStore (seed 003), over every transport of the Connection contract.
import { WirechanError, WirechanRangeError, WirechanTypeError } from "../csp/errors.js";
import { consoleLogger, type Logger } from "../session/logger.js";
import type { Connection, ResponseParts, SendData } from "./connection.js";
import { EncodedMessage, jsonHeaders } from "./encoded-message.js";
import type { CloseWatcher } from "./transport.js";

/**
 * Named groups of connections, each member with an attachment (whatever the handler wants
 * handed back at broadcast time: a user id, a `since` cursor …). Transport-agnostic: a member
 * may be a WebSocket, an SSE stream or a plain HTTP long-poll, and the store sends to each the
 * way its transport needs. {@link MemoryChannelStore} keeps groups in this process; stores that
 * span processes (Redis, NATS) implement the same interface.
 */
export interface ChannelStore<A = unknown> {
  /**
   * Adds `conn` to `group` with `attachment`; adding it again replaces the attachment. The
   * connection leaves every group by itself when it closes. Throws what the store's limits
   * say (see {@link MemoryChannelStore.addToGroup}), having added nothing.
   */
  addToGroup(group: string, conn: Connection, attachment: A): void;
  /** Removes `conn` from `group`; nothing happens if it was not a member. */
  removeFromGroup(group: string, conn: Connection): void;
  /**
   * Sends `fn(conn, attachment)` to every open member of `group` (WebSocket and SSE members
   * with `send(data, false)`; plain HTTP members get a long-poll answer and leave their
   * groups). `undefined` from `fn` skips that member. A member whose `fn` or `send` throws is
   * reported (a {@link MemoryChannelStore} to its `logger` option) and skipped; the others
   * still get theirs. Returns how many members were sent to.
   */
  broadcast(group: string, fn: (conn: Connection, attachment: A) => SendData | undefined): number;
  /**
   * Sends one payload, encoded once, to every open member of `group`: the same bytes for all,
   * framed per transport as `broadcast` does (a string as UTF-8 text, bytes as they are).
   * Returns how many members were sent to.
   */
  broadcastEncoded(group: string, payload: string | Uint8Array): number;
  /** Members of `group` (0 for a group that does not exist). */
  members(group: string): number;
  /** Groups with at least one member. */
  groups(): number;
}

/** Limits of a {@link MemoryChannelStore}; defaults in {@link memoryChannelStoreDefaults}. */
export interface MemoryChannelStoreOptions {
  /** Groups at once. Default 100,000. */
  maxGroups?: number;
  /** Members of one group at once. Default 100,000. */
  maxMembersPerGroup?: number;
  /** Where a member a broadcast skipped is reported. Default {@link consoleLogger}. */
  logger?: Logger;
}

/** The defaults of {@link MemoryChannelStoreOptions}. */
export const memoryChannelStoreDefaults = {
  maxGroups: 100_000,
  maxMembersPerGroup: 100_000,
  logger: consoleLogger,
} as const satisfies Required<MemoryChannelStoreOptions>;

/** Which limit a {@link GroupLimitError} hit: the option that raises it. */
export type GroupLimit = "maxGroups" | "maxMembersPerGroup";

/** Thrown by `addToGroup` past `maxGroups` or `maxMembersPerGroup`; nothing was added. */
export class GroupLimitError extends WirechanError {
  /** The option that sets the limit. */
  readonly option: GroupLimit;
  /** The limit that was hit. */
  readonly limit: number;
  /** The group the connection was to join. */
  readonly group: string;

  constructor(option: GroupLimit, limit: number, group: string) {
    super(
      "ERR_GROUP_LIMIT",
      option === "maxGroups"
        ? `cannot create group ${quote(group)}: the channel store already has ${limit} groups (maxGroups). ` +
            "Raise the MemoryChannelStore option maxGroups, or remove members from groups no longer used."
        : `cannot add to group ${quote(group)}: it already has ${limit} members (maxMembersPerGroup). ` +
            "Raise the MemoryChannelStore option maxMembersPerGroup, or spread the members over several groups.",
    );
    this.option = option;
    this.limit = limit;
    this.group = group;
  }
}

/**
 * A {@link ChannelStore} in this process's memory. `broadcast` reaches only the connections
 * added here: with several server processes behind a balancer, each has its own members and a
 * broadcast in one never reaches the others (that is what the Redis and NATS stores are for).
 *
 * How each member is sent to:
 * - WebSocket and SSE members: `conn.send(data, false)`; they stay in their groups.
 * - Plain HTTP members (`transport` `"http"`) are all taken for long-polls waiting for their
 *   answer: the Connection contract does not say whether a handler started streaming one. Each
 *   gets `{ status: 200, headers: { "content-type": "application/json; charset=utf-8" }, body }`
 *   with `send(…, true)`, which ends the response, and leaves all its groups. A string or bytes
 *   becomes the body as it is: it is taken to be JSON the caller already encoded (seed 003
 *   json-encodes a map; encoding it again would wrap it in quotes). `{ data }` sends its data
 *   as the body; `{ status, headers, body }` is sent with its own status and headers on top of
 *   those defaults. An HTTP member that was streaming (`send(x, false)`) gets the same
 *   treatment: its head is already out, so the body becomes the last chunk of its stream. To
 *   push many broadcasts over plain HTTP, use SSE.
 *
 * A connection that closes, from either side, leaves all its groups at once. Groups that lose
 * their last member are deleted.
 */
export class MemoryChannelStore<A = unknown> implements ChannelStore<A> {
  readonly options: Readonly<Required<MemoryChannelStoreOptions>>;
  private readonly byGroup = new Map<string, Group<A>>();
  /**
   * The groups of each member of another kind than ours, so a closing connection leaves them
   * without a scan of every group: the name itself while it is in one (most are), a Set from
   * the second on. A connection of ours needs no entry: each of its groups watches it (see
   * {@link Group}).
   */
  private readonly groupsOf = new Map<Connection, string | Set<string>>();
  /**
   * Connections of another kind than ours whose `onClose` already has our listener. The
   * contract cannot remove a listener, so one that leaves and rejoins must not get a second.
   */
  private readonly watched = new WeakSet<Connection>();

  /**
   * Throws a `RangeError` (`ERR_CHANNEL_STORE_OPTION`) for a limit that is not a positive
   * integer, a `TypeError` (`ERR_CHANNEL_STORE_OPTION`) for a `logger` without `error` and `warn`.
   */
  constructor(
    options: MemoryChannelStoreOptions = {},
    /** @internal Told when a group loses its last member (a store over a backplane leaves its subject then). */
    private readonly onGroupGone: (group: string) => void = ignoreGroup,
  ) {
    this.options = resolveOptions(options);
  }

  /**
   * Adds `conn` to `group` with `attachment`, or replaces the attachment of a member. A
   * connection that is already closed is not added: it would never leave. Throws a
   * {@link GroupLimitError} (`ERR_GROUP_LIMIT`), adding nothing, when `group` is new and there
   * are already `maxGroups` groups, or when `conn` is new to `group` and it already has
   * `maxMembersPerGroup` members.
   */
  addToGroup(group: string, conn: Connection, attachment: A): void {
    if (!conn.isOpen) return;
    let entry = this.byGroup.get(group);
    if (entry === undefined) {
      if (this.byGroup.size >= this.options.maxGroups) throw new GroupLimitError("maxGroups", this.options.maxGroups, group);
      entry = new Group(this, group);
      this.byGroup.set(group, entry);
    } else if (!entry.members.has(conn) && entry.members.size >= this.options.maxMembersPerGroup) {
      throw new GroupLimitError("maxMembersPerGroup", this.options.maxMembersPerGroup, group);
    }
    entry.members.set(conn, attachment);
    if (isWatchable(conn)) {
      conn.watchClose(entry);
      return;
    }
    const groups = this.groupsOf.get(conn);
    if (groups === undefined) this.groupsOf.set(conn, group);
    else if (typeof groups !== "string") groups.add(group);
    else if (groups !== group) this.groupsOf.set(conn, new Set([groups, group]));
    if (!this.watched.has(conn)) {
      this.watched.add(conn);
      conn.onClose(() => this.leaveAll(conn));
    }
  }

  removeFromGroup(group: string, conn: Connection): void {
    const entry = this.byGroup.get(group);
    if (entry !== undefined) this.leave(entry, conn);
  }

  /** @internal Removes `conn` from the group `entry`, if it is a member (see {@link Group}). */
  leave(entry: Group<A>, conn: Connection): void {
    if (!entry.members.delete(conn)) return;
    const group = entry.name;
    if (entry.members.size === 0 && this.byGroup.get(group) === entry) {
      this.byGroup.delete(group);
      this.onGroupGone(group);
    }
    if (isWatchable(conn)) {
      conn.unwatchClose(entry);
      return;
    }
    const groups = this.groupsOf.get(conn);
    if (groups === group) this.groupsOf.delete(conn);
    else if (typeof groups === "object") {
      groups.delete(group);
      if (groups.size === 0) this.groupsOf.delete(conn);
    }
  }

  /** See {@link ChannelStore.broadcast}; how each transport is sent to: {@link MemoryChannelStore}. */
  broadcast(group: string, fn: (conn: Connection, attachment: A) => SendData | undefined): number {
    return this.sendToEach(group, function sendFromFn(conn, attachment, longPoll) {
      const data = fn(conn, attachment);
      if (data === undefined) return false;
      return conn.send(longPoll ? longPollAnswer(data) : data, longPoll);
    });
  }

  /**
   * One payload to every open member, encoded once: a string's UTF-8 bytes are made once per
   * broadcast, not once per member, and so is each transport's framing of them. It is taken to
   * be what `broadcast`'s `fn` would return for every member:
   * - WebSocket members: a string as a TEXT frame, bytes as a BINARY frame. The frame, header
   *   and payload, is built once and the same buffer written to every socket; a socket whose
   *   `ws` has a frame of its own queued, or that negotiated permessage-deflate, gets the same
   *   bytes through `ws` instead (which then frames, or compresses, for that socket alone).
   * - SSE members: one event, `data: …` and a blank line, framed and encoded once.
   * - Long-poll members: the same 200 JSON answer object, its body those bytes.
   * Each member's own limits still apply (a WebSocket or SSE member that is past
   * `maxBufferedBytes` after the write is dropped as a slow consumer).
   */
  broadcastEncoded(group: string, payload: string | Uint8Array): number {
    return this.broadcastMessage(group, new EncodedMessage(payload));
  }

  /** @internal {@link broadcastEncoded} of a message already encoded (a store over a backplane checked its size). */
  broadcastMessage(group: string, message: EncodedMessage): number {
    return this.sendToEach(group, function sendMessage(conn, _attachment, longPoll) {
      if (longPoll) return conn.send(message.longPollAnswer, true);
      if (hasSendEncoded(conn)) return conn.sendEncoded(message);
      // A Connection of another make: what `broadcast` would send it.
      return conn.send(message.isText || conn.transport === "sse" ? message.text : message.bytes);
    });
  }

  members(group: string): number {
    return this.byGroup.get(group)?.members.size ?? 0;
  }

  groups(): number {
    return this.byGroup.size;
  }

  /**
   * Calls `deliver` for every open member (long-poll members are answered and leave their
   * groups) and counts the deliveries that went out.
   */
  private sendToEach(group: string, deliver: (conn: Connection, attachment: A, longPoll: boolean) => boolean): number {
    const entry = this.byGroup.get(group);
    if (entry === undefined) return 0;
    let sent = 0;
    // A snapshot: answering a long-poll removes its member mid-loop, and `fn` may add or remove.
    // Two arrays, not a [conn, attachment] pair per member: a broadcast to 5,000 members made
    // 5,000 small arrays for the garbage collector.
    const conns = [...entry.members.keys()];
    const attachments = [...entry.members.values()];
    for (let i = 0; i < conns.length; i++) {
      const conn = conns[i] as Connection;
      const attachment = attachments[i] as A;
      if (!conn.isOpen) continue;
      const longPoll = isLongPoll(conn);
      try {
        if (deliver(conn, attachment, longPoll)) sent++;
        // Ours told their groups as they closed; a connection of another kind might report later.
        if (longPoll && !conn.isOpen && !isWatchable(conn)) this.leaveAll(conn);
      } catch (error) {
        // One member's bad data (a CR in an SSE id, a bad header) must not cost the others theirs.
        this.options.logger.error(`broadcast to group ${quote(group)} skipped a member (${conn.transport}):`, error);
      }
    }
    return sent;
  }

  private leaveAll(conn: Connection): void {
    const groups = this.groupsOf.get(conn);
    if (typeof groups === "string") this.removeFromGroup(groups, conn);
    // Deleting from a Set while walking it is safe.
    else for (const group of groups ?? []) this.removeFromGroup(group, conn);
  }
}

/**
 * One group of a {@link MemoryChannelStore}: its members, and the watcher each member of ours
 * tells when it closes. Watched by its groups, a connection leaves them with no table of its
 * groups (an entry of about 57 bytes a member).
 */
class Group<A> implements CloseWatcher {
  readonly members = new Map<Connection, A>();

  constructor(
    private readonly store: MemoryChannelStore<A>,
    readonly name: string,
  ) {}

  connectionClosed(conn: Connection): void {
    this.store.leave(this, conn);
  }
}

/** A connection of ours, which tells a {@link CloseWatcher} when it closes, and lets one go. */
function isWatchable(conn: Connection): conn is Connection & { watchClose(watcher: CloseWatcher): void; unwatchClose(watcher: CloseWatcher): void } {
  const methods = conn as { watchClose?: unknown; unwatchClose?: unknown };
  return typeof methods.watchClose === "function" && typeof methods.unwatchClose === "function";
}

/** A WebSocket or SSE connection of ours, which writes a broadcast's bytes made once for many members. */
function hasSendEncoded(conn: Connection): conn is Connection & { sendEncoded(message: EncodedMessage): boolean } {
  return typeof (conn as { sendEncoded?: unknown }).sendEncoded === "function";
}

/**
 * Every plain HTTP member counts as a long-poll: whether a handler started streaming on it is
 * not visible through the Connection contract.
 */
function isLongPoll(conn: Connection): boolean {
  return conn.transport === "http";
}

/** A broadcast value as a long-poll answer: see {@link MemoryChannelStore}. */
function longPollAnswer(data: SendData): ResponseParts {
  if (typeof data === "string" || data instanceof Uint8Array) return { status: 200, headers: jsonHeaders, body: data };
  if ("data" in data) return { status: 200, headers: jsonHeaders, body: data.data };
  // The caller's headers come second: the adapter lowercases names in order, so its
  // `Content-Type` replaces ours.
  return { status: 200, ...data, headers: { ...jsonHeaders, ...data.headers } };
}

function resolveOptions(options: MemoryChannelStoreOptions): Required<MemoryChannelStoreOptions> {
  const limits: Record<GroupLimit, number> = {
    maxGroups: options.maxGroups ?? memoryChannelStoreDefaults.maxGroups,
    maxMembersPerGroup: options.maxMembersPerGroup ?? memoryChannelStoreDefaults.maxMembersPerGroup,
  };
  const logger = options.logger ?? memoryChannelStoreDefaults.logger;
  if (typeof logger.error !== "function" || typeof logger.warn !== "function") {
    throw new WirechanTypeError("ERR_CHANNEL_STORE_OPTION", "MemoryChannelStore option logger must have error(message, error?) and warn(message, detail?) methods");
  }
  for (const [key, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new WirechanRangeError(
        "ERR_CHANNEL_STORE_OPTION",
        `MemoryChannelStore option ${key} must be an integer from 1 to ${Number.MAX_SAFE_INTEGER}, got ${String(value)}`,
      );
    }
  }
  return { ...limits, logger };
}

function ignoreGroup(): void {
  // A store in memory alone has nothing to do when a group goes.
}

/** @internal A group name for a message: group names often come from the request, so keep them short. */
export function quote(group: string): string {
  return JSON.stringify(group.length > 64 ? `${group.slice(0, 64)}…` : group);
}
