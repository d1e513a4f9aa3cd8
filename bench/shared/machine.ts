// Facts about where the numbers came from, for the README header.
import { readFileSync } from "node:fs";
import os from "node:os";

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly platform: string;
  readonly date: Date;
  /** 1-minute load averages when the runs started and ended: other work on the machine skews the numbers. */
  readonly loadAtStart: number;
  readonly loadAtEnd: number;
}

/** 1-minute load average now (0 on platforms without one). */
export function currentLoad(): number {
  return os.loadavg()[0] ?? 0;
}

/** Above this 1-minute load average per core, other work shares the CPU with a run. */
export const LOADED_PER_CORE = 0.75;

/**
 * Whether other work shared the machine with a run: its load average when it started was over
 * {@link LOADED_PER_CORE} per core. Only the start counts: by the end, the 1-minute average
 * holds the run's own processes (a fan-out server and its load generators keep both cores of a
 * 2-core machine busy, about 2 by themselves), so judging by the end marked every such run
 * loaded, however quiet the machine.
 */
export function loadedAtStart(loadAtStart: number, cores: number): boolean {
  return loadAtStart > LOADED_PER_CORE * cores;
}

export function describeMachine(loadAtStart: number): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    cores: cpus.length,
    memoryGiB: os.totalmem() / 1024 ** 3,
    // Children run on the same binary (process.execPath), so this is their version too.
    node: process.version,
    platform: `${os.platform()} ${os.arch()} ${os.release()}`,
    date: new Date(),
    loadAtStart,
    loadAtEnd: currentLoad(),
  };
}

/** The "Machine" lines both benchmark reports print. */
export function machineLines(m: MachineInfo): string {
  return [
    `- CPU: ${m.cpuModel}, ${m.cores} cores`,
    `- Memory: ${m.memoryGiB.toFixed(1)} GiB`,
    `- Node: ${m.node} (${m.platform})`,
    `- Date: ${m.date.toISOString()}`,
    `- 1-minute load average: ${m.loadAtStart.toFixed(2)} when the runs started, ${m.loadAtEnd.toFixed(2)} when they ended`,
  ].join("\n");
}

/**
 * Installed versions, read from the package.json files directly (some packages do not export
 * "./package.json"): each entry is a label and the manifest's path from the repository root.
 */
export function packageVersions<L extends string>(repoRoot: string, manifests: ReadonlyArray<readonly [L, string]>): Map<L, string> {
  const versions = new Map<L, string>();
  for (const [label, manifest] of manifests) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(`${repoRoot}/${manifest}`, "utf8"));
      const version = (parsed as { version?: unknown }).version;
      versions.set(label, typeof version === "string" ? version : "unknown");
    } catch {
      versions.set(label, "not installed");
    }
  }
  return versions;
}
