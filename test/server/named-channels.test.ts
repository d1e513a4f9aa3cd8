// A server's named channels, without a server: made, refused, and resolved per session.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { NamedChannels } from "../../src/server/protocol/named-channels.js";
import type { SessionInfo } from "../../src/server/index.js";
import { assertThrowsCode } from "../helpers/errors.js";

const session: SessionInfo = { id: "s1", principal: "ann", transport: "websocket", address: "127.0.0.1" };

describe("NamedChannels", () => {
  it("resolves a plain channel to one shared target, and an unknown name to undefined", () => {
    const named = new NamedChannels();
    const chat = named.channel<string>("chat", 4);
    const target = named.resolve("chat", session);
    assert.equal(target?.channel, chat);
    assert.equal(target?.wrap, undefined);
    assert.equal(named.resolve("chat", { ...session, id: "s2" }), target, "the same object for every put");
    assert.equal(named.resolve("nope", session), undefined);
    assert.equal(named.size, 1);
  });

  it("wraps each value of an envelope channel with the session that put it", () => {
    const named = new NamedChannels();
    const inbox = named.channel<number>("inbox", { envelope: true, buffer: 2 });
    const target = named.resolve("inbox", session);
    assert.equal(target?.channel, inbox);
    assert.deepEqual(target?.wrap?.(7), { value: 7, session });
  });

  it("refuses empty, too long and taken names with ERR_CHANNEL_NAME", () => {
    const named = new NamedChannels();
    named.channel("taken");
    assertThrowsCode(() => named.channel(""), "ERR_CHANNEL_NAME", "empty", TypeError);
    assertThrowsCode(() => named.channel("x".repeat(257)), "ERR_CHANNEL_NAME", "too long", TypeError);
    assertThrowsCode(() => named.channel("taken"), "ERR_CHANNEL_NAME", "taken", TypeError);
    assert.doesNotThrow(() => named.channel("x".repeat(256)));
  });
});
