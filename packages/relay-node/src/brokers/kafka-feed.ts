/**
 * One relay instance's reading of a Kafka namespace partition: where it has read to, what the
 * shared dedupe (kafka-dedupe.ts) decided on each record, and, while the namespace is listened
 * to, delivery of the records that are not duplicates. Every read of the partition, live or not,
 * goes through {@link NamespaceFeed.accept}, so each record is judged once, in log order.
 */
import { dedupeKey, type LogMessage, type LogRetention } from "@pubsubbud/relay-core";
import { FeedDedupe } from "./kafka-dedupe.js";

/** Options of {@link NamespaceFeed}. */
export interface NamespaceFeedOptions {
  retention: LogRetention;
  /** The first offset to judge (the seed start). */
  start: bigint;
  /** The first offset judged with its whole dedupe window in view (the head when seeding began). */
  from: bigint;
  /** Receives each record that is not a duplicate while the feed is live. */
  deliver: (message: LogMessage) => void;
  now?: () => number;
}

interface Waiter {
  offset: bigint;
  resolve: () => void;
}

/** A reading of one namespace partition; see the file header. */
export class NamespaceFeed {
  /** The next offset to judge. */
  cursor: bigint;
  /** True while the namespace is listened to: accepted records go to the listeners. */
  live = false;
  /** When a publish or a listener last used the feed (a stale unlistened feed is re-seeded). */
  touchedAt: number;
  readonly #from: bigint;
  readonly #retention: LogRetention;
  readonly #dedupe: FeedDedupe;
  readonly #deliver: (message: LogMessage) => void;
  readonly #now: () => number;
  /** Offsets of the duplicates judged since `#from`, with their first copies' offsets. */
  readonly #dropped = new Map<bigint, bigint>();
  #waiters: Waiter[] = [];

  constructor(options: NamespaceFeedOptions) {
    this.cursor = options.start;
    this.#from = options.from;
    this.#retention = options.retention;
    this.#dedupe = new FeedDedupe(options.retention);
    this.#deliver = options.deliver;
    this.#now = options.now ?? Date.now;
    this.touchedAt = this.#now();
  }

  /**
   * Judges the records of one read in log order, skipping those already judged; `next` is where
   * the read ended (past control records that carry no message).
   */
  accept(messages: readonly LogMessage[], next: bigint): void {
    for (const message of messages) {
      const offset = BigInt(message.offset);
      if (offset < this.cursor) continue;
      this.cursor = offset + 1n;
      const verdict = this.#dedupe.judge({ key: dedupeKey(message), offset, ts: message.ts });
      if (verdict.duplicate) {
        if (offset >= this.#from) this.#dropped.set(offset, verdict.first);
      } else if (this.live) this.#deliver(message);
    }
    if (next > this.cursor) this.cursor = next;
    this.#prune();
    this.#wake();
  }

  /**
   * The first copy's offset when a new record with `key` would be a duplicate, as far as this
   * feed has read: a publish answered from here is never appended at all.
   */
  firstCopy(key: string): bigint | undefined {
    this.touchedAt = this.#now();
    return this.#dedupe.firstCopy(key, this.cursor, this.#now());
  }

  /**
   * What was decided on the record at `offset`: the first copy's offset for a duplicate, null
   * for a delivered record, undefined when this feed cannot say (not read yet, or read before
   * its dedupe window was whole, or pruned).
   */
  decided(offset: bigint): bigint | null | undefined {
    if (offset >= this.cursor || offset < this.#oldestKnown()) return undefined;
    return this.#dropped.get(offset) ?? null;
  }

  /** Resolves true once the feed has judged `offset`, false after `timeoutMs`. */
  past(offset: bigint, timeoutMs: number): Promise<boolean> {
    if (this.cursor > offset) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((waiter) => waiter !== entry);
        resolve(false);
      }, timeoutMs);
      const entry: Waiter = {
        offset,
        resolve: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      this.#waiters.push(entry);
    });
  }

  /** A replay may reach `maxMessages` back; older decisions are dropped. */
  #oldestKnown(): bigint {
    const kept = this.cursor - BigInt(this.#retention.maxMessages) - 1n;
    return kept > this.#from ? kept : this.#from;
  }

  #prune(): void {
    const oldest = this.#oldestKnown();
    for (const offset of this.#dropped.keys()) {
      if (offset >= oldest) break;
      this.#dropped.delete(offset);
    }
  }

  #wake(): void {
    if (this.#waiters.length === 0) return;
    const waiting: Waiter[] = [];
    for (const waiter of this.#waiters)
      if (waiter.offset < this.cursor) waiter.resolve();
      else waiting.push(waiter);
    this.#waiters = waiting;
  }
}
