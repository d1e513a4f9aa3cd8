/**
 * The chat's transducer pipeline, in docs/apps.md's order: read and check each request, then
 * censor, emoticons and auto-correct the text of each line. A channel made with it
 * (`chan(n, chatPipeline(…))`) gives the chat loop inputs that are ready to keep.
 */
import { xf } from "../../src/index.js";
import type { Transducer } from "../../src/csp/transducers.js";
import { autoCorrect } from "./auto-correct.js";
import { censor } from "./censor.js";
import { type ChatInput, type Envelope, readRequests, type SayLimits } from "./chat-input.js";
import { emoticons } from "./emoticons.js";

/** Every step, composed. */
export function chatPipeline(limits: SayLimits, censoredWords: readonly string[]): Transducer<Envelope, ChatInput> {
  return xf.comp(readRequests(limits), censor(censoredWords), emoticons, autoCorrect);
}
