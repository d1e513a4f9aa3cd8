// How the summary writes numbers and ratios: plain numbers (the unit is in the measure's name),
// as many digits as the size of the number warrants.

const grouped = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

export function formatNumber(v: number | null): string {
  if (v === null) return "—";
  const a = Math.abs(v);
  if (a >= 1000) return grouped.format(Math.round(v));
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toFixed(3);
}

/** wirechan / peer, two decimals, or "—" when either is missing. */
export function formatRatio(wirechan: number | null, peer: number | null): string {
  if (wirechan === null || peer === null || peer === 0) return "—";
  return `${(wirechan / peer).toFixed(2)}x`;
}

/** A peer's cell: its number and wirechan's ratio to it. */
export function peerCell(wirechan: number | null, peer: number | null): string {
  return peer === null ? "—" : `${formatNumber(peer)} (${formatRatio(wirechan, peer)})`;
}

export function formatDuration(ms: number | null): string {
  if (ms === null) return "—";
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s} s` : `${(s / 60).toFixed(1)} min`;
}
