// Command-line flags for quick iteration: `--runs N`, `--only lib1,lib2`, `--no-build`.
import { parseOnly } from "../shared/options.js";
import { DEFAULT_RUNS, LIBS, type LibName } from "./config.js";

export interface Options {
  readonly runs: number;
  readonly libs: readonly LibName[];
  /** Skip the build and use whatever dist/ holds (still checked to exist). */
  readonly build: boolean;
}

const USAGE = "usage: npm run bench:csp -- [--runs N] [--only wirechan,js-csp,prelude,thing] [--no-build]";

function parseRuns(text: string | undefined): number {
  const runs = Number(text);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs needs a positive integer\n${USAGE}`);
  return runs;
}

function parseLibs(text: string | undefined): LibName[] {
  return parseOnly(text, LIBS.map((lib) => lib.name), "libraries", USAGE);
}

export function parseOptions(argv: readonly string[]): Options {
  let runs = DEFAULT_RUNS;
  let libs: LibName[] = LIBS.map((lib) => lib.name);
  let build = true;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--runs") runs = parseRuns(argv[++i]);
    else if (arg?.startsWith("--runs=")) runs = parseRuns(arg.slice("--runs=".length));
    else if (arg === "--only") libs = parseLibs(argv[++i]);
    else if (arg?.startsWith("--only=")) libs = parseLibs(arg.slice("--only=".length));
    else if (arg === "--no-build") build = false;
    else throw new Error(`unknown argument "${arg}"\n${USAGE}`);
  }
  return { runs, libs, build };
}
