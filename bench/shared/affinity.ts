// Pinning benchmark processes to CPUs with taskset (util-linux), so that a measurement can be
// repeated with both ends on one core: a round trip is then the CPU work of both sides with no
// cross-core wake-up in it, which varies far less between runs than the two-core number.
import { spawnSync } from "node:child_process";
import os from "node:os";

/** The CPUs process `pid` may run on, in taskset's list syntax ("0-1", "0,2"); null if unknown here. */
export function affinityOf(pid: number): string | null {
  if (os.platform() !== "linux") return null;
  const result = spawnSync("taskset", ["-c", "-p", String(pid)], { encoding: "utf8", timeout: 5_000 });
  // "pid 123's current affinity list: 0,1"
  const list = result.status === 0 ? /:\s*([0-9,-]+)\s*$/.exec(result.stdout)?.[1] : undefined;
  return list ?? null;
}

/**
 * Moves every thread of each process to `cpus` (taskset's list syntax). False when that is not
 * possible here (no taskset, not Linux, a process gone): the caller reports the measurement as
 * missing instead of measuring something else.
 */
export function pinProcesses(pids: readonly number[], cpus: string): boolean {
  if (os.platform() !== "linux") return false;
  for (const pid of pids) {
    const result = spawnSync("taskset", ["-a", "-p", "-c", cpus, String(pid)], { stdio: "ignore", timeout: 5_000 });
    if (result.status !== 0) return false;
  }
  return true;
}
