// @prelude/channel 1.0.0 (its Readme has no usage beyond `import * as Ch`; the API
// comes from src/channel.ts): `new Channel(cap)`, `await ch.write(v)`, and reads via
// `await ch.next()`, the async-iterator step that `read()` itself wraps.
//  - `read()` throws on a closed channel and `maybeRead()` returns undefined for
//    every *successful* read (inverted condition in 1.0.0), so neither can end a loop
//    cleanly; `next()` is the one read that reports closure, and it is what
//    `for await` would call anyway.
//  - `close()` discards buffered writes, so the producer uses `closeWriting()`,
//    which lets the consumer drain the buffer before it sees `done`.
import { Channel } from "@prelude/channel";

async function echo(ping, pong) {
  for (;;) {
    const r = await ping.next();
    if (r.done) return; // ping closed: the round trips are over
    await pong.write(r.value);
  }
}

export async function pingpong(count) {
  const ping = new Channel(0);
  const pong = new Channel(0);
  const echoing = echo(ping, pong);
  let sum = 0;
  for (let i = 0; i < count; i++) {
    await ping.write(i);
    sum += (await pong.next()).value;
  }
  ping.closeWriting();
  await echoing;
  pong.closeWriting();
  return sum;
}

async function produce(ch, count) {
  for (let i = 0; i < count; i++) await ch.write(i);
  ch.closeWriting();
}

async function consume(ch) {
  let sum = 0;
  for (;;) {
    const r = await ch.next();
    if (r.done) return sum; // closed and drained
    sum += r.value;
  }
}

export async function buffered(count, capacity) {
  const ch = new Channel(capacity);
  const [, sum] = await Promise.all([produce(ch, count), consume(ch)]);
  return sum;
}
