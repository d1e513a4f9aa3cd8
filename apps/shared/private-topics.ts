/**
 * The apps' own topics (`apps.…`: the chat's lines and who is here, the dashboard's readings,
 * viewers and producers) carry what the apps share between nodes, and their presence counts
 * only what the apps made. A client may not subscribe to them (its `{ subscribe }` gets
 * `ERR_FORBIDDEN`): pages talk to the apps on the named channels "chat" and "dashboard".
 */
import type { Authorize } from "../../src/server/index.js";

/** What the name of each of the apps' own topics starts with. */
export const PRIVATE_TOPIC_PREFIX = "apps.";

/** The server's `authorize` with the apps' rule first: no client subscribes to an `apps.` topic; the rest is `authorize`'s (default: allowed). */
export function withPrivateTopics(authorize: Authorize | undefined): Authorize {
  return function authorizeApps(principal, name, op, session) {
    if (op === "subscribe" && name.startsWith(PRIVATE_TOPIC_PREFIX)) return false;
    return authorize === undefined ? true : authorize(principal, name, op, session);
  };
}
