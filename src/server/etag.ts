/**
 * Entity tags and `If-None-Match` (RFC 9110 §8.8.3, §13.1.2), pure. The tag is strong, from a
 * hash of the bytes, so the same file gives the same tag across restarts and machines (unlike
 * one from mtime and size, which a fresh checkout changes).
 */
import { createHash } from "node:crypto";

/** A strong ETag: `"` + 128 bits of SHA-256 in base64url + `"`. */
export function etagOf(bytes: Uint8Array): string {
  return `"${createHash("sha256").update(bytes).digest("base64url").slice(0, 22)}"`;
}

/** One entity tag in a list: an optional weak prefix and a quoted opaque tag (etagc excludes `"`). */
const ENTITY_TAG = /(?:W\/)?"[\x21\x23-\x7e\x80-\xff]*"/g;

/**
 * Whether `If-None-Match` matches `etag`, so a GET or HEAD is answered 304: `*`, or any tag of
 * the list equal by the weak comparison (the opaque tags alike, a `W/` prefix on either side
 * ignored), as §13.1.2 asks for this header. A header that holds no well-formed tag matches
 * nothing: the client then gets the whole file, never a wrong 304.
 */
export function ifNoneMatchHits(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === "*") return true;
  const wanted = opaqueTag(etag);
  for (const tag of header.match(ENTITY_TAG) ?? []) {
    if (opaqueTag(tag) === wanted) return true;
  }
  return false;
}

function opaqueTag(tag: string): string {
  return tag.startsWith("W/") ? tag.slice(2) : tag;
}
