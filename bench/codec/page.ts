// The codec suite's page: bundled by run.ts with esbuild (an IIFE) and evaluated in Chromium,
// it times the same cases as Node: JSON as text (a page's WebSocket makes its UTF-8 natively,
// out of the page's clock) and msgpackr as bytes.
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
