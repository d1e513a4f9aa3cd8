// The tables and verdicts the benchmark reports print, in the terminal and in their READMEs.

/** Columns padded to their widest cell: the first `leftColumns` left-aligned, numbers right-aligned. */
export function plainTable(header: readonly string[], rows: readonly (readonly string[])[], leftColumns: number): string {
  const widths = header.map((h, col) => Math.max(h.length, ...rows.map((r) => (r[col] ?? "").length)));
  const pad = (cells: readonly string[]): string =>
    cells.map((c, col) => (col < leftColumns ? c.padEnd(widths[col] ?? 0) : c.padStart(widths[col] ?? 0))).join("  ");
  return [pad(header), ...rows.map(pad)].join("\n");
}

/** The same as a Markdown table. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[], leftColumns: number): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(" | ")} |`;
  const rule = `|${header.map((_, i) => (i < leftColumns ? " --- " : " ---: ")).join("|")}|`;
  return [line(header), rule, ...rows.map(line)].join("\n");
}

/**
 * A ratio rounded against the target's direction (down for an "at least" target, up for the
 * others), so 1.304x never prints as "1.30x" next to "NOT met".
 */
export function formatRatio(ratio: number | undefined, kind: "min" | "max" | "below"): string {
  if (ratio === undefined) return "n/a";
  const r = kind === "min" ? Math.floor(ratio * 100) / 100 : Math.ceil(ratio * 100) / 100;
  return `${r.toFixed(2)}x`;
}

export function verdict(met: boolean | undefined): string {
  return met === undefined ? "n/a" : met ? "met" : "NOT met";
}
