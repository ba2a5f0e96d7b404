import { type CompiledPattern, compilePattern } from "@pubsubbud/protocol";
import type { SubscriptionIndex } from "./subscription-index.js";

/**
 * One connection's subscriptions by id, kept in step with its namespace's index: what is added
 * here is findable by a publish, what leaves here leaves the index.
 */
export class SessionSubscriptions<S> {
  readonly #byId = new Map<string, CompiledPattern>();
  readonly #index: SubscriptionIndex<S>;
  readonly #owner: S;

  constructor(index: SubscriptionIndex<S>, owner: S) {
    this.#index = index;
    this.#owner = owner;
  }

  get size(): number {
    return this.#byId.size;
  }

  has(id: string): boolean {
    return this.#byId.has(id);
  }

  add(id: string, pattern: CompiledPattern): void {
    this.#byId.set(id, pattern);
    this.#index.add(pattern, this.#owner);
  }

  /** Removes one subscription; false when there is none with that id. */
  remove(id: string): boolean {
    const pattern = this.#byId.get(id);
    if (!pattern) return false;
    this.#byId.delete(id);
    this.#index.remove(pattern, this.#owner);
    return true;
  }

  /** Adds [id, pattern] pairs from a snapshot. */
  restore(pairs: ReadonlyArray<readonly [string, string]>): void {
    for (const [id, pattern] of pairs) this.add(id, compilePattern(pattern));
  }

  /** The [id, pattern] pairs, as a snapshot keeps them. */
  snapshot(): Array<[string, string]> {
    return [...this.#byId].map(([id, pattern]) => [id, pattern.source]);
  }

  clear(): void {
    for (const pattern of this.#byId.values()) this.#index.remove(pattern, this.#owner);
    this.#byId.clear();
  }

  /** True when a subscription would receive `channel`; with `exactOnly`, only an exact one. */
  matches(channel: string, exactOnly: boolean): boolean {
    for (const pattern of this.#byId.values())
      if (exactOnly ? pattern.exact && pattern.source === channel : pattern.matches(channel))
        return true;
    return false;
  }
}
