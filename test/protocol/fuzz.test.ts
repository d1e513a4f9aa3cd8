// Malformed input on every protocol endpoint, generated with fast-check: raw WebSocket
// messages (random text, random JSON, frames of the right kind with the wrong types, binary
// messages, hellos with a bad version, frames before the hello, sequence gaps), POST open and
// send bodies, and GET sse / poll with bad headers. Each case must be answered by the protocol
// (an error frame, a 4xx with an error packet, a closed link) and never by a crash, an
// unhandled rejection or a logged internal error; and the server must go on serving a
// well-behaved client afterwards.
import assert from "node:assert/strict";
import { after, before, describe, it, type TestContext } from "node:test";
import fc from "fast-check";
import { chan } from "../../src/csp/index.js";
import { connect } from "../../src/client/index.js";
import type { TransportName } from "../../src/client/transports.js";
import { createServer, type RemoteChannel, type ServerOptions, type WirechanServer } from "../../src/server/index.js";
import { parsePacket } from "../../src/wire/frames.js";
import { until } from "../helpers/async.js";
import {
  ERROR_CODES,
  errorCodeOf,
  type HttpAnswer,
  openHttpSession,
  PATH,
  RawSocket,
  request,
  send,
  sessionHeaders,
  type WireFrame,
  within,
} from "./security-wire.js";

const TEST = { timeout: 60_000 };
/** Runs per property: enough variety, and the whole file stays well under 30 s. */
const RUNS = 60;

// Crashes: whatever escapes the server's handlers lands here instead of ending the process.
const escaped: string[] = [];
const onRejection = (reason: unknown): void => void escaped.push(`unhandledRejection: ${String(reason)}`);
const onException = (error: unknown): void => void escaped.push(`uncaughtException: ${String(error)}`);
before(() => {
  process.on("unhandledRejection", onRejection);
  process.on("uncaughtException", onException);
});
after(() => {
  process.off("unhandledRejection", onRejection);
  process.off("uncaughtException", onException);
});

/**
 * Starts a server; collects what it logs with console.error (the server logs there only when
 * a handler failed in a way it did not expect) and checks, when the test ends, that nothing
 * escaped and nothing was logged.
 */
async function start(t: TestContext, options: ServerOptions = {}): Promise<{ server: WirechanServer; url: string; quiet: () => void }> {
  const logged: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void logged.push(args.map(String).join(" "));
  const server = createServer({ heartbeat: 1_000, heartbeatTimeout: 5_000, sessionTtl: 2_000, pollTimeout: 100, closeTimeout: 500, maxMessageSize: 16_384, ...options });
  server.channel<unknown>("sink", 64);
  const echo = server.channel<{ reply: RemoteChannel<unknown>; value: unknown }>("echo");
  void (async () => {
    for await (const message of echo) {
      if (typeof message === "object" && message !== null && typeof (message as { reply?: unknown }).reply === "object") {
        await message.reply.put(message.value);
      }
    }
  })();
  const handle = await server.listen();
  t.after(async () => {
    await handle.close();
    console.error = original;
  });
  const escapedBefore = escaped.length;
  const quiet = (): void => {
    assert.deepEqual(escaped.slice(escapedBefore), [], "no unhandled rejection or uncaught exception");
    assert.deepEqual(logged, [], "the server logged no internal error (console.error)");
  };
  return { server, url: handle.url, quiet };
}

/** A real client on each transport still gets through: a channel round trip via "echo". */
async function wellBehaved(t: TestContext, url: string): Promise<void> {
  for (const transport of ["websocket", "sse", "longpoll"] as TransportName[]) {
    const session = await within(connect(url, { transports: [transport], upgradeProbeInterval: 0, connectTimeout: 5_000 }), `a ${transport} client to connect`);
    t.after(() => session.close());
    const reply = chan<number>(1);
    void session.serverChan<unknown>("echo").put({ reply, value: 42 });
    assert.equal(await within(reply.take(), `the echo over ${transport}`), 42, `a ${transport} client is served after the fuzzing`);
    session.close();
  }
}

