// What a topic's presence puts on the backplane (docs/api.md "Presence"), pure: the subject, the
// messages as JSON text, the reader that refuses anything else, and the packing of entries into
// messages of at most `maxMessageBytes` UTF-8 bytes. Another node is trusted to be ours but not to
// be of our version nor bug-free: whatever `readPresenceMessage` cannot prove well formed is null,
// and the caller drops and logs it.
import { utf8Length } from "../wire/protocol.js";

/** The backplane subject of the presence of topic `name` (beside `wirechan.topic.<name>`). */
export function presenceSubject(name: string): string {
  return `wirechan.presence.${name}`;
}

/** The version of these messages: a node that reads another drops the message. */
const VERSION = 1;

/** One entry as it crosses: `[key, session id or null, principal]`, the principal a JSON value. */
export type WireEntry = readonly [key: string, session: string | null, principal: unknown];

/**
 * What nodes tell each other about one topic's presence. Each node numbers its `join` and
 * `leave` messages (`seq`, from 1, per `epoch`: one run of the topic on that node); the others
 * carry the number of the last one sent, so that a node that missed one asks for a snapshot.
 * - `join`: entries of the sender that appeared; `leave`: keys of the sender's entries that went;
 * - `beat`: the sender is alive (sent every `heartbeatInterval` while it has entries);
 * - `sync`: the sender asks the nodes `to` (`"*"`: every node) for a snapshot;
 * - `snap`: one part of the sender's entries for the nodes `to`; parts `part` 0, 1 … in order, the
 *   one with `last` true ends it (a snapshot of 100,000 entries is many messages, never one huge);
 * - `bye`: the sender leaves (its server closes): drop its entries now.
 */
export type PresenceMessage =
  | { readonly kind: "join"; readonly epoch: string; readonly seq: number; readonly entries: readonly WireEntry[] }
  | { readonly kind: "leave"; readonly epoch: string; readonly seq: number; readonly keys: readonly string[] }
  | { readonly kind: "beat"; readonly epoch: string; readonly seq: number }
  | { readonly kind: "sync"; readonly epoch: string; readonly seq: number; readonly to: "*" | readonly string[] }
  | {
      readonly kind: "snap";
      readonly epoch: string;
      readonly seq: number;
      readonly to: readonly string[];
      readonly id: string;
      readonly part: number;
      readonly last: boolean;
      readonly entries: readonly WireEntry[];
    }
  | { readonly kind: "bye"; readonly epoch: string; readonly seq: number };

/** Longest key, session id, epoch or snapshot id read from another node. */
const MAX_ID_LENGTH = 128;
/** Most node ids a `sync` or `snap` may name. */
const MAX_RECIPIENTS = 1_024;
/**
 * Deepest a principal may nest (arrays and objects in one another). Checked on the way in from
 * either side, so that walking a principal (freezing it, writing it for a client) never meets a
 * structure deep enough to exhaust the stack.
 */
export const MAX_PRINCIPAL_DEPTH = 32;

/** The text published for `message`. */
export function writePresenceMessage(message: PresenceMessage): string {
  const { kind, epoch, seq } = message;
  const head = { v: VERSION, k: kind, e: epoch, s: seq };
  switch (message.kind) {
    case "join":
      return JSON.stringify({ ...head, en: message.entries });
    case "leave":
      return JSON.stringify({ ...head, keys: message.keys });
    case "sync":
      return JSON.stringify({ ...head, to: message.to });
    case "snap":
      return JSON.stringify({ ...head, to: message.to, id: message.id, p: message.part, last: message.last, en: message.entries });
    default:
      return JSON.stringify(head);
  }
}

