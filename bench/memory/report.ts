// The memory benchmark's report: per-client memory of each server against raw ws, and where the
// bytes of one idle client go, by kind of object; printed and written to bench/memory/README.md.
import { machineLines, type MachineInfo } from "../shared/machine.js";
import { median } from "../shared/stats.js";
import { formatRatio, markdownTable, verdict } from "../shared/tables.js";
import type { KindPerClient } from "./heap.js";
import { type Impl, type MemoryPerClient, WARMUP_CLIENTS } from "./measure.js";
import { writtenBy } from "../shared/results.js";

export interface Results {
  machine: MachineInfo;
  commit: string;
  n: number;
  snapshotN: number;
  runs: number;
  /** Every run's numbers per server; the report shows their median. */
  memory: Map<Impl, MemoryPerClient[]>;
  heap: Map<Impl, KindPerClient[]>;
}

const NAMES: Record<Impl, string> = {
  "raw-ws": "raw ws",
  connection: "wirechan Connection over WebSocket",
  session: "wirechan protocol session over WebSocket",
};

/** The targets: at most this times raw ws's RSS per idle client. */
const TARGETS: Partial<Record<Impl, number>> = { connection: 1.1, session: 1.5 };

/** Rows of the breakdown shown per server: the kinds that cost most. */
const TOP_KINDS = 20;

const kib = (bytes: number): string => (bytes / 1024).toFixed(2);


function medianOf(runs: readonly MemoryPerClient[], key: keyof MemoryPerClient): number {
  return median(runs.map((r) => r[key]));
}

export function summaryTable(results: Results): string {
  const raw = results.memory.get("raw-ws");
  const rawRss = raw === undefined ? undefined : medianOf(raw, "rss");
  const rawHeap = raw === undefined ? undefined : medianOf(raw, "heapUsed");
  const rows = [...results.memory].map(([impl, runs]) => {
    const rss = medianOf(runs, "rss");
    const heap = medianOf(runs, "heapUsed");
    const target = TARGETS[impl];
    const ratio = rawRss === undefined ? undefined : rss / rawRss;
    return [
      NAMES[impl],
      kib(rss),
      runs.map((r) => kib(r.rss)).join(" / "),
      kib(heap),
      kib(medianOf(runs, "newSpace")),
      kib(medianOf(runs, "external")),
      formatRatio(ratio, "max"),
      formatRatio(rawHeap === undefined ? undefined : heap / rawHeap, "max"),
      target === undefined ? "" : `≤ ${target.toFixed(1)}x: ${verdict(ratio === undefined ? undefined : ratio <= target)}`,
    ];
  });
  return markdownTable(["server", "RSS KiB/client", "runs", "heap used KiB/client", "young generation KiB/client", "external KiB/client", "RSS / raw ws", "heap / raw ws", "target"], rows, 1);
}

export function breakdown(rows: readonly KindPerClient[], limit = TOP_KINDS): string {
  const total = rows.reduce((sum, r) => sum + r.bytes, 0);
  const top = rows.slice(0, limit).map((r) => [`\`${r.kind}\``, r.bytes.toFixed(0), r.count.toFixed(2)]);
  const rest = rows.slice(limit).reduce((sum, r) => sum + r.bytes, 0);
  return markdownTable(["kind (constructor, closure, V8 internal)", "bytes/client", "objects/client"], [...top, ["everything else", rest.toFixed(0), ""], ["**total (heap, self sizes)**", total.toFixed(0), ""]], 1);
}

/**
 * What the tables above do not say: which of a wirechan client's bytes are wirechan's, what was
 * removed, and why the rest stays. Prose, kept by hand: the numbers are self sizes per client
 * from the snapshots (1000 clients) and heap used per client (5000), measured when it was written.
 */
