import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { encodeSseComment, encodeSseEvent } from "../../src/server/sse-codec.js";

/**
 * The event-stream parser of the WHATWG HTML standard (§9.2.6), reduced to what one encoded
 * event exercises: lines split on CRLF, CR or LF; `data` lines joined with LF; comments ignored.
 */
function parseEvents(stream: string): Array<{ data: string; id?: string; event?: string; retry?: number }> {
  const events: Array<{ data: string; id?: string; event?: string; retry?: number }> = [];
  let data: string[] = [];
  let fields: { id?: string; event?: string; retry?: number } = {};
  for (const line of stream.split(/\r\n|\r|\n/)) {
    if (line === "") {
      if (data.length > 0) events.push({ data: data.join("\n"), ...fields });
      data = [];
      fields = {};
      continue;
    }
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const name = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (name === "data") data.push(value);
    else if (name === "id") fields.id = value;
    else if (name === "event") fields.event = value;
    else if (name === "retry") fields.retry = Number(value);
  }
  return events;
}

const noBreak = fc.string().filter((s) => !/[\r\n\0]/.test(s));

describe("encodeSseEvent", () => {
  it("splits data on every kind of line break into data: lines", () => {
    assert.equal(encodeSseEvent({ data: "a\nb\r\nc\rd" }), "data: a\ndata: b\ndata: c\ndata: d\n\n");
    assert.equal(encodeSseEvent({ data: "" }), "data: \n\n");
    assert.equal(encodeSseEvent({ data: "x", id: "7", event: "note", retry: 1000 }), "id: 7\nevent: note\nretry: 1000\ndata: x\n\n");
    assert.equal(encodeSseEvent({ data: new TextEncoder().encode("héllo") }), "data: héllo\n\n");
  });

  it("refuses CR or LF in an id or event name, NUL in an id, and a bad retry, with ERR_SSE_FIELD", () => {
    for (const event of [{ data: "x", id: "a\nb" }, { data: "x", id: "a\rb" }, { data: "x", event: "a\nb" }, { data: "x", id: "a\0b" }, { data: "x", retry: -1 }, { data: "x", retry: 1.5 }]) {
      assert.throws(() => encodeSseEvent(event), (error: { code?: string }) => error instanceof TypeError && error.code === "ERR_SSE_FIELD", JSON.stringify(event));
    }
  });

  it("round-trips through the standard's parser: data with line breaks normalised to LF, id and event as given", () => {
    fc.assert(
      fc.property(fc.string(), fc.option(noBreak, { nil: undefined }), fc.option(noBreak, { nil: undefined }), (data, id, event) => {
        const wire = encodeSseEvent({ data, ...(id === undefined ? {} : { id }), ...(event === undefined ? {} : { event }) });
        const parsed = parseEvents(wire + encodeSseComment("heartbeat"));
        assert.equal(parsed.length, 1, JSON.stringify(wire));
        assert.equal(parsed[0]?.data, data.replace(/\r\n|\r/g, "\n"));
        assert.equal(parsed[0]?.id, id);
        assert.equal(parsed[0]?.event, event);
      }),
    );
  });
});

describe("encodeSseComment", () => {
  it("is a comment line any client ignores, even with line breaks in the text", () => {
    assert.equal(encodeSseComment(), ":\n\n");
    assert.equal(encodeSseComment("a\nb"), ": a b\n\n");
    assert.deepEqual(parseEvents(encodeSseComment("data: not an event\nreally")), []);
  });
});
