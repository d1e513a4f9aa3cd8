/**
 * Turns a request target, exactly as the client sent it, into the names of a file under the
 * served folder, or null: pure, no file system. It reads the raw target rather than a parsed
 * URL on purpose: a URL parser resolves `/%2e%2e/` and `/a/../b` before anyone sees them, and
 * what it resolves differs between parsers; refusing them here means the same 404 whatever
 * sits in front of the server.
 *
 * Each segment is percent-decoded once and must then be a plain file name: letters, digits,
 * `-`, `_` and `.`, not starting with `.`. That one rule refuses every way out of the folder
 * and every hidden file: `..` and `.` (leading dot), dotfiles (`.env`, `.git`), an encoded
 * slash or backslash (`%2f`, `%5c`, a raw `\`), NUL (`%00`), a drive letter (`C:`), a second
 * encoding layer (`%252e` decodes to `%2e`, and `%` is not allowed), empty segments (`//etc`).
 * The folder's own files are named by us, so the rule costs nothing.
 */

/** At most this many segments and characters per segment: a longer path names nothing of ours. */
export const MAX_SEGMENTS = 8;
export const MAX_SEGMENT_LENGTH = 128;

const FILE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/**
 * The decoded segments of an origin-form target (`/a/b.css?x` → `["a", "b.css"]`; `/` → `[]`),
 * or null when the target is not one the folder could hold (see the module comment). An
 * absolute-form target (`http://host/x`) is null too: browsers never send one to an origin.
 */
export function fileSegments(target: string): string[] | null {
  if (!target.startsWith("/")) return null;
  const end = target.search(/[?#]/);
  const path = end === -1 ? target : target.slice(0, end);
  if (path === "/") return [];
  const raw = path.slice(1).split("/");
  if (raw.length > MAX_SEGMENTS) return null;
  const segments: string[] = [];
  for (const part of raw) {
    const name = decodeSegment(part);
    if (name === null || name.length > MAX_SEGMENT_LENGTH || !FILE_NAME.test(name)) return null;
    segments.push(name);
  }
  return segments;
}

function decodeSegment(part: string): string | null {
  try {
    return decodeURIComponent(part);
  } catch {
    return null; // a malformed escape (`%zz`, a lone `%`, bad UTF-8)
  }
}
