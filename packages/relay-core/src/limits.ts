import { DEFAULT_LIMITS, type ProtocolLimits } from "@pubsubbud/protocol";

/** Limits and timings of a relay; docs/protocol.md and docs/operations.md list the defaults. */
export interface RelayLimits extends ProtocolLimits {
  /** Outbound bytes a connection may have queued before it is cut as a slow consumer (close 4001). @default 4194304 */
  maxBufferedBytes: number;
  /**
   * Largest batch of frames in one socket write, in bytes (a single larger frame goes alone). A
   * resume's replay goes out in such batches, each after the socket wrote the one before, so no
   * replay is ever one huge string. @default 262144
   */
  maxBatchBytes: number;
  /** Interval at which clients are told to ping, in ms. @default 25000 */
  heartbeatMs: number;
  /**
   * A connection that sends nothing for this long is closed (4000). Above the minute a hidden
   * browser tab may wait between timers, so its pings keep it open. @default 90000
   */
  idleTimeoutMs: number;
  /** Time allowed between connect and a valid `hello`, in ms (4003). @default 10000 */
  handshakeTimeoutMs: number;
  /** Error frames one connection may provoke per minute before it is closed (4400). @default 100 */
  maxViolationsPerMinute: number;
  /** Longest spread of the jittered reconnect delay advised on shutdown, in ms. @default 5000 */
  shutdownRetrySpreadMs: number;
  /** Longest spread of the jittered resume delay advised after a broker gap (4102), in ms. @default 1000 */
  gapRetrySpreadMs: number;
  /** Publishes one connection may make per second, on average (token bucket; over it: `rate_limited`). @default 1000 */
  publishRatePerSecond: number;
  /** Publishes one connection may make at once before the rate applies (the bucket's size). @default 2000 */
  publishBurst: number;
  /** How long a connection may stay open past its token's `exp` without a `refresh` (then 4401), in ms. @default 10000 */
  tokenGraceMs: number;
  /**
   * The most distinct wildcard patterns one publish may have to test in a namespace: those whose
   * literal prefix the channel starts with, worst case over all channels (identical patterns
   * share one entry; `user.42.*` and `user.43.*` never meet). Over it: `too_many_subscriptions`.
   * @default 1024
   */
  maxPatternsPerPublish: number;
  /**
   * Summed matching cost of one namespace's distinct wildcard patterns (`CompiledPattern.cost`:
   * tokens of `?`/`[...]` segments between two `*`), which bounds a publish's matching work.
   * Over it: `too_many_subscriptions`. @default 1024
   */
  maxPatternCostPerNamespace: number;
  /** Connections one client address may hold; more are refused before the upgrade (HTTP 429). @default 500 */
  maxConnectionsPerIp: number;
}

export const DEFAULT_RELAY_LIMITS: Readonly<RelayLimits> = Object.freeze({
  ...DEFAULT_LIMITS,
  maxBufferedBytes: 4 * 1024 * 1024,
  maxBatchBytes: 256 * 1024,
  heartbeatMs: 25_000,
  idleTimeoutMs: 90_000,
  handshakeTimeoutMs: 10_000,
  maxViolationsPerMinute: 100,
  shutdownRetrySpreadMs: 5_000,
  gapRetrySpreadMs: 1_000,
  tokenGraceMs: 10_000,
  publishRatePerSecond: 1_000,
  publishBurst: 2_000,
  maxConnectionsPerIp: 500,
  maxPatternsPerPublish: 1_024,
  maxPatternCostPerNamespace: 1_024,
});

const NAMESPACE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Why a namespace name is invalid, or undefined: 1–64 of A–Z a–z 0–9 . _ -, not starting with . _ -. */
export function namespaceError(namespace: string): string | undefined {
  return NAMESPACE.test(namespace)
    ? undefined
    : "namespace must be 1–64 characters of A–Z a–z 0–9 . _ - and start with a letter or digit";
}
