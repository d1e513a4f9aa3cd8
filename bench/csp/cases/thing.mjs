// @thi.ng/csp 3.x, used as its README shows: `channel()` / `channel(n)`,
// `await ch.write(v)` and `await ch.read()` (undefined once closed and drained).
//  - There is no capacity-0 channel (its fifo buffer asserts cap >= 1); `channel()`
//    (capacity 1) is what the README's own ping-pong uses. It still rendezvouses,
//    because a write's promise resolves only when a reader takes the value.
//  - For the same reason the 1024 buffer never lets an awaited write run ahead. The
//    non-blocking `offer()`-then-`write()` producer that would use it measured the
//    same within noise, so the plain README-style loop is kept.
import { channel } from "@thi.ng/csp";

async function echo(ping, pong) {
  for (;;) {
    const v = await ping.read();
    if (v === undefined) return; // ping closed: the round trips are over
    await pong.write(v);
  }
}

export async function pingpong(count) {
  const ping = channel();
  const pong = channel();
  const echoing = echo(ping, pong);
  let sum = 0;
  for (let i = 0; i < count; i++) {
    await ping.write(i);
    sum += await pong.read();
  }
  ping.close();
  await echoing;
  pong.close();
  return sum;
}

async function produce(ch, count) {
  for (let i = 0; i < count; i++) await ch.write(i);
  ch.close(); // queued values stay readable until drained
}

async function consume(ch) {
  let sum = 0;
  for (;;) {
    const v = await ch.read();
    if (v === undefined) return sum; // closed and drained
    sum += v;
  }
}

export async function buffered(count, capacity) {
  const ch = channel(capacity);
  const [, sum] = await Promise.all([produce(ch, count), consume(ch)]);
  return sum;
}
