// The codec suite's README.md and headline numbers, from its rounds (run.ts).
import { readSuiteResults, headline, type Headline, writtenBy } from "../shared/results.js";
import { machineLines, type MachineInfo } from "../shared/machine.js";
import { median } from "../shared/stats.js";
import { markdownTable } from "../shared/tables.js";
import { TARGETS } from "../protocol/config.js";
import { CASES, type CaseTiming } from "./cases.js";

export interface PlatformRounds {
  readonly platform: "Node" | "Chromium";
  /** Per round: case name → codec name → timing. */
  readonly rounds: readonly Readonly<Record<string, Readonly<Record<string, CaseTiming>>>>[];
}

export interface CodecReportInput {
  readonly machine: MachineInfo;
  readonly commit: string;
  readonly options: { readonly rounds: number; readonly iterations: number };
  readonly platforms: readonly PlatformRounds[];
  readonly msgpackr: string;
  readonly chromium: string;
  readonly durationMs: number;
}

const CODECS = ["json", "msgpackr"] as const;
/** The two packets of an echo round trip: each is encoded once and decoded once per round trip. */
const ECHO = ["echo-client", "echo-server"] as const;
/** bench:protocol's target for the echo's p50: at most this many times raw ws's. */
const RTT_TARGET = TARGETS.wsRttVsRawWs;

function timings(p: PlatformRounds, spec: string, codec: string): CaseTiming[] {
  return p.rounds.map((round) => {
    const t = round[spec]?.[codec];
    if (t === undefined) throw new Error(`${p.platform}: no timing of ${codec} for ${spec}`);
    return t;
  });
}

function medianNs(p: PlatformRounds, spec: string, codec: string): number {
  return median(timings(p, spec, codec).map((t) => t.ns));
}

/** Nanoseconds for both packets of an echo round trip, each encoded and decoded once. */
function echoNs(p: PlatformRounds, codec: string): number {
  return ECHO.reduce((sum, spec) => sum + medianNs(p, spec, codec), 0);
}

function caseTable(p: PlatformRounds): string {
  const rows = CASES.map((spec) => {
    const [json, pack] = CODECS.map((codec) => timings(p, spec.name, codec));
    const cell = (ts: readonly CaseTiming[] = []): string => {
      const ns = ts.map((t) => t.ns);
      return `${median(ns).toFixed(0)} (${Math.min(...ns).toFixed(0)}–${Math.max(...ns).toFixed(0)})`;
    };
    return [
      spec.name,
      cell(json),
      cell(pack),
      `${(medianNs(p, spec.name, "json") / medianNs(p, spec.name, "msgpackr")).toFixed(2)}x`,
      String(json?.[0]?.bytes ?? "—"),
      String(pack?.[0]?.bytes ?? "—"),
    ];
  });
  return markdownTable(["packet", "JSON ns (min–max)", "msgpackr ns (min–max)", "JSON / msgpackr", "JSON bytes", "msgpackr bytes"], rows, 1);
}

/** The echo's one-core p50 and raw ws's from bench/protocol/results.json, when it has them. */
function protocolGap(repoRoot: string): { wirechanMs: number; rawMs: number; commit: string } | null {
  const results = readSuiteResults(`${repoRoot}/bench/protocol/results.json`);
  const row = results?.headlines.find((h) => h.id === "rtt-p50-ws-one-core");
  const raw = row?.peers.find((p) => p.peer === "raw ws")?.value;
  if (results === null || row?.wirechan == null || raw == null) return null;
  return { wirechanMs: row.wirechan, rawMs: raw, commit: results.stamp.commit };
}

/** "1.25 µs less" or "0.37 µs more": what msgpackr costs against JSON for an echo's two packets. */
function echoDifference(p: PlatformRounds): string {
  const us = (echoNs(p, "msgpackr") - echoNs(p, "json")) / 1000;
  return `${Math.abs(us).toFixed(2)} µs ${us <= 0 ? "less" : "more"}`;
}

