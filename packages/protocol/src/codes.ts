/**
 * Every code PubsubBud puts on the wire, with who sends it and what the receiver does next.
 * docs/protocol.md mirrors this file; a new code is added here first.
 */

/** Error codes carried by `{"type":"error","code"}` frames (relay → client). */
export const ErrorCode = {
  /** Relay: the frame was not valid JSON, not an object, or failed the frame schema. Client: fix the frame; the connection stays open. */
  BadFrame: "bad_frame",
  /** Relay: the frame's `type` is not a v1 client frame. Client: use a v1 type; the connection stays open. */
  UnknownType: "unknown_type",
  /** Relay: the frame is larger than `limits.maxFrameBytes`; it was not parsed. Client: send smaller frames. */
  FrameTooLarge: "frame_too_large",
  /** Relay: the JSON nests deeper than `limits.maxDepth`. Client: flatten the payload. */
  TooDeep: "too_deep",
  /** Relay: the channel name breaks the channel grammar. Client: fix the name (see docs/protocol.md, Channels). */
  BadChannel: "bad_channel",
  /** Relay: the pattern breaks the pattern grammar or its limits. Client: fix the pattern. */
  BadPattern: "bad_pattern",
  /** Relay: headers are not a flat map of string → string|number|boolean|null within the limits. */
  BadHeaders: "bad_headers",
  /** Relay: the operation is not allowed for this connection (a foreign inbox, a channel outside the grants). Client: do not retry. */
  Forbidden: "forbidden",
  /** Relay: the connection already holds `limits.maxSubscriptions` subscriptions. Client: unsubscribe first. */
  TooManySubscriptions: "too_many_subscriptions",
  /** Relay: a subscription with this id already exists on the connection. Client: use a fresh id. */
  DuplicateId: "duplicate_id",
  /** Relay: `unsubscribe` named an id the connection does not hold. Client: nothing to do. */
  UnknownSubscription: "unknown_subscription",
  /** Relay: the publish rate limit was exceeded; the publish was dropped. Client: retry later with the same id (a refusal, never a violation). */
  RateLimited: "rate_limited",
  /** Relay (HTTP 429, before the upgrade): the client's address holds `limits.maxConnectionsPerIp` connections. Client: reconnect with backoff. */
  TooManyConnections: "too_many_connections",
  /** Relay: the broker provably did not take the publish; it was not acknowledged and is never delivered. Client: retry with the same id. */
  PublishFailed: "publish_failed",
  /**
   * Relay: the relay cannot tell whether the broker took the publish (a timeout, a lost broker
   * confirmation); it may still be delivered. Client: retry with the same id: a copy that did land
   * is acknowledged again (deduplicated on every instance), never delivered twice.
   */
  PublishUncertain: "publish_uncertain",
  /** Relay: the broker's byte budget is full (`maxBytes`); not published, never delivered. Client: retry later with the same id. */
  StorageFull: "storage_full",
  /** Relay: a frame other than `hello` arrived first, or a second `hello` arrived. Client: send `hello` once, first. */
  HelloRequired: "hello_required",
  /** Relay: the token was refused by the relay's authenticate hook. Followed by close 4401. */
  Unauthorized: "unauthorized",
  /** Relay: an unexpected failure inside the relay. Client: retry; report it if it persists. */
  Internal: "internal",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * WebSocket close codes. The range tells the client what to do:
 * 4000–4099 reconnect with backoff; 4100–4199 reconnect after the delay the relay advises in the
 * close reason (`retry=<ms>`); 4400–4499 do not reconnect.
 */
export const CloseCode = {
  /** Relay: the connection sent nothing (not even a ping) for longer than its idle timeout. */
  IdleTimeout: 4000,
  /** Relay: the connection's outbound buffer exceeded `limits.maxBufferedBytes` (slow consumer). */
  SlowConsumer: 4001,
  /** Relay: an internal failure ended the session. */
  InternalError: 4002,
  /** Relay: `hello` did not arrive within `limits.handshakeTimeoutMs`. */
  HandshakeTimeout: 4003,
  /** Relay: the relay is shutting down; reconnect (to another instance) after the advised delay. */
  ShuttingDown: 4100,
  /** Relay: the relay is overloaded; reconnect after the advised delay. */
  Overloaded: 4101,
  /**
   * Relay: the relay's feed from its broker was interrupted and may have missed messages;
   * reconnect with `resume` after the advised delay (the relay's log then says whether it can
   * replay what was missed, or answers `recovered:false`).
   */
  BrokerGap: 4102,
  /** Relay: the first frame was not a valid `hello`, or the peer broke the protocol repeatedly. */
  ProtocolViolation: 4400,
  /** Relay: the token was missing, invalid or expired. */
  Unauthorized: 4401,
  /** Relay: the namespace is not available to this connection. */
  Forbidden: 4403,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** What a client does after a close code. */
export type CloseAdvice = "reconnect" | "reconnect-after" | "stop";

/**
 * Classifies a close code. Standard codes: 1000 from the relay and 1001/1005/1006/1011–1014
 * mean reconnect with backoff; 1002, 1003, 1007, 1008 and 1010 mean a broken peer: stop.
 * @example closeAdvice(4100) // "reconnect-after"
 */
export function closeAdvice(code: number): CloseAdvice {
  if (code >= 4000 && code < 4100) return "reconnect";
  if (code >= 4100 && code < 4200) return "reconnect-after";
  if (code >= 4400 && code < 4500) return "stop";
  if (code === 1002 || code === 1003 || code === 1007 || code === 1008 || code === 1010)
    return "stop";
  return "reconnect";
}

/** Builds the close reason that carries the advised delay: `retry=<ms>`. */
export function retryReason(delayMs: number): string {
  return `retry=${Math.max(0, Math.round(delayMs))}`;
}

/** Reads the advised delay from a close reason, or `undefined` if it carries none. */
export function parseRetryReason(reason: string): number | undefined {
  const match = /^retry=(\d{1,9})$/.exec(reason);
  return match ? Number(match[1]) : undefined;
}

/** The WebSocket subprotocol of wire protocol v1. */
export const SUBPROTOCOL = "pubsubbud.v1";
