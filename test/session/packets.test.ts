// Packing frames into packets under the message size limit.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PacketPacker } from "../../src/session/packets.js";
import { jsonCodec } from "../../src/wire/codec.js";

describe("PacketPacker", () => {
  it("splits frames over several packets, each within maxMessageSize, keeping their order", () => {
    const sent: string[] = [];
    const packer = new PacketPacker({ oneShot: false, send: (packet) => void sent.push(packet) }, jsonCodec, 40);
    const frames = Array.from({ length: 10 }, (_, i) => JSON.stringify([i + 1, "a", i + 1, 1]));
    for (const frame of frames) assert.equal(packer.add(frame), true, "a streaming link takes every frame");
    packer.finish();
    assert.ok(sent.length > 1, `several packets (${sent.length})`);
    for (const packet of sent) assert.ok(packet.length <= 40, `${packet} is within the limit`);
    assert.deepEqual(sent.flatMap((packet) => JSON.parse(packet) as unknown[]), frames.map((f) => JSON.parse(f) as unknown), "every frame once, in order");
  });

  it("a one-shot link gets one packet: what does not fit is refused, to wait for the next poll", () => {
    const sent: string[] = [];
    const packer = new PacketPacker({ oneShot: true, send: (packet) => void sent.push(packet) }, jsonCodec, 40);
    const results = Array.from({ length: 10 }, (_, i) => packer.add(JSON.stringify([i + 1, "a", i + 1, 1])));
    packer.finish();
    assert.equal(sent.length, 1, "one packet");
    assert.ok((sent[0] ?? "").length <= 40, "within the limit");
    const taken = results.filter(Boolean).length;
    assert.equal((JSON.parse(sent[0] ?? "[]") as unknown[]).length, taken, "the packet holds exactly the frames add() took");
    assert.ok(taken < 10 && results.indexOf(false) === taken, "the first refusal comes after the last frame taken");
  });
});