const WHERE_THE_BYTES_GO = `## What wirechan adds to raw ws, and what is left

Measured for issue 12 item 3, A/B against the code before (heap used per client at 5000 clients,
two alternating runs each, one more after the last change; self sizes from the snapshots): the
server's changes took a Connection from 3.63 to 3.19 KiB heap per client (1.39x to 1.22x raw ws)
and a session from 5.66 to 4.74 KiB (2.16x to 1.82x); the session's own (its Peer, Writer,
Outbox and References, last below) took the session to 4.07 KiB (1.56x) in the quiet run of
2026-12-06 (the table above). On a loaded machine RSS moved less clearly (Connection
1.26-1.34x before, 1.25-1.31x after; session 1.49-1.60x before, 1.51-1.56x after): it also
holds the young generation (see above).

Removed, per idle client (heap used unless said):

- **Request headers** (both): a connection kept node's headers object, an object over one string
  per value. \`request.headers\` is now built on its first read from one packed string, common
  names and whole headers (\`upgrade: websocket\` …) in two characters each; equal URLs share one
  string. About 145 bytes for a \`ws\` client's upgrade, 260 for wirechan's client's.
- **\`onClose\` and \`onReceive\` bookkeeping** (both): in the WebSocket connection's own fields, no
  CloseNotifier and no receive queue object; the close status and a slow consumer's timer kept
  without fields of their own. About 40 bytes per Connection, 145 per session.
- **A store's listener** (Connection in a group): \`MemoryChannelStore\` is told of a member's close
  as a watcher object (itself), not by a closure with its context and a WeakSet entry each;
  with one listener of the handler's the listener array goes too. About 150 bytes.
- **The local address** (both): read (and so kept by node in \`socket._sockname\` for the socket's
  life) only when the Host check depends on it: not for an IP literal, a loopback name or a name
  of \`allowedHosts\`. About 105 bytes then.
- **Session tables and link** (session): References' four empty LazyMaps in one object made with
  the first entry, and the options' fields instead of the options object (about 130 bytes); the
  WebSocket link's \`transport\` and \`oneShot\` on the prototype, its client identity let go after
  the hello, and its connection telling it of messages and close as a watcher object, no
  closures (about 260 bytes); the session its Peer's options itself (40 bytes), and
  \`lastHeard\` counted from the module's load, an integer kept in its field instead of a
  heap number (16 bytes).
- **The session's own objects** (session): the Peer's four put tables are nullable fields made
  on first use, not a LazyMap or LazySet each (117 bytes, snapshots); the Writer calls shared
  functions with itself as argument for the end of the turn, the idle timer and the end of the
  tick, with no closure per session, makes its control queue with the first control frame and
  reads the Peer's options instead of a copy (about 350 bytes); the outbox's replay ring is made
  with the first sequenced frame, which an idle session's server side never sends (93 bytes);
  References send their close and release frames through the Peer, not a closure.

Left, per idle Connection (self sizes, beyond raw ws's about 3140 bytes):

- The connection object (96), its request summary (64) and packed headers (about 80 for a \`ws\`
  client, more for a browser's).
- Five listeners on the \`ws\` socket (message, ping, pong, error, close) grow its event table
  from 160 to 256 bytes: pings and pongs prove the client alive to the heartbeat, and without an
  error listener a bad frame would crash the process.
- The remote address: reading \`socket.remoteAddress\` makes node keep \`_peername\` (56 bytes and
  the string); \`request.remoteAddress\` must hold it even after the socket is gone, so it is read
  while the request is served.
- Tables, one entry per connection each: the server's set of connections (about 41), the
  heartbeat's slices (about 39), the socket-to-connection WeakMap of the shared socket listeners
  (about 33), and a store's two maps (about 57 each). The heartbeat threaded through the
  connections (per-slice arrays, each connection holding its place) was tried: 25 bytes less
  heap used but no less in the snapshots (array slack, and a field more per connection), so
  not kept. Reaching 1.1x needs more than one of these gone.

Left, per idle session, besides the Connection's (about 700 bytes over it in the snapshots):

- The Peer, its Writer, Outbox and Inbox (about 360 bytes together): the fields a session's
  sequence numbers, replay and tables need, each empty until used.
- The session (128), its id, secret and export prefix strings, its public info (32, made for
  the session listeners even when there are none), its entry in the session table's map (about
  57).
- The address: one string per session, shared by node's \`_peername\`, the request, the session
  and the per-address count; the second \`"127.0.0.1"\` of the snapshots was the local address.
`;

