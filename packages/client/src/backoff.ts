/** Reconnection settings. */
export interface ReconnectOptions {
  /** First backoff ceiling in ms; each failed attempt doubles it. @default 250 */
  baseDelayMs?: number;
  /** Largest backoff ceiling in ms. @default 15000 */
  maxDelayMs?: number;
  /** A connection attempt that has not opened after this many ms is abandoned. @default 5000 */
  connectTimeoutMs?: number;
}

export const DEFAULT_RECONNECT: Required<ReconnectOptions> = {
  baseDelayMs: 250,
  maxDelayMs: 15_000,
  connectTimeoutMs: 5_000,
};

/**
 * Exponential backoff with full jitter: a uniform delay between 0 and min(max, base × 2^attempt),
 * so clients cut at the same moment do not come back at the same moment.
 */
export function fullJitter(
  attempt: number,
  options: Required<ReconnectOptions>,
  random = Math.random,
): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
