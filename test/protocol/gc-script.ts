// Run by gc.test.ts as `node --expose-gc --import tsx test/protocol/gc-script.ts`: a real server
// and a real client on 127.0.0.1; the server receives the client's channel inside a value (a
// server-side proxy), drops every reference to the proxy and collects garbage until the
// FinalizationRegistry release reaches the client. Prints one JSON line with the counts.
import { chan } from "../../src/csp/index.js";
import { connect } from "../../src/client/index.js";
import { createServer, type Envelope, RemoteChannel } from "../../src/server/index.js";
import type { Peer } from "../../src/session/peer.js";
import { serverSession } from "./security-wire.js";

const gc = (globalThis as { gc?: () => void }).gc;
const MAX_ROUNDS = 50;

function channelCount(of: unknown): number {
  return (of as { peer: Peer }).peer.channelCount;
}

async function main(): Promise<Record<string, unknown>> {
  if (typeof gc !== "function") return { error: "run me with --expose-gc" };
  const server = createServer({ heartbeat: 30_000, heartbeatTimeout: 60_000, closeTimeout: 500 });
  const give = server.channel<{ to: unknown }>("give", { envelope: true });
  const handle = await server.listen();
  try {
    const session = await connect(handle.url, { transports: ["websocket"], upgradeProbeInterval: 0, connectTimeout: 5_000 });
    const mine = chan<number>(1);
    // A second channel whose server proxy stays referenced: it must not be released.
    const kept = chan<number>(1);
    const keptProxy = await (async () => {
      const put = session.serverChan<{ to: typeof kept }>("give").put({ to: kept });
      const envelope = (await give.take()) as Envelope<{ to: unknown }>;
      await put;
      return envelope.value.to as RemoteChannel<number>;
    })();

    // Everything that touches the server's proxy lives in this function's frame only, but for
    // `held`, which keeps it until the tables are counted: a collection that came sooner (a
    // loaded machine's scavenge in the wait below) released it before "before" was read
    // (regression: CI once saw serverBefore 1).
    const held: { proxy: unknown } = { proxy: null };
    const receive = async (): Promise<boolean> => {
      const put = session.serverChan<{ to: typeof mine }>("give").put({ to: mine });
      const envelope = (await give.take()) as Envelope<{ to: unknown }>;
      held.proxy = envelope.value.to;
      const arrivedAsProxy = envelope.value.to instanceof RemoteChannel;
      await put;
      return arrivedAsProxy;
    };
    const arrivedAsProxy = await receive();
    const onServer = serverSession(server, session.id as string);
    // Let the client's acknowledgements and the server's answer settle.
    await new Promise((resolve) => setTimeout(resolve, 50));

    const clientBefore = channelCount(session);
    const serverBefore = channelCount(onServer);
    held.proxy = null;
    let rounds = 0;
    while (rounds < MAX_ROUNDS && channelCount(session) >= clientBefore) {
      rounds++;
      gc();
      // FinalizationRegistry callbacks run in a later task; the release then crosses the wire.
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // Collected proxies go in the first rounds; a few more prove the kept one stays.
    for (let extra = 0; extra < 3; extra++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const keptStillWorks = (await keptProxy.put(5)) && (await kept.take()) === 5;
    const result = {
      arrivedAsProxy,
      keptStillWorks,
      clientBefore,
      clientAfter: channelCount(session),
      serverBefore,
      serverAfter: channelCount(onServer),
      rounds,
      ownerChannelClosed: mine.closed,
      state: session.state,
    };
    session.close();
    return result;
  } finally {
    await handle.close();
  }
}

try {
  const result = await main();
  process.stdout.write(`${JSON.stringify(result)}\n`);
} catch (error) {
  process.stdout.write(`${JSON.stringify({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) })}\n`);
  process.exitCode = 1;
}
