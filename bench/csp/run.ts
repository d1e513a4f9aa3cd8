// `npm run bench:csp`: builds wirechan, runs every (library, case) in fresh child
// processes, interleaved by round, then prints the medians and rewrites bench/csp/README.md
// and its headlines, bench/csp/results.json (read by `npm run bench` for bench/README.md).
import { writeFileSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { ensureWirechanBuilt } from "../shared/build.js";
import { CASES, LIBS } from "./config.js";
import { currentLoad, describeMachine, packageVersions } from "../shared/machine.js";
import { rotate } from "../shared/stats.js";
import { commitStamp } from "../shared/source.js";
import { stampOf, writeSuiteResults } from "../shared/results.js";
import { cspHeadlines } from "./headlines.js";
import { parseOptions } from "./options.js";
import { renderConsole, renderReadme } from "./report.js";
import { runChild, type ChildOutcome, type Measurement } from "./spawn-child.js";
import { buildTable, cellKey, computeRatios } from "./stats.js";

const REPO_ROOT = path.resolve(fileURLToPath(new URL("../..", import.meta.url)));
const README_PATH = path.join(REPO_ROOT, "bench", "csp", "README.md");
const RESULTS_PATH = path.join(REPO_ROOT, "bench", "csp", "results.json");

function describeOutcome(outcome: ChildOutcome, unit: string): string {
  if (!outcome.ok) return `FAILED: ${outcome.reason}`;
  const m = outcome.measurement;
  return `${Math.round(m.opsPerSec).toLocaleString("en-US")} ${unit} (${m.elapsedMs.toFixed(0)} ms)`;
}

async function main(): Promise<void> {
  const started = performance.now();
  const options = parseOptions(process.argv.slice(2));
  const commit = commitStamp(REPO_ROOT);
  if (options.libs.includes("wirechan")) ensureWirechanBuilt(REPO_ROOT, options.build, ["index.js"]);
  const loadAtStart = currentLoad();

  const measurements: Measurement[] = [];
  const failures: Extract<ChildOutcome, { ok: false }>[] = [];
  for (let round = 0; round < options.runs; round++) {
    for (const spec of CASES) {
      for (const lib of rotate(options.libs, round)) {
        const outcome = await runChild(lib, spec);
        console.log(`[round ${round + 1}/${options.runs}] ${spec.name.padEnd(8)} ${lib.padEnd(8)} ${describeOutcome(outcome, spec.unit)}`);
        if (outcome.ok) measurements.push(outcome.measurement);
        else failures.push(outcome);
      }
    }
  }

  const failedCells = new Set(failures.map((f) => cellKey(f.lib, f.caseName)));
  const table = buildTable(measurements, failedCells, options.libs);
  const report = {
    table,
    ratios: computeRatios(table),
    libs: options.libs,
    runs: options.runs,
    machine: describeMachine(loadAtStart),
    versions: packageVersions(
      REPO_ROOT,
      LIBS.map((lib) => [lib.name, lib.name === "wirechan" ? "package.json" : `node_modules/${lib.packageName}/package.json`] as const),
    ),
  };
  console.log(`\n${renderConsole(report)}\n`);

  if (failures.length > 0) {
    for (const f of failures) console.error(`FAILED ${f.lib}/${f.caseName}: ${f.reason}`);
    console.error(`\n${failures.length} run(s) failed; ${README_PATH} was not rewritten.`);
    process.exitCode = 1;
    return;
  }
  const allLibs = LIBS.every((lib) => options.libs.includes(lib.name));
  if (!allLibs) {
    console.log(`--only was given: ${README_PATH} was not rewritten (it always compares all four libraries).`);
    return;
  }
  writeFileSync(README_PATH, renderReadme(report));
  writeSuiteResults(RESULTS_PATH, { suite: "csp", stamp: stampOf(report.machine, commit, options.runs, performance.now() - started), headlines: cspHeadlines(table) });
  console.log(`wrote ${README_PATH} and ${RESULTS_PATH}`);
}

main().catch(function reportFatal(error: unknown) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
