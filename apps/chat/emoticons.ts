/** The emoticons step of the chat's pipeline: `:)` 🙂, `:(` 🙁, `<3` ❤️. */
import type { Transducer } from "../../src/csp/transducers.js";
import { type ChatInput, sayText } from "./chat-input.js";

/** What each emoticon becomes. */
export const emoticonTable: Readonly<Record<string, string>> = {
  ":)": "\u{1F642}",
  ":(": "\u{1F641}",
  "<3": "\u2764\uFE0F",
};

// Not followed by a letter or digit, and not preceded by a digit: "x<30" and "1<3" are
// comparisons, not hearts; "thanks:)" is still a smile.
const EMOTICON = /(?<![\p{N}])(:\)|:\(|<3)(?![\p{L}\p{N}])/gu;

/** Replaces the emoticons of `text`. */
export function replaceEmoticons(text: string): string {
  return text.replace(EMOTICON, (found) => emoticonTable[found] ?? found);
}

/** The emoticons as a pipeline step on chat inputs. */
export const emoticons: Transducer<ChatInput, ChatInput> = sayText(replaceEmoticons);
