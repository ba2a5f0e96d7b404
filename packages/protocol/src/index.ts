export {
  type CloseAdvice,
  CloseCode,
  closeAdvice,
  ErrorCode,
  parseRetryReason,
  retryReason,
  SUBPROTOCOL,
} from "./codes.js";
export {
  type DecodeFailure,
  type DecodeResult,
  decodeClientFrames,
  validateClientFrame,
} from "./codec.js";
export { isPubsubBudError, PubsubBudError } from "./errors.js";
export {
  type AckFrame,
  type AnnouncedLimits,
  type ClientFrame,
  type ClientFrameType,
  clientFrameSchema,
  type ErrorFrame,
  type Headers,
  type HelloFrame,
  headersSchema,
  type MessageFrame,
  type PingFrame,
  type PongFrame,
  type Position,
  type PublishFrame,
  type RefreshedFrame,
  type RefreshFrame,
  type RelayFrame,
  type SubscribedFrame,
  type SubscribeFrame,
  type UnsubscribedFrame,
  type UnsubscribeFrame,
  type WelcomeFrame,
} from "./frames.js";
export { type HttpPublish, httpPublishSchema } from "./http.js";
export {
  channelError,
  dataError,
  headersError,
  isInboxChannel,
  patternError,
} from "./grammar.js";
export {
  DEFAULT_LIMITS,
  DEFAULT_MAX_FRAME_BYTES,
  INBOX_PREFIX,
  type ProtocolLimits,
} from "./limits.js";
export {
  type CompiledPattern,
  compileMatcher,
  compilePattern,
  matchPattern,
} from "./matcher.js";
export {
  BINARY_FRAME,
  decodeRelayFrames,
  joinBatch,
  jsonDepthExceeds,
  PING,
  PONG,
  RX_CREDIT_CHARS,
} from "./wire.js";
