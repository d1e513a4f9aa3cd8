// The suites `npm run bench` runs, in order, each its own run.ts in a child process.

export type SuiteName = "csp" | "server" | "codec" | "alloc" | "protocol" | "topic" | "longpoll" | "memory" | "cluster" | "browser";

export interface SuiteSpec {
  /** Its folder under bench/, where its run.ts, README.md and results.json are. */
  readonly name: SuiteName;
  /** What it measures, for the summary's list of runs. */
  readonly title: string;
  /** Whether its run.ts builds dist/ itself (and takes `--no-build`); `npm run bench` builds once for all. */
  readonly buildsDist: boolean;
  /** The dist/ entries its children import, checked after the one build. */
  readonly distEntries: readonly string[];
  /** Arguments for `--quick`: one round, the smallest counts the suite offers. */
  readonly quickArgs: readonly string[];
  /**
   * How long the suite may run before `npm run bench` kills it: its own watchdog's limit (the
   * suites with one) plus a margin for building its report, so only a hung suite is killed.
   */
  readonly timeoutMs: number;
  /** What must be running on this machine besides Node. */
  readonly needs?: string;
}

const MINUTE = 60_000;

export const SUITES: readonly SuiteSpec[] = [
  {
    name: "csp",
    title: "in-process channels beside js-csp, @prelude/channel, @thi.ng/csp",
    buildsDist: true,
    distEntries: ["index.js"],
    quickArgs: ["--runs", "1"],
    timeoutMs: 20 * MINUTE,
  },
  {
    name: "server",
    title: "Connection-layer fan-out to 1,000 and 5,000 WebSockets and 1,000 SSE streams beside raw ws, socket.io, plain SSE",
    buildsDist: true,
    distEntries: ["server/index.js"],
    quickArgs: ["--runs", "1"],
    // Its own limit is 15 minutes (3 rounds of 8 rows).
    timeoutMs: 16 * MINUTE,
  },
  {
    name: "codec",
    title: "wirechan's JSON beside msgpackr on a session's packets, in Node and in Chromium",
    buildsDist: false,
    distEntries: [],
    quickArgs: ["--rounds", "1", "--iterations", "10000"],
    // Its own limit is 10 minutes; a full run takes well under one.
    timeoutMs: 11 * MINUTE,
    needs: "Chromium at /usr/bin/chromium",
  },
  {
    name: "alloc",
    title: "bytes allocated per echo round trip, server and client, for every row of the protocol suite",
    buildsDist: true,
    distEntries: ["server/index.js", "client/index.js", "index.js"],
    quickArgs: ["--runs", "1"],
    // Its own limit is 10 minutes; a full run takes about two.
    timeoutMs: 11 * MINUTE,
  },
  {
    name: "protocol",
    title: "one session's round trips and throughput over each transport beside raw ws and socket.io",
    buildsDist: true,
    distEntries: ["server/index.js", "client/index.js", "index.js"],
    quickArgs: ["--runs", "1"],
    timeoutMs: 7 * MINUTE,
  },
  {
    name: "topic",
    title: "fan-out through a topic to 1,000 and 5,000 sessions beside raw ws",
    buildsDist: true,
    distEntries: ["server/index.js", "client/index.js", "index.js"],
    quickArgs: ["--runs", "1"],
    timeoutMs: 8 * MINUTE,
  },
  {
    name: "longpoll",
    title: "fan-out to 1,000 long-polling sessions beside socket.io's polling, with server and client CPU per delivery",
    buildsDist: true,
    distEntries: ["server/index.js", "client/index.js", "index.js"],
    quickArgs: ["--runs", "1"],
    timeoutMs: 8 * MINUTE,
  },
  {
    name: "memory",
    title: "server memory per idle Connection and per idle protocol session beside raw ws, with heap snapshots by kind",
    buildsDist: true,
    distEntries: ["server/index.js", "client/index.js"],
    quickArgs: ["--runs", "1", "--n", "1000"],
    timeoutMs: 16 * MINUTE,
  },
  {
    name: "cluster",
    title: "broadcasts across 3 nodes on Redis and NATS beside socket.io's Redis adapter",
    buildsDist: true,
    distEntries: ["server/index.js", "client/index.js", "index.js", "backplane/redis.js", "backplane/nats.js"],
    quickArgs: ["--runs", "1"],
    timeoutMs: 7.5 * MINUTE,
    needs: "Redis (REDIS_URL, default redis://127.0.0.1:6379) and NATS (NATS_URL, default nats://127.0.0.1:4222)",
  },
  {
    name: "browser",
    title: "the apps in Chromium and the browser bundles beside socket.io-client",
    buildsDist: false,
    distEntries: [],
    quickArgs: ["--loads", "3", "--seconds", "5"],
    timeoutMs: 10 * MINUTE,
    needs: "Chromium at /usr/bin/chromium",
  },
];
