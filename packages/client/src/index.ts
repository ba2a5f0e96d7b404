export {
  DEFAULT_RECONNECT,
  fullJitter,
  type ReconnectOptions,
  ReconnectSchedule,
} from "./backoff.js";
export { channel, type InvalidDetail, type TypedChannel } from "./channel.js";
export { createClient, PubsubBudClient } from "./client.js";
export { request, serve } from "./rpc.js";
export { messages, type MessageStream, type MessagesOptions } from "./messages.js";
export { pageLifecycle, type PageLifecycleOptions } from "./page.js";
export { disposeOnAbort } from "./abort.js";
export type {
  ClientOptions,
  Lifecycle,
  LifecycleControl,
  PublishOptions,
  RequestOptions,
  WebSocketConstructor,
} from "./options.js";
export { ClientError, ClientErrorCode } from "./errors.js";
export { isPubsubBudError, PubsubBudError } from "@pubsubbud/protocol";
export {
  ClientEvent,
  type ClientEventMap,
  ClientEventTarget,
  type ClientState,
  type GapDetail,
} from "./events.js";
export type {
  Message,
  MessageHandler,
  Subscription,
} from "./subscription.js";
export type { Headers } from "@pubsubbud/protocol";
