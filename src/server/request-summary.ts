// What a connection keeps of the request it came from. A connection lives long and rarely
// looks at its headers again, yet kept node's headers object: an object over one string per
// value, each with its own header. One flat string holds the same for less, common names and
// whole headers in two characters each (heap used, per idle WebSocket: about 145 bytes less for
// a `ws` client's upgrade, 260 for wirechan's client's), and the object is built from it the
// first time `headers` is read.
import type { IncomingHttpHeaders } from "node:http";
import type { RequestInfo } from "./connection.js";

/** Ends a header. */
const END = "\0";
/** Between a name and its value, when the value is a string. */
const ONE = "\x01";
/** Between a name and its values, when the value is an array (as node makes `set-cookie`). */
const MANY = "\x02";
/** Between the values of an array. */
const NEXT = "\x03";
/** Starts a header that is one of {@link COMMON_HEADERS}, name and value: the next character says which. */
const COMMON_HEADER = "\x04";
/** Starts a header whose name is one of {@link COMMON_NAMES}: the next character says which, then its separator and value. */
const COMMON_NAME = "\x05";
/** Whether `text` holds a control character this packing uses (codes 0 to 5), which node's parser lets through in no name or value. */
function holdsSeparator(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) <= 5) return true;
  return false;
}

/**
 * Names most requests repeat, as node writes them (lowercase), kept as two characters: the
 * headers of a WebSocket upgrade are mostly names and a few fixed values, which cost more
 * than the key and host that differ.
 */
const COMMON_NAMES = [
  "host", "connection", "upgrade", "sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions",
  "sec-websocket-protocol", "origin", "user-agent", "accept", "accept-encoding", "accept-language", "cache-control",
  "pragma", "cookie", "authorization", "referer", "last-event-id", "x-forwarded-for", "x-forwarded-proto",
  "x-forwarded-host", "x-real-ip", "forwarded", "sec-fetch-site", "sec-fetch-mode", "sec-fetch-dest",
  "content-type", "content-length", "via", "dnt",
];
/** Whole headers most WebSocket and SSE requests repeat, name and value (see {@link COMMON_NAMES}). */
const COMMON_HEADERS = [
  "upgrade\x01websocket", "connection\x01Upgrade", "connection\x01upgrade", "connection\x01keep-alive",
  "sec-websocket-version\x0113", "sec-websocket-extensions\x01permessage-deflate; client_max_window_bits",
  "pragma\x01no-cache", "cache-control\x01no-cache", "accept\x01text/event-stream", "accept\x01*/*",
  "accept-encoding\x01gzip, deflate, br", "accept-encoding\x01gzip, deflate, br, zstd", "accept-encoding\x01gzip, deflate",
  "sec-fetch-mode\x01websocket", "sec-fetch-mode\x01cors", "sec-fetch-site\x01same-origin", "sec-fetch-site\x01cross-site",
  "sec-fetch-dest\x01websocket", "sec-fetch-dest\x01empty",
];
/** Each common name as packed: {@link COMMON_NAME} and its code. */
const nameCodes = new Map(COMMON_NAMES.map((name, i) => [name, COMMON_NAME + String.fromCharCode(0x20 + i)]));
/**
 * Each common header as packed ({@link COMMON_HEADER}, its code, {@link END}), by name and then
 * value: looked up without building a `name + value` string for every header of every request.
 */
const headerCodes = new Map<string, Map<string, string>>();
COMMON_HEADERS.forEach((header, i) => {
  const [name = "", value = ""] = header.split(ONE);
  let values = headerCodes.get(name);
  if (values === undefined) headerCodes.set(name, (values = new Map()));
  values.set(value, COMMON_HEADER + String.fromCharCode(0x20 + i) + END);
});
/**
 * The pieces of the headers being packed, from index 0 to {@link count}: one array from one
 * call to the next (packing never reenters), grown once, where an array per request would be
 * garbage grown several times for every connection.
 */
const parts: string[] = [];
let count = 0;

function push(part: string): void {
  parts[count++] = part;
}

/**
 * The headers as one string (`host\x01example.com\0…`): per header its name, a separator
 * saying whether a string or an array of strings follows, and the value. Null when the object
 * holds what node never puts there (a separator character, a value that is neither a string
 * nor an array of strings, a prototype that is not Object's: a handler changed it): such an
 * object is kept as it is.
 */
