// Finds where HTTP/1.x messages begin and end in a byte stream seen chunk by chunk, without
// keeping the bodies: just enough of RFC 9112's message framing (heads, Content-Length, chunked
// with trailers, close-delimited, tunnels) for buffering-proxy.ts to know when a response is
// complete. Anything it can't frame makes it give up and say so, so a proxy passes the rest on
// as it comes instead of holding it forever.
import { HEADER_END } from "../../scripts/net/tcp-kit.js";

/** A head longer than this, or a chunk-size line or trailer section, isn't HTTP this framer waits for. */
export const MAX_HEADER_BYTES = 64 * 1024;
const EMPTY = Buffer.alloc(0);
const CR = 0x0d;
const LF = 0x0a;
const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) \S+ HTTP\/1\.[01]$/;
const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/;
/** Hex digits of a chunk size: 12 of them stay well inside a safe integer. */
const CHUNK_SIZE = /^[0-9a-fA-F]{1,12}$/;

export interface MessageHead {
  /** The request method, for a request head. */
  method: string | undefined;
  /** The status code, for a response head. */
  status: number | undefined;
  /** Header values by lower-case name, in order. */
  headers: Map<string, string[]>;
  /** The head as received (latin1), start line to the empty line. */
  text: string;
}

/** How the body after a head is delimited. */
export type BodyMode = { kind: "none" } | { kind: "length"; length: number } | { kind: "chunked" } | { kind: "close" } | { kind: "tunnel" };

/**
 * `at` is an offset into the chunk just fed: just past a complete head, just past the end of a
 * message, or where the stream stops being framed ("tunnel": everything from there on is opaque,
 * after a 101 or a CONNECT, or because it wasn't HTTP the framer understands).
 */
export type FrameEvent = { kind: "head"; at: number; head: MessageHead } | { kind: "end"; at: number } | { kind: "tunnel"; at: number };

type State = "head" | "fixed" | "chunk-size" | "chunk-data" | "chunk-data-end" | "trailer" | "until-close" | "tunnel";

/** The values of a comma-separated list header, trimmed and lower-cased. */
export function listHeader(head: MessageHead, name: string): string[] {
  const values = head.headers.get(name) ?? [];
  return values.flatMap((v) => v.split(",")).map((v) => v.trim().toLowerCase()).filter((v) => v.length > 0);
}

/** The body framing that Transfer-Encoding and Content-Length give, or undefined if they are invalid. */
export function declaredBody(head: MessageHead): BodyMode | undefined {
  const codings = listHeader(head, "transfer-encoding");
  if (codings.length > 0) return codings.at(-1) === "chunked" ? { kind: "chunked" } : undefined;
  const lengths = listHeader(head, "content-length");
  if (lengths.length === 0) return { kind: "none" };
  const first = lengths[0];
  if (first === undefined || !/^\d{1,15}$/.test(first) || lengths.some((l) => l !== first)) return undefined;
  return { kind: "length", length: Number(first) };
}

function parseHead(kind: "request" | "response", bytes: Buffer): MessageHead | undefined {
  const text = bytes.toString("latin1");
  const [start = "", ...lines] = text.slice(0, -HEADER_END.length).split("\r\n");
  const head: MessageHead = { method: undefined, status: undefined, headers: new Map(), text };
  if (kind === "request") {
    head.method = REQUEST_LINE.exec(start)?.[1];
    if (head.method === undefined) return undefined;
  } else {
    const status = STATUS_LINE.exec(start)?.[1];
    if (status === undefined) return undefined;
    head.status = Number(status);
  }
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon <= 0) return undefined;
    const name = line.slice(0, colon).trim().toLowerCase();
    const values = head.headers.get(name) ?? [];
    values.push(line.slice(colon + 1).trim());
    head.headers.set(name, values);
  }
  return head;
}

/**
 * One direction of an HTTP/1.x connection. `bodyOf` decides each message's body framing from its
 * head: the caller knows what the framer can't (a response to HEAD has no body, whatever it says).
 */
export class HttpFramer {
  private state: State = "head";
  private headBytes: Buffer = EMPTY;
  /** Body bytes still to come in a Content-Length body or the current chunk. */
  private remaining = 0;
  /** A chunk-size or trailer line seen in part. */
  private line = "";
  /** Bytes of the current line section (a size line, or the whole trailer), bounded like a head. */
  private sectionBytes = 0;

  constructor(
    private readonly kind: "request" | "response",
    private readonly bodyOf: (head: MessageHead) => BodyMode,
  ) {}

  /** Inside a head (or before one): what the caller holds back is the head so far. */
  get inHead(): boolean {
    return this.state === "head";
  }

  /** The rest of the stream is opaque bytes. */
  get tunneling(): boolean {
    return this.state === "tunnel";
  }

  /** Delimited by the end of the stream: the message ends when the sender closes. */
  get untilClose(): boolean {
    return this.state === "until-close";
  }

