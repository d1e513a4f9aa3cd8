/**
 * The content type of a served file, from its name's extension. A short fixed table of what the
 * apps' folder holds: anything else is `application/octet-stream`, which a browser downloads
 * instead of rendering (with `nosniff`, it never guesses HTML or script from the bytes).
 */
import { extname } from "node:path";

/** Fallback for an extension not in the table. */
export const UNKNOWN_TYPE = "application/octet-stream";

const TYPES: ReadonlyMap<string, string> = new Map([
  [".html", "text/html; charset=utf-8"],
  [".css", "text/css; charset=utf-8"],
  [".js", "text/javascript; charset=utf-8"],
  [".mjs", "text/javascript; charset=utf-8"],
  [".json", "application/json"],
  [".map", "application/json"],
  [".svg", "image/svg+xml"],
  [".png", "image/png"],
  [".ico", "image/x-icon"],
  [".txt", "text/plain; charset=utf-8"],
]);

/** The `Content-Type` for a file name or URL path (case-insensitive extension). */
export function contentTypeOf(name: string): string {
  return TYPES.get(extname(name).toLowerCase()) ?? UNKNOWN_TYPE;
}

/**
 * Whether a response of this type is a document a browser runs as a page: HTML, and SVG
 * opened on its own (it may hold script). Those get the Content-Security-Policy.
 */
export function isDocumentType(contentType: string): boolean {
  return contentType.startsWith("text/html") || contentType.startsWith("image/svg+xml");
}
