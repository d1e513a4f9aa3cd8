/**
 * `npm run size`: the browser bundles' weights beside their budgets and socket.io-client's, in
 * one run (scripts/bundle-size.ts measures; the budget test checks the same numbers). Exits 1
 * when a budget is exceeded. `npm run size -- --modules` adds each source file's share of both
 * bundles: its minified bytes, and what leaving it out would save min+gzip.
 */
import { type BundleWeight, kb, measureSizes, moduleWeights } from "./bundle-size.js";

const report = await measureSizes();
const reference = report.socketIoClient.gzip;

function row(weight: BundleWeight, budget?: number): string {
  const verdict = budget === undefined ? "" : `${kb(budget)} ${weight.gzip <= budget ? "ok" : `OVER by ${kb(weight.gzip - budget)}`}`;
  const ratio = `${(weight.gzip / reference).toFixed(2)}x`;
  return [weight.name.padEnd(32), kb(weight.raw).padStart(9), kb(weight.gzip).padStart(10), ratio.padStart(8), `  ${verdict}`].join(" ");
}

console.log(["bundle".padEnd(32), "min".padStart(9), "min+gzip".padStart(10), "vs s.io".padStart(8), "  budget"].join(" "));
console.log(row(report.servedClient, report.servedClient.budget));
console.log(row(report.minimalApp, report.minimalApp.budget));
console.log(row(report.socketIoClient));
console.log("(esbuild, minified ESM for the browser; gzip at zlib's default level; 1 KB = 1,000 bytes)");
if (process.argv.includes("--modules")) {
  for (const bundle of ["served", "minimal"] as const) {
    console.log(`\n${bundle === "served" ? "/wirechan/client.js" : "minimal app"}, by source file (bytes; gzip: what leaving the file out saves):`);
    for (const { path, raw, gzip } of await moduleWeights(bundle)) console.log(`  ${path.padEnd(34)} ${String(raw).padStart(7)} min ${String(gzip).padStart(6)} gzip`);
  }
}
if (report.servedClient.gzip > report.servedClient.budget || report.minimalApp.gzip > report.minimalApp.budget) process.exitCode = 1;
