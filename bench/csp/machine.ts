// Facts about where the numbers came from, for the README header.
import { readFileSync } from "node:fs";
import os from "node:os";
import { LIBS, type LibName } from "./config.js";

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

/** Installed versions, read from package.json files directly (some peers do not export "./package.json"). */
export function libraryVersions(repoRoot: string): Map<LibName, string> {
  const versions = new Map<LibName, string>();
  for (const lib of LIBS) {
    const manifest = lib.name === "wirechan" ? `${repoRoot}/package.json` : `${repoRoot}/node_modules/${lib.packageName}/package.json`;
    try {
      const parsed: unknown = JSON.parse(readFileSync(manifest, "utf8"));
      const version = (parsed as { version?: unknown }).version;
      versions.set(lib.name, typeof version === "string" ? version : "unknown");
    } catch {
      versions.set(lib.name, "not installed");
    }
  }
  return versions;
}
