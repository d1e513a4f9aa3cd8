// Command-line pieces every benchmark's runner shares.

/**
 * The names `--only` (or `flag`, such as `--impls`) lists, out of `known`, in the canonical order
 * (so tables always read the same way). Throws, naming the flag and the unknown ones, for an
 * empty list or a name not in `known`.
 */
export function parseOnly<N extends string>(text: string | undefined, known: readonly N[], what: string, usage: string, flag = "--only"): N[] {
  const wanted = (text ?? "").split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  if (wanted.length === 0) throw new Error(`${flag} needs a comma-separated list of ${what}\n${usage}`);
  const unknown = wanted.filter((name) => !known.includes(name as N));
  if (unknown.length > 0) throw new Error(`${flag}: unknown ${what} ${unknown.join(", ")} (known: ${known.join(", ")})\n${usage}`);
  return known.filter((name) => wanted.includes(name));
}

/** `--name N` from `argv` as a positive integer, `fallback` when absent; throws, naming the flag, for anything else. */
export function positiveIntFlag(argv: readonly string[], name: string, fallback: number): number {
  const at = argv.indexOf(`--${name}`);
  const value = at === -1 ? fallback : Number(argv[at + 1]);
  if (!Number.isInteger(value) || value <= 0) throw new RangeError(`--${name} must be a positive integer`);
  return value;
}
