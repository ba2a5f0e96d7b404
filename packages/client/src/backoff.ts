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

/**
 * When to connect next: after a failed attempt, a full-jitter backoff that grows with each
 * failure; after a close with the relay's advice (`retry=<ms>`), that delay; after a
 * successful handshake, at once and from the first step again.
 */
export class ReconnectSchedule {
  readonly options: Required<ReconnectOptions>;
  #attempt = 0;
  #next = 0;
  #skip: (() => void) | undefined;

  constructor(options: ReconnectOptions = {}) {
    this.options = { ...DEFAULT_RECONNECT, ...options };
  }

  /** Schedules the next attempt after a failure, or after `advisedMs` when the relay said so. */
  failed(advisedMs?: number): void {
    this.#next = advisedMs ?? fullJitter(this.#attempt++, this.options);
  }

  /** The handshake succeeded: the next failure starts from the smallest delay. */
  succeeded(): void {
    this.#attempt = 0;
  }

  /** Waits out the scheduled delay, once. */
  async wait(): Promise<void> {
    const delay = this.#next;
    this.#next = 0;
    if (delay > 0)
      await new Promise<void>((resolve) => {
        this.#skip = resolve;
        setTimeout(resolve, delay);
      });
  }

  /** Ends the current wait now: the page came back or the network is up again. */
  skip(): void {
    this.#skip?.();
  }
}
