/** A token bucket: `burst` tokens at most, refilled at `ratePerSecond`; one taken per action. */
export class TokenBucket {
  #tokens: number;
  #refilled: number;

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
    now: number,
  ) {
    this.#tokens = burst;
    this.#refilled = now;
  }

  /** Takes one token at time `now` (ms); false when the bucket is empty. */
  take(now: number): boolean {
    const refill = ((now - this.#refilled) * this.ratePerSecond) / 1000;
    this.#tokens = Math.min(this.burst, this.#tokens + refill);
    this.#refilled = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

/** Events counted per minute, the count starting again a minute after the window opened. */
export class MinuteCount {
  #count = 0;
  #since = 0;

  /** Counts one event at time `now` (ms); the count in the current window. */
  add(now: number): number {
    if (now - this.#since > 60_000) {
      this.#since = now;
      this.#count = 0;
    }
    return ++this.#count;
  }
}
