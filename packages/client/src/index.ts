export { DEFAULT_RECONNECT, fullJitter, type ReconnectOptions } from "./backoff.js";
export {
  type ClientOptions,
  createClient,
  type PublishOptions,
  PubsubBudClient,
  type RequestOptions,
  type WebSocketConstructor,
} from "./client.js";
export { ClientError, ClientErrorCode } from "./errors.js";
export { isPubsubBudError, PubsubBudError } from "@pubsubbud/protocol";
export { ClientEvent, type ClientEventMap, type ClientState, type GapDetail } from "./events.js";
export type { Message, MessageHandler, Subscription } from "./subscription.js";
export type { Headers } from "@pubsubbud/protocol";
