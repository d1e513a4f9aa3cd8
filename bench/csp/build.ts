// Makes sure the wirechan being measured is built from the current sources.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

export function ensureWirechanBuilt(repoRoot: string, build: boolean): void {
  const dist = `${repoRoot}/dist/index.js`;
  if (build) {
    console.log("building wirechan (npm run build)...");
    const result = spawnSync("npm", ["run", "build"], { cwd: repoRoot, stdio: "inherit" });
    if (result.error) throw new Error(`could not run npm run build: ${result.error.message}`);
    // tsc emits even with type errors, but a failing build is not something to benchmark.
    if (result.status !== 0) throw new Error(`npm run build failed (exit ${result.status ?? result.signal})`);
  }
  if (!existsSync(dist)) {
    throw new Error(`${dist} is missing: run \`npm run build\` (or drop --no-build), or leave wirechan out with --only`);
  }
}
