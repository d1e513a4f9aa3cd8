// js-csp 1.0.1, used as its README shows: generator processes started with `go`,
// `yield put(ch, v)` / `yield take(ch)`, `chan()` unbuffered and
// `chan(buffers.fixed(n))` buffered. Its package "module" field points at
// extension-less ESM sources Node cannot load, so the CommonJS bundle ("main") is used.
import csp from "js-csp";

const { go, chan, put, take, buffers, CLOSED, takeAsync } = csp;

function* echo(ping, pong) {
  for (;;) {
    const v = yield take(ping);
    if (v === CLOSED) return true; // ping closed: the round trips are over
    yield put(pong, v);
  }
}

function* player(ping, pong, count) {
  let sum = 0;
  for (let i = 0; i < count; i++) {
    yield put(ping, i);
    sum += yield take(pong);
  }
  ping.close();
  return sum;
}

function* produce(ch, count) {
  for (let i = 0; i < count; i++) yield put(ch, i);
  ch.close();
  return true;
}

function* consume(ch) {
  let sum = 0;
  for (;;) {
    const v = yield take(ch);
    if (v === CLOSED) return sum; // closed and drained
    sum += v;
  }
}

/** `go` returns a channel that yields the generator's return value; bridge it to a promise for the child. */
function settled(resultChannel) {
  return new Promise(function awaitGo(resolve) {
    takeAsync(resultChannel, resolve);
  });
}

export async function pingpong(count) {
  const ping = chan();
  const pong = chan();
  const [sum] = await Promise.all([settled(go(player, [ping, pong, count])), settled(go(echo, [ping, pong]))]);
  pong.close();
  return sum;
}

export async function buffered(count, capacity) {
  const ch = chan(buffers.fixed(capacity));
  const [, sum] = await Promise.all([settled(go(produce, [ch, count])), settled(go(consume, [ch]))]);
  return sum;
}
