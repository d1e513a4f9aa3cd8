// The chat's transducer pipeline, one step at a time on plain arrays (xf.sequence), then composed.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { autoCorrect, autoCorrectLine } from "../../apps/chat/auto-correct.js";
import { censor, makeCensor } from "../../apps/chat/censor.js";
import { type ChatInput, type Envelope, longerThan, readRequests, type SayLimits } from "../../apps/chat/chat-input.js";
import { chatDefaults } from "../../apps/chat/chat-app.js";
import { chatPipeline } from "../../apps/chat/chat-pipeline.js";
import { emoticons, replaceEmoticons } from "../../apps/chat/emoticons.js";
import { chan, xf } from "../../src/index.js";

const limits: SayLimits = chatDefaults;

function say(text: string, id = "p-1", nick = "ann"): ChatInput {
  return { kind: "say", say: { id, nick, text }, session: "s1", address: "127.0.0.1" };
}

function from(value: unknown, session = "s1"): Envelope {
  return { value, session: { id: session, address: "127.0.0.1" } };
}

function texts(inputs: ChatInput[]): string[] {
  return inputs.map((input) => (input.kind === "say" ? input.say.text : input.kind));
}

describe("chat pipeline steps on plain arrays", () => {
  it("censor: whole words from the list, any case, each letter a star; other inputs pass", () => {
    const join: ChatInput = { kind: "join", inbox: chan(1), session: "s1" };
    const out = xf.sequence(censor(["heck", "darn"]), [say("what the Heck"), join, say("heckle, DARN! darned"), say("héck heck")]);
    assert.deepEqual(texts(out), ["what the ****", "join", "heckle, ****! darned", "héck ****"]);
    assert.equal(out[1], join, "a join goes through untouched");
    assert.equal(makeCensor(["a.b"])("a.b axb"), "*.* axb", "a word is matched literally, not as a pattern");
    assert.throws(() => makeCensor([""]), TypeError);
  });

  it("emoticons: :) :( <3, not inside comparisons or words", () => {
    const out = xf.sequence(emoticons, [say("hi :) bye :("), say("i <3 csp"), say("thanks:)"), say("x<30 and 1<3 and :)x")]);
    assert.deepEqual(texts(out), ["hi \u{1F642} bye \u{1F641}", "i \u2764\uFE0F csp", "thanks\u{1F642}", "x<30 and 1<3 and :)x"]);
    assert.equal(replaceEmoticons(":):("), "\u{1F642}\u{1F641}", "side by side");
  });

  it("auto-correct: whole words from the table, keeping the first letter's case", () => {
    const out = xf.sequence(autoCorrect, [say("teh cat"), say("Teh dog, I recieve"), say("TEH tehran"), say("wierd adn untill")]);
    assert.deepEqual(texts(out), ["the cat", "The dog, I receive", "The tehran", "weird and until"]);
    assert.equal(autoCorrectLine("Becuase"), "Because");
  });

  it("reading requests: a join, a say (trimmed), refusals with reasons, and what is ignored", () => {
    const inbox = chan(1);
    const out = xf.sequence(readRequests(limits), [
      from({ join: inbox }),
      from({ say: { id: "a", nick: " ann ", text: "  hello  " } }),
      from({ say: { id: "b", nick: "ann", text: "   " } }),
      from({ say: { id: "c", nick: "ann", text: "x".repeat(501) } }),
      from({ say: { id: "d", nick: "", text: "hi" } }),
      from({ say: { id: "e", nick: "n".repeat(33), text: "hi" } }),
      from({ say: { id: "", nick: "ann", text: "hi" } }),
      from({ say: { id: "i".repeat(65), nick: "ann", text: "hi" } }),
      from(42),
      from({ join: "not a channel" }),
      from({ say: { id: 1, nick: "ann", text: "hi" } }),
      from({ say: "hi" }),
      from({ join: inbox, say: { id: "x", nick: "ann", text: "hi" } }),
      from({ add: inbox }),
      from([1]),
    ]);
    assert.deepEqual(out[0], { kind: "join", inbox, session: "s1" });
    assert.deepEqual(out[1], { kind: "say", say: { id: "a", nick: "ann", text: "hello" }, session: "s1", address: "127.0.0.1" });
    const refused = out.slice(2, 8).map((input) => (input.kind === "refused" ? [input.id, input.reason] : input.kind));
    assert.deepEqual(refused, [
      ["b", "a line may not be empty"],
      ["c", "a line may have at most 500 characters"],
      ["d", "a nickname may not be empty"],
      ["e", "a nickname may have at most 32 characters"],
      ["", "a line needs an id"],
      ["i".repeat(64), "an id may have at most 64 characters"],
    ]);
    assert.deepEqual(
      out.slice(8).map((input) => input.kind),
      Array(7).fill("ignored"),
    );
  });

  it("counts code points, not UTF-16 units: 500 emoji are a line, 501 are too long", () => {
    const emoji = "\u{1F642}";
    assert.equal(emoji.length, 2);
    const [ok, tooLong] = xf.sequence(readRequests(limits), [
      from({ say: { id: "a", nick: "ann", text: emoji.repeat(500) } }),
      from({ say: { id: "b", nick: "ann", text: emoji.repeat(501) } }),
    ]);
    assert.equal(ok?.kind, "say");
    assert.equal(tooLong?.kind, "refused");
    assert.equal(longerThan("abc", 3), false);
    assert.equal(longerThan(emoji.repeat(3), 3), false);
    assert.equal(longerThan(emoji.repeat(4), 3), true);
  });

  it("the composed pipeline: checked, then censored, emoticons, auto-corrected, in that order", () => {
    const out = xf.sequence(chatPipeline(limits, ["heck"]), [from({ say: { id: "a", nick: "ann", text: " teh heck :) " } }), from({ say: { id: "b", nick: "ann", text: "" } })]);
    assert.deepEqual(texts(out), ["the **** \u{1F642}", "refused"]);
  });
});
