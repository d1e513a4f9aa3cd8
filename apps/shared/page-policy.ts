/**
 * The Content-Security-Policy of the apps' pages, pure. The pages load only their own files:
 * one script per page (no inline script, no eval), one stylesheet, and connect back to the
 * server that served them, over fetch, EventSource and WebSocket. An injected
 * `<img onerror>` or `<script>` in a chat line would then run nothing even if the page ever
 * rendered one as HTML.
 *
 * `connect-src 'self'` covers `ws:`/`wss:` to the same host in CSP Level 3 (Chromium, Firefox),
 * but Safari before 15.4 and other WebKit browsers read `'self'` as Level 2 did, the page's
 * own scheme only, and refused the WebSocket. So the WebSocket origins are named too, from
 * the request's Host header when it is a plain host (a forged Host only changes the policy of
 * the page its sender gets). uPlot styles its elements through `element.style`, which
 * `style-src` does not restrict, so `'self'` is enough there too.
 */

/** A host and optional port, or a bracketed IPv6 literal: nothing that could break out of the header. */
const PLAIN_HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})?$/;

/** The policy for a page requested with this Host header. */
export function pagePolicy(host: string | undefined): string {
  const sockets = host !== undefined && PLAIN_HOST.test(host) ? ` ws://${host} wss://${host}` : "";
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self'${sockets}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}
