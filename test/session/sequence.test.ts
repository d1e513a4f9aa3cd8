// Sequence numbers, acknowledgements and the replay buffer (docs/protocol.md section 4):
// Outbox and Inbox on their own.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Inbox, type KeptFrame, Outbox } from "../../src/session/sequence.js";
import { ProtocolError } from "../../src/wire/protocol-error.js";
import { REPLAY_ENTRY_OVERHEAD as O } from "../../src/wire/protocol.js";
import { assertThrowsCode } from "../helpers/errors.js";

const roomy = { messages: 1_000, bytes: 1_000_000 };

/** Appends the next frame, numbered as the Outbox will number it. */
function append(outbox: Outbox): KeptFrame {
  return outbox.append(frameText(outbox.nextSeq));
}

function frameText(seq: number): string {
  return `[${seq},"a",1,1]`;
}

function assertProtocolError(f: () => unknown, code: string, what: string): void {
  assertThrowsCode(f, code, what, ProtocolError);
}

describe("Outbox: numbering and acknowledgements", () => {
  it("numbers frames 1, 2, 3 …: nextSeq is the number of the frame appended next", () => {
    const outbox = new Outbox(roomy);
    assert.equal(outbox.nextSeq, 1, "starts at 1");
    assert.equal(outbox.lastAcked, 0, "nothing acknowledged");
    for (let i = 1; i <= 5; i++) {
      assert.equal(outbox.nextSeq, i, `nextSeq before frame ${i}`);
      const { seq, text } = outbox.append(frameText(outbox.nextSeq));
      assert.equal(seq, i, `frame ${i} gets number ${i}`);
      assert.equal(text, frameText(i), `frame ${i} text`);
    }
    assert.equal(outbox.nextSeq, 6, "next number");
    assert.equal(outbox.pending, 5, "five kept");
    assert.equal(outbox.pendingBytes, [1, 2, 3, 4, 5].reduce((sum, n) => sum + frameText(n).length + O, 0), "their size, with the overhead of each");
  });

  it("an ack forgets every frame up to it, and keeps the rest", () => {
    const outbox = new Outbox(roomy);
    for (let i = 1; i <= 5; i++) append(outbox);
    outbox.ack(3);
    assert.equal(outbox.lastAcked, 3, "lastAcked");
    assert.equal(outbox.pending, 2, "two kept");
    assert.equal(outbox.pendingBytes, frameText(4).length + frameText(5).length + 2 * O, "their size");
    assert.equal(outbox.frame(3), undefined, "frame 3 is gone");
    assert.equal(outbox.frame(4)?.text, frameText(4), "frame 4 kept");
    assert.equal(outbox.frame(5)?.text, frameText(5), "frame 5 kept");
    assert.equal(outbox.frame(6), undefined, "frame 6 was never made");
    outbox.ack(5);
    assert.equal(outbox.pending, 0, "all acknowledged");
    assert.equal(outbox.pendingBytes, 0, "no size left");
    assert.equal(outbox.nextSeq, 6, "numbering goes on");
    assert.equal(append(outbox).seq, 6, "the next frame is 6");
  });

  it("an old or repeated ack changes nothing", () => {
    const outbox = new Outbox(roomy);
    for (let i = 1; i <= 4; i++) append(outbox);
    outbox.ack(3);
    outbox.ack(2);
    outbox.ack(3);
    outbox.ack(0);
    assert.equal(outbox.lastAcked, 3, "lastAcked stays 3");
    assert.equal(outbox.pending, 1, "frame 4 kept");
  });

  it("an ack of a frame never sent is ERR_SEQUENCE and changes nothing", () => {
    const outbox = new Outbox(roomy);
    assertProtocolError(() => outbox.ack(1), "ERR_SEQUENCE", "ack 1 with nothing sent");
    append(outbox);
    append(outbox);
    assertProtocolError(() => outbox.ack(3), "ERR_SEQUENCE", "ack 3 after 2 frames");
    assertProtocolError(() => outbox.ack(Number.MAX_SAFE_INTEGER), "ERR_SEQUENCE", "a huge ack");
    assert.equal(outbox.pending, 2, "both kept");
    assert.equal(outbox.lastAcked, 0, "nothing acknowledged");
    outbox.ack(2);
    assert.equal(outbox.pending, 0, "a valid ack still works after");
  });

  it("frame(seq) finds kept frames by number, undefined otherwise", () => {
    const outbox = new Outbox(roomy);
    assert.equal(outbox.frame(1), undefined, "empty");
    for (let i = 1; i <= 40; i++) append(outbox); // past the ring's first growth
    outbox.ack(17);
    for (let i = 0; i <= 45; i++) {
      assert.equal(outbox.frame(i)?.text, i > 17 && i <= 40 ? frameText(i) : undefined, `frame(${i})`);
    }
  });
});

