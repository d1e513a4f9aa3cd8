// The size budget of the browser client (issue 10), min+gzip: the served /wirechan/client.js
// and a minimal app (chan + connect), measured as `npm run size` measures them
// (scripts/bundle-size.ts).
//
// The budget does not hold, and cannot by trimming alone. Measured (npm run size -- --modules
// gives each file's share): the served client is 20,515 bytes and the minimal app 16,684; code
// made smaller but not unique (shared helpers, table-driven frame checks) saves raw bytes and no
// gzip bytes. What the levers would give, served / minimal: every error and log message left
// out 18.1 / 14.5 KB; the HTTP transports left out (WebSocket only) 18.5 / 14.6;
// internal property names mangled 20.1 / 16.3; the first two together 16.2 / 12.5, all three
// 15.8 / 12.2. So there is no budget check here yet (a check marked `todo` could never fail):
// `npm run size` reports the budgets, and a ratchet just above today's sizes keeps the bundles
// from growing meanwhile. Lower the ratchet with every cut; once a budget holds, check it here.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { type BundleWeight, kb, measureSizes, type SizeReport } from "../../scripts/bundle-size.js";

/**
 * Today's sizes, min+gzip, in bytes (20,951 and 17,046), plus about 2% for a fix that needs a
 * few bytes: a change that adds more than that shows up here. Raised once, from 21,000 and
 * 17,000 (sizes 20,515 and 16,684), by issue 11's first parts, which the browser client carries:
 * the topic's `{ dropped }` word (`isTopicDropped`), `session.onRefusal`, the bounded listener
 * sets, and `RemoteChannel.putEncoded` / `Peer.encodePreEncodedPut`, server-side code in classes
 * both sides share (moving it out of the browser's copy is a known cut of a few hundred bytes).
 * Raised a second time, from 21,400 and 17,400 (sizes 21,407 and 17,495), by issue 12's first
 * changes to code both sides share: answers flushed at the end of the turn, through a
 * MessageChannel in a browser (src/session/end-of-turn.ts, ~145 bytes), and the session's tables
 * made on first use (src/session/lazy-collections.ts, ~160 bytes), which the server needs for
 * memory per idle session and the browser's one session does not.
 * Raised a third time, from 21,800 and 17,900 (sizes 21,776 and 17,889), by two of issue 12's
 * changes to code both sides share, about 410 bytes together:
 * - lazy answers (a put's lazy flag: read and honoured when receiving, sent on request, agreed
 *   in the hello; about 250 bytes), which a browser needs as a receiver: they halve the HTTP
 *   requests of a page that a topic or broadcast feeds over SSE or long-polling;
 * - the cuts of a client's CPU per echo round trip (about 160): a proxy and a Peer keep their
 *   one put in flight in two fields, a Map made only for a second (src/wire/in-flight.ts, ~100
 *   bytes); utf8Length skips the ASCII prefix with a regular expression (~35); a Peer keeps a
 *   per-target count at 0 rather than delete it every round trip (~20).
 */
const RATCHET = { servedClient: 22_250, minimalApp: 18_350 } as const;

let report: SizeReport;

before(async () => {
  report = await measureSizes();
});

function within(weight: BundleWeight, limit: number, what: string): void {
  assert.ok(weight.gzip <= limit, `${weight.name} is ${kb(weight.gzip)} (${weight.gzip} bytes) min+gzip, over its ${what} of ${kb(limit)} (${limit} bytes); npm run size shows where it stands`);
}

describe("the browser bundles' size", { timeout: 60_000 }, () => {
  it("neither grows past today's size (the ratchet)", () => {
    within(report.servedClient, RATCHET.servedClient, "ratchet");
    within(report.minimalApp, RATCHET.minimalApp, "ratchet");
  });
});