  /** Bytes of an incomplete head the framer keeps to parse it. */
  get pendingBytes(): number {
    return this.headBytes.length;
  }

  /** Stops framing: everything from here on is opaque. */
  tunnel(): void {
    this.state = "tunnel";
    this.headBytes = EMPTY;
    this.line = "";
  }

  /** The message boundaries in `chunk`, in order. */
  feed(chunk: Buffer): FrameEvent[] {
    const events: FrameEvent[] = [];
    for (let i = 0; i < chunk.length && this.state !== "tunnel" && this.state !== "until-close"; ) i = this.step(chunk, i, events);
    return events;
  }

  private step(chunk: Buffer, i: number, events: FrameEvent[]): number {
    switch (this.state) {
      case "head":
        return this.readHead(chunk, i, events);
      case "fixed":
      case "chunk-data": {
        const take = Math.min(this.remaining, chunk.length - i);
        this.remaining -= take;
        if (this.remaining === 0) {
          if (this.state === "fixed") this.endMessage(i + take, events);
          else this.enterLine("chunk-data-end");
        }
        return i + take;
      }
      case "chunk-size":
      case "chunk-data-end":
      case "trailer":
        return this.readLine(chunk, i, events);
      default:
        return chunk.length;
    }
  }

  private readHead(chunk: Buffer, start: number, events: FrameEvent[]): number {
    const before = this.headBytes.length;
    let i = start;
    // Empty lines before a message are allowed (RFC 9112 section 2.2): some clients send a CRLF after a body.
    if (before === 0) while (i < chunk.length && (chunk[i] === CR || chunk[i] === LF)) i += 1;
    if (i === chunk.length) return i;
    const joined = before === 0 ? chunk.subarray(i) : Buffer.concat([this.headBytes, chunk.subarray(i)]);
    const end = joined.indexOf(HEADER_END, Math.max(0, before - (HEADER_END.length - 1)));
    if (end === -1) {
      if (joined.length > MAX_HEADER_BYTES) return this.fail(chunk.length, events);
      // A copy, so a small head doesn't keep a whole 64 KiB read buffer alive.
      this.headBytes = Buffer.from(joined);
      return chunk.length;
    }
    const size = end + HEADER_END.length;
    const next = i + size - before;
    this.headBytes = EMPTY;
    const head = size <= MAX_HEADER_BYTES ? parseHead(this.kind, joined.subarray(0, size)) : undefined;
    if (head === undefined) return this.fail(next, events);
    events.push({ kind: "head", at: next, head });
    const body = this.bodyOf(head);
    switch (body.kind) {
      case "none":
        this.endMessage(next, events);
        break;
      case "length":
        if (body.length === 0) this.endMessage(next, events);
        else {
          this.state = "fixed";
          this.remaining = body.length;
        }
        break;
      case "chunked":
        this.enterLine("chunk-size");
        break;
      case "close":
        this.state = "until-close";
        break;
      case "tunnel":
        this.endMessage(next, events);
        this.tunnel();
        events.push({ kind: "tunnel", at: next });
        break;
    }
    return next;
  }

  /** Reads one CRLF-ended line of the chunked framing: a chunk size, the CRLF after a chunk's data, or a trailer line. */
  private readLine(chunk: Buffer, i: number, events: FrameEvent[]): number {
    const lf = chunk.indexOf(LF, i);
    this.sectionBytes += (lf === -1 ? chunk.length : lf + 1) - i;
    if (this.sectionBytes > MAX_HEADER_BYTES) return this.fail(i, events);
    if (lf === -1) {
      this.line += chunk.toString("latin1", i);
      return chunk.length;
    }
    const line = (this.line + chunk.toString("latin1", i, lf)).replace(/\r$/, "");
    this.line = "";
    const next = lf + 1;
    if (this.state === "chunk-size") {
      const hex = (line.split(";")[0] ?? "").trim();
      if (!CHUNK_SIZE.test(hex)) return this.fail(next, events);
      const size = parseInt(hex, 16);
      if (size === 0) this.enterLine("trailer");
      else {
        this.state = "chunk-data";
        this.remaining = size;
      }
    } else if (this.state === "chunk-data-end") {
      if (line !== "") return this.fail(next, events);
      this.enterLine("chunk-size");
    } else if (line === "") {
      this.endMessage(next, events);
    }
    return next;
  }

  private enterLine(state: "chunk-size" | "chunk-data-end" | "trailer"): void {
    this.state = state;
    this.sectionBytes = 0;
  }

  private endMessage(at: number, events: FrameEvent[]): void {
    this.state = "head";
    events.push({ kind: "end", at });
  }

  /** Not HTTP the framer understands: from `at` on, the stream is opaque. */
  private fail(at: number, events: FrameEvent[]): number {
    this.tunnel();
    events.push({ kind: "tunnel", at });
    return at;
  }
}
