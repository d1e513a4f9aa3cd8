// Single source of truth for what the benchmark measures. The child processes
// receive counts on their command line, so nothing here is duplicated in the
// .mjs case files.

export type CaseName = "pingpong" | "buffered";
export type LibName = "wirechan" | "js-csp" | "prelude" | "thing";

export interface CaseSpec {
  readonly name: CaseName;
  /** Messages in the timed part (round trips for pingpong, values for buffered). */
  readonly count: number;
  /** Fixed buffer size; 0 means unbuffered. */
  readonly capacity: number;
  /** Unit printed next to the median rate. */
  readonly unit: string;
  readonly description: string;
}

export interface LibSpec {
  readonly name: LibName;
  /** Package whose version is reported; wirechan is this repository itself. */
  readonly packageName: string;
  readonly label: string;
}

export const CASES: readonly CaseSpec[] = [
  {
    name: "pingpong",
    count: 200_000,
    capacity: 0,
    unit: "round trips/s",
    description:
      "unbuffered ping-pong: A puts i on `ping` and takes the reply from `pong`, B echoes `ping` to `pong`; A sums the replies",
  },
  {
    name: "buffered",
    count: 1_000_000,
    capacity: 1024,
    unit: "transfers/s",
    description:
      "one producer puts 0..999999 on a channel with a fixed buffer of 1024, one consumer takes and sums until the channel is closed",
  },
];

export const LIBS: readonly LibSpec[] = [
  { name: "wirechan", packageName: "wirechan", label: "wirechan" },
  { name: "js-csp", packageName: "js-csp", label: "js-csp" },
  { name: "prelude", packageName: "@prelude/channel", label: "@prelude/channel" },
  { name: "thing", packageName: "@thi.ng/csp", label: "@thi.ng/csp" },
];

/** The targets: wirechan must beat the fastest peer by this factor on every case... */
export const TARGET_VS_FASTEST_PEER = 2;
/** ...and js-csp by this factor on every case. */
export const TARGET_VS_JS_CSP = 6;

/** Generous, so only a hung or pathologically slow child is killed. */
export const CHILD_TIMEOUT_MS = 120_000;

export const DEFAULT_RUNS = 3;

/** Sum of 0..count-1, the value every run must report. Exact below 2^53. */
export function expectedSum(count: number): number {
  return (count * (count - 1)) / 2;
}
