// Pinning benchmark processes to CPUs with taskset (util-linux), so that a measurement can be
// repeated with both ends on one core: a round trip is then the CPU work of both sides with no
// cross-core wake-up in it, which varies far less between runs than the two-core number.
import { spawnSync } from "node:child_process";
import os from "node:os";

/**
 * Moves every thread of each process to `cpus` (taskset's list syntax, such as "0" or "0-1").
 * False when that is not possible here (no taskset, not Linux, a process gone): the caller
 * reports the measurement as missing instead of measuring something else.
 */
export function pinProcesses(pids: readonly number[], cpus: string): boolean {
  if (os.platform() !== "linux") return false;
  for (const pid of pids) {
    const result = spawnSync("taskset", ["-a", "-p", "-c", cpus, String(pid)], { stdio: "ignore", timeout: 5_000 });
    if (result.status !== 0) return false;
  }
  return true;
}

/** Every CPU of the machine, in taskset's list syntax. */
export function allCpus(): string {
  return `0-${Math.max(0, os.cpus().length - 1)}`;
}
