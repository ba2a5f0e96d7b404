import type { CompiledPattern } from "@pubsubbud/protocol";
import { getOrCreate } from "./map.js";

interface PatternEntry<S> {
  readonly pattern: CompiledPattern;
  /** Subscriber → how many of its subscriptions use this pattern. */
  readonly subscribers: Map<S, number>;
}

interface TrieNode<S> {
  readonly children: Map<number, TrieNode<S>>;
  /** Wildcard patterns whose literal prefix ends at this node. */
  readonly patterns: Map<string, PatternEntry<S>>;
}

const newNode = <S>(): TrieNode<S> => ({ children: new Map(), patterns: new Map() });

/**
 * Finds the subscribers of a channel without testing every pattern: exact channels sit in a
 * map, wildcard patterns in a trie keyed by their literal prefix, so a publish tests only the
 * patterns whose prefix the channel starts with.
 */
export class SubscriptionIndex<S> {
  readonly #exact = new Map<string, Map<S, number>>();
  readonly #root: TrieNode<S> = newNode();
  #patternCount = 0;

  /** Number of distinct exact channels and wildcard patterns indexed. */
  get size(): number {
    return this.#exact.size + this.#patternCount;
  }

  add(pattern: CompiledPattern, subscriber: S): void {
    const subscribers = pattern.exact
      ? this.#exactSubscribers(pattern.source)
      : this.#entry(pattern).subscribers;
    subscribers.set(subscriber, (subscribers.get(subscriber) ?? 0) + 1);
  }

  remove(pattern: CompiledPattern, subscriber: S): void {
    if (pattern.exact) {
      const subscribers = this.#exact.get(pattern.source);
      if (subscribers && decrement(subscribers, subscriber) === 0)
        this.#exact.delete(pattern.source);
      return;
    }
    const path: TrieNode<S>[] = [this.#root];
    let node: TrieNode<S> | undefined = this.#root;
    for (let i = 0; i < pattern.literalPrefix.length && node; i++) {
      node = node.children.get(pattern.literalPrefix.charCodeAt(i));
      if (node) path.push(node);
    }
    const entry = node?.patterns.get(pattern.source);
    if (!node || !entry || decrement(entry.subscribers, subscriber) > 0) return;
    node.patterns.delete(pattern.source);
    this.#patternCount--;
    // Prune empty trie nodes bottom-up.
    for (let i = path.length - 1; i > 0; i--) {
      const child = path[i] as TrieNode<S>;
      if (child.patterns.size > 0 || child.children.size > 0) break;
      (path[i - 1] as TrieNode<S>).children.delete(pattern.literalPrefix.charCodeAt(i - 1));
    }
  }

  /**
   * Calls `visit` for each subscriber of `channel`; a subscriber whose several patterns match is
   * visited once per pattern, so callers deduplicate. With `exactOnly`, wildcard patterns are
   * skipped (private inbox channels).
   */
  forEachMatch(channel: string, visit: (subscriber: S) => void, exactOnly = false): void {
    const exact = this.#exact.get(channel);
    if (exact) for (const subscriber of exact.keys()) visit(subscriber);
    if (exactOnly || this.#patternCount === 0) return;
    let node: TrieNode<S> | undefined = this.#root;
    let i = 0;
    while (node) {
      for (const entry of node.patterns.values())
        if (entry.pattern.matches(channel))
          for (const subscriber of entry.subscribers.keys()) visit(subscriber);
      if (i >= channel.length) break;
      node = node.children.get(channel.charCodeAt(i++));
    }
  }

  #exactSubscribers(channel: string): Map<S, number> {
    return getOrCreate(this.#exact, channel, () => new Map<S, number>());
  }

  #entry(pattern: CompiledPattern): PatternEntry<S> {
    let node = this.#root;
    for (let i = 0; i < pattern.literalPrefix.length; i++) {
      node = getOrCreate(node.children, pattern.literalPrefix.charCodeAt(i), newNode<S>);
    }
    let entry = node.patterns.get(pattern.source);
    if (!entry) {
      entry = { pattern, subscribers: new Map() };
      node.patterns.set(pattern.source, entry);
      this.#patternCount++;
    }
    return entry;
  }
}

/**
 * Takes one use of `key` away and returns how many subscribers the entry still has: the entry
 * may go only when nobody is left, however many uses the leaving subscriber had.
 */
function decrement<S>(counts: Map<S, number>, key: S): number {
  const left = (counts.get(key) ?? 0) - 1;
  if (left <= 0) counts.delete(key);
  else counts.set(key, left);
  return counts.size;
}
