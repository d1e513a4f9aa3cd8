// The chat's history: bounded in lines and in bytes, ids kept with their lines, batches for a join.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ChatHistory, lineBytes } from "../../apps/chat/chat-history.js";
import type { ChatLine } from "../../apps/chat/chat-messages.js";
import { maxBatches, resolveChatOptions } from "../../apps/chat/chat-options.js";
import { consoleLogger } from "../../src/server/index.js";

function line(id: string, text = "hello"): ChatLine {
  return { id, nick: "ann", text, ts: 1 };
}

describe("ChatHistory", () => {
  it("keeps at most maxLines, dropping the oldest, and forgets their ids with them", () => {
    const history = new ChatHistory(3, 1_000_000);
    for (const id of ["a", "b", "c", "d"]) assert.equal(history.add(line(id)), true);
    assert.deepEqual(
      history.lines().map((l) => l.id),
      ["b", "c", "d"],
    );
    assert.equal(history.has("a"), false, "a dropped line's id is forgotten: the id set is bounded with the lines");
    assert.equal(history.add(line("c", "again")), false, "an id already here is not added again");
    assert.equal(history.length, 3);
  });

  it("keeps at most maxBytes of UTF-8 JSON: 1,000 long lines stay under the bound", () => {
    const maxBytes = 64 * 1024;
    const history = new ChatHistory(1000, maxBytes);
    for (let i = 0; i < 1000; i++) history.add(line(`l${i}`, "\u00e9".repeat(2000)));
    assert.ok(history.bytes <= maxBytes, `${history.bytes} <= ${maxBytes}`);
    const sum = history.lines().reduce((total, l) => total + lineBytes(l), 0);
    assert.equal(history.bytes, sum, "the count is the lines' bytes");
    assert.ok(lineBytes(line("x", "\u00e9")) > JSON.stringify(line("x", "\u00e9")).length, "bytes, not UTF-16 units");
    assert.equal(history.lines().at(-1)?.id, "l999", "the newest lines are the ones kept");
  });

  it("a line larger than maxBytes by itself is not kept", () => {
    const history = new ChatHistory(10, 100);
    history.add(line("small"));
    history.add(line("huge", "x".repeat(200)));
    assert.equal(history.length, 0);
    assert.equal(history.has("huge"), false);
  });

  it("batches under the limit, every line once in order, and one empty batch for an empty history", () => {
    assert.deepEqual(new ChatHistory(10, 1000).batches(100), [[]]);
    const history = new ChatHistory(1000, 1_000_000);
    for (let i = 0; i < 300; i++) history.add(line(`l${i}`, "y".repeat(i % 50)));
    const limit = 1024;
    const batches = history.batches(limit);
    for (const batch of batches) assert.ok(batch.reduce((total, l) => total + lineBytes(l), 0) <= limit);
    assert.deepEqual(batches.flat(), history.lines());
    assert.ok(batches.length <= maxBatches(history.bytes, limit, 1000));
  });

  it("a line over the batch limit goes alone", () => {
    const history = new ChatHistory(10, 1_000_000);
    history.add(line("a"));
    history.add(line("big", "z".repeat(5000)));
    history.add(line("b"));
    assert.deepEqual(
      history.batches(1000).map((batch) => batch.map((l) => l.id)),
      [["a"], ["big"], ["b"]],
    );
  });

  it("rejects bounds that are not positive integers", () => {
    assert.throws(() => new ChatHistory(0, 10), RangeError);
    assert.throws(() => new ChatHistory(10, 1.5), RangeError);
  });
});

describe("chat options", () => {
  it("refuses bad bounds, and a queue too short for the history's batches", () => {
    assert.throws(() => resolveChatOptions({ maxLineLength: 0 }, consoleLogger), /maxLineLength must be a positive integer/);
    assert.throws(() => resolveChatOptions({ queueLength: 10 }, consoleLogger), /queueLength \(10\) must exceed/);
    assert.equal(resolveChatOptions({ queueLength: undefined }, consoleLogger).queueLength, 256, "undefined means the default");
  });
});