function verdict(input: CodecReportInput, repoRoot: string): string {
  const node = input.platforms.find((p) => p.platform === "Node");
  const chromium = input.platforms.find((p) => p.platform === "Chromium");
  if (node === undefined || chromium === undefined) return "";
  const savedInNode = (echoNs(node, "json") - echoNs(node, "msgpackr")) / 1000;
  const gap = protocolGap(repoRoot);
  const gapUs = gap === null ? null : (gap.wirechanMs - RTT_TARGET * gap.rawMs) * 1000;
  const browserWins = echoNs(chromium, "msgpackr") < echoNs(chromium, "json");
  const share =
    gap === null || gapUs === null
      ? "bench/protocol/results.json has no one-core p50 to set that against."
      : gapUs <= 0
        ? `bench:protocol's last committed run (${gap.commit}) met the one-core target without it.`
        : `bench:protocol's last committed run (${gap.commit}) has wirechan's one-core echo p50 ${gapUs.toFixed(1)} µs above ${RTT_TARGET}x raw ws's (on one core a round trip is the CPU work of both sides): what msgpackr would save in Node is ${((100 * Math.max(0, savedInNode)) / gapUs).toFixed(0)}% of that gap.`;
  return `## What it means

An echo round trip (bench:protocol) encodes and decodes each of its two packets once. With
msgpackr it would take ${echoDifference(node)} of CPU in Node (both sides together) and ${echoDifference(chromium)} in Chromium
than with JSON. ${share}

So a compact codec does not close issue 12's item 2, and JSON stays the default. The issue keeps
JSON unless the other codec wins in the browser too, and ${browserWins ? "even where msgpackr wins in Chromium, what it saves is a small share of a round trip" : "in Chromium it does not: V8's JSON.parse and JSON.stringify are native code, msgpackr is JavaScript"}.
A binary codec would also cost: every transport but WebSocket carries text (SSE events and long-poll
bodies; binary there needs base64, a third more bytes), the packets would no longer read in a
browser's network panel or with curl, and the browser bundle would carry msgpackr's decoder. The
\`Codec\` seam (src/wire/codec.ts) takes text; a binary codec needs it to take bytes and the HTTP
transports to frame them. msgpackr's messages are smaller (the bytes columns): a deployment that
pays for bandwidth on WebSocket could want it there, once the seam takes bytes.
`;
}

/** The largest JSON message of the cases, in bytes. */
function maxJsonBytes(input: CodecReportInput): number {
  return Math.max(...input.platforms.flatMap((p) => CASES.map((spec) => timings(p, spec.name, "json")[0]?.bytes ?? 0)));
}

/** The shortest median timing of a platform's cases, in ms: what its clock's resolution is set against. */
function shortestMs(input: CodecReportInput, platform: PlatformRounds["platform"]): number {
  const p = input.platforms.find((x) => x.platform === platform);
  if (p === undefined) return Number.NaN;
  const medians = CASES.flatMap((spec) => CODECS.map((codec) => medianNs(p, spec.name, codec)));
  return (Math.min(...medians) * input.options.iterations) / 1e6;
}

