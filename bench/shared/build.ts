// Makes sure the wirechan being measured is built from the current sources.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

/**
 * Compiles with tsc straight into dist/ (not `npm run build`, whose `rm -rf dist` would pull it
 * from under anything else using it) and writes the browser client as `npm run build` does, so
 * that dist/ is whole afterwards (test/package imports dist/browser/client.js); then checks
 * that `entries` (paths under dist/) exist.
 */
export function ensureWirechanBuilt(repoRoot: string, build: boolean, entries: readonly string[]): void {
  if (build) {
    console.log("building wirechan (npx tsc -p tsconfig.build.json)...");
    const result = spawnSync("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: repoRoot, stdio: "inherit" });
    if (result.error) throw new Error(`could not run tsc: ${result.error.message}`);
    // tsc emits even with type errors, but a failing build is not something to benchmark.
    if (result.status !== 0) throw new Error(`the build failed (exit ${result.status ?? result.signal})`);
    const browser = spawnSync("npx", ["tsx", "scripts/build-browser.ts"], { cwd: repoRoot, stdio: "inherit" });
    if (browser.error || browser.status !== 0) throw new Error(`the browser client's build failed (${browser.error?.message ?? `exit ${browser.status ?? browser.signal}`})`);
  }
  for (const entry of entries) {
    if (!existsSync(`${repoRoot}/dist/${entry}`)) throw new Error(`dist/${entry} is missing: drop --no-build`);
  }
}