export function readme(results: Results): string {
  const sections = [...results.heap].map(([impl, rows]) => `### ${NAMES[impl]}\n\n${breakdown(rows)}`);
  return `# wirechan memory benchmark

${writtenBy("memory")}

## How to run

\`\`\`sh
npm run bench:memory
\`\`\`

It builds wirechan first (\`npx tsc -p tsconfig.build.json\`; \`--no-build\` uses the existing dist/).
\`--n N\` (default 5000) idle clients per run, \`--snapshot-n N\` (default 1000) for the heap
snapshots, \`--runs N\` (default 3), \`--impls raw-ws,connection,session\`, \`--keep-snapshots DIR\` (leaves the
snapshots there, to open in Chrome DevTools).

## Machine

${machineLines(results.machine)}
- Commit: ${results.commit}

## Method

Servers, each in a fresh \`node --expose-gc\` process, listening on 127.0.0.1:

- raw ws: \`new WebSocketServer({ port: 0, perMessageDeflate: false })\`, a \`message\` listener per socket.
- wirechan Connection over WebSocket: \`createServer().route("*", req => withChannel(req, conn => { store.addToGroup("all", conn, null); conn.onClose(…) }))\` with a \`MemoryChannelStore\` (as \`bench:server\` measures it).
- wirechan protocol session over WebSocket: \`createServer()\` (its protocol endpoint) with Node clients \`connect(url, { transports: ["websocket"] })\`.

The clients are in a second process: \`ws\` clients (\`perMessageDeflate: false\`) for the first
two, wirechan's Node client for the third, at most 100 connecting at once. Once the server
itself counts every client, and 1 s later:

1. **Memory per client** (${results.runs} fresh pairs of processes per server, ${results.n} clients): ${WARMUP_CLIENTS} clients
   to warm up (as for the snapshots below: the code compiled and the pools grown for the first
   clients are paid once, not per client; measured from before any client, a Connection's RSS
   per client was 1.08-1.22x raw ws's at 5,000 clients and equal to it at 10,000, the mark of a
   cost paid once), then the
   server runs \`gc()\` 3 times and reads \`process.memoryUsage()\`, ${results.n} clients more, and
   the same again; (with - before) / clients. The table shows the median and every run.
2. **Where the bytes go** (one more pair of processes): ${WARMUP_CLIENTS} clients to warm up (code
   compiled, pools grown), a heap snapshot (\`v8.writeHeapSnapshot\`, after 3 \`gc()\`), ${results.snapshotN}
   clients more, and a second snapshot; each node's self size is summed by kind (constructor name for objects, function name for
   closures, V8's name for arrays and internals, all strings together), and (with - before) /
   clients is shown, the ${TOP_KINDS} costliest kinds first. Self sizes only: what an object holds
   through its fields is counted under the fields' own kinds. RSS also holds what the heap does not
   (socket buffers, ws's C++-side allocations, the heap's own slack), so the two do not add up.

What RSS holds besides the objects: V8 grows the young generation (new space) while many
objects survive, as they do while thousands of clients connect, and a full GC does not shrink
it. Its growth per client is shown; it is about the same for every server, but how much of it
is touched, and so counted in RSS, is not: RSS ratios move by about a tenth from run to run with
it. Heap used counts only live objects and is the steadier number; run with
\`node --max-semi-space-size=1\` (a fixed young generation) to see RSS follow it.

## Memory per idle client (median of ${results.runs}, ${results.n} clients)

${summaryTable(results)}

## Where the bytes of one idle client go (heap self sizes, ${results.snapshotN} clients)

${sections.join("\n\n")}

${WHERE_THE_BYTES_GO}`;
}