/** The message in `body`, or null for anything not written by {@link writePresenceMessage} of this version. Never throws. */
export function readPresenceMessage(body: string): PresenceMessage | null {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    return null;
  }
  if (!isRecord(raw) || raw.v !== VERSION || !isId(raw.e) || !isCount(raw.s)) return null;
  const epoch = raw.e;
  const seq = raw.s;
  switch (raw.k) {
    case "join": {
      const entries = readEntries(raw.en);
      return entries === null ? null : { kind: "join", epoch, seq, entries };
    }
    case "leave":
      return Array.isArray(raw.keys) && raw.keys.every(isId) ? { kind: "leave", epoch, seq, keys: raw.keys as string[] } : null;
    case "beat":
      return { kind: "beat", epoch, seq };
    case "bye":
      return { kind: "bye", epoch, seq };
    case "sync": {
      const to = raw.to === "*" ? "*" : readRecipients(raw.to);
      return to === null ? null : { kind: "sync", epoch, seq, to };
    }
    case "snap": {
      const to = readRecipients(raw.to);
      const entries = readEntries(raw.en);
      if (to === null || entries === null || !isId(raw.id) || !isCount(raw.p) || typeof raw.last !== "boolean") return null;
      return { kind: "snap", epoch, seq, to, id: raw.id, part: raw.p, last: raw.last, entries };
    }
    default:
      return null;
  }
}

function readEntries(value: unknown): WireEntry[] | null {
  if (!Array.isArray(value)) return null;
  const entries: WireEntry[] = [];
  for (const item of value as unknown[]) {
    if (!Array.isArray(item) || item.length !== 3) return null;
    const [key, session, principal] = item as [unknown, unknown, unknown];
    if (!isId(key) || (session !== null && !isId(session)) || !withinDepth(principal, MAX_PRINCIPAL_DEPTH)) return null;
    entries.push([key, session, freezeDeep(principal)]);
  }
  return entries;
}

function readRecipients(value: unknown): string[] | null {
  if (!Array.isArray(value) || value.length > MAX_RECIPIENTS || !value.every(isId)) return null;
  return value as string[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isId(value: unknown): value is string {
  return typeof value === "string" && value.length > 0 && value.length <= MAX_ID_LENGTH;
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/** Bytes a message needs besides its items: the head, node ids named in `to`, the snapshot's fields. */
const HEAD_SLACK = 256;

/**
 * `items` cut into runs whose JSON, with `overhead` bytes of head, stays within `maxBytes`
 * UTF-8 bytes. An item is never cut; each is at most `maxBytes - HEAD_SLACK - overhead` (the
 * principal bound sees to it), so each run holds at least one.
 */
export function packByBytes<T>(items: readonly T[], maxBytes: number, overhead = 0): T[][] {
  const budget = maxBytes - HEAD_SLACK - overhead;
  const runs: T[][] = [];
  let run: T[] = [];
  let used = 0;
  for (const item of items) {
    // The comma that separates it from the one before.
    const size = utf8Length(JSON.stringify(item)) + 1;
    if (run.length > 0 && used + size > budget) {
      runs.push(run);
      run = [];
      used = 0;
    }
    run.push(item);
    used += size;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/**
 * The principal as it crosses (the JSON value every node lists, this one included, frozen: every
 * watcher and list shares it), or `undefined` when it cannot cross: JSON cannot write it (a
 * cycle, a `BigInt`, a throwing `toJSON`), it is over `maxBytes` UTF-8 bytes written, or it nests
 * deeper than {@link MAX_PRINCIPAL_DEPTH}.
 */
export function crossingPrincipal(principal: unknown, maxBytes: number): { value: unknown } | undefined {
  let text: string | undefined;
  try {
    text = JSON.stringify(principal);
  } catch {
    return undefined;
  }
  // A function or `undefined` writes nothing: it crosses as null, as inside an array.
  if (text === undefined) return { value: null };
  if (utf8Length(text) > maxBytes) return undefined;
  const value = JSON.parse(text) as unknown;
  return withinDepth(value, MAX_PRINCIPAL_DEPTH) ? { value: freezeDeep(value) } : undefined;
}

/** Whether JSON `value` nests at most `depth` arrays and objects deep. */
function withinDepth(value: unknown, depth: number): boolean {
  if (typeof value !== "object" || value === null) return true;
  if (depth === 0) return false;
  for (const item of Object.values(value)) if (!withinDepth(item, depth - 1)) return false;
  return true;
}

/** `value`, frozen all the way down (a JSON value within {@link MAX_PRINCIPAL_DEPTH}). */
function freezeDeep<T>(value: T): T {
  if (typeof value !== "object" || value === null || Object.isFrozen(value)) return value;
  for (const item of Object.values(value)) freezeDeep(item);
  return Object.freeze(value);
}