/** Every message the server sent is a packet the protocol's own validator accepts. */
function assertValidOutput(socket: RawSocket, what: string): void {
  assert.deepEqual(socket.malformed, [], `${what}: every message from the server is a JSON array of frames`);
  for (const text of socket.messages) {
    assert.doesNotThrow(() => parsePacket(JSON.parse(text)), `${what}: the server's packet ${text.slice(0, 200)} is valid`);
  }
  for (const frame of socket.frames) {
    if (frame[0] === "error") assert.ok(ERROR_CODES.has(frame[1] as string), `${what}: a known error code (got ${JSON.stringify(frame)})`);
  }
}

/**
 * Sends `messages` (after a hello when `withHello`), then a ping. The server must either
 * answer the ping (it judged the input harmless and goes on) or close the link having sent a
 * fatal error frame; `expect` then checks the fatal error's code (if any) and the outcome.
 */
async function wsCase(url: string, withHello: boolean, messages: Array<string | Uint8Array>, expect?: (code: string | undefined, alive: boolean) => void): Promise<void> {
  const socket = await RawSocket.connect(url);
  try {
    if (withHello) await socket.hello();
    for (const message of messages) {
      if (typeof message === "string") socket.sendText(message);
      else socket.sendBinary(message);
    }
    const alive = await socket.answersPing("probe");
    const what = `after ${JSON.stringify(messages.map((m) => (typeof m === "string" ? m.slice(0, 120) : `<${m.length} bytes>`)))}`;
    assertValidOutput(socket, what);
    const fatal = socket.frames.find((f) => f[0] === "error" && f[3] === 1);
    if (!alive) {
      const close = socket.closeInfo;
      assert.ok(fatal !== undefined || close?.code === 1009, `${what}: a closed link comes with a fatal error frame (close ${close?.code}; got ${socket.describe()})`);
    } else {
      assert.equal(fatal, undefined, `${what}: after a fatal error frame the server closes the link`);
    }
    expect?.(fatal?.[1] as string | undefined, alive);
  } finally {
    socket.terminate();
  }
}

// Generators.

const text = fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: "binary", maxLength: 200 }), fc.json({ maxDepth: 4 }));
const anyJson = fc.jsonValue({ maxDepth: 3 });
const heads = fc.constantFrom<unknown>("hello", "welcome", "ack", "ping", "pong", "error", "p", "a", "c", "r", "", "~c", 0, 1, 2, -1, 1.5, 1e21, null, true, [], {});
const parts = fc.oneof(
  anyJson,
  fc.constantFrom<unknown>("p", "a", "c", "r", "n:sink", "n:echo", "n:", "c.1", "s.x.1", "s.", { "~c": "c.1" }, { "~c": 5 }, { "~x": 1 }, { "~~c": "c.1" }, 0, 1, -1, 2 ** 53, 1e308, "1"),
);
/** Frames of any kind, with arguments of any type; never a bye (see the dedicated tests). */
const looseFrame = fc.tuple(heads, fc.array(parts, { maxLength: 4 })).map(([head, rest]) => [head, ...rest]);
/** Sequenced frames of a known op, numbered as the next frame, with arguments of the wrong types. */
const wrongTypes = fc.tuple(fc.constantFrom("p", "a", "c", "r"), fc.array(parts, { minLength: 0, maxLength: 4 })).map(([op, args]) => [1, op, ...args]);
const packet = fc.array(fc.oneof(looseFrame, wrongTypes, anyJson), { maxLength: 5 });
const noBye = (frames: unknown[]): boolean => !frames.some((f) => Array.isArray(f) && f[0] === "bye");

