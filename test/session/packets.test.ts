// Packing frames into packets under the message size limit.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PacketPacker } from "../../src/session/packets.js";
import { jsonCodec } from "../../src/wire/codec.js";
import { MAX_FRAMES_PER_PACKET } from "../../src/wire/frames.js";
import { decodePacket, MAX_PACKET_NODES, utf8Length } from "../../src/wire/protocol.js";

describe("PacketPacker", () => {
  it("splits frames over several packets, each within maxMessageSize, keeping their order", () => {
    const sent: string[] = [];
    const packer = new PacketPacker({ oneShot: false, send: (packet) => void sent.push(packet) }, jsonCodec, 40);
    const frames = Array.from({ length: 10 }, (_, i) => JSON.stringify([i + 1, "a", i + 1, 1]));
    for (const frame of frames) assert.equal(packer.add(frame, frame.length, 1), true, "a streaming link takes every frame");
    packer.finish();
    assert.ok(sent.length > 1, `several packets (${sent.length})`);
    for (const packet of sent) assert.ok(packet.length <= 40, `${packet} is within the limit`);
    assert.deepEqual(sent.flatMap((packet) => JSON.parse(packet) as unknown[]), frames.map((f) => JSON.parse(f) as unknown), "every frame once, in order");
  });

  it("a one-shot link gets one packet: what does not fit is refused, to wait for the next poll", () => {
    const sent: string[] = [];
    const packer = new PacketPacker({ oneShot: true, send: (packet) => void sent.push(packet) }, jsonCodec, 40);
    const results = Array.from({ length: 10 }, (_, i) => {
      const frame = JSON.stringify([i + 1, "a", i + 1, 1]);
      return packer.add(frame, frame.length, 1);
    });
    packer.finish();
    assert.equal(sent.length, 1, "one packet");
    assert.ok((sent[0] ?? "").length <= 40, "within the limit");
    const taken = results.filter(Boolean).length;
    assert.equal((JSON.parse(sent[0] ?? "[]") as unknown[]).length, taken, "the packet holds exactly the frames add() took");
    assert.ok(taken < 10 && results.indexOf(false) === taken, "the first refusal comes after the last frame taken");
  });

  it("counts UTF-8 bytes: multi-byte frames split where their bytes, not their characters, reach the limit", () => {
    const sent: string[] = [];
    const packer = new PacketPacker({ oneShot: false, send: (packet) => void sent.push(packet) }, jsonCodec, 64);
    const frames = Array.from({ length: 6 }, (_, i) => JSON.stringify([i + 1, "p", "n:x", "中".repeat(10)]));
    for (const frame of frames) packer.add(frame, utf8Length(frame), 1);
    packer.finish();
    for (const packet of sent) assert.ok(utf8Length(packet) <= 64, `${utf8Length(packet)} bytes is within the limit`);
    assert.ok(sent.some((packet) => packet.length <= 64 && sent.length === 6), "each 47-byte frame alone: 6 packets although two would fit in 64 characters");
  });

  it("splits at MAX_FRAMES_PER_PACKET frames and MAX_PACKET_NODES arrays and objects, the bounds the receiver checks", () => {
    const sent: string[] = [];
    const packer = new PacketPacker({ oneShot: false, send: (packet) => void sent.push(packet) }, jsonCodec, 1 << 30);
    for (let i = 1; i <= MAX_FRAMES_PER_PACKET + 10; i++) packer.add(`["ack",${i}]`, 9, 1);
    packer.finish();
    assert.deepEqual(sent.map((p) => (JSON.parse(p) as unknown[]).length), [MAX_FRAMES_PER_PACKET, 10], "frames per packet");
    sent.length = 0;
    const heavy = Math.floor(MAX_PACKET_NODES / 3);
    const second = new PacketPacker({ oneShot: false, send: (packet) => void sent.push(packet) }, jsonCodec, 1 << 30);
    for (let i = 1; i <= 4; i++) second.add(`[${i},"p","n:x",0]`, 14, heavy);
    second.finish();
    assert.equal(sent.length, 2, "three heavy frames fit with the packet's own array, the fourth goes in the next");
    for (const packet of sent) assert.doesNotThrow(() => decodePacket(packet, { codec: jsonCodec, maxMessageSize: 1 << 30 }), "the receiver accepts each");
  });

  it("PacketPacker.for hands out the packer that finished last, and another one while it is in use (a send that made another session flush)", () => {
    const outer: string[] = [];
    const inner: string[] = [];
    const first = PacketPacker.for({ oneShot: false, send: (packet) => void outer.push(packet) }, jsonCodec, 1 << 20);
    first.finish();
    const packer = PacketPacker.for(
      {
        oneShot: false,
        send(packet) {
          outer.push(packet);
          // A flush of another session, made while this packer is writing.
          const nested = PacketPacker.for({ oneShot: false, send: (p) => void inner.push(p) }, jsonCodec, 1 << 20);
          assert.notEqual(nested, packer, "the packer in use is not handed out again");
          nested.add('["ack",7]', 9, 1);
          nested.finish();
        },
      },
      jsonCodec,
      1 << 20,
    );
    assert.equal(packer, first, "the one that finished is used again");
    packer.add('["ack",1]', 9, 1);
    packer.add('["ack",2]', 9, 1);
    packer.finish();
    assert.deepEqual(outer, ['[["ack",1],["ack",2]]'], "the outer flush wrote its own frames, once");
    assert.deepEqual(inner, ['[["ack",7]]'], "the nested flush wrote its own frames, once");
    const again = PacketPacker.for({ oneShot: false, send: (p) => void outer.push(p) }, jsonCodec, 1 << 20);
    again.finish();
    assert.deepEqual(outer, ['[["ack",1],["ack",2]]'], "a packer handed out again starts empty");
  });
});