describe("Outbox: resumePoint (where sending resumes after a reconnect)", () => {
  it("resumes after the peer's recv, or after what it acknowledged when it says less", () => {
    const outbox = new Outbox(roomy);
    assert.equal(outbox.resumePoint(0), 0, "nothing sent, nothing received");
    assert.equal(outbox.resumePoint(1), null, "the peer claims a frame never sent");
    for (let i = 1; i <= 5; i++) append(outbox);
    assert.equal(outbox.resumePoint(0), 0, "everything again");
    assert.equal(outbox.resumePoint(3), 3, "after 3");
    assert.equal(outbox.resumePoint(5), 5, "after the last: nothing");
    outbox.ack(3);
    // A hello written before the newest acknowledgement arrived (the WebSocket probe of issue 9, B7).
    assert.equal(outbox.resumePoint(2), 3, "the peer acknowledged 3 and now says 2: it has them");
    assert.equal(outbox.resumePoint(6), null, "past the last frame sent");
  });

  it("resumePoint(k) is max(k, acked) for k up to the last frame, null past it (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 62 }), (sent, ackRaw, k) => {
        const outbox = new Outbox(roomy);
        for (let i = 0; i < sent; i++) append(outbox);
        const acked = Math.min(ackRaw, sent);
        outbox.ack(acked);
        assert.equal(outbox.resumePoint(k), k > sent ? null : Math.max(k, acked), `resumePoint(${k}) with ${sent} sent and ${acked} acked`);
      }),
      { seed: 3001, numRuns: 500 },
    );
  });
});

describe("Outbox: sizes in UTF-8 bytes", () => {
  it("counts a frame's bytes, not its characters, and reports every change of its cost", () => {
    const changes: number[] = [];
    const outbox = new Outbox({ messages: 100, bytes: 1_000_000, onCostChange: (delta) => changes.push(delta) });
    outbox.append("é中😀"); // 2 + 3 + 4 bytes in 4 UTF-16 units
    assert.equal(outbox.frame(1)?.bytes, 9, "9 bytes");
    assert.equal(outbox.pendingBytes, 9 + O, "the cost is the bytes and the overhead");
    outbox.append("x".repeat(10));
    outbox.ack(2);
    assert.deepStrictEqual(changes, [9 + O, 10 + O, -(19 + 2 * O)], "each append and ack told");
    outbox.append("y");
    outbox.clear();
    assert.equal(outbox.pendingBytes, 0, "cleared");
    assert.equal(changes.reduce((a, b) => a + b, 0), 0, "the budget gets back all it was told");
  });
});