describe("fuzz: WebSocket messages", TEST, () => {
  it("random text as the first message gets an error frame and a closed link", async (t) => {
    const { url, server, quiet } = await start(t);
    await fc.assert(
      fc.asyncProperty(text, async (message) => {
        await wsCase(url, false, [message], (code, alive) => {
          assert.equal(alive, false, `${JSON.stringify(message)} is not a hello: the link closes`);
          assert.ok(code === "ERR_BAD_FRAME" || code === "ERR_NO_SESSION", `the code (got ${code})`);
        });
      }),
      { numRuns: RUNS },
    );
    assert.equal(server.sessionCount, 0, "no session was made");
    await wellBehaved(t, url);
    quiet();
  });

  it("random packets after the hello: harmless ones are served, the rest get a fatal error frame", async (t) => {
    const { url, quiet } = await start(t);
    await fc.assert(
      fc.asyncProperty(packet.filter(noBye), async (frames) => {
        await wsCase(url, true, [JSON.stringify(frames)]);
      }),
      { numRuns: RUNS * 2 },
    );
    await wellBehaved(t, url);
    quiet();
  });

  /**
   * Doubles that are not integers: a bound such as 2 (which fast-check favours) is a valid
   * sequence number or count, answered with another code than ERR_BAD_FRAME (a gap is
   * ERR_SEQUENCE), and failed a run at random.
   */
  const notInteger = (doubles: fc.Arbitrary<number>): fc.Arbitrary<number> => doubles.filter((x) => !Number.isInteger(x));

  it("sequenced frames of a known op with wrong argument types get ERR_BAD_FRAME", async (t) => {
    const { url, quiet } = await start(t);
    const badPut = fc.oneof(
      fc.tuple(fc.constant("p"), fc.oneof(fc.integer(), fc.constant(null), fc.array(fc.string(), { maxLength: 2 }), fc.string({ minLength: 1025, maxLength: 1100 })), anyJson).map(([op, target, value]) => [1, op, target, value]),
      fc.tuple(fc.constant("a"), fc.oneof(fc.constant(0), fc.constant(-1), notInteger(fc.double()), fc.string()), fc.constantFrom(1, 0)).map(([op, putSeq, ok]) => [1, op, putSeq, ok]),
      fc.tuple(fc.constant("a"), fc.integer({ min: 1, max: 100 }), fc.oneof(fc.constant(2), fc.constant(true), fc.constant("1"))).map(([op, putSeq, ok]) => [1, op, putSeq, ok]),
      fc.tuple(fc.constant("r"), fc.constant("c.1"), fc.oneof(fc.constant(0), fc.constant(-1), notInteger(fc.double({ min: 1.1, max: 5, noNaN: true })), fc.string())).map(([op, ref, count]) => [1, op, ref, count]),
      fc.tuple(fc.constantFrom("c", "r", "p", "a"), fc.array(fc.constant(1), { minLength: 5, maxLength: 8 })).map(([op, extra]) => [1, op, ...extra]),
      fc.oneof(fc.constant(0), fc.constant(-1), notInteger(fc.double({ min: 1.1, max: 2, noNaN: true })), fc.constant(2 ** 53)).map((seq) => [seq, "p", "n:sink", 1]),
      // The lazy flag is 1 or absent; anything else in its place is malformed.
      fc.tuple(anyJson, fc.oneof(fc.constant(0), fc.constant(2), fc.constant(true), fc.constant("1"), fc.constant(null), fc.constant([]), notInteger(fc.double()))).map(([value, flag]) => [1, "p", "n:sink", value, flag]),
    );
    await fc.assert(
      fc.asyncProperty(badPut, async (frame) => {
        await wsCase(url, true, [JSON.stringify([frame])], (code, alive) => {
          assert.equal(alive, false, `${JSON.stringify(frame)} is malformed: the link closes`);
          assert.equal(code, "ERR_BAD_FRAME", `${JSON.stringify(frame)}: the code`);
        });
      }),
      { numRuns: RUNS },
    );
    await wellBehaved(t, url);
    quiet();
  });

  it("values nested too deep get ERR_BAD_FRAME; shallower ones are delivered", async (t) => {
    const { url, quiet } = await start(t);
    const nest = (depth: number, leaf: unknown, asObjects: boolean): unknown => {
      let value = leaf;
      for (let i = 0; i < depth; i++) value = asObjects ? { k: value } : [value];
      return value;
    };
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.integer({ min: 1, max: 240 }), fc.integer({ min: 270, max: 2_000 })), fc.boolean(), async (depth, asObjects) => {
        await wsCase(url, true, [JSON.stringify([[1, "p", "n:nobody", nest(depth, 1, asObjects)]])], (code, alive) => {
          if (depth <= 240) assert.equal(alive, true, `a value ${depth} levels deep is fine`);
          else assert.equal(code, "ERR_BAD_FRAME", `a value ${depth} levels deep is refused`);
        });
      }),
      { numRuns: 30 },
    );
    await wellBehaved(t, url);
    quiet();
  });

  it("__proto__, constructor and prototype keys arrive as plain data and pollute nothing", async (t) => {
    const { url, server, quiet } = await start(t);
    const inspect = server.channel<unknown>("inspect", 8);
    const socket = await RawSocket.connect(url);
    t.after(() => socket.terminate());
    await socket.hello();
    const payloads = [
      '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}}}',
      '{"~~c":1,"__proto__":{"polluted":3}}',
      '[{"__proto__":{"polluted":4}},{"prototype":{"polluted":5}}]',
    ];
    for (const [i, payload] of payloads.entries()) {
      socket.sendText(`[[${i + 1},"p","n:inspect",${payload}]]`);
      const value = await within(inspect.take(), `the value ${payload}`);
      const first = (Array.isArray(value) ? value[0] : value) as Record<string, unknown>;
      assert.equal(Object.getPrototypeOf(first), Object.prototype, `${payload}: a plain object`);
      assert.ok(Object.prototype.hasOwnProperty.call(first, "__proto__"), `${payload}: __proto__ is an own data property`);
      assert.equal((({}) as Record<string, unknown>).polluted, undefined, `${payload}: Object.prototype is untouched`);
      assert.equal((first as { polluted?: unknown }).polluted, undefined, `${payload}: the value did not get a polluted prototype`);
    }
    assert.equal(await socket.answersPing("after-proto"), true, "the link goes on");
    quiet();
  });

  it("binary messages, before or after the hello, get ERR_BAD_FRAME", async (t) => {
    const { url, quiet } = await start(t);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 256 }), fc.boolean(), async (bytes, withHello) => {
        await wsCase(url, withHello, [bytes], (code, alive) => {
          assert.equal(alive, false, "a binary message closes the link");
          assert.equal(code, "ERR_BAD_FRAME", "the code");
        });
      }),
      { numRuns: RUNS },
    );
    await wellBehaved(t, url);
    quiet();
  });

  it("a hello with a bad version or a malformed body gets ERR_VERSION or ERR_BAD_FRAME, and no session", async (t) => {
    const { url, server, quiet } = await start(t);
    const goodBody = { sid: null, secret: null, recv: 0 };
    const badHello = fc.oneof(
      fc.integer().filter((v) => v !== 1).map((v) => ({ frame: ["hello", v, goodBody], code: "ERR_VERSION" })),
      fc.oneof(fc.double().filter((v) => !Number.isSafeInteger(v)), fc.string(), fc.constant(null), fc.constant("1")).map((v) => ({ frame: ["hello", v, goodBody], code: "ERR_BAD_FRAME" })),
      fc.oneof(fc.constant(null), fc.string(), fc.integer(), fc.array(anyJson, { maxLength: 2 })).map((body) => ({ frame: ["hello", 1, body], code: "ERR_BAD_FRAME" })),
      fc.oneof(fc.constant(-1), fc.double({ min: 0.1, max: 10, noNaN: true }).filter((v) => !Number.isInteger(v)), fc.constant("0"), fc.constant(2 ** 53), fc.constant(undefined)).map((recv) => ({ frame: ["hello", 1, { sid: null, secret: null, recv }], code: "ERR_BAD_FRAME" })),
      fc.oneof(fc.integer(), fc.string({ minLength: 65, maxLength: 80 }), fc.constant({})).map((sid) => ({ frame: ["hello", 1, { sid, secret: null, recv: 0 }], code: "ERR_BAD_FRAME" })),
      fc.constant({ frame: ["hello", 1, goodBody, "extra"], code: "ERR_BAD_FRAME" }),
      fc.constant({ frame: ["hello", 1], code: "ERR_BAD_FRAME" }),
    );
    await fc.assert(
      fc.asyncProperty(badHello, async ({ frame, code: expected }) => {
        await wsCase(url, false, [JSON.stringify([frame])], (code, alive) => {
          assert.equal(alive, false, `${JSON.stringify(frame)}: the link closes`);
          assert.equal(code, expected, `${JSON.stringify(frame)}: the code`);
        });
      }),
      { numRuns: RUNS },
    );
    assert.equal(server.sessionCount, 0, "no session was made");
    await wellBehaved(t, url);
    quiet();
  });

  it("frames before the hello get ERR_NO_SESSION, and no session", async (t) => {
    const { url, server, quiet } = await start(t);
    const early = fc.oneof(
      fc.constant<WireFrame>(["ping", 1]),
      fc.constant<WireFrame>(["pong", 1]),
      fc.constant<WireFrame>(["bye", "early"]),
      fc.constant<WireFrame>(["error", "ERR_BAD_FRAME", "x", 1]),
      fc.integer({ min: 1, max: 1_000 }).map((n): WireFrame => ["ack", n]),
      fc.integer({ min: 1, max: 1_000 }).map((n): WireFrame => [n, "p", "n:sink", n]),
      fc.constant<WireFrame>([1, "r", "s.x.1", 1]),
      fc.constant<WireFrame>(["welcome", 1, { sid: "x", secret: null, recv: 0, resumed: false, heartbeat: 1, window: 1, limits: { maxMessageSize: 1, maxChannels: 1 } }]),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(early, { minLength: 1, maxLength: 3 }), fc.boolean(), async (frames, thenHello) => {
        const packet = thenHello ? [...frames, ["hello", 1, { sid: null, secret: null, recv: 0 }]] : frames;
        await wsCase(url, false, [JSON.stringify(packet)], (code, alive) => {
          assert.equal(alive, false, `${JSON.stringify(packet)}: the link closes`);
          assert.equal(code, "ERR_NO_SESSION", `${JSON.stringify(packet)}: the code`);
        });
      }),
      { numRuns: RUNS },
    );
    assert.equal(server.sessionCount, 0, "no session was made");
    await wellBehaved(t, url);
    quiet();
  });

  it("sequence gaps and acknowledgements of frames never sent get ERR_SEQUENCE; duplicates are dropped", async (t) => {
    const { url, quiet } = await start(t);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 2 ** 40 }), fc.boolean(), async (n, asAck) => {
        const frame = asAck ? ["ack", n] : [n, "p", "n:sink", "gap"];
        await wsCase(url, true, [JSON.stringify([frame])], (code, alive) => {
          assert.equal(alive, false, `${JSON.stringify(frame)}: the link closes`);
          assert.equal(code, "ERR_SEQUENCE", `${JSON.stringify(frame)}: the code`);
        });
      }),
      { numRuns: RUNS },
    );
    // A frame sent twice (a replay) is delivered once and the link goes on.
    const socket = await RawSocket.connect(url);
    t.after(() => socket.terminate());
    await socket.hello();
    socket.send([[1, "p", "n:nobody", "once"]]);
    socket.send([[1, "p", "n:nobody", "once"]]);
    assert.equal(await socket.answersPing("after-duplicate"), true, "a duplicate is not an error");
    assert.equal(socket.sequenced("a").length, 1, "the duplicate was answered once");
    await wellBehaved(t, url);
    quiet();
  });
});

