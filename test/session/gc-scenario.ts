// The FinalizationRegistry release of docs/protocol.md section 5, as a scenario that needs a
// `gc` function: run in-process under --expose-gc, or by gc-release.fixture.ts in a child.
import { chan } from "../../src/csp/channel.js";
import { RemoteChannel } from "../../src/wire/remote-channel.js";
import { Pair, turn } from "./harness.js";

export interface GcResult {
  /** The server got a RemoteChannel for the client's channel. */
  arrivedAsProxy: boolean;
  clientCountBefore: number;
  serverCountBefore: number;
  clientCountAfter: number;
  serverCountAfter: number;
  /** The "r" frames the server sent: [ref, count]. */
  releases: Array<[string, number]>;
  /** The client's channel itself stays open: releasing is not closing. */
  ownerChannelClosed: boolean;
  /** gc() rounds it took. */
  rounds: number;
  errors: string[];
}

/** Sends `reply` to the server inside a value; the proxy lives only in this function's frame. */
async function sendChannel(pair: Pair, reply: object): Promise<boolean> {
  const put = pair.client.peer.serverChan<unknown>("chat").put({ reply });
  const message = (await pair.chat.take()) as { reply: unknown };
  const arrived = message.reply instanceof RemoteChannel;
  await put;
  return arrived;
}

export async function gcReleaseScenario(gc: () => void, maxRounds = 100): Promise<GcResult> {
  const pair = new Pair();
  pair.connect();
  const reply = chan<unknown>();
  const arrivedAsProxy = await sendChannel(pair, reply);
  await pair.quiesce();
  const clientCountBefore = pair.client.peer.channelCount;
  const serverCountBefore = pair.server.peer.channelCount;
  let rounds = 0;
  while (rounds < maxRounds && pair.server.peer.channelCount > 0) {
    rounds++;
    gc();
    await turn();
    await turn();
  }
  await pair.quiesce();
  const releases: Array<[string, number]> = [];
  for (const frame of pair.framesSent("down")) if (frame.kind === "seq" && frame.op === "r") releases.push([frame.ref, frame.count]);
  const errors = [...pair.client.receiveErrors, ...pair.server.receiveErrors, ...pair.client.fatal, ...pair.server.fatal].map(String);
  return {
    arrivedAsProxy,
    clientCountBefore,
    serverCountBefore,
    clientCountAfter: pair.client.peer.channelCount,
    serverCountAfter: pair.server.peer.channelCount,
    releases,
    ownerChannelClosed: reply.closed,
    rounds,
    errors,
  };
}
