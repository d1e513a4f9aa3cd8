/**
 * Serves a folder's files and a few assets built in memory, as a wirechan route handler:
 * content types, a strong `ETag` and `304` on `If-None-Match`, `Cache-Control: no-cache`,
 * `HEAD`, `405` for other methods (on a file that exists; 404 otherwise), `X-Content-Type-
 * Options: nosniff` on every answer, and the pages' Content-Security-Policy (page-policy.ts) on
 * HTML and SVG. No request ever reads
 * outside the folder: the raw path is checked by safe-path.ts, symlinks by folder-files.ts,
 * and every refusal is the same plain 404.
 *
 * Cache policy: every answer is `no-cache` (the browser keeps it but asks each time, and the
 * ETag makes the answer a 304 without a body). The files' names carry no content hash, so a
 * longer `max-age` would keep an old page script after the server changed.
 */
import type { ResponseParts, ServerRequest } from "../../src/server/index.js";
import { contentTypeOf, isDocumentType } from "./content-types.js";
import { etagOf, ifNoneMatchHits } from "../../src/server/etag.js";
import { FolderFiles, type ServedFile } from "./folder-files.js";
import { pagePolicy } from "./page-policy.js";
import { fileSegments } from "./safe-path.js";

/** The defaults of {@link StaticFiles.create}. */
export const staticFilesDefaults = {
  /** Bytes; a bigger file in the folder is answered 404 and never read. 4 MiB: the pages, their styles and icons are a few KiB. */
  maxFileSize: 4 * 1024 * 1024,
  /** Files kept in memory between requests; the least recently served go first. */
  maxCacheEntries: 64,
  /** Bytes kept in memory between requests, all files together; a file bigger than this is served but not kept. 16 MiB. */
  maxCacheBytes: 16 * 1024 * 1024,
} as const;

export interface StaticFilesOptions {
  /** The folder served. */
  root: string;
  /** Paths answered with a file of the folder, `{ "/": "index.html", "/chat": "chat.html" }`. */
  pages?: Readonly<Record<string, string>>;
  /** Bodies built in memory, by path (`{ "/wirechan/client.js": text }`), typed by the path's extension. */
  assets?: Readonly<Record<string, string | Uint8Array>>;
  /** Default {@link staticFilesDefaults}.maxFileSize. */
  maxFileSize?: number;
  /** Default {@link staticFilesDefaults}.maxCacheEntries. */
  maxCacheEntries?: number;
  /** Default {@link staticFilesDefaults}.maxCacheBytes. */
  maxCacheBytes?: number;
}

const NOSNIFF = { "x-content-type-options": "nosniff" } as const;
const NOT_FOUND: ResponseParts = { status: 404, headers: { ...NOSNIFF, "cache-control": "no-cache" }, body: "not found" };
const NOT_ALLOWED: ResponseParts = { status: 405, headers: { ...NOSNIFF, allow: "GET, HEAD" }, body: "method not allowed: GET or HEAD" };

/** A folder and in-memory assets, served by {@link StaticFiles.serve}. */
export class StaticFiles {
  private constructor(
    readonly folder: FolderFiles,
    private readonly pages: ReadonlyMap<string, readonly string[]>,
    private readonly assets: ReadonlyMap<string, ServedFile>,
  ) {}

  /**
   * Opens the folder. Rejects if it is missing; throws a `TypeError` for a page name or an
   * asset path that no request could reach (a dotfile, a `..`, a path not starting with `/`)
   * or a limit that is not a positive integer.
   */
  static async create(options: StaticFilesOptions): Promise<StaticFiles> {
    const limits = {
      maxFileSize: positive("maxFileSize", options.maxFileSize ?? staticFilesDefaults.maxFileSize),
      maxCacheEntries: positive("maxCacheEntries", options.maxCacheEntries ?? staticFilesDefaults.maxCacheEntries),
      maxCacheBytes: positive("maxCacheBytes", options.maxCacheBytes ?? staticFilesDefaults.maxCacheBytes),
    };
    const pages = new Map<string, readonly string[]>();
    for (const [path, file] of Object.entries(options.pages ?? {})) pages.set(reachable(path), checkedNames(file));
    const assets = new Map<string, ServedFile>();
    for (const [path, body] of Object.entries(options.assets ?? {})) assets.set(reachable(path), memoryFile(path, body));
    return new StaticFiles(await FolderFiles.open(options.root, limits), pages, assets);
  }

  /** The pages' and assets' paths: a server routes each to {@link serve}, and `"*"` for the folder. */
  get paths(): string[] {
    return [...this.pages.keys(), ...this.assets.keys()];
  }

  /** The route handler: a page, an asset, or a file of the folder; 404 for anything else. */
  readonly serve = async (req: ServerRequest): Promise<ResponseParts> => {
    if (req.transport === "websocket") return NOT_FOUND;
    // The raw target, not req.path: the router's URL parser has already resolved `..` there.
    const names = fileSegments(req.url);
    if (names === null) return NOT_FOUND;
    const path = `/${names.join("/")}`;
    const file = this.assets.get(path) ?? (await this.folder.read(this.pages.get(path) ?? names));
    if (file === null) return NOT_FOUND;
    // 404 before 405: a POST to a path that names nothing is told so, not that it may GET it.
    if (req.method !== "GET" && req.method !== "HEAD") return NOT_ALLOWED;
    return answerWith(file, req);
  };
}

/** 304 when the client's copy is current, else the file (its body, which node leaves out for HEAD). */
function answerWith(file: ServedFile, req: ServerRequest): ResponseParts {
  const headers: Record<string, string> = { ...NOSNIFF, etag: file.etag, "cache-control": "no-cache" };
  const ifNoneMatch = req.headers["if-none-match"];
  if (ifNoneMatchHits(ifNoneMatch, file.etag)) return { status: 304, headers };
  headers["content-type"] = file.contentType;
  if (isDocumentType(file.contentType)) headers["content-security-policy"] = pagePolicy(req.headers.host);
  return { status: 200, headers, body: file.bytes };
}

function memoryFile(path: string, body: string | Uint8Array): ServedFile {
  const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : body;
  return { bytes, etag: etagOf(bytes), contentType: contentTypeOf(path) };
}

/** A page or asset path as a request reaches it: the canonical form {@link fileSegments} gives. */
function reachable(path: string): string {
  const names = fileSegments(path);
  const canonical = names === null ? null : `/${names.join("/")}`;
  if (canonical !== path) throw new TypeError(`${JSON.stringify(path)} is not a path a request can reach: plain names after "/", no dotfiles, no ".." (see apps/shared/safe-path.ts)`);
  return path;
}

function checkedNames(file: string): readonly string[] {
  const names = fileSegments(`/${file}`);
  if (names === null || names.length === 0) throw new TypeError(`${JSON.stringify(file)} is not a file name in the folder: plain names, no dotfiles, no ".."`);
  return names;
}

function positive(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new TypeError(`${name} must be a positive integer, got ${value}`);
  return value;
}