/** The refusal statuses of the protocol: each comes with an error packet. */
function assertProtocolAnswer(answer: HttpAnswer, what: string): void {
  assert.ok(answer.status < 500, `${what}: never a 5xx (got ${answer.status} ${answer.text.slice(0, 200)})`);
  if (answer.status >= 400) {
    const code = errorCodeOf(answer);
    assert.ok(code !== undefined && ERROR_CODES.has(code), `${what}: a ${answer.status} carries an error packet with a known code (got ${answer.text.slice(0, 200)})`);
  }
}

const bodies = fc.oneof(text, packet.map((frames) => JSON.stringify(frames)), fc.constantFrom("", "[]", "[[]]", "null", "{}", '[["hello"]]', '[["hello",1,{}]]'));

describe("fuzz: HTTP endpoints", TEST, () => {
  it("POST open with random bodies: a welcome for a valid hello, otherwise a 4xx with an error packet", async (t) => {
    const { url, quiet } = await start(t);
    const hellos = fc.oneof(
      bodies,
      fc.record({ sid: fc.oneof(fc.constant(null), fc.string({ maxLength: 30 })), secret: fc.oneof(fc.constant(null), fc.string({ maxLength: 30 })), recv: fc.oneof(fc.nat(), anyJson) }).map((body) => JSON.stringify([["hello", 1, body]])),
    );
    await fc.assert(
      fc.asyncProperty(hellos, async (body) => {
        const answer = await request(url, `${PATH}/open`, { method: "POST", headers: { "content-type": "application/json" }, body });
        assertProtocolAnswer(answer, `POST open ${body.slice(0, 120)}`);
        if (answer.status === 200) {
          const frames = parsePacket(answer.json);
          assert.equal(frames[0]?.kind, "welcome", `a 200 answer is a welcome (got ${answer.text})`);
        } else {
          assert.ok(answer.status >= 400, `otherwise a refusal (got ${answer.status})`);
        }
      }),
      { numRuns: RUNS },
    );
    await wellBehaved(t, url);
    quiet();
  });

  it("POST send with random bodies: an ack, or a 4xx with an error packet", async (t) => {
    const { url, quiet } = await start(t);
    await fc.assert(
      fc.asyncProperty(fc.oneof(bodies, packet.filter(noBye).map((frames) => JSON.stringify(frames))), async (body) => {
        const session = await openHttpSession(url);
        const answer = await send(url, sessionHeaders(session), body);
        assertProtocolAnswer(answer, `POST send ${body.slice(0, 120)}`);
        if (answer.status === 200) {
          // An acknowledgement of what arrived, or nothing when no sequenced frame did yet.
          let frames: ReturnType<typeof parsePacket> = [];
          assert.doesNotThrow(() => (frames = parsePacket(answer.json)), `a 200 answer is a valid packet (got ${answer.text})`);
          assert.ok(frames.length <= 1 && frames.every((f) => f.kind === "ack"), `a 200 answer holds at most one ack (got ${answer.text})`);
        }
      }),
      { numRuns: RUNS },
    );
    await wellBehaved(t, url);
    quiet();
  });

  it("GET sse and poll with bad session headers are refused 410", async (t) => {
    const { url, quiet } = await start(t);
    const real = await openHttpSession(url);
    const headerText = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 });
    const headers = fc.record(
      {
        sid: fc.oneof(headerText, fc.constant(real.sid)),
        secret: fc.oneof(headerText, fc.constant(real.sid), fc.constant(`${real.secret}x`), fc.constant(real.secret.slice(1))),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(headers, fc.constantFrom("sse", "poll"), async ({ sid, secret }, endpoint) => {
        const sent: Record<string, string> = { "x-wirechan-recv": "0", accept: endpoint === "sse" ? "text/event-stream" : "application/json" };
        if (sid !== undefined) sent["x-wirechan-session"] = sid;
        if (secret !== undefined) sent["x-wirechan-secret"] = secret;
        const answer = await request(url, `${PATH}/${endpoint}`, { headers: sent });
        assert.equal(answer.status, 410, `${endpoint} with ${JSON.stringify(sent)}: 410 (got ${answer.status} ${answer.text.slice(0, 200)})`);
        assertProtocolAnswer(answer, `${endpoint} with ${JSON.stringify(sent)}`);
      }),
      { numRuns: RUNS },
    );
    await wellBehaved(t, url);
    quiet();
  });

  it("GET sse and poll with a bad X-Wirechan-Recv are refused 400 ERR_BAD_FRAME and the session goes on", async (t) => {
    const { url, quiet } = await start(t);
    const recvs = fc.oneof(
      fc.constantFrom("-1", "abc", "1e400", "NaN", "Infinity", "-Infinity", "1.5", "9007199254740993", "1e16", "-0.5", "one", "1,2", "0x"),
      fc.string({ unit: fc.constantFrom("a", "-", ".", "e", "x", "/", "%", "!"), minLength: 1, maxLength: 10 }),
      fc.double({ noNaN: true }).filter((d) => !Number.isSafeInteger(d) || d < 0).map(String),
    );
    await fc.assert(
      fc.asyncProperty(recvs, fc.constantFrom("sse", "poll"), async (recv, endpoint) => {
        const session = await openHttpSession(url);
        const answer = await request(url, `${PATH}/${endpoint}`, {
          headers: sessionHeaders(session, { "x-wirechan-recv": recv, accept: endpoint === "sse" ? "text/event-stream" : "application/json" }),
        });
        assert.equal(answer.status, 400, `${endpoint} with X-Wirechan-Recv ${JSON.stringify(recv)}: 400 (got ${answer.status} ${answer.text.slice(0, 200)})`);
        assert.equal(errorCodeOf(answer), "ERR_BAD_FRAME", `${endpoint} with X-Wirechan-Recv ${JSON.stringify(recv)}: the code`);
        const after = await send(url, sessionHeaders(session), [[1, "p", "n:nobody", 1]]);
        assert.deepEqual(after.json, [["ack", 1]], `the session goes on after a refused ${endpoint} (got ${after.status} ${after.text})`);
      }),
      { numRuns: RUNS },
    );
    await wellBehaved(t, url);
    quiet();
  });

  it("requests with the wrong method or transport get a 4xx with an error packet", async (t) => {
    const { url, quiet } = await start(t);
    const cases: Array<[string, RequestInit]> = [
      [PATH, {}],
      [PATH, { method: "POST", body: "[]" }],
      [`${PATH}/open`, {}],
      [`${PATH}/send`, {}],
      [`${PATH}/send`, { method: "PUT", body: "[]" }],
      [`${PATH}/sse`, { headers: { accept: "application/json" } }],
    ];
    for (const [path, init] of cases) {
      const answer = await request(url, path, init);
      assert.ok(answer.status >= 400 && answer.status < 500, `${init.method ?? "GET"} ${path}: a 4xx (got ${answer.status})`);
      assertProtocolAnswer(answer, `${init.method ?? "GET"} ${path}`);
    }
    await wellBehaved(t, url);
    quiet();
  });
});