export function packHeaders(headers: IncomingHttpHeaders): string | null {
  if (Object.getPrototypeOf(headers) !== Object.prototype) return null;
  count = 0;
  const packed = packInto(headers);
  // Shortening an array by little keeps its store; by much (a request of many headers before) frees it.
  parts.length = count;
  // join makes one flat string; `+=` would make a rope of as many pieces as there are parts.
  const joined = packed ? parts.join("") : null;
  // Nothing of this request is kept past the call.
  parts.fill("");
  return joined;
}

/** Puts the pieces of `headers` in {@link parts}; false when they cannot be packed. */
function packInto(headers: IncomingHttpHeaders): boolean {
  for (const name of Object.keys(headers)) {
    const value: unknown = headers[name];
    // Assigned to a plain object, this name would set its prototype instead of a header.
    if (holdsSeparator(name) || name === "__proto__") return false;
    if (typeof value === "string") {
      if (holdsSeparator(value)) return false;
      const headerCode = headerCodes.get(name)?.get(value);
      if (headerCode !== undefined) push(headerCode);
      else {
        push(nameCodes.get(name) ?? name);
        push(ONE);
        push(value);
        push(END);
      }
    } else if (Array.isArray(value) && value.length > 0) {
      push(nameCodes.get(name) ?? name);
      push(MANY);
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        if (typeof item !== "string" || holdsSeparator(item)) return false;
        push(item);
        push(i === value.length - 1 ? END : NEXT);
      }
    } else return false;
  }
  return true;
}

/** The headers object {@link packHeaders} packed: the same names, values and order. */
export function unpackHeaders(packed: string): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = {};
  let at = 0;
  while (at < packed.length) {
    const end = packed.indexOf(END, at);
    const entry = expand(packed.slice(at, end));
    at = end + 1;
    const one = entry.indexOf(ONE);
    if (one !== -1) headers[entry.slice(0, one)] = entry.slice(one + 1);
    else {
      const many = entry.indexOf(MANY);
      headers[entry.slice(0, many)] = entry.slice(many + 1).split(NEXT);
    }
  }
  return headers;
}

/** A header as {@link packHeaders} wrote it, with a common name or header spelled out. */
function expand(entry: string): string {
  const first = entry[0];
  if (first !== COMMON_HEADER && first !== COMMON_NAME) return entry;
  const index = entry.charCodeAt(1) - 0x20;
  return first === COMMON_HEADER ? (COMMON_HEADERS[index] ?? "") : `${COMMON_NAMES[index] ?? ""}${entry.slice(2)}`;
}

/**
 * A connection's {@link RequestInfo}: the same own enumerable properties, in the same order, as
 * the object literal it replaces (`{ method, url, headers, remoteAddress }`), so that spreading,
 * `Object.keys` and `JSON.stringify` see no difference. `headers` is an accessor defined per
 * object with functions shared by all; it builds the object once and then always returns that
 * one, until a write makes it a plain property.
 */
export class RequestSummary implements RequestInfo {
  declare readonly method: string;
  declare readonly url: string;
  declare readonly headers: IncomingHttpHeaders;
  declare readonly remoteAddress: string;
  /**
   * The packed headers (a string) until they are read, then the headers object (or at once,
   * when they could not be packed): one field for both, 8 bytes less for each of many idle connections.
   */
  #headers: string | IncomingHttpHeaders;

  constructor(method: string, url: string, headers: IncomingHttpHeaders, remoteAddress: string) {
    this.#headers = packHeaders(headers) ?? headers;
    this.method = method;
    // Equal URLs share one string: most connections of a server come to one endpoint.
    if (url === lastUrl) url = lastUrl;
    else lastUrl = url;
    this.url = url;
    Object.defineProperty(this, "headers", headersProperty);
    this.remoteAddress = remoteAddress;
  }

  static readHeaders(summary: RequestSummary): IncomingHttpHeaders {
    const headers = summary.#headers;
    if (typeof headers !== "string") return headers;
    const unpacked = unpackHeaders(headers);
    summary.#headers = unpacked;
    return unpacked;
  }
}

/** The URL of the last summary made. */
let lastUrl = "";

/** One descriptor, and so one getter and one setter, for every summary. */
const headersProperty: PropertyDescriptor = {
  get(this: RequestSummary): IncomingHttpHeaders {
    return RequestSummary.readHeaders(this);
  },
  // The object literal this replaces had a writable `headers`: a write makes it one, holding
  // whatever was written (a string too, which the field would take for packed headers).
  set(this: RequestSummary, headers: unknown): void {
    Object.defineProperty(this, "headers", { value: headers, writable: true, enumerable: true, configurable: true });
  },
  enumerable: true,
  configurable: true,
};
