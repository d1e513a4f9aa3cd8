/**
 * The censor step of the chat's pipeline (the JUXT article's profanity filter): whole words from
 * a list, matched whatever their case, each letter replaced by `*`.
 */
import type { Transducer } from "../../src/csp/transducers.js";
import { type ChatInput, sayText } from "./chat-input.js";

/** The words the chat masks unless told otherwise (mild on purpose: this is a demo). */
export const defaultCensoredWords: readonly string[] = ["darn", "heck", "frak", "drat", "blast"];

/**
 * A function masking every word of `words` in a text. Whole words only ("heck" in "heckle" is
 * left), in any script: a word boundary is a change between letter-or-digit and anything else,
 * which `\b` only sees for ASCII. Throws a `TypeError` for an empty word.
 */
export function makeCensor(words: readonly string[]): (text: string) => string {
  if (words.length === 0) return (text) => text;
  for (const word of words) if (typeof word !== "string" || word.trim() === "") throw new TypeError("censor: every word must be a non-empty string");
  const alternatives = [...words].sort((a, b) => b.length - a.length).map(escapeRegExp).join("|");
  const blocked = new RegExp(`(?<![\\p{L}\\p{N}_])(?:${alternatives})(?![\\p{L}\\p{N}_])`, "giu");
  return (text) => text.replace(blocked, maskLetters);
}

/** Masks the default words: {@link makeCensor} of {@link defaultCensoredWords}. */
export const censorLine = makeCensor(defaultCensoredWords);

/** The censor as a pipeline step on chat inputs: tested with `xf.sequence` on arrays. */
export function censor(words: readonly string[] = defaultCensoredWords): Transducer<ChatInput, ChatInput> {
  return sayText(makeCensor(words));
}

function maskLetters(word: string): string {
  return word.replace(/\p{L}/gu, "*");
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
