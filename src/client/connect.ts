// `connect` once, for both entries: each passes its platform (platform.ts). Browser-safe.
import { closeOnPageHide } from "./page-hide.js";
import { type ConnectOptions, resolveConnectOptions, serverEndpoint } from "./options.js";
import type { Platform } from "./platform.js";
import { Session } from "./session.js";

/** `connect` of an entry, on its platform: see the doc comment of `connect` in index.ts. */
export async function connectOn(platform: Platform, url: string | URL, options: ConnectOptions): Promise<Session> {
  const resolved = resolveConnectOptions(options);
  const endpoint = serverEndpoint(url, resolved.path);
  const WebSocket = options.WebSocket ?? (resolved.transports.includes("websocket") ? await platform.webSocket() : undefined);
  const session = new Session(resolved, {
    endpoint,
    connectTimeout: resolved.connectTimeout,
    maxMessageSize: resolved.maxMessageSize,
    WebSocket,
    eventStreams: platform.eventStreams(),
    fetch: options.fetch ?? (await platform.fetch()),
    codec: resolved.codec,
  });
  await session.start();
  const page = resolved.closeOnPageHide ? platform.page() : undefined;
  if (page !== undefined) closeOnPageHide(session, page);
  return session;
}
