// A client session that reaches its server through a LatencyRelay: what the protocol tests that
// cut links at random (lazy answers, awaited puts, topics) each set up the same way.
import { connect, type Session, type TransportName } from "../../src/client/index.js";
import { LatencyRelay, type LatencyRelayOptions } from "./latency-relay.js";
import type { AfterHook } from "./server.js";

export interface RelayedSession {
  readonly relay: LatencyRelay;
  readonly session: Session;
  /** How many times the session went to "reconnecting" so far. */
  reconnects(): number;
}

/**
 * A relay in front of the server on `port` (10 ms each way, every connection's handshake
 * `handshakeLatencyMs`, chunks cut into `pieceBytes` pieces if given), and a session through it
 * on `transport` only, reconnecting within 20-200 ms and never probing for an upgrade. Both
 * close after the test.
 */
export async function relayedSession(
  t: AfterHook,
  port: number,
  transport: TransportName,
  handshakeLatencyMs: number,
  pieceBytes?: LatencyRelayOptions["pieceBytes"],
): Promise<RelayedSession> {
  const relay = await LatencyRelay.start({ targetPort: port, latencyMs: 10, handshakeLatencyMs, handshakeScope: "every", pieceBytes });
  t.after(() => relay.close());
  const session = await connect(relay.url, { transports: [transport], reconnect: { initial: 20, max: 200, jitter: 0.5 }, upgradeProbeInterval: 0 });
  t.after(() => session.close());
  let reconnects = 0;
  session.onState((change) => {
    if (change.state === "reconnecting") reconnects++;
  });
  return { relay, session, reconnects: () => reconnects };
}
