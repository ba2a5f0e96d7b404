import {
  type CompiledPattern,
  compilePattern,
  ErrorCode,
  INBOX_PREFIX,
  patternError,
} from "@pubsubbud/protocol";
import type { RelayLimits } from "./limits.js";
import type { SubscriptionIndex } from "./subscription-index.js";

/** What {@link SessionSubscriptions.admit} answers: the pattern to add, or why not (a documented code). */
export type Admission = { pattern: CompiledPattern } | { code: string; message: string };

/** True when `pattern` would receive `channel`; with `exactOnly`, only as an exact pattern. */
function receives(pattern: CompiledPattern, channel: string, exactOnly: boolean): boolean {
  return exactOnly ? pattern.exact && pattern.source === channel : pattern.matches(channel);
}

/**
 * One connection's subscriptions by id, kept in step with its namespace's index: what is added
 * here is findable by a publish, what leaves here leaves the index.
 *
 * Most connections hold one subscription, so the first is kept in two fields and a Map (about
 * 300 bytes) is made only when a second arrives; from then on the Map holds them all, in order.
 */
export class SessionSubscriptions<S> {
  #soleId: string | undefined;
  #sole: CompiledPattern | undefined;
  #byId: Map<string, CompiledPattern> | undefined;
  readonly #index: SubscriptionIndex<S>;
  readonly #owner: S;

  constructor(index: SubscriptionIndex<S>, owner: S) {
    this.#index = index;
    this.#owner = owner;
  }

  get size(): number {
    return this.#byId?.size ?? (this.#sole ? 1 : 0);
  }

  has(id: string): boolean {
    return this.#byId ? this.#byId.has(id) : this.#sole !== undefined && this.#soleId === id;
  }

  /**
   * Checks a subscription the connection asks for: a free id, the limits (count, pattern grammar,
   * the namespace's matching budget), the inbox rule (only its owner's exact subscription) and
   * the grants (an exact channel outside them can never deliver, so it is refused; a wildcard is
   * accepted and its deliveries filtered).
   */
  admit(
    id: string,
    pattern: string,
    limits: Readonly<RelayLimits>,
    inbox: string,
    grants: { mayReceive(channel: string): boolean },
  ): Admission {
    if (this.has(id))
      return { code: ErrorCode.DuplicateId, message: `subscription id ${id} is already in use` };
    if (this.size >= limits.maxSubscriptions)
      return {
        code: ErrorCode.TooManySubscriptions,
        message: `at most ${limits.maxSubscriptions} subscriptions per connection`,
      };
    const invalid = patternError(pattern, limits);
    if (invalid) return { code: ErrorCode.BadPattern, message: invalid };
    const compiled = compilePattern(pattern);
    if (compiled.literalPrefix.startsWith(INBOX_PREFIX) || pattern.startsWith(INBOX_PREFIX)) {
      if (!compiled.exact || pattern !== inbox)
        return {
          code: ErrorCode.Forbidden,
          message: "an inbox is reachable only by its owner's exact subscription",
        };
    }
    if (compiled.exact && !grants.mayReceive(pattern))
      return {
        code: ErrorCode.Forbidden,
        message: `the token does not grant subscribing to ${pattern}`,
      };
    const overBudget = this.#index.overBudget(compiled, limits);
    if (overBudget) return { code: ErrorCode.TooManySubscriptions, message: overBudget };
    return { pattern: compiled };
  }

  add(id: string, pattern: CompiledPattern): void {
    if (this.#byId) this.#byId.set(id, pattern);
    else if (!this.#sole) {
      this.#soleId = id;
      this.#sole = pattern;
    } else {
      this.#byId = new Map([[this.#soleId as string, this.#sole]]).set(id, pattern);
      this.#soleId = this.#sole = undefined;
    }
    this.#index.add(pattern, this.#owner);
  }

  /** Removes one subscription; false when there is none with that id. */
  remove(id: string): boolean {
    const pattern = this.#byId ? this.#byId.get(id) : this.#soleId === id ? this.#sole : undefined;
    if (!pattern) return false;
    if (this.#byId) this.#byId.delete(id);
    else this.#soleId = this.#sole = undefined;
    this.#index.remove(pattern, this.#owner);
    return true;
  }

  /** Adds [id, pattern] pairs from a snapshot. */
  restore(pairs: ReadonlyArray<readonly [string, string]>): void {
    for (const [id, pattern] of pairs) this.add(id, compilePattern(pattern));
  }

  /** The [id, pattern] pairs, as a snapshot keeps them. */
  snapshot(): Array<[string, string]> {
    return this.#entries().map(([id, pattern]) => [id, pattern.source]);
  }

  clear(): void {
    for (const [, pattern] of this.#entries()) this.#index.remove(pattern, this.#owner);
    this.#byId = this.#soleId = this.#sole = undefined;
  }

  /** True when a subscription would receive `channel`; with `exactOnly`, only an exact one. */
  matches(channel: string, exactOnly: boolean): boolean {
    if (!this.#byId) return this.#sole !== undefined && receives(this.#sole, channel, exactOnly);
    for (const pattern of this.#byId.values())
      if (receives(pattern, channel, exactOnly)) return true;
    return false;
  }

  #entries(): Array<[string, CompiledPattern]> {
    if (this.#byId) return [...this.#byId];
    return this.#sole ? [[this.#soleId as string, this.#sole]] : [];
  }
}
