// Goodbye on `pagehide`: a tab that closes or navigates away ends its session at once (the
// server is told `bye`) instead of leaving it to wait `sessionTtl` for a resume that never
// comes, holding the server's replay buffers and keeping its listeners waiting meanwhile.
// `pagehide`, not `unload` or `beforeunload`: it fires on every way a page goes (mobile
// browsers skip unload), and listening to it does not keep the page out of the back/forward
// cache. Browser-safe.
import type { PageEvents } from "./platform.js";
import type { Session, StateChange } from "./session.js";

/** Closes `session` on the page's `pagehide`; the listener goes once the session ends, however it ends. */
export function closeOnPageHide(session: Session, page: PageEvents): void {
  if (session.state === "closed" || session.state === "lost") return;
  const onPageHide = (): void => session.close();
  const stop = session.onState(function forgetPageOnEnd(change: StateChange): void {
    if (change.state !== "closed" && change.state !== "lost") return;
    page.removeEventListener("pagehide", onPageHide);
    stop();
  });
  page.addEventListener("pagehide", onPageHide);
}
