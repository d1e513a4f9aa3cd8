// The codec suite's page: bundled by run.ts with esbuild (an IIFE) and evaluated in Chromium,
// it times the same cases as Node with the browser's own UTF-8 (TextEncoder, TextDecoder).
import { timeRound } from "./cases.js";
import { msgpackrCodec, textJsonCodec } from "./codecs.js";

const codecs = [textJsonCodec(), msgpackrCodec()];

/** What run.ts calls in the page: `rounds` rounds of every case with both codecs. */
function runCodecRounds(rounds: number, iterations: number): ReturnType<typeof timeRound>[] {
  const out: ReturnType<typeof timeRound>[] = [];
  for (let round = 0; round < rounds; round++) out.push(timeRound(codecs, iterations, round, () => performance.now()));
  return out;
}

(globalThis as unknown as { runCodecRounds: typeof runCodecRounds }).runCodecRounds = runCodecRounds;
