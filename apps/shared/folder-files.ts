/**
 * Reads the files of one folder for the static file server: the I/O half of static-files.ts.
 * A file is served only if its real path (every symlink resolved) is inside the folder's real
 * path, it is a regular file, and it is at most `maxFileSize` bytes. Files are read at request
 * time, so an edited page is served without a restart, through a cache bounded in entries and
 * in bytes, checked against the file's inode, size and mtime on every request. Requests for
 * the same file while it is being read share that one read, so the memory of reads in flight
 * is at most the folder's files once each (each at most `maxFileSize`), however many clients
 * ask at once.
 */
import { constants, type Stats } from "node:fs";
import { type FileHandle, open, realpath, stat } from "node:fs/promises";
import { join, sep } from "node:path";
import { contentTypeOf } from "./content-types.js";
import { etagOf } from "../../src/server/etag.js";

/** A file ready to serve: its bytes, their strong ETag and their content type. */
export interface ServedFile {
  readonly bytes: Uint8Array;
  readonly etag: string;
  readonly contentType: string;
}

/** The bounds of a folder's reads and cache (see `staticFilesDefaults` for their values). */
export interface FolderLimits {
  readonly maxFileSize: number;
  readonly maxCacheEntries: number;
  readonly maxCacheBytes: number;
}

interface CacheEntry extends ServedFile {
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
}

/** Errors that mean "no such file to serve", answered 404 rather than 500. */
const NOT_SERVABLE = new Set(["ENOENT", "ENOTDIR", "ELOOP", "ENAMETOOLONG", "EACCES", "EPERM", "EISDIR"]);

// O_NOFOLLOW: if the last name became a symlink between realpath and open, the open fails
// instead of following it out of the folder. 0 where the platform has no such flag.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0);

/** One served folder. Create with {@link FolderFiles.open}. */
export class FolderFiles {
  private readonly cache = new Map<string, CacheEntry>();
  private cacheBytes = 0;
  /** Reads in flight, by real path: at most one per file of the folder. */
  private readonly reading = new Map<string, Promise<ServedFile | null>>();
  private diskReads = 0;

  private constructor(
    /** The folder's real path, ending in the path separator. */
    private readonly root: string,
    private readonly limits: FolderLimits,
  ) {}

  /** Opens `folder`; rejects if it does not exist or is not a directory. */
  static async open(folder: string, limits: FolderLimits): Promise<FolderFiles> {
    const root = await realpath(folder);
    if (!(await stat(root)).isDirectory()) throw new Error(`${folder} is not a folder`);
    return new FolderFiles(root.endsWith(sep) ? root : root + sep, limits);
  }

  /** What the cache holds now, and how many files were read from disk so far: for tests and for a reader checking the bounds. */
  get cached(): { entries: number; bytes: number; diskReads: number } {
    return { entries: this.cache.size, bytes: this.cacheBytes, diskReads: this.diskReads };
  }

  /**
   * The file at `names` (plain file names, as safe-path.ts returns them) under the folder, or
   * null when there is none to serve: missing, a folder, outside the folder through a
   * symlink, or over `maxFileSize`. Other file system errors reject.
   */
  async read(names: readonly string[]): Promise<ServedFile | null> {
    if (names.length === 0) return null;
    try {
      return await this.readInside(join(this.root, ...names));
    } catch (error) {
      if (NOT_SERVABLE.has((error as NodeJS.ErrnoException).code ?? "")) return null;
      throw error;
    }
  }

  private async readInside(candidate: string): Promise<ServedFile | null> {
    const real = await realpath(candidate);
    if (!real.startsWith(this.root)) return null;
    const pending = this.reading.get(real);
    if (pending !== undefined) return pending;
    const read = this.readReal(real).finally(() => this.reading.delete(real));
    this.reading.set(real, read);
    return read;
  }

  private async readReal(real: string): Promise<ServedFile | null> {
    const handle = await open(real, OPEN_FLAGS);
    try {
      const info = await handle.stat();
      if (!info.isFile() || info.size > this.limits.maxFileSize) return null;
      const hit = this.cache.get(real);
      if (hit !== undefined && sameFile(hit, info)) {
        this.cache.delete(real); // most recently used goes last: eviction takes the first
        this.cache.set(real, hit);
        return hit;
      }
      this.diskReads++;
      const bytes = await readExactly(handle, info.size);
      const entry: CacheEntry = { bytes, etag: etagOf(bytes), contentType: contentTypeOf(real), ino: info.ino, size: info.size, mtimeMs: info.mtimeMs };
      this.remember(real, entry);
      return entry;
    } finally {
      await handle.close();
    }
  }

  private remember(key: string, entry: CacheEntry): void {
    this.forget(key);
    if (entry.bytes.length > this.limits.maxCacheBytes) return; // served, not kept
    this.cache.set(key, entry);
    this.cacheBytes += entry.bytes.length;
    for (const [oldest] of this.cache) {
      if (this.cache.size <= this.limits.maxCacheEntries && this.cacheBytes <= this.limits.maxCacheBytes) break;
      this.forget(oldest);
    }
  }

  private forget(key: string): void {
    const entry = this.cache.get(key);
    if (entry === undefined) return;
    this.cache.delete(key);
    this.cacheBytes -= entry.bytes.length;
  }
}

function sameFile(entry: CacheEntry, info: Stats): boolean {
  return entry.ino === info.ino && entry.size === info.size && entry.mtimeMs === info.mtimeMs;
}

/** Reads `size` bytes from the start; fewer if the file shrank meanwhile, never more (it may have grown). */
async function readExactly(handle: FileHandle, size: number): Promise<Uint8Array> {
  const bytes = Buffer.alloc(size);
  let filled = 0;
  while (filled < size) {
    const { bytesRead } = await handle.read(bytes, filled, size - filled, filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return bytes.subarray(0, filled);
}
