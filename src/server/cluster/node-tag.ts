// Which node holds a session, read off the session id (docs/api.md "No sticky sessions"). With a
// backplane, a node's session ids end in `.<tag>`, the tag a short hash of its node id: any node
// that gets a request for the session knows where to forward it without asking anyone, and the
// id stays within the protocol's 64 characters whatever the node id's length.
import { createHash } from "node:crypto";

/** A tag: 12 base64url characters, 72 bits of the node id's SHA-256 (a clash among a cluster's nodes is out of reach). */
const TAG = /^[A-Za-z0-9_-]{12}$/;

/** A session id a node with a backplane makes: 22 random base64url characters, a dot, the node's tag. */
const TAGGED_SESSION_ID = /^[A-Za-z0-9_-]{22}\.([A-Za-z0-9_-]{12})$/;

/** The tag of the node `nodeId`: what its session ids end with, and the name of its backplane subject. */
export function nodeTag(nodeId: string): string {
  return createHash("sha256").update(nodeId).digest("base64url").slice(0, 12);
}

/** Whether `text` can be a tag. */
export function isNodeTag(text: string): boolean {
  return TAG.test(text);
}

/** The tag of the node that made `sessionId`, or null for an id without one (a server without a backplane made it, or nobody did). */
export function ownerTagOf(sessionId: string): string | null {
  return TAGGED_SESSION_ID.exec(sessionId)?.[1] ?? null;
}
