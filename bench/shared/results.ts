// The headline numbers of one suite's run, kept beside its README as bench/<suite>/results.json:
// `npm run bench` builds the summary table in bench/README.md from these files, so rerunning
// some suites rebuilds the summary from their fresh results and the others' kept ones.
import { readFileSync, writeFileSync } from "node:fs";
import type { MachineInfo } from "./machine.js";

/** Which way is better for a measure, so a reader knows how to read wirechan / peer. */
export type Better = "lower" | "higher";

/** One peer's number for a headline measure; null when its row failed or was not measured. */
export interface PeerValue {
  /** "raw ws", "socket.io" and "plain SSE" get columns of their own in the summary; any other name goes to "other peers". */
  readonly peer: string;
  readonly value: number | null;
}

/** One measure a suite reports as a headline: wirechan's number beside each peer's. */
export interface Headline {
  /** Stable within the suite (the summary refers to it), e.g. "ws-5000-cpu". */
  readonly id: string;
  /** What is measured, without the unit: "echo RTT p50 (WebSocket)". */
  readonly label: string;
  /** "ms", "µs", "KiB", "deliveries/s" … */
  readonly unit: string;
  readonly better: Better;
  readonly wirechan: number | null;
  readonly peers: readonly PeerValue[];
}

/** Where and when a suite's numbers were measured. */
export interface RunStamp {
  /** ISO time the run ended. */
  readonly date: string;
  /** Short commit of the sources measured, "+ uncommitted changes" when the tree was dirty (see commitStamp). */
  readonly commit: string;
  readonly cpu: string;
  readonly cores: number | null;
  readonly memoryGiB: number | null;
  readonly node: string;
  /** 1-minute load averages when the run started and ended. */
  readonly loadAtStart: number | null;
  readonly loadAtEnd: number | null;
  /** Rounds (fresh-process runs per row) that ran, when the suite has rounds. */
  readonly runs: number | null;
  readonly durationMs: number | null;
  /** Set when the numbers were read back from a README written before results.json existed. */
  readonly fromReadme?: boolean;
}

export interface SuiteResults {
  /** The suite's folder under bench/. */
  readonly suite: string;
  readonly stamp: RunStamp;
  readonly headlines: readonly Headline[];
}

/** A stamp from a suite's MachineInfo (taken when its run ended). */
export function stampOf(machine: MachineInfo, commit: string, runs: number | null, durationMs: number | null): RunStamp {
  return {
    date: machine.date.toISOString(),
    commit,
    cpu: machine.cpuModel,
    cores: machine.cores,
    memoryGiB: Math.round(machine.memoryGiB * 10) / 10,
    node: machine.node,
    loadAtStart: round2(machine.loadAtStart),
    loadAtEnd: round2(machine.loadAtEnd),
    runs,
    durationMs: durationMs === null ? null : Math.round(durationMs),
  };
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

/** Writes results.json (two-space JSON, so that a rerun's diff reads line by line). */
export function writeSuiteResults(file: string, results: SuiteResults): void {
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
}

/** Reads a results.json; null when there is none. Throws, naming the file, when it is there but not of this shape. */
export function readSuiteResults(file: string): SuiteResults | null {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return null;
  }
  const parsed: unknown = JSON.parse(text);
  if (!isSuiteResults(parsed)) throw new Error(`${file} is not a suite's results.json (suite, stamp, headlines)`);
  return parsed;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isNumberOrNull = (v: unknown): boolean => v === null || (typeof v === "number" && Number.isFinite(v));

function isHeadline(v: unknown): v is Headline {
  if (!isRecord(v)) return false;
  const peersOk = Array.isArray(v["peers"]) && v["peers"].every((p) => isRecord(p) && typeof p["peer"] === "string" && isNumberOrNull(p["value"]));
  return (
    typeof v["id"] === "string" &&
    typeof v["label"] === "string" &&
    typeof v["unit"] === "string" &&
    (v["better"] === "lower" || v["better"] === "higher") &&
    isNumberOrNull(v["wirechan"]) &&
    peersOk
  );
}

function isStamp(v: unknown): v is RunStamp {
  if (!isRecord(v)) return false;
  const strings = ["date", "commit", "cpu", "node"].every((k) => typeof v[k] === "string");
  const numbers = ["cores", "memoryGiB", "loadAtStart", "loadAtEnd", "runs", "durationMs"].every((k) => isNumberOrNull(v[k]));
  return strings && numbers;
}

function isSuiteResults(v: unknown): v is SuiteResults {
  return isRecord(v) && typeof v["suite"] === "string" && isStamp(v["stamp"]) && Array.isArray(v["headlines"]) && v["headlines"].every(isHeadline);
}

/** A headline from a suite's medians, where a failed or missing row is undefined. */
export function headline(
  id: string,
  label: string,
  unit: string,
  better: Better,
  wirechan: number | undefined,
  peers: ReadonlyArray<readonly [string, number | undefined]>,
): Headline {
  return { id, label, unit, better, wirechan: wirechan ?? null, peers: peers.map(([peer, value]) => ({ peer, value: value ?? null })) };
}

/**
 * The first line of a suite's README: which script writes it, that its headline numbers are in
 * results.json beside it and summarised in bench/README.md, and not to edit it by hand.
 */
export function writtenBy(suite: string): string {
  return `Written by \`bench/${suite}/run.ts\` (\`npm run bench:${suite}\`), with its headline numbers in \`results.json\` beside it (summarised with every suite's in [../README.md](../README.md)); rerun the benchmark instead of editing it.`;
}
