// CPU time of whole processes, read from outside them (Linux's /proc/<pid>/stat), so that a
// row can say where the machine's time went: its nodes, its load generators, the engine's
// server. Elsewhere every reading is null and the report says n/a.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** Clock ticks per second of /proc's times (`getconf CLK_TCK`, 100 on Linux nearly always). */
const TICKS_PER_SECOND = ((): number => {
  const out = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
  const n = Number(out.stdout?.trim());
  return out.status === 0 && Number.isInteger(n) && n > 0 ? n : 100;
})();

/** User + system CPU of process `pid` so far, in ms; null when it cannot be read (gone, not Linux). */
export function processCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces: fields are counted after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return Number.isFinite(utime) && Number.isFinite(stime) ? ((utime + stime) * 1000) / TICKS_PER_SECOND : null;
  } catch {
    return null;
  }
}

/** The summed CPU ms of `pids`; null if any cannot be read. */
export function totalCpuMs(pids: readonly number[]): number | null {
  let sum = 0;
  for (const pid of pids) {
    const ms = processCpuMs(pid);
    if (ms === null) return null;
    sum += ms;
  }
  return sum;
}

/** The pid of the running process named exactly `name` (`pgrep -x`), if there is exactly one. */
export function soleProcessNamed(name: string): number | null {
  const out = spawnSync("pgrep", ["-x", name], { encoding: "utf8" });
  const pids = (out.stdout ?? "").split("\n").filter((line) => line.trim() !== "").map(Number);
  return pids.length === 1 && Number.isInteger(pids[0]) ? pids[0]! : null;
}
