// What the codec suite encodes and decodes, and the loop that times it. Pure: the same module
// runs in Node (run.ts) and, bundled by esbuild, in Chromium (page.ts), each with its own clock
// and its own codecs (codecs.ts: what a message is differs, a Buffer in Node, text there).

/** A codec as the suite times it: a packet through one message and back, and that message's size. */
export interface WireCodec {
  readonly name: string;
  /** The packet encoded into one message and decoded back. */
  through(packet: unknown): unknown;
  /** The UTF-8 size of the packet's message, in bytes. */
  size(packet: unknown): number;
}

/**
 * A codec from its two halves, as a transport would use them. A message is bytes, or text where
 * the platform's transport turns text into UTF-8 itself, out of reach of a page's clock (a
 * browser's WebSocket and EventSource).
 */
export function wireCodec<M extends Uint8Array | string>(name: string, encode: (packet: unknown) => M, decode: (message: M) => unknown): WireCodec {
  return {
    name,
    through: (packet) => decode(encode(packet)),
    size(packet) {
      const message = encode(packet);
      return typeof message === "string" ? new TextEncoder().encode(message).byteLength : message.byteLength;
    },
  };
}

export interface CodecCase {
  readonly name: string;
  /** What the packet is, for the README. */
  readonly about: string;
  /** The packet for iteration `i`: its sequence numbers (and so its size) move as a session's do. */
  packet(i: number): unknown;
  /** A number read back from the decoded packet, checked against `expected(i)` so nothing is optimised away. */
  check(decoded: unknown): number;
  expected(i: number): number;
}

type Frames = readonly (readonly unknown[])[];

/** Text in several scripts, so a UTF-8 codec meets 1-, 2-, 3- and 4-byte characters. */
const SCRIPTS = ["channels that cross the wire", "каналы через сеть", "跨越网络的通道", "قنوات عبر الشبكة", "🛰️📡✨"];

/** A record of about a kilobyte of UTF-8: twelve keys, text in every script above, numbers and a flag. */
function record(n: number): Record<string, unknown> {
  const out: Record<string, unknown> = { id: `reading-${n}`, ts: 1_765_000_000_000 + n, ok: n % 2 === 0 };
  for (let k = 0; k < 9; k++) out[`field${k}`] = { text: SCRIPTS[k % SCRIPTS.length], value: n * k + 0.5, tags: ["a", "bb"] };
  return out;
}

const frameAt = (decoded: unknown, index: number): readonly unknown[] => (decoded as Frames)[index] ?? [];

export const CASES: readonly CodecCase[] = [
  {
    name: "echo-client",
    about:
      "the client's packet of an echo round trip: the answer to the server's last put and the next put, whose value holds a channel reference: `[[s, \"a\", s - 1, 1], [s + 1, \"p\", \"n:echo\", { reply: { \"~c\": \"c.1\" }, n }]]`",
    packet: (i) => [
      [2 * i + 1, "a", 2 * i, 1],
      [2 * i + 2, "p", "n:echo", { reply: { "~c": "c.1" }, n: i }],
    ],
    check: (decoded) => (frameAt(decoded, 1)[3] as { n: number }).n,
    expected: (i) => i,
  },
  {
    name: "echo-server",
    about: "the server's packet of the same round trip: the answer to the client's put and the reply's put: `[[t, \"a\", s + 1, 1], [t + 1, \"p\", \"c.1\", n]]`",
    packet: (i) => [
      [2 * i + 1, "a", 2 * i + 2, 1],
      [2 * i + 2, "p", "c.1", i],
    ],
    check: (decoded) => frameAt(decoded, 1)[3] as number,
    expected: (i) => i,
  },
  {
    name: "chat-line",
    about: "a topic's delivery of a chat line (about 100 bytes of JSON): `[[s, \"p\", \"c.7\", { say: { id, nick, text } }]]`",
    packet: (i) => [[i + 1, "p", "c.7", { say: { id: `m-${i}`, nick: "ana", text: "a line of about a hundred bytes, as the chat sends" } }]],
    check: (decoded) => frameAt(decoded, 0)[0] as number,
    expected: (i) => i + 1,
  },
  {
    name: "record-1k",
    about: "a put of a record of about 1 KB of UTF-8 (nested objects, numbers, text in Latin, Cyrillic, Chinese, Arabic and emoji)",
    packet: (i) => [[i + 1, "p", "c.9", record(i)]],
    check: (decoded) => (frameAt(decoded, 0)[3] as { ts: number }).ts - 1_765_000_000_000,
    expected: (i) => i,
  },
];

export interface CaseTiming {
  /** Nanoseconds per packet, encoded and decoded. */
  readonly ns: number;
  /** The message's size in UTF-8 bytes (of packet 1000: sizes move with the digits of its numbers). */
  readonly bytes: number;
}

/**
 * Encodes and decodes `iterations` packets of `spec` with `codec`, after `iterations / 10`
 * untimed ones, and gives the time per packet on `now` (ms). Throws when a packet does not
 * come back as it went.
 */
export function timeCase(codec: WireCodec, spec: CodecCase, iterations: number, now: () => number): CaseTiming {
  const warmUp = Math.max(1, Math.floor(iterations / 10));
  for (let i = 0; i < warmUp; i++) roundTrip(codec, spec, i);
  const started = now();
  for (let i = 0; i < iterations; i++) roundTrip(codec, spec, i);
  const ns = ((now() - started) * 1e6) / iterations;
  return { ns, bytes: codec.size(spec.packet(1000)) };
}

function roundTrip(codec: WireCodec, spec: CodecCase, i: number): void {
  const got = spec.check(codec.through(spec.packet(i)));
  if (got !== spec.expected(i)) throw new Error(`${codec.name} gave ${got} for packet ${i} of ${spec.name}, not ${spec.expected(i)}`);
}

/** One round: every case with every codec, the codecs' order rotated by `round` so neither always runs first. */
export function timeRound(codecs: readonly WireCodec[], iterations: number, round: number, now: () => number): Record<string, Record<string, CaseTiming>> {
  const out: Record<string, Record<string, CaseTiming>> = {};
  for (const spec of CASES) {
    const byCodec: Record<string, CaseTiming> = {};
    for (let k = 0; k < codecs.length; k++) {
      const codec = codecs[(k + round) % codecs.length] as WireCodec;
      byCodec[codec.name] = timeCase(codec, spec, iterations, now);
    }
    out[spec.name] = byCodec;
  }
  return out;
}
