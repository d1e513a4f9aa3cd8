// The client's event-stream reader: the server's encoder's output, cut into chunks anywhere,
// reads back as the events that were sent; and it is bounded.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { SseParser } from "../../src/client/sse-parser.js";
import { encodeSseComment, encodeSseEvent } from "../../src/server/sse-codec.js";
import { assertThrowsCode } from "../helpers/errors.js";

function parseChunks(chunks: readonly string[], maxLine = 1 << 20): string[] {
  const events: string[] = [];
  const parser = new SseParser((data) => events.push(data), maxLine);
  for (const chunk of chunks) parser.push(chunk);
  return events;
}

/** `text` cut at the given positions. */
function cut(text: string, at: readonly number[]): string[] {
  const points = [...new Set(at.map((p) => p % (text.length + 1)))].sort((a, b) => a - b);
  const chunks: string[] = [];
  let from = 0;
  for (const p of points) {
    chunks.push(text.slice(from, p));
    from = p;
  }
  chunks.push(text.slice(from));
  return chunks;
}

describe("SseParser", () => {
  it("reads what the server's encoder wrote, however the stream is cut, comments and ids ignored", () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 12 }), (datas, at) => {
        const stream = datas.map((data, i) => encodeSseComment("beat") + encodeSseEvent({ data, id: String(i) })).join("");
        const expected = datas.map((data) => data.replace(/\r\n|\r/g, "\n"));
        assert.deepEqual(parseChunks(cut(stream, at)), expected, "every event's data, in order");
      }),
      { numRuns: 500 },
    );
  });

  it("a CRLF split across two chunks ends one line, not two", () => {
    assert.deepEqual(parseChunks(["data: a\r", "\ndata: b\r\n\r", "\n"]), ["a\nb"]);
  });

  it("refuses a line, or an event of many lines, longer than its limit (ERR_MESSAGE_TOO_LARGE)", () => {
    const parser = new SseParser(() => undefined, 16);
    assertThrowsCode(() => parser.push(`data: ${"x".repeat(32)}`), "ERR_MESSAGE_TOO_LARGE", "one long line", RangeError);
    const lines = new SseParser(() => undefined, 16);
    assertThrowsCode(() => lines.push("data: 12345\n".repeat(4)), "ERR_MESSAGE_TOO_LARGE", "many short data lines", RangeError);
  });
});
