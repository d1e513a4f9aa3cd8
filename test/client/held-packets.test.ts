// The packets a client link holds before its session starts reading: bounded, delivered once,
// in order, and never after the link closed.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HeldPackets, MAX_HELD_PACKETS } from "../../src/client/held-packets.js";

describe("HeldPackets", () => {
  it("holds up to MAX_HELD_PACKETS, refuses the next, and releases them in order", () => {
    const held = new HeldPackets();
    for (let i = 0; i < MAX_HELD_PACKETS; i++) assert.equal(held.hold(`p${i}`), true, `packet ${i}`);
    assert.equal(held.hold("one too many"), false, "full: the link goes down instead of growing");
    const got: string[] = [];
    held.release((packet) => got.push(packet), () => true);
    assert.deepEqual(got, Array.from({ length: MAX_HELD_PACKETS }, (_, i) => `p${i}`));
    assert.equal(held.released, true);
    assert.equal(held.hold("later"), false, "after release nothing is held: packets go straight through");
  });

  it("stops delivering once the link is closed", () => {
    const held = new HeldPackets();
    for (const packet of ["a", "b", "c"]) held.hold(packet);
    const got: string[] = [];
    held.release((packet) => got.push(packet), () => got.length < 2);
    assert.deepEqual(got, ["a", "b"]);
  });
});
