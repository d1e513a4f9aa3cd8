// Reads a V8 heap snapshot (the JSON `v8.writeHeapSnapshot` writes) into bytes and counts per
// kind of object, so that two snapshots of one process can be subtracted.
import { readFileSync } from "node:fs";

/** Self size and count of every object of one kind. */
export interface KindTotal {
  bytes: number;
  count: number;
}

interface SnapshotJson {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/**
 * The kind an object is counted under: its constructor for objects (`WsConnection`), its name
 * for closures (`closure onMessage`), its V8 name for arrays and internals (`(array) (object
 * elements)`); every string is `(string)` and every number `(number)`, whatever their text.
 */
function kindOf(type: string, name: string): string {
  switch (type) {
    case "object":
      return name;
    case "closure":
      return `closure ${name || "(anonymous)"}`;
    case "string":
    case "concatenated string":
    case "sliced string":
      return "(string)";
    case "number":
    case "heap number":
      return "(number)";
    case "code":
      return "(code)";
    default:
      // "array", "hidden", "native", "object shape", "synthetic", "symbol", "bigint"
      return `(${type}) ${name.length > 60 ? `${name.slice(0, 57)}...` : name}`;
  }
}

/** Self size and count by kind over every node of the snapshot at `path`. */
export function totalsByKind(path: string): Map<string, KindTotal> {
  const json = JSON.parse(readFileSync(path, "utf8")) as SnapshotJson;
  const fields = json.snapshot.meta.node_fields;
  const types = json.snapshot.meta.node_types[0];
  const stride = fields.length;
  const typeAt = fields.indexOf("type");
  const nameAt = fields.indexOf("name");
  const sizeAt = fields.indexOf("self_size");
  const { nodes, strings } = json;
  const totals = new Map<string, KindTotal>();
  for (let i = 0; i < nodes.length; i += stride) {
    const kind = kindOf(types[nodes[i + typeAt] as number] ?? "?", strings[nodes[i + nameAt] as number] ?? "");
    const total = totals.get(kind);
    const size = nodes[i + sizeAt] as number;
    if (total === undefined) totals.set(kind, { bytes: size, count: 1 });
    else {
      total.bytes += size;
      total.count += 1;
    }
  }
  return totals;
}

/** What one more client costs, by kind: (after - before) / clients, the kinds that grew most first. */
export interface KindPerClient {
  kind: string;
  bytes: number;
  count: number;
}

export function perClient(before: Map<string, KindTotal>, after: Map<string, KindTotal>, clients: number): KindPerClient[] {
  const rows: KindPerClient[] = [];
  for (const [kind, total] of after) {
    const base = before.get(kind) ?? { bytes: 0, count: 0 };
    rows.push({ kind, bytes: (total.bytes - base.bytes) / clients, count: (total.count - base.count) / clients });
  }
  return rows.sort((a, b) => b.bytes - a.bytes);
}
