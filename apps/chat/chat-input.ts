/**
 * The first step of the chat's pipeline: a value put on "chat" (with the session that put it)
 * read into a {@link ChatInput}, checking what a page may say (docs/apps.md: empty lines, lengths
 * in code points). Pure: no I/O, so the checks are tested on plain arrays.
 */
import { xf } from "../../src/index.js";
import type { Transducer } from "../../src/csp/transducers.js";
import type { ChatInbox, Say } from "./chat-messages.js";

/** The limits a `say` is checked against. */
export interface SayLimits {
  /** Longest line, in code points (not UTF-16 units: an emoji is one), after trimming. */
  maxLineLength: number;
  /** Longest nickname, in code points, after trimming. */
  maxNickLength: number;
  /** Longest id, in code points. */
  maxIdLength: number;
}

/** What the chat loop does with one value put on "chat"; `session` is the id of the session that put it. */
export type ChatInput =
  /** `nick`: what "who is here" lists the page as (the join's nickname, trimmed and checked; else absent). */
  | { kind: "join"; inbox: ChatInbox; session: string; nick?: string }
  /** `address`: the client address of the session (SessionInfo.address), for the allowance per address. */
  | { kind: "say"; say: Say; session: string; address: string }
  /** A line refused, to be told to the inboxes of `session`. */
  | { kind: "refused"; id: string; reason: string; session: string }
  /** Not a chat request at all: ignored (logged at most). */
  | { kind: "ignored"; why: string; session: string };

/** A value as the server channel delivers it with `envelope: true`, or as a test makes one. */
export interface Envelope {
  value: unknown;
  session: { id: string; address: string };
}

/** Reads one request; never throws. Trims the nickname and the text it keeps. */
export function readChatRequest(envelope: Envelope, limits: SayLimits): ChatInput {
  const session = envelope.session.id;
  const value = envelope.value;
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { kind: "ignored", why: "not an object", session };
  const keys = Object.keys(value);
  const request = value as { join?: unknown; nick?: unknown; say?: unknown };
  if (keys.includes("join") && keys.every((key) => key === "join" || key === "nick")) {
    if (!isInbox(request.join)) return { kind: "ignored", why: "join without a channel", session };
    const nick = typeof request.nick === "string" ? request.nick.trim() : "";
    return nick === "" || longerThan(nick, limits.maxNickLength) ? { kind: "join", inbox: request.join, session } : { kind: "join", inbox: request.join, session, nick };
  }
  if (keys.length !== 1) return { kind: "ignored", why: "not one of join and say", session };
  if (keys[0] === "say") return readSay(request.say, limits, envelope.session);
  return { kind: "ignored", why: "not one of join and say", session };
}

/** {@link readChatRequest} as a transducer step. */
export function readRequests(limits: SayLimits): Transducer<Envelope, ChatInput> {
  return xf.map((envelope: Envelope) => readChatRequest(envelope, limits));
}

function readSay(say: unknown, limits: SayLimits, from: Envelope["session"]): ChatInput {
  const session = from.id;
  if (typeof say !== "object" || say === null) return { kind: "ignored", why: "say without a line", session };
  const { id, nick, text } = say as { id?: unknown; nick?: unknown; text?: unknown };
  if (typeof id !== "string" || typeof nick !== "string" || typeof text !== "string") {
    return { kind: "ignored", why: "say needs id, nick and text, each a string", session };
  }
  const reason = sayProblem(id, nick.trim(), text.trim(), limits);
  if (reason !== null) {
    // The id goes back so the page can tell which line; an over-long one is cut to the limit
    // rather than echoed whole (it could be as large as a message).
    return { kind: "refused", id: firstCodePoints(id, limits.maxIdLength), reason, session };
  }
  return { kind: "say", say: { id, nick: nick.trim(), text: text.trim() }, session, address: from.address };
}

/** Why a line is refused, in words a page can show, or null. */
export function sayProblem(id: string, nick: string, text: string, limits: SayLimits): string | null {
  if (id === "") return "a line needs an id";
  if (longerThan(id, limits.maxIdLength)) return `an id may have at most ${limits.maxIdLength} characters`;
  if (nick === "") return "a nickname may not be empty";
  if (longerThan(nick, limits.maxNickLength)) return `a nickname may have at most ${limits.maxNickLength} characters`;
  if (text === "") return "a line may not be empty";
  if (longerThan(text, limits.maxLineLength)) return `a line may have at most ${limits.maxLineLength} characters`;
  return null;
}

/** Whether `text` has more than `max` code points; stops counting past `max` (a line may be huge). */
export function longerThan(text: string, max: number): boolean {
  if (text.length <= max) return false; // never more code points than UTF-16 units
  let count = 0;
  for (const _ of text) if (++count > max) return true;
  return false;
}

function firstCodePoints(text: string, max: number): string {
  if (!longerThan(text, max)) return text;
  let end = 0;
  let count = 0;
  for (const point of text) {
    if (++count > max) break;
    end += point.length;
  }
  return text.slice(0, end);
}

function isInbox(value: unknown): value is ChatInbox {
  if (typeof value !== "object" || value === null) return false;
  const candidate = value as { put?: unknown; close?: unknown };
  return typeof candidate.put === "function" && typeof candidate.close === "function";
}

/**
 * A pipeline step that rewrites the text of each `say` with `rewrite` and passes every other
 * input through: the shape of the censor, the emoticons and the auto-correct.
 */
export function sayText(rewrite: (text: string) => string): Transducer<ChatInput, ChatInput> {
  return xf.map((input: ChatInput): ChatInput => (input.kind === "say" ? { ...input, say: { ...input.say, text: rewrite(input.say.text) } } : input));
}
