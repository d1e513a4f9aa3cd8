// What a session's client hears when the server dropped its link as a slow consumer
// (docs/protocol.md section 7): the connection's own close says it only on a WebSocket whose
// client read the backlog in time; a cut socket or SSE stream says nothing. So the session
// says it too, on the link the client resumes with.
import type { CloseStatus } from "../connection.js";
import { SLOW_CONSUMER_CLOSE_CODE } from "../../wire/protocol.js";
import type { ServerSession } from "./sessions.js";

/** The notice's words: the limit, the option that changes it, and that nothing was lost. */
export const SLOW_CONSUMER_MESSAGE =
  "the server dropped this session's link: more than its maxBufferedBytes of what it sent waited unsent (a slow consumer); the session resumes from replay";

/**
 * Called with the close status of a link's connection: after a slow-consumer drop, queues
 * `["error", "ERR_SLOW_CONSUMER", …, 0]` for the session. Not fatal: the client's session
 * goes on. The writer keeps control frames while there is no link, and writes them first on
 * the next one (or at once, on a link that replaced this one already), ahead of the replay.
 */
export function noticeSlowConsumer(session: ServerSession | null, status: CloseStatus): void {
  if (session === null || status.code !== SLOW_CONSUMER_CLOSE_CODE || session.peer.hasEnded) return;
  session.peer.sendControl({ kind: "error", code: "ERR_SLOW_CONSUMER", message: SLOW_CONSUMER_MESSAGE, fatal: false });
}
