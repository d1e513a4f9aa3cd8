// The command line of a child-process benchmark's runner (bench:topic, bench:cluster):
// `--runs N`, `--only CASES`, `--impls ROWS`, `--profile DIR`, `--no-build`.
import path from "node:path";
import { parseOnly } from "./options.js";

/** What a runner was asked for. */
export interface RunnerOptions<C extends string, I extends string> {
  readonly runs: number;
  readonly cases: readonly C[];
  readonly impls: readonly I[];
  readonly build: boolean;
  /** Directory for --cpu-prof profiles of every child, or null. */
  readonly profileDir: string | null;
}

/** Reads a runner's arguments (`--flag value` or `--flag=value`); throws an Error with the usage for anything else. */
export function parseRunnerOptions<C extends string, I extends string>(
  argv: readonly string[],
  known: { readonly cases: readonly C[]; readonly impls: readonly I[]; readonly defaultRuns: number; readonly usage: string },
): RunnerOptions<C, I> {
  const { usage } = known;
  let runs = known.defaultRuns;
  let cases: readonly C[] = known.cases;
  let impls: readonly I[] = known.impls;
  let build = true;
  let profileDir: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const [flag, inline] = arg.includes("=") ? arg.split("=", 2) : [arg, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    if (flag === "--runs") runs = parseRuns(value(), usage);
    else if (flag === "--only") cases = parseOnly(value(), known.cases, "cases", usage);
    else if (flag === "--impls") impls = parseOnly(value(), known.impls, "implementations", usage, "--impls");
    else if (flag === "--no-build") build = false;
    else if (flag === "--profile") profileDir = parseProfileDir(value(), usage);
    else throw new Error(`unknown argument "${arg}"\n${usage}`);
  }
  return { runs, cases, impls, build, profileDir };
}

/** `--runs N`: an integer from 1 to 9, else an Error with the usage. */
export function parseRuns(text: string | undefined, usage: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 9) throw new Error(`--runs needs an integer from 1 to 9\n${usage}`);
  return n;
}

/** `--profile DIR`: the directory, absolute, else an Error with the usage. */
export function parseProfileDir(text: string | undefined, usage: string): string {
  if (text === undefined || text.length === 0) throw new Error(`--profile needs a directory\n${usage}`);
  return path.resolve(text);
}
