// The codecs the suite compares, as each platform's transport would run them. JSON is wirechan's
// codec: its text becomes a WebSocket text message, whose UTF-8 bytes `ws` (Node) or the browser
// makes and reads. msgpackr is the compact binary codec the issue names, in plain MessagePack
// (`useRecords: false`): its record extension needs both ends to share structure definitions,
// which a protocol of independent messages over several transports does not have.
import { Packr, Unpackr } from "msgpackr";
import { type WireCodec, wireCodec } from "./cases.js";

export function msgpackrCodec(): WireCodec {
  const packr = new Packr({ useRecords: false });
  const unpackr = new Unpackr({ useRecords: false });
  return wireCodec(
    "msgpackr",
    (packet): Uint8Array => packr.pack(packet),
    (bytes) => unpackr.unpack(bytes),
  );
}

/**
 * JSON as a browser's transports take it: text. The WebSocket (and EventSource) turns it into
 * UTF-8 and back in native code, which a page cannot time; TextEncoder and TextDecoder would
 * stand for it badly, each call a binding crossing that costs more than the conversion.
 */
export function textJsonCodec(): WireCodec {
  return wireCodec(
    "json",
    (packet) => JSON.stringify(packet),
    (text) => JSON.parse(text) as unknown,
  );
}

/** JSON as it goes through `ws` in Node: the text's UTF-8 written into a Buffer, and a received Buffer read back as text (ws-connection.ts). */
export function nodeJsonCodec(): WireCodec {
  return wireCodec(
    "json",
    (packet) => Buffer.from(JSON.stringify(packet), "utf8"),
    (bytes) => JSON.parse(bytes.toString("utf8")) as unknown,
  );
}
