// wirechan/server: Node only. The Connection layer (http-kit's contract over WebSocket, SSE
// and plain HTTP) and the server that routes requests to handlers.
export type { CloseStatus, Connection, RequestInfo, ResponseParts, SendData, SseEvent, ConnectionTransport } from "./connection.js";
export { type CorsOptions, type CorsOrigin, serverDefaults, type ServerOptions } from "./options.js";
export { PayloadTooLargeError, type ServerRequest, withChannel } from "./request.js";
export { createServer, type ForwardingStats, runServer, WirechanServer } from "./server.js";
export type { Envelope, Handler, ListenOptions, ServerHandle } from "./types.js";
export type { AllowedHosts } from "./hosts.js";
export { consoleLogger, type Logger } from "../session/logger.js";
export type { SessionInfo } from "./protocol/sessions.js";
export { SLOW_CONSUMER_CLOSE_CODE, type TransportName } from "../wire/protocol.js";
export { RemoteChannel, type RemotePutOptions } from "../wire/remote-channel.js";
export { ProtocolError, type ProtocolErrorCode } from "../wire/protocol-error.js";
export { type Codec, jsonCodec } from "../wire/codec.js";
export { encodeSseComment, encodeSseEvent } from "./sse-codec.js";
export { serveChannel, serveChannelDefaults, type ServeChannelOptions } from "./serve-channel.js";
export { type ChannelStore, GroupLimitError, MemoryChannelStore, memoryChannelStoreDefaults, type MemoryChannelStoreOptions } from "./channel-store.js";
export { BodyAbortedError, BodyConsumedError, BodyTimeoutError } from "./request.js";
export type { WhenFull } from "./fan-out.js";
export { Topic } from "./topic.js";
export { topicDefaults, type TopicOptions } from "./topic-options.js";
export { isTopicDropped, type PresenceAnswer, type PresenceInbox, type TopicDropCode, type TopicDropped, type TopicInbox, type TopicRequest } from "../wire/topic-messages.js";
export type { SessionEndCode, SessionEndReason, SessionEvent, SessionListener } from "./protocol/session-events.js";
export type { Authorize, AuthorizeOp } from "./protocol/authorization.js";
export { TopicPresence } from "./presence.js";
export { presenceDefaults, type PresenceOptions } from "./presence-options.js";
export type { PresenceEntry, PresenceEvent, PresenceLeaveReason } from "./presence-view.js";
export { BackplaneChannelStore, backplaneChannelStore, backplaneChannelStoreDefaults, type BackplaneChannelStoreOptions } from "./backplane-channel-store.js";