describe("Outbox: limits", () => {
  it("messages: hasRoom is false at the limit, and append past it throws ERR_SESSION_LOST", () => {
    const outbox = new Outbox({ messages: 3, bytes: 1_000_000 });
    for (let i = 1; i <= 3; i++) {
      assert.equal(outbox.hasRoom(1), true, `room before frame ${i}`);
      append(outbox);
    }
    assert.equal(outbox.hasRoom(0), false, "no room at 3 frames, even for an empty one");
    assert.equal(outbox.hasRoom(1), false, "no room at 3 frames");
    assertProtocolError(() => append(outbox), "ERR_SESSION_LOST", "a fourth frame");
    assert.equal(outbox.nextSeq, 4, "the refused frame took no number");
    assert.equal(outbox.pending, 3, "still 3 kept");
    outbox.ack(1);
    assert.equal(outbox.hasRoom(1), true, "room again after an ack");
    assert.equal(append(outbox).seq, 4, "the next frame is 4");
  });

  it("bytes: hasRoom counts the frame's size and overhead, and append past the limit throws ERR_SESSION_LOST", () => {
    const outbox = new Outbox({ messages: 1_000, bytes: 11 + 2 * O });
    outbox.append("12345");
    assert.equal(outbox.hasRoom(6), true, "exactly up to the limit fits");
    assert.equal(outbox.hasRoom(7), false, "one more does not");
    outbox.append("6789é"); // 5 characters, 6 bytes
    assert.equal(outbox.pendingBytes, 11 + 2 * O, "bytes, not characters: at the limit");
    assert.equal(outbox.hasRoom(0), false, "even an empty frame costs its overhead");
    assertProtocolError(() => outbox.append("x"), "ERR_SESSION_LOST", "one character more");
    assert.equal(outbox.pendingBytes, 11 + 2 * O, "size unchanged after the refusal");
    assert.equal(outbox.nextSeq, 3, "number unchanged after the refusal");
    outbox.ack(1);
    assert.equal(outbox.pendingBytes, 6 + O, "an ack frees its frame's cost");
    assert.equal(outbox.hasRoom(5), true, "room again");
  });

  it("a single frame larger than the byte limit never fits", () => {
    const outbox = new Outbox({ messages: 10, bytes: 4 + O });
    assert.equal(outbox.hasRoom(5), false, "5 > 4");
    assertProtocolError(() => outbox.append("12345"), "ERR_SESSION_LOST", "a frame bigger than the buffer");
    assert.equal(outbox.pending, 0, "nothing kept");
  });

  it("pending and pendingBytes always match what was appended and not acknowledged (property)", () => {
    const action = fc.oneof(fc.record({ kind: fc.constant("append" as const), size: fc.integer({ min: 0, max: 30 }) }), fc.record({ kind: fc.constant("ack" as const), back: fc.integer({ min: 0, max: 5 }) }));
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 100 }), fc.array(action, { maxLength: 60 }), (messages, bytes, actions) => {
        const outbox = new Outbox({ messages, bytes: bytes + O * messages });
        const model: Array<{ seq: number; text: string }> = [];
        let next = 1;
        let acked = 0;
        for (const step of actions) {
          if (step.kind === "append") {
            const text = "x".repeat(step.size);
            const fits = model.length < messages && model.reduce((s, e) => s + e.text.length + O, 0) + text.length + O <= bytes + O * messages;
            assert.equal(outbox.hasRoom(text.length), fits, "hasRoom matches the model");
            if (fits) {
              assert.equal(outbox.append(text).seq, next, "number");
              model.push({ seq: next++, text });
            } else {
              assertProtocolError(() => outbox.append(text), "ERR_SESSION_LOST", "overflow");
            }
          } else {
            const to = Math.max(acked, next - 1 - step.back);
            outbox.ack(to);
            acked = to;
            while (model.length > 0 && (model[0] as { seq: number }).seq <= to) model.shift();
          }
          assert.equal(outbox.pending, model.length, "pending");
          assert.equal(outbox.pendingBytes, model.reduce((s, e) => s + e.text.length + O, 0), "pendingBytes");
          assert.equal(outbox.nextSeq, next, "nextSeq");
          assert.equal(outbox.lastAcked, acked, "lastAcked");
          for (const entry of model) assert.equal(outbox.frame(entry.seq)?.text, entry.text, `frame(${entry.seq})`);
        }
      }),
      { seed: 3002, numRuns: 300 },
    );
  });
});

describe("Inbox", () => {
  it("accepts the next frame, drops duplicates, and refuses a gap with ERR_SEQUENCE", () => {
    const inbox = new Inbox();
    assert.equal(inbox.received, 0, "nothing received");
    assert.equal(inbox.accept(1), true, "1 is next");
    assert.equal(inbox.accept(1), false, "1 again is a duplicate");
    assert.equal(inbox.accept(2), true, "2 is next");
    assert.equal(inbox.accept(1), false, "an older one is a duplicate");
    assertProtocolError(() => inbox.accept(4), "ERR_SEQUENCE", "4 after 2 skips 3");
    assert.equal(inbox.received, 2, "a gap changes nothing");
    assert.equal(inbox.accept(3), true, "3 is still next");
    assert.equal(inbox.received, 3, "received");
    assertProtocolError(() => inbox.accept(Number.MAX_SAFE_INTEGER), "ERR_SEQUENCE", "a huge jump");
  });

  it("replays of any prefix are dropped, and the stream continues (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 20 }), { maxLength: 30 }), (resends) => {
        const inbox = new Inbox();
        const delivered: number[] = [];
        let next = 1;
        for (const back of resends) {
          // The sender resends from some earlier point, then sends one new frame.
          const from = Math.max(1, next - back);
          for (let seq = from; seq <= next; seq++) if (inbox.accept(seq)) delivered.push(seq);
          next++;
        }
        assert.deepStrictEqual(delivered, Array.from({ length: next - 1 }, (_, i) => i + 1), "each frame exactly once, in order");
        assert.equal(inbox.received, next - 1, "received");
      }),
      { seed: 3003, numRuns: 300 },
    );
  });
});