describe("answers and ends that a client can rely on", TEST, () => {
  it("every answer to POST send is a packet the protocol's validator accepts, even for a packet without sequenced frames", async (t) => {
    const { url, quiet } = await start(t);
    const bodies: WireFrame[][] = [[], [["ping", 1]], [["pong", 1]], [[1, "p", "n:nobody", 1]]];
    for (const body of bodies) {
      const session = await openHttpSession(url);
      const answer = await send(url, sessionHeaders(session), body);
      assert.equal(answer.status, 200, `send ${JSON.stringify(body)}: 200`);
      assert.doesNotThrow(
        () => parsePacket(answer.json),
        `send ${JSON.stringify(body)}: the answer ${answer.text} must be a valid packet (the client reads it with the same validator; an ack needs a positive number)`,
      );
    }
    quiet();
  });

  it("an idle SSE or long-polling client stays open across the server's heartbeats", async (t) => {
    const { url, quiet } = await start(t, { heartbeat: 50, heartbeatTimeout: 5_000 });
    for (const transport of ["sse", "longpoll"] as TransportName[]) {
      const session = await connect(url, { transports: [transport], upgradeProbeInterval: 0, connectTimeout: 5_000 });
      t.after(() => session.close());
      const states: string[] = [];
      session.onState((change) => states.push(`${change.state}${change.error === undefined ? "" : ` (${change.error.code}: ${change.error.message})`}`));
      // Several server pings, each answered with a pong POSTed upstream.
      await new Promise((resolve) => setTimeout(resolve, 400));
      assert.deepEqual(states, [], `an idle ${transport} client changes no state`);
      assert.equal(session.state, "open", `an idle ${transport} client stays open`);
    }
    quiet();
  });

  it("after a bye the server closes the WebSocket it came on", async (t) => {
    const { url, server, quiet } = await start(t);
    const socket = await RawSocket.connect(url);
    t.after(() => socket.terminate());
    await socket.hello();
    socket.send([["bye", "done"]]);
    await until(() => server.sessionCount === 0, "the session to end");
    const alive = await socket.answersPing("after-bye", 1_500);
    assert.equal(alive, false, `the link of an ended session closes instead of ignoring what comes (got ${socket.describe()})`);
    quiet();
  });

  it("after a bye the server ends the session's SSE stream", async (t) => {
    const { url, server, quiet } = await start(t);
    const session = await openHttpSession(url);
    const abort = new AbortController();
    t.after(() => abort.abort());
    const stream = await fetch(`${url}${PATH}/sse`, { headers: sessionHeaders(session, { accept: "text/event-stream", "x-wirechan-recv": "0" }), signal: abort.signal });
    assert.equal(stream.status, 200, "the stream opened");
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    await send(url, sessionHeaders(session), [["bye", "done"]]);
    await until(() => server.sessionCount === 0, "the session to end");
    const ended = (async () => {
      for (;;) if ((await reader.read()).done) return true;
    })().catch(() => true);
    assert.equal(await within(ended, "the SSE stream of the ended session to end", 1_500).catch(() => false), true, "the SSE stream of an ended session ends");
    quiet();
  });

  it("a poll or SSE request without X-Wirechan-Recv loses no frame of the session", async (t) => {
    const { url, quiet } = await start(t);
    for (const endpoint of ["poll", "sse"]) {
      const session = await openHttpSession(url);
      // Three puts to a name nobody registered: the server answers each with ["a", n, 0].
      const posted = await send(url, sessionHeaders(session), [1, 2, 3].map((n) => [n, "p", "n:nobody", n]));
      assert.deepEqual(posted.json, [["ack", 3]], "the server received three frames");
      const abort = new AbortController();
      t.after(() => abort.abort());
      const response = await fetch(`${url}${PATH}/${endpoint}`, {
        headers: sessionHeaders(session, { accept: endpoint === "sse" ? "text/event-stream" : "application/json" }),
        signal: abort.signal,
      });
      let body = "";
      if (response.status === 200) {
        const reader = (response.body as ReadableStream<Uint8Array>).getReader();
        const decoder = new TextDecoder();
        const read = (async () => {
          while (!/"a",3,0/.test(body)) {
            const { done, value } = await reader.read();
            if (done) return;
            body += decoder.decode(value, { stream: true });
          }
        })().catch(() => undefined);
        await within(read, `the ${endpoint} answer`, 2_000).catch(() => undefined);
        abort.abort();
      } else {
        body = await response.text();
      }
      const answered = [1, 2, 3].filter((n) => new RegExp(`"a",${n},0`).test(body));
      assert.ok(
        (response.status === 400 && /ERR_BAD_FRAME/.test(body)) || answered.length === 3,
        `${endpoint} without X-Wirechan-Recv must either be refused (400) or send the three answers the client never received; ` +
          `got ${response.status} with answers to ${JSON.stringify(answered)}: ${body.slice(0, 300)}`,
      );
    }
    quiet();
  });
});
