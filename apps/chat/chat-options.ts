/** The chat's options and their defaults: one object, every bound named (docs/apps.md). */
import type { Logger, PresenceOptions } from "../../src/server/index.js";
import { fanOutDefaults } from "../../src/server/fan-out.js";
import { defaultCensoredWords } from "./censor.js";

/** How `mountChat` runs the chat; see {@link chatDefaults} for each default. */
export interface ChatOptions {
  /** Longest line, in code points after trimming; longer ones are refused. Default 500. */
  maxLineLength?: number;
  /** Longest nickname, in code points after trimming. Default 32. */
  maxNickLength?: number;
  /** Longest line id, in code points. Default 64. */
  maxIdLength?: number;
  /** Lines the history keeps; the oldest go first. Default 1000. */
  historyLines?: number;
  /** Bytes the history keeps (each line's UTF-8 JSON); the oldest go first. Default 1 MiB. */
  historyBytes?: number;
  /**
   * Largest history batch sent on join, in the same bytes. Default 32 KiB: half the smallest
   * message limit a client may ask the server for (64 KiB), so a batch fits every client with
   * room for its framing. A single line larger than this goes alone.
   */
  batchBytes?: number;
  /**
   * Events waiting for one listener; a listener that falls this far behind is dropped and its
   * inbox closed. The whole history must fit it when a listener joins. Default 256.
   */
  queueLength?: number;
  /**
   * Listeners at once. A further join is told why (`{ refused: { id: "", reason } }`, which the
   * page shows) and its inbox released. Default 10,000.
   */
  maxListeners?: number;
  /**
   * Inboxes one session may have joined at once. A page reads only the inbox of its latest
   * join, so a join past this replaces the session's oldest (released without a word): one
   * session cannot fill the room. Default 4.
   */
  maxJoinsPerSession?: number;
  /**
   * Lines one session may say in a burst, then `linesPerSecond`; a line past that is refused
   * ("too many lines"). Why: one session saying lines in a loop would fill every listener's
   * queue and have every page dropped. Default 10.
   */
  lineBurst?: number;
  /** Lines per second one session may say after its burst. Default 2. */
  linesPerSecond?: number;
  /**
   * The same allowance for all the sessions of one client address together (`SessionInfo.address`,
   * what the server's `clientAddress` option returns): one address may hold many sessions
   * (`maxSessionsPerAddress`), each with its own burst. Larger, since people behind one NAT
   * share it. Default 50 at once, then `addressLinesPerSecond`.
   */
  addressLineBurst?: number;
  /** Lines per second of one address after its burst. Default 10. */
  addressLinesPerSecond?: number;
  /** Buffer of the named channel "chat". Default 64. */
  buffer?: number;
  /** Nicknames a `here` event lists at most (the rest are counted in `more`). Default 100. */
  maxHereListed?: number;
  /**
   * The presence of "who is here" (docs/api.md "Presence"): how soon the pages of a node that
   * died leave the list (a node that closes takes them away at once). Default 2 s heartbeats, a
   * 6 s timeout.
   */
  presence?: PresenceOptions;
  /** Words the censor masks. Default {@link defaultCensoredWords}. */
  censoredWords?: readonly string[];
  /** Where ignored requests and dropped listeners are reported. Default: the server's logger. */
  logger?: Logger;
}

/** The defaults of {@link ChatOptions} (`logger` defaults to the server's). */
export const chatDefaults = {
  maxLineLength: 500,
  maxNickLength: 32,
  maxIdLength: 64,
  historyLines: 1000,
  historyBytes: 1024 * 1024,
  batchBytes: 32 * 1024,
  queueLength: fanOutDefaults.queueLength,
  maxListeners: fanOutDefaults.maxListeners,
  maxJoinsPerSession: 4,
  lineBurst: 10,
  linesPerSecond: 2,
  addressLineBurst: 50,
  addressLinesPerSecond: 10,
  buffer: 64,
  maxHereListed: 100,
  presence: { heartbeatInterval: 2_000, timeout: 6_000 },
  censoredWords: defaultCensoredWords,
} satisfies Required<Omit<ChatOptions, "logger">>;

/** {@link ChatOptions} with every default applied. */
export type ResolvedChatOptions = Required<ChatOptions>;

const COUNTS = ["maxLineLength", "maxNickLength", "maxIdLength", "historyLines", "historyBytes", "batchBytes", "queueLength", "maxListeners", "maxJoinsPerSession", "lineBurst", "linesPerSecond", "addressLineBurst", "addressLinesPerSecond", "buffer", "maxHereListed"] as const;

/**
 * Applies the defaults and checks the result: a `RangeError` for a bound that is not a positive
 * integer, or a `queueLength` too short for the history's batches and a `here` list (a newcomer
 * would be dropped while its history is still queued).
 */
export function resolveChatOptions(options: ChatOptions, serverLogger: Logger): ResolvedChatOptions {
  const resolved: ResolvedChatOptions = { ...chatDefaults, logger: serverLogger, ...stripUndefined(options) };
  for (const name of COUNTS) {
    const value = resolved[name];
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`chat: ${name} must be a positive integer, got ${String(value)}`);
  }
  const worstBatches = maxBatches(resolved.historyBytes, resolved.batchBytes, resolved.historyLines);
  if (resolved.queueLength <= worstBatches + 1) {
    throw new RangeError(`chat: queueLength (${resolved.queueLength}) must exceed the most history batches a join may need and its here list (${worstBatches} + 1 for historyBytes ${resolved.historyBytes} in batches of ${resolved.batchBytes})`);
  }
  return resolved;
}

/**
 * The most batches a history may take: packing is greedy, so two batches in a row hold more than
 * `batchBytes` together, and no batch is empty.
 */
export function maxBatches(historyBytes: number, batchBytes: number, historyLines: number): number {
  return Math.min(historyLines, 2 * Math.ceil(historyBytes / batchBytes) + 1);
}

function stripUndefined(options: ChatOptions): ChatOptions {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as ChatOptions;
}
