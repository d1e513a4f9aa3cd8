// wirechan, used the way its API is meant to be used: `await ch.put(v)` / `await ch.take()`,
// `chan()` for unbuffered and `chan(n)` for a fixed buffer. Imported from dist/ (the
// built package) so the benchmark measures what users get, not a TS loader.
import { existsSync } from "node:fs";
import { fileURLToPath, URL } from "node:url";

const DIST = new URL("../../../dist/index.js", import.meta.url);

if (!existsSync(DIST)) {
  throw new Error(`wirechan is not built: ${fileURLToPath(DIST)} is missing. Run \`npm run build\` first.`);
}
const { chan } = await import(DIST.href);

async function echo(ping, pong) {
  for (;;) {
    const v = await ping.take();
    if (v === undefined) return; // ping closed: the round trips are over
    await pong.put(v);
  }
}

export async function pingpong(count) {
  const ping = chan();
  const pong = chan();
  const echoing = echo(ping, pong);
  let sum = 0;
  for (let i = 0; i < count; i++) {
    await ping.put(i);
    sum += await pong.take();
  }
  ping.close();
  await echoing;
  pong.close();
  return sum;
}

async function produce(ch, count) {
  for (let i = 0; i < count; i++) await ch.put(i);
  ch.close();
}

async function consume(ch) {
  let sum = 0;
  for (;;) {
    const v = await ch.take();
    if (v === undefined) return sum; // closed and drained
    sum += v;
  }
}

export async function buffered(count, capacity) {
  const ch = chan(capacity);
  const [, sum] = await Promise.all([produce(ch, count), consume(ch)]);
  return sum;
}
