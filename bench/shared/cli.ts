// Command-line values a child-process benchmark's runner reads besides `--only` (options.ts).
import path from "node:path";

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
