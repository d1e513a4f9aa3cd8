// `npm run bench -- [--quick] [--only csp,server,…] [--no-build] [--summary-only]`.
import { parseOnly } from "../shared/options.js";
import { SUITES, type SuiteName } from "./suites.js";

export interface AllOptions {
  /** One round and the smallest counts of every suite: a smoke test of the chain, not numbers to commit. */
  readonly quick: boolean;
  readonly suites: readonly SuiteName[];
  readonly build: boolean;
  /** Run nothing: rebuild bench/README.md from the results.json files as they are. */
  readonly summaryOnly: boolean;
}

export const USAGE = `usage: npm run bench -- [--quick] [--only ${SUITES.map((s) => s.name).join(",")}] [--no-build] [--summary-only]`;

export function parseAllOptions(argv: readonly string[]): AllOptions {
  let quick = false;
  let suites: readonly SuiteName[] = SUITES.map((s) => s.name);
  let build = true;
  let summaryOnly = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const [flag, inline] = arg.includes("=") ? arg.split("=", 2) : [arg, undefined];
    if (flag === "--quick") quick = true;
    else if (flag === "--no-build") build = false;
    else if (flag === "--summary-only") summaryOnly = true;
    else if (flag === "--only") suites = parseOnly(inline ?? argv[++i], SUITES.map((s) => s.name), "suites", USAGE);
    else throw new Error(`unknown argument "${arg}"\n${USAGE}`);
  }
  return { quick, suites, build, summaryOnly };
}
