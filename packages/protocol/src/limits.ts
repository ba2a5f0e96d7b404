/** Limits of the v1 grammar and of a relay; every relay may lower or raise its own. */
export interface ProtocolLimits {
  /** Longest channel name in bytes. @default 255 */
  maxChannelLength: number;
  /** Longest pattern in bytes. @default 255 */
  maxPatternLength: number;
  /** Most wildcards (`*`, `?`, `[...]`) in one pattern. @default 16 */
  maxWildcards: number;
  /** Largest inbound frame in bytes, checked before parsing. @default 65536 */
  maxFrameBytes: number;
  /** Deepest JSON nesting of an inbound frame (the frame object is depth 1). @default 32 */
  maxDepth: number;
  /** Most headers on one message. @default 32 */
  maxHeaders: number;
  /** Longest header key in bytes. @default 64 */
  maxHeaderKeyLength: number;
  /** Longest string header value in bytes. @default 1024 */
  maxHeaderValueLength: number;
  /** Most subscriptions one connection may hold. @default 256 */
  maxSubscriptions: number;
}

/** The default of `maxFrameBytes`, alone: all a client needs before the relay announces its own. */
export const DEFAULT_MAX_FRAME_BYTES = 65_536;

/** The defaults of {@link ProtocolLimits}, as documented in docs/protocol.md. */
export const DEFAULT_LIMITS: Readonly<ProtocolLimits> = /* @__PURE__ */ Object.freeze({
  maxChannelLength: 255,
  maxPatternLength: 255,
  maxWildcards: 16,
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  maxDepth: 32,
  maxHeaders: 32,
  maxHeaderKeyLength: 64,
  maxHeaderValueLength: 1024,
  maxSubscriptions: 256,
});

/** The prefix of private request/reply inboxes: `_inbox.<client>`. */
export const INBOX_PREFIX = "_inbox.";