export function codecReadme(input: CodecReportInput, repoRoot: string): string {
  const sections = input.platforms.map((p) => `### ${p.platform}\n\n${caseTable(p)}`);
  return `# wirechan codec benchmark

${writtenBy("codec")} This run took ${(input.durationMs / 1000).toFixed(0)} s.

## Machine

${machineLines(input.machine)}
- Browser: ${input.chromium} (Debian's, headless)
- Packages: msgpackr ${input.msgpackr}
- Sources measured: ${input.commit}

## Method

Issue 12 asks to measure a compact codec such as msgpackr against JSON on wirechan's packets,
and to keep JSON the default unless the other wins in the browser too. Each packet below is
encoded into the bytes of one message and decoded back, ${input.options.iterations.toLocaleString("en-US")} times per round after
a tenth as many untimed ones, and the number read back is checked; ${input.options.rounds} rounds, the codecs' order
rotated between them; each cell is the median over the rounds, nanoseconds per packet, with
the rounds' min–max. Every packet is built afresh each time, as a session builds its frames,
for both codecs alike.

- **JSON** is wirechan's codec as its transports run it. In Node: \`JSON.stringify\`, then the
  text's UTF-8 written into a Buffer (what \`ws\` does with a text message), and a received
  Buffer read back as text and \`JSON.parse\`d (src/server/ws-connection.ts). In Chromium:
  \`JSON.stringify\` and \`JSON.parse\` of text, as a page hands text to its WebSocket and gets
  text from it; the browser makes and reads the UTF-8 in native code, which is not timed here
  (\`TextEncoder\` and \`TextDecoder\` would stand for it badly: each call crosses into native
  code at a cost above the conversion's, for packets this small).
- **msgpackr** ${input.msgpackr}: \`new Packr({ useRecords: false })\`'s \`pack\` and \`Unpackr\`'s \`unpack\`, plain
  MessagePack. Its record extension (\`useRecords\`) is faster still, but it needs both ends to
  share structure definitions, which independent messages over several transports do not have.
  In Node, msgpackr loads its optional native string decoder (msgpackr-extract) when it is installed;
  in Chromium it is the browser build that esbuild bundles for an app.

Packets:

${CASES.map((spec) => `- **${spec.name}**: ${spec.about}.`).join("\n")}

## Results

${sections.join("\n\n")}

${verdict(input, repoRoot)}
## Caveats

- Both codecs run in one process per platform; a message's I/O (system calls, the browser's
  WebSocket) is not part of it, so these are the codecs' own costs, not a round trip's.
- In Chromium, JSON's UTF-8 (made and read by the browser's WebSocket) is not timed, and a
  binary message needs none: that leans towards JSON, by a copy of at most ${maxJsonBytes(input)} bytes each way.
- Chromium's \`performance.now()\` is coarsened (to 0.1 ms without cross-origin isolation); the
  quickest timing there (${input.options.iterations.toLocaleString("en-US")} packets) took ${shortestMs(input, "Chromium").toFixed(1)} ms, so the clock's step is ${((100 * 0.1) / shortestMs(input, "Chromium")).toFixed(1)}% of it at most.
`;
}

export function codecHeadlines(platforms: readonly PlatformRounds[]): Headline[] {
  const out: Headline[] = [];
  for (const p of platforms) {
    const id = p.platform.toLowerCase();
    out.push(
      headline(`${id}-echo`, `${p.platform}: an echo round trip's two packets encoded and decoded (wirechan's JSON beside msgpackr)`, "ns", "lower", echoNs(p, "json"), [["msgpackr", echoNs(p, "msgpackr")]]),
      headline(`${id}-record-1k`, `${p.platform}: a put of a 1 KB record in many scripts, encoded and decoded`, "ns", "lower", medianNs(p, "record-1k", "json"), [["msgpackr", medianNs(p, "record-1k", "msgpackr")]]),
    );
  }
  return out;
}

/** An echo's two packets, encoded and decoded, in ns: what bench:protocol's report sets against its gap. */
export interface EchoCodecNumbers {
  readonly commit: string;
  readonly node: { readonly json: number; readonly msgpackr: number };
  readonly chromium: { readonly json: number; readonly msgpackr: number };
}

/** The echo's codec numbers from this suite's results.json, or null when it has none (not run yet, or a row missing). */
export function readEchoCodecNumbers(resultsPath: string): EchoCodecNumbers | null {
  const results = readSuiteResults(resultsPath);
  const pair = (id: string): { json: number; msgpackr: number } | null => {
    const h = results?.headlines.find((x) => x.id === id);
    const msgpackr = h?.peers.find((p) => p.peer === "msgpackr")?.value;
    return h?.wirechan == null || msgpackr == null ? null : { json: h.wirechan, msgpackr };
  };
  const node = pair("node-echo");
  const chromium = pair("chromium-echo");
  return results === null || node === null || chromium === null ? null : { commit: results.stamp.commit, node, chromium };
}
