// `npx tsx bench/longpoll/profile-summary.ts DIR [TOP]`: for each V8 CPU profile in DIR (written
// by `--profile DIR`), the functions with the most self time, summed by function name and
// location, so that two runs' profiles compare as text. Reads files only; prints to stdout.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Self time in µs by "function (file:line)", and the profile's total. */
function selfTimes(profile: CpuProfile): { total: number; byFunction: Map<string, number> } {
  const names = new Map<number, string>();
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url === "" ? "" : ` (${url.replace(/^.*\/(node_modules|dist|src)\//, "$1/")}:${lineNumber + 1})`;
    names.set(node.id, `${functionName === "" ? "(anonymous)" : functionName}${file}`);
  }
  const byFunction = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    const name = names.get(profile.samples[i] ?? -1) ?? "?";
    byFunction.set(name, (byFunction.get(name) ?? 0) + delta);
    total += delta;
  }
  return { total, byFunction };
}

function main(): void {
  const dir = process.argv[2];
  const top = Number(process.argv[3] ?? 25);
  if (dir === undefined) throw new Error("usage: npx tsx bench/longpoll/profile-summary.ts DIR [TOP]");
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".cpuprofile")).sort()) {
    const { total, byFunction } = selfTimes(JSON.parse(readFileSync(path.join(dir, file), "utf8")) as CpuProfile);
    const busy = total - (byFunction.get("(idle)") ?? 0);
    console.log(`\n${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy`);
    const sorted = [...byFunction].filter(([name]) => name !== "(idle)").sort((a, b) => b[1] - a[1]);
    for (const [name, us] of sorted.slice(0, top)) console.log(`${((100 * us) / busy).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${name}`);
  }
}

main();
