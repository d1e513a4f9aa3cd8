// Which failures of a link end the session and which a reconnect can pass: the server's error
// packets by their code, HTTP statuses without one, WebSocket close codes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PROTOCOL_ERROR_CODES, type ProtocolErrorCode } from "../../src/csp/errors.js";
import { closeRefusal, endsSession, httpRefusal, sessionGone } from "../../src/client/refusals.js";
import { refusalPacket } from "../../src/wire/handshake.js";
import { ProtocolError } from "../../src/wire/protocol-error.js";
import { SLOW_CONSUMER_CLOSE_CODE } from "../../src/wire/protocol.js";

const TRANSIENT = ["ERR_TOO_MANY_CONNECTIONS", "ERR_UNAVAILABLE", "ERR_TOO_MANY_SESSIONS", "ERR_RATE_LIMITED", "ERR_HANDSHAKE_TIMEOUT", "ERR_BODY_TIMEOUT"];

describe("refusals", () => {
  it("a refusal ends the session unless a later try can pass it (a busy server, a slow network)", () => {
    for (const code of PROTOCOL_ERROR_CODES) {
      const error = new ProtocolError(code as ProtocolErrorCode, "refused");
      assert.equal(endsSession(error), !TRANSIENT.includes(code), code);
    }
    for (const code of ["ERR_SESSION_LOST", "ERR_NO_SESSION", "ERR_SERVER_CLOSED"] as const) assert.equal(sessionGone(new ProtocolError(code, "gone")), true, code);
    for (const code of ["ERR_UNAUTHORIZED", "ERR_MESSAGE_TOO_LARGE"] as const) assert.equal(sessionGone(new ProtocolError(code, "refused")), false, code);
  });

  it("an HTTP answer with an error packet is read by its code, whatever its status", () => {
    const refused = httpRefusal(503, refusalPacket(new ProtocolError("ERR_TOO_MANY_CONNECTIONS", "full")));
    assert.equal(refused?.code, "ERR_TOO_MANY_CONNECTIONS");
    assert.equal(httpRefusal(400, refusalPacket(new ProtocolError("ERR_BAD_FRAME", "bad")))?.code, "ERR_BAD_FRAME");
    assert.equal(httpRefusal(400, '[["error","ERR_MADE_UP","x",1]]')?.code, "ERR_PROTOCOL", "a code this version does not know is checked, never cast");
  });

  it("without one, only 401, 403, 410 and 413 are refusals; a 408 never is", () => {
    assert.equal(httpRefusal(413, "<html>Request Entity Too Large</html>")?.code, "ERR_MESSAGE_TOO_LARGE");
    assert.equal(httpRefusal(401, "")?.code, "ERR_UNAUTHORIZED");
    assert.equal(httpRefusal(403, "origin not allowed")?.code, "ERR_UNAUTHORIZED");
    assert.equal(httpRefusal(410, "")?.code, "ERR_SESSION_LOST");
    for (const status of [400, 404, 429, 500, 502, 503, 504]) assert.equal(httpRefusal(status, "try later"), null, String(status));
    assert.equal(httpRefusal(408, refusalPacket(new ProtocolError("ERR_BAD_FRAME", "the body did not arrive in time"))), null, "a timeout, even with a packet");
  });

  it("WebSocket close codes: 1009 is ERR_MESSAGE_TOO_LARGE, 1002, 1003 and 1007 ERR_BAD_FRAME, the others reconnect", () => {
    assert.equal(closeRefusal(1009, "")?.code, "ERR_MESSAGE_TOO_LARGE");
    for (const code of [1002, 1003, 1007]) assert.equal(closeRefusal(code, "")?.code, "ERR_BAD_FRAME", String(code));
    for (const code of [1000, 1001, 1006, 1008, 1011, 1012, 4000, SLOW_CONSUMER_CLOSE_CODE]) assert.equal(closeRefusal(code, ""), null, String(code));
  });
});
