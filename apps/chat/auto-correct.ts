/**
 * The auto-correct step of the chat's pipeline: common misspellings from a small table, whole
 * words, whatever their case, keeping the case of the first letter ("Teh" becomes "The").
 */
import type { Transducer } from "../../src/csp/transducers.js";
import { type ChatInput, sayText } from "./chat-input.js";

/** Misspelling (lower case) to correction. */
export const corrections: Readonly<Record<string, string>> = {
  teh: "the",
  recieve: "receive",
  adn: "and",
  wiht: "with",
  becuase: "because",
  seperate: "separate",
  definately: "definitely",
  occured: "occurred",
  untill: "until",
  wierd: "weird",
};

const MISSPELLED = new RegExp(`(?<![\\p{L}\\p{N}_])(?:${Object.keys(corrections).join("|")})(?![\\p{L}\\p{N}_])`, "giu");

/** Corrects the words of `text` found in {@link corrections}. */
export function autoCorrectLine(text: string): string {
  return text.replace(MISSPELLED, correctWord);
}

function correctWord(word: string): string {
  const correction = corrections[word.toLowerCase()];
  if (correction === undefined) return word;
  const first = word[0] ?? "";
  const upper = first !== first.toLowerCase();
  return upper ? correction.charAt(0).toUpperCase() + correction.slice(1) : correction;
}

/** The auto-correct as a pipeline step on chat inputs. */
export const autoCorrect: Transducer<ChatInput, ChatInput> = sayText(autoCorrectLine);
