// The one mapping from an error thrown while serving to the answer, plain and protocol.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BodyAbortedError, BodyConsumedError, BodyTimeoutError, PayloadTooLargeError, ProtocolError } from "../../src/server/index.js";
import { errorResponse, protocolRefusal, protocolStatusOf, statusOfProtocolError } from "../../src/server/error-response.js";
import type { Logger } from "../../src/session/logger.js";

/** A logger that keeps what it is given. */
class RecordingLogger implements Logger {
  readonly lines: Array<{ level: "error" | "warn"; message: string; detail: unknown }> = [];
  error(message: string, error?: unknown): void {
    this.lines.push({ level: "error", message, detail: error });
  }
  warn(message: string, detail?: unknown): void {
    this.lines.push({ level: "warn", message, detail });
  }
}

function packetOf(body: unknown): unknown[] {
  assert.equal(typeof body, "string");
  const packet = JSON.parse(body as string) as unknown[][];
  assert.equal(packet.length, 1);
  return packet[0] as unknown[];
}

describe("errorResponse", () => {
  it("plain: 413 and 408 close the connection, 400 for a cut body, none of them logged", () => {
    const logger = new RecordingLogger();
    const plain = { protocol: false, logger };
    assert.deepEqual(errorResponse(new PayloadTooLargeError(10), plain), { status: 413, headers: { connection: "close" }, body: new PayloadTooLargeError(10).message });
    assert.deepEqual(errorResponse(new BodyTimeoutError(300), plain), { status: 408, headers: { connection: "close" }, body: new BodyTimeoutError(300).message });
    assert.deepEqual(errorResponse(new BodyAbortedError(), plain), { status: 400, headers: {}, body: new BodyAbortedError().message });
    assert.deepEqual(logger.lines, []);
  });

  it("plain: anything else is a 500 that says nothing of the error, and is logged", () => {
    const logger = new RecordingLogger();
    const boom = new Error("secret detail");
    assert.deepEqual(errorResponse(boom, { protocol: false, logger }), { status: 500, body: "internal server error" });
    assert.deepEqual(logger.lines, [{ level: "error", message: "a handler threw:", detail: boom }]);
    const consumed = new BodyConsumedError();
    errorResponse(consumed, { protocol: false, logger });
    assert.equal(logger.lines[1]?.detail, consumed, "a misconfiguration is reported");
  });

  it("protocol: error packets, with the status of each case", () => {
    const logger = new RecordingLogger();
    const protocol = { protocol: true, logger };
    const tooLarge = errorResponse(new PayloadTooLargeError(10), protocol);
    assert.equal(tooLarge.status, 413);
    assert.equal(tooLarge.headers?.["connection"], "close");
    assert.match(String(tooLarge.headers?.["content-type"]), /^application\/json/);
    assert.deepEqual(packetOf(tooLarge.body).slice(0, 2), ["error", "ERR_MESSAGE_TOO_LARGE"]);
    const slow = errorResponse(new BodyTimeoutError(300), protocol);
    assert.equal(slow.status, 408);
    assert.deepEqual(packetOf(slow.body).slice(0, 2), ["error", "ERR_BODY_TIMEOUT"]);
    assert.equal(errorResponse(new BodyAbortedError(), protocol).status, 400);
    assert.equal(logger.lines.length, 0, "nothing logged");
    const failed = errorResponse(new Error("secret detail"), protocol);
    assert.equal(failed.status, 500);
    assert.deepEqual(packetOf(failed.body), ["error", "ERR_BAD_FRAME", "the server could not handle the request", 1]);
    assert.equal(logger.lines[0]?.message, "a protocol request failed:");
  });

  it("a ProtocolError is its status and its packet, for either kind of request", () => {
    const logger = new RecordingLogger();
    for (const protocol of [true, false]) {
      const answer = errorResponse(new ProtocolError("ERR_UNAUTHORIZED", "no"), { protocol, logger });
      assert.equal(answer.status, 401);
      assert.deepEqual(packetOf(answer.body), ["error", "ERR_UNAUTHORIZED", "no", 1]);
    }
    assert.equal(errorResponse(new ProtocolError("ERR_SEQUENCE", "gap"), { protocol: true, logger }).status, 400, "a code without a status is 400");
    assert.deepEqual(logger.lines, []);
  });
});

describe("protocolStatusOf and protocolRefusal", () => {
  it("give each refusal code its status, 400 otherwise", () => {
    assert.equal(protocolStatusOf.ERR_TOO_MANY_CONNECTIONS, 503);
    assert.equal(statusOfProtocolError(new ProtocolError("ERR_HOST", "x")), 403);
    assert.equal(statusOfProtocolError(new ProtocolError("ERR_BAD_FRAME", "x")), 400);
    const refusal = protocolRefusal(new ProtocolError("ERR_SERVER_CLOSED", "bye"), undefined, { "retry-after": "5" });
    assert.equal(refusal.status, 503);
    assert.equal(refusal.headers?.["retry-after"], "5");
    assert.deepEqual(packetOf(refusal.body), ["error", "ERR_SERVER_CLOSED", "bye", 1]);
  });
});
