// Server-sent events read from a byte stream, as the WHATWG HTML standard parses them (lines end
// in CRLF, CR or LF; `data` lines join with LF; comments and other fields are skipped here).
// Browser-safe and incremental: chunks may split lines, and even a CRLF, anywhere.
import { WirechanRangeError } from "../csp/errors.js";

/**
 * Feeds text chunks; calls `onData` with each event's data. Bounded: a line longer than
 * `maxLine` throws a `RangeError` (`ERR_MESSAGE_TOO_LARGE`), and so does an event's data.
 */
export class SseParser {
  #line = "";
  #data: string[] = [];
  #dataLength = 0;
  /** The last chunk ended in CR: an LF starting the next one belongs to it. */
  #pendingCr = false;

  readonly #onData: (data: string) => void;
  readonly #maxLine: number;

  constructor(onData: (data: string) => void, maxLine: number) {
    this.#onData = onData;
    this.#maxLine = maxLine;
  }

  push(chunk: string): void {
    let start = 0;
    if (this.#pendingCr && chunk.startsWith("\n")) start = 1;
    this.#pendingCr = false;
    for (let i = start; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.#endLine(this.#line + chunk.slice(start, i));
      this.#line = "";
      if (c === 13) {
        if (i + 1 === chunk.length) this.#pendingCr = true;
        else if (chunk.charCodeAt(i + 1) === 10) i++;
      }
      start = i + 1;
    }
    this.#line += chunk.slice(start);
    if (this.#line.length > this.#maxLine) {
      throw new WirechanRangeError("ERR_MESSAGE_TOO_LARGE", `an event-stream line longer than ${this.#maxLine} characters (maxMessageSize)`);
    }
  }

  #endLine(line: string): void {
    if (line === "") {
      if (this.#data.length > 0) this.#onData(this.#data.join("\n"));
      this.#data = [];
      this.#dataLength = 0;
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const name = colon === -1 ? line : line.slice(0, colon);
    if (name !== "data") return;
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    // Many short data lines would otherwise add up to an event without bound.
    this.#dataLength += value.length + 1;
    if (this.#dataLength > this.#maxLine) {
      throw new WirechanRangeError("ERR_MESSAGE_TOO_LARGE", `an event's data longer than ${this.#maxLine} characters (maxMessageSize)`);
    }
    this.#data.push(value);
  }
}
