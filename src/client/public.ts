// What both client entries export besides `connect` (index.ts for Node, browser.ts for
// browsers): one list, so the two cannot drift apart. Browser-safe.
export { type ConnectOptions, connectDefaults } from "./options.js";
export { type ReconnectCause, Session, type SessionState, type StateChange } from "./session.js";
export { TransportError, type TransportName } from "./transports.js";
export { SLOW_CONSUMER_CLOSE_CODE } from "../wire/protocol.js";
export type { Logger } from "../session/logger.js";
export { RemoteChannel, type RemotePutOptions } from "../wire/remote-channel.js";
export { ProtocolError, type ProtocolErrorCode } from "../wire/protocol-error.js";
export { type Codec, jsonCodec } from "../wire/codec.js";
export { isTopicDropped, type PresenceAnswer, type PresenceInbox, type TopicDropCode, type TopicDropped, type TopicInbox, type TopicRequest } from "../wire/topic-messages.js";
