import type { ClientOptions } from "./options.js";
import { unref } from "./timers.js";

/** A token is renewed this long before it expires, or halfway through a shorter life. */
export const RENEW_AHEAD_MS = 30_000;
/** After a failed renewal, the next try comes this much later (if the token still lives). */
const RENEW_RETRY_MS = 5_000;

/**
 * Keeps the client's token: fetches it for every connect and ahead of expiry, with one call of
 * the token function shared by everyone waiting (single-flight), and remembers the token the
 * relay refused so it is never sent again.
 */
export class TokenKeeper {
  readonly #source: ClientOptions["token"];
  readonly #renew: () => void;
  #current: string | undefined;
  #refused: string | undefined;
  #inflight: Promise<string | undefined> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** @param renew Called when the token should be renewed (see {@link TokenKeeper.schedule}). */
  constructor(source: ClientOptions["token"], renew: () => void = () => {}) {
    this.#source = source;
    this.#renew = renew;
    this.#current = typeof source === "function" ? undefined : source;
  }

  /** The token the next `hello` carries. */
  get current(): string | undefined {
    return this.#current;
  }

  /** True when a new token can be asked for (the option is a function). */
  get renewable(): boolean {
    return typeof this.#source === "function";
  }

  /** True when the current token is one the relay already refused. */
  get refused(): boolean {
    return this.#current !== undefined && this.#current === this.#refused;
  }

  /** Fetches a token; callers arriving while the function runs share its answer. */
  fetch(): Promise<string | undefined> {
    const source = this.#source;
    if (typeof source !== "function") return Promise.resolve(source);
    this.#inflight ??= (async () => {
      try {
        this.#current = await source();
        return this.#current;
      } finally {
        this.#inflight = undefined;
      }
    })();
    return this.#inflight;
  }

  /** Records that the relay refused the current token. */
  refuse(): void {
    this.#refused = this.#current;
  }

  /**
   * Calls the renewal ahead of the expiry the relay announced (`expiresIn` ms from now), or after
   * `RENEW_RETRY_MS` when `expiresIn` is omitted and `retry` is set. Timers in background tabs
   * may fire late; the relay's grace period (`tokenGraceMs`) absorbs that.
   */
  schedule(expiresIn: number | undefined, retry = false): void {
    this.cancel();
    if (!this.renewable) return;
    const delay = retry
      ? RENEW_RETRY_MS
      : expiresIn === undefined
        ? undefined
        : expiresIn - Math.min(RENEW_AHEAD_MS, expiresIn / 2);
    if (delay === undefined) return;
    this.#timer = unref(setTimeout(this.#renew, delay));
  }

  /** Stops any scheduled renewal. */
  cancel(): void {
    clearTimeout(this.#timer);
  }
}
