// SessionEvents (src/server/protocol/session-events.ts): the listeners of server.onSession, in
// the order added, each one's failure logged and kept from the others, and bounded in number.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { WirechanRangeError } from "../../src/csp/errors.js";
import { endReasonOf, MAX_SESSION_LISTENERS, type SessionEvent, SessionEvents } from "../../src/server/protocol/session-events.js";
import type { SessionInfo } from "../../src/server/protocol/sessions.js";
import { ProtocolError } from "../../src/wire/protocol-error.js";
import { assertThrowsCode } from "../helpers/errors.js";
import { settle } from "../helpers/async.js";

const session: SessionInfo = { id: "s1", principal: "alice", transport: "websocket", address: "127.0.0.1" };

function recordingLogger(): { lines: string[]; error(message: string): void; warn(message: string): void } {
  const lines: string[] = [];
  return { lines, error: (message) => lines.push(message), warn: (message) => lines.push(message) };
}

describe("session events", () => {
  it("calls every listener in the order added; one that throws or rejects is logged and the next still hears", async () => {
    const logger = recordingLogger();
    const events = new SessionEvents(logger);
    const heard: string[] = [];
    events.add(() => {
      heard.push("first");
      throw new Error("bug");
    });
    events.add(async () => {
      heard.push("second");
      await Promise.resolve();
      throw new Error("async bug");
    });
    events.add((event) => void heard.push(`third:${event.type}`));
    events.emit({ type: "open", session });
    assert.deepEqual(heard, ["first", "second", "third:open"]);
    await settle();
    assert.equal(logger.lines.length, 2);
    assert.ok(logger.lines.every((line) => line.includes('"open" of session s1')), logger.lines.join("\n"));
  });

  it("the returned function removes a listener; the same listener added twice is one", () => {
    const events = new SessionEvents(recordingLogger());
    const heard: SessionEvent[] = [];
    const listener = (event: SessionEvent): void => void heard.push(event);
    events.add(listener);
    const remove = events.add(listener);
    events.emit({ type: "resume", session, via: null });
    remove();
    events.emit({ type: "end", session, reason: { code: "bye", message: "bye" } });
    assert.deepEqual(heard.map((event) => event.type), ["resume"]);
  });

  it(`holds at most ${MAX_SESSION_LISTENERS} listeners (ERR_TOO_MANY_LISTENERS)`, () => {
    const events = new SessionEvents(recordingLogger());
    for (let i = 0; i < MAX_SESSION_LISTENERS; i++) events.add(() => undefined);
    assertThrowsCode(() => events.add(() => undefined), "ERR_TOO_MANY_LISTENERS", "one more", WirechanRangeError);
  });

  it("a protocol error's end reason: lost, server-closed, or error, with the error", () => {
    assert.equal(endReasonOf(new ProtocolError("ERR_SESSION_LOST", "x")).code, "lost");
    assert.equal(endReasonOf(new ProtocolError("ERR_SERVER_CLOSED", "x")).code, "server-closed");
    const error = new ProtocolError("ERR_CREDIT", "too many");
    assert.deepEqual(endReasonOf(error), { code: "error", message: "ERR_CREDIT: too many", error });
  });
});
