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
  /**
   * The most patterns one channel could make a publish test below this node: this node's
   * patterns plus the worst child's. The root's is the worst case of the whole index.
   */
  worst: number;
}

const newNode = <S>(): TrieNode<S> => ({ children: new Map(), patterns: new Map(), worst: 0 });

function worstOf<S>(node: TrieNode<S>): number {
  let child = 0;
  for (const next of node.children.values()) if (next.worst > child) child = next.worst;
  return node.patterns.size + child;
}

/**
 * Finds the subscribers of a channel without testing every pattern: exact channels sit in a
 * map, wildcard patterns in a trie keyed by their literal prefix, so a publish tests only the
 * patterns whose prefix the channel starts with. The trie knows the most patterns any one
 * channel can make a publish test, which the relay holds to a budget.
 */
export class SubscriptionIndex<S> {
  /**
   * Exact channels: their one subscriber itself when one subscription names the channel (most
   * channels: no object per subscription), else a count of subscriptions per subscriber. So a
   * subscriber must never be a Map (relay-core's are sessions).
   */
  readonly #exact = new Map<string, S | Map<S, number>>();
  readonly #root: TrieNode<S> = newNode();
  #patternCount = 0;
  #cost = 0;

  /** Number of distinct exact channels and wildcard patterns indexed. */
  get size(): number {
    return this.#exact.size + this.#patternCount;
  }

  /** The most wildcard patterns a publish on any one channel has to test. */
  get worstCandidates(): number {
    return this.#root.worst;
  }

  /**
   * Why indexing `pattern` would pass the budgets of matching work a publish may cause, or
   * undefined. A pattern already indexed is free.
   */
  overBudget(
    pattern: CompiledPattern,
    limits: { maxPatternsPerPublish: number; maxPatternCostPerNamespace: number },
  ): string | undefined {
    if (pattern.exact || this.#find(pattern)) return undefined;
    if (this.#cost + pattern.cost > limits.maxPatternCostPerNamespace)
      return `the namespace's wildcard patterns would cost more than ${limits.maxPatternCostPerNamespace} to match (limits.maxPatternCostPerNamespace): '?' and '[...]' between two '*' are tried at every position; anchor them or use fewer`;
    // The publishes this pattern joins test every pattern on its prefix's path, and those below.
    let node: TrieNode<S> | undefined = this.#root;
    let path = node.patterns.size;
    for (let i = 0; i < pattern.literalPrefix.length && node; i++) {
      node = node.children.get(pattern.literalPrefix.charCodeAt(i));
      if (node) path += node.patterns.size;
    }
    const below = node ? node.worst - node.patterns.size : 0;
    if (path + below + 1 > limits.maxPatternsPerPublish)
      return `a publish in this namespace would have to test more than ${limits.maxPatternsPerPublish} wildcard patterns (limits.maxPatternsPerPublish); give patterns distinct literal prefixes (user.42.* rather than *.42), reuse identical ones, or subscribe to exact channels`;
    return undefined;
  }

  #find(pattern: CompiledPattern): PatternEntry<S> | undefined {
    let node: TrieNode<S> | undefined = this.#root;
    for (let i = 0; i < pattern.literalPrefix.length && node; i++)
      node = node.children.get(pattern.literalPrefix.charCodeAt(i));
    return node?.patterns.get(pattern.source);
  }

  add(pattern: CompiledPattern, subscriber: S): void {
    if (pattern.exact) return this.#addExact(pattern.source, subscriber);
    const subscribers = this.#entry(pattern).subscribers;
    subscribers.set(subscriber, (subscribers.get(subscriber) ?? 0) + 1);
  }

  #addExact(channel: string, subscriber: S): void {
    const at = this.#exact.get(channel);
    if (at === undefined) this.#exact.set(channel, subscriber);
    else if (at instanceof Map) at.set(subscriber, (at.get(subscriber) ?? 0) + 1);
    else
      this.#exact.set(
        channel,
        at === subscriber
          ? new Map([[subscriber, 2]])
          : new Map([
              [at, 1],
              [subscriber, 1],
            ]),
      );
  }

  #removeExact(channel: string, subscriber: S): void {
    const at = this.#exact.get(channel);
    if (at instanceof Map ? decrement(at, subscriber) === 0 : at === subscriber)
      this.#exact.delete(channel);
  }

  remove(pattern: CompiledPattern, subscriber: S): void {
    if (pattern.exact) return this.#removeExact(pattern.source, subscriber);
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
    this.#cost -= entry.pattern.cost;
    // Prune empty trie nodes bottom-up, and lower the worst case along the path.
    for (let i = path.length - 1; i >= 0; i--) {
      const at = path[i] as TrieNode<S>;
      if (i > 0 && at.patterns.size === 0 && at.children.size === 0)
        (path[i - 1] as TrieNode<S>).children.delete(pattern.literalPrefix.charCodeAt(i - 1));
      else at.worst = worstOf(at);
    }
  }

  /**
   * Calls `visit` for each subscriber of `channel`; a subscriber whose several patterns match is
   * visited once per pattern, so callers deduplicate. With `exactOnly`, wildcard patterns are
   * skipped (private inbox channels).
   */
  forEachMatch(channel: string, visit: (subscriber: S) => void, exactOnly = false): void {
    const exact = this.#exact.get(channel);
    if (exact instanceof Map) for (const subscriber of exact.keys()) visit(subscriber);
    else if (exact !== undefined) visit(exact);
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

  #entry(pattern: CompiledPattern): PatternEntry<S> {
    const path: TrieNode<S>[] = [this.#root];
    let node = this.#root;
    for (let i = 0; i < pattern.literalPrefix.length; i++) {
      node = getOrCreate(node.children, pattern.literalPrefix.charCodeAt(i), newNode<S>);
      path.push(node);
    }
    let entry = node.patterns.get(pattern.source);
    if (!entry) {
      entry = { pattern, subscribers: new Map() };
      node.patterns.set(pattern.source, entry);
      this.#patternCount++;
      this.#cost += pattern.cost;
      // Adding only raises the worst case: each node above takes its child's new worst.
      node.worst = worstOf(node);
      for (let i = path.length - 2; i >= 0; i--) {
        const at = path[i] as TrieNode<S>;
        at.worst = Math.max(at.worst, at.patterns.size + (path[i + 1] as TrieNode<S>).worst);
      }
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
