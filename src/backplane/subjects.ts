// What the network engines make of a subject (pure). A wirechan subject is any string
// (`wirechan.topic.<a user's topic name>`); Redis and NATS carry UTF-8, and NATS gives some
// characters a meaning. Two rules, so that two distinct subjects never meet on the server:
// a subject must be well-formed UTF-16 (a lone surrogate would become U+FFFD in UTF-8, and
// "\uD800" would share a channel with "\uFFFD"), and for NATS every character that is not
// plainly safe is escaped, one way back (docs/api.md "Subjects on NATS").
import { BackplaneError } from "./backplane.js";
import { utf8Length } from "../wire/protocol.js";

/** A lone surrogate: `u` mode pairs what can be paired, so this matches only what cannot. */
const LONE_SURROGATE = /\p{Cs}/u;

/** Throws `ERR_BACKPLANE_SUBJECT` for a subject that UTF-8 cannot carry as it is (a lone surrogate). */
export function checkSubject(subject: string, engine: string): void {
  if (LONE_SURROGATE.test(subject)) {
    throw new BackplaneError("ERR_BACKPLANE_SUBJECT", `${engine}: the subject ${JSON.stringify(subject)} has a lone surrogate, which UTF-8 cannot carry; it would meet another subject on the server`);
  }
}

/** Tokens of these characters only, separated by single dots: a NATS subject as it is. */
const PLAIN = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/;
/** One character a token keeps as it is; every other is escaped. */
const SAFE_CHAR = /^[A-Za-z0-9_-]$/;
/** An empty token (`a..b`, a leading or trailing dot): NATS refuses those, and no escaped token is a bare `~`. */
const EMPTY_TOKEN = "~";
/**
 * The NATS server refuses a protocol line past its `max_control_line` (4 KiB by default) and
 * drops the connection; `PUB <subject> <size>` must stay under it with room for the size.
 */
export const MAX_NATS_SUBJECT_BYTES = 4_000;

const encoder = new TextEncoder();

/**
 * The NATS subject for `subject`: split on `.` (kept as NATS's token separator, so that
 * `wirechan.topic.news` stays readable and permissions such as `wirechan.topic.>` work), each
 * token kept if it is letters, digits, `_` and `-` only, else each other character written as
 * `~` and two upper-case hex digits per UTF-8 byte (`~` itself too), and an empty token as `~`.
 * Injective: distinct subjects give distinct NATS subjects, each token non-empty, with no space,
 * `*`, `>` nor anything outside printable ASCII. Throws `ERR_BACKPLANE_SUBJECT` for a lone
 * surrogate, or a result over {@link MAX_NATS_SUBJECT_BYTES}.
 */
export function natsSubject(subject: string): string {
  if (PLAIN.test(subject)) return checkLength(subject, subject);
  checkSubject(subject, "NATS backplane");
  return checkLength(subject, subject.split(".").map(escapeToken).join("."));
}

function escapeToken(token: string): string {
  if (token === "") return EMPTY_TOKEN;
  let out = "";
  // By code point: a surrogate pair is one character of four UTF-8 bytes.
  for (const char of token) {
    if (SAFE_CHAR.test(char)) {
      out += char;
      continue;
    }
    for (const byte of encoder.encode(char)) out += `~${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

function checkLength(subject: string, escaped: string): string {
  // Escaped subjects are ASCII, but the limit is in bytes: counted as bytes, so that a change to
  // the escape can never let a subject past it.
  const bytes = utf8Length(escaped);
  if (bytes > MAX_NATS_SUBJECT_BYTES) {
    throw new BackplaneError("ERR_BACKPLANE_SUBJECT", `NATS backplane: the subject ${JSON.stringify(subject.slice(0, 64))}… is ${bytes} bytes escaped, over ${MAX_NATS_SUBJECT_BYTES} (the NATS server's max_control_line is 4 KiB)`);
  }
  return escaped;
}
