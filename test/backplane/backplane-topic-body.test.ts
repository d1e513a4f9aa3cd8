// What a topic puts on the backplane (src/server/topic-relay.ts), pure: the body is the codec's
// name and the value's node count, then the value's text as it is; a receiving node gets back
// the very text (to frame, never encode again) and refuses a body of another codec.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeTopicValue, readTopicBody, topicBody, topicSubject } from "../../src/server/topic-relay.js";
import { jsonCodec } from "../../src/server/index.js";
import { preEncode } from "../../src/wire/pre-encoded.js";

describe("a topic's body on the backplane", () => {
  it("codec and node count, then the text as the codec wrote it", () => {
    const encoded = preEncode({ a: [1, "é"], "~k": null }, jsonCodec);
    const body = topicBody(encoded, jsonCodec);
    assert.equal(body, `json 2\n${encoded.text}`);
    assert.equal(topicSubject("news"), "wirechan.topic.news");
    const read = readTopicBody(body, jsonCodec);
    assert.ok(read !== null);
    assert.equal(read.text, encoded.text, "the very text, to be framed as it is");
    assert.equal(read.bytes, encoded.bytes);
    assert.equal(read.nodes, encoded.nodes);
    assert.equal(read.encodedBy(jsonCodec), true);
    assert.deepEqual(decodeTopicValue(read, jsonCodec), { a: [1, "é"], "~k": null });
  });

  it("a body of another codec, or not a topic's, is null", () => {
    const other = { ...jsonCodec, name: "other" };
    const body = topicBody(preEncode(1, jsonCodec), jsonCodec);
    assert.equal(readTopicBody(body, other), null, "another codec's text cannot be framed by this one");
    for (const text of ["json 1", "json x\n1", "json -1\n1", "1\n1", ""]) assert.equal(readTopicBody(text, jsonCodec), null, JSON.stringify(text));
  });

  it("a channel reference in a value from the backplane is refused when decoded", () => {
    const read = readTopicBody('json 1\n{"~c":"s.1"}', jsonCodec);
    assert.ok(read !== null);
    assert.throws(() => decodeTopicValue(read, jsonCodec), { code: "ERR_WIRE_VALUE" });
  });
});
