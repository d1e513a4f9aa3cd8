import { WirechanTypeError } from "../csp/errors.js";
import type { SseEvent } from "./connection.js";

/**
 * Server-sent events framing, as the WHATWG HTML standard parses it: a field per line, an
 * empty line ends the event. Pure: strings in, strings out.
 */

/** Response headers of an SSE stream. `X-Accel-Buffering` stops nginx from buffering it. */
export const sseHeaders = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  connection: "keep-alive",
  "x-accel-buffering": "no",
} as const;

const LINE_BREAK = /\r\n|\r|\n/;

function checkField(name: "id" | "event", value: string): void {
  if (value.includes("\n") || value.includes("\r")) {
    throw new WirechanTypeError("ERR_SSE_FIELD", `an SSE ${name} cannot contain CR or LF: ${JSON.stringify(value)}`);
  }
  if (name === "id" && value.includes("\0")) {
    // Browsers ignore an id containing NUL, so the client would silently keep the previous one.
    throw new WirechanTypeError("ERR_SSE_FIELD", "an SSE id cannot contain NUL");
  }
}

/**
 * One event as wire text. Data with line breaks (CR, LF or CRLF) becomes several `data:`
 * lines, which the browser joins back with LF. Throws a `TypeError` (`ERR_SSE_FIELD`) for CR
 * or LF in `id` or `event`, NUL in `id`, or a `retry` that is not a non-negative integer.
 */
export function encodeSseEvent(event: SseEvent): string {
  let out = "";
  if (event.id !== undefined) {
    checkField("id", event.id);
    out += `id: ${event.id}\n`;
  }
  if (event.event !== undefined) {
    checkField("event", event.event);
    out += `event: ${event.event}\n`;
  }
  if (event.retry !== undefined) {
    if (!Number.isInteger(event.retry) || event.retry < 0) {
      throw new WirechanTypeError("ERR_SSE_FIELD", `an SSE retry must be a non-negative integer, got ${String(event.retry)}`);
    }
    out += `retry: ${event.retry}\n`;
  }
  const data = typeof event.data === "string" ? event.data : new TextDecoder().decode(event.data);
  for (const line of data.split(LINE_BREAK)) out += `data: ${line}\n`;
  return out + "\n";
}

/**
 * A comment line, which every client ignores: the heartbeat that keeps proxies from closing
 * an idle stream. Line breaks in `text` are replaced by spaces.
 */
export function encodeSseComment(text = ""): string {
  return `:${text === "" ? "" : " " + text.replace(/[\r\n]+/g, " ")}\n\n`;
}
