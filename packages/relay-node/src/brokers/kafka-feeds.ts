/**
 * The Kafka broker's feeds: per namespace, this instance's reading of its partition
 * ({@link NamespaceFeed}), seeded from the partition's recent records so it judges duplicates as
 * every instance does. A feed is live while the namespace is listened to (the live poller reads
 * it); an unlistened one is kept for publishes while it stays inside the dedupe window, and
 * forgotten past it. Also what the feeds decide for a publish and a replay.
 */
import {
  dedupeKey,
  type LogMessage,
  type LogRetention,
  type PublishOutcome,
} from "@pubsubbud/relay-core";
import { getOrCreate } from "@pubsubbud/relay-core/internal";
import type { Deadline } from "./deadlines.js";
import { FeedDedupe } from "./kafka-dedupe.js";
import { NamespaceFeed } from "./kafka-feed.js";
import type { PartitionReader, Topic } from "./kafka-reader.js";

export interface KafkaFeedsOptions {
  partitions: PartitionReader;
  retention: LogRetention;
  /** How long a publish waits for the live poller to pass its record before reading it itself. */
  waitMs: number;
  /** Delivers a live feed's message to the namespace's listeners. */
  deliver(ns: string, message: LogMessage): void;
}

export class KafkaFeeds {
  readonly #options: KafkaFeedsOptions;
  /** Each namespace's feed: live while listened to, else kept for publishes. */
  readonly #feeds = new Map<string, Promise<NamespaceFeed>>();
  /** The feeds the live poller reads, by namespace. */
  readonly #live = new Map<string, NamespaceFeed>();

  constructor(options: KafkaFeedsOptions) {
    this.#options = options;
  }

  /** A feed seeded from the partition's recent records, having read up to its end. */
  async seeded(ns: string, topic: Topic): Promise<NamespaceFeed> {
    const { partitions, retention, deliver } = this.#options;
    const end = await partitions.end(topic);
    const feed = new NamespaceFeed({
      retention,
      start: await partitions.seedFrom(topic, end, 0),
      from: end,
      deliver: (message) => deliver(ns, message),
    });
    await partitions.catchUp(feed, topic, end);
    return feed;
  }

  /** The namespace's feed; a new one, or an unlistened one idle past the window, is seeded. */
  async of(ns: string, topic: Topic): Promise<NamespaceFeed> {
    const pending = getOrCreate(this.#feeds, ns, () => this.seeded(ns, topic));
    const feed = await pending.catch((error) => {
      if (this.#feeds.get(ns) === pending) this.#feeds.delete(ns);
      throw error;
    });
    if (feed.live || Date.now() - feed.touchedAt <= this.#options.retention.dedupeWindowMs)
      return feed;
    if (this.#feeds.get(ns) === pending) this.#feeds.delete(ns);
    return this.of(ns, topic);
  }

  /** Makes `feed` the namespace's live feed (replacing the one before, after a re-seed). */
  goLive(ns: string, feed: NamespaceFeed): void {
    const before = this.#live.get(ns);
    if (before) before.live = false;
    feed.live = true;
    this.#live.set(ns, feed);
    this.#feeds.set(ns, Promise.resolve(feed));
  }

  /** The namespace is no longer listened to: its feed stays for publishes inside the window. */
  goIdle(ns: string): void {
    const feed = this.#live.get(ns);
    this.#live.delete(ns);
    if (!feed) return;
    feed.live = false;
    feed.touchedAt = Date.now();
  }

  /** The live feeds, by namespace. */
  live(): ReadonlyMap<string, NamespaceFeed> {
    return this.#live;
  }

  /** Forgets unlistened feeds idle past the dedupe window. */
  sweep(): void {
    const { dedupeWindowMs } = this.#options.retention;
    for (const [ns, pending] of this.#feeds)
      void pending.then(
        (feed) => {
          const idle = !feed.live && Date.now() - feed.touchedAt > dedupeWindowMs;
          if (idle && this.#feeds.get(ns) === pending) this.#feeds.delete(ns);
        },
        () => {},
      );
  }

  /** Reads the partition up to `end` (inclusive) into `feed`, unless the live poller passes it first. */
  async #reach(feed: NamespaceFeed, topic: Topic, end: bigint): Promise<void> {
    if (!(feed.live && (await feed.past(end, this.#options.waitMs))))
      await this.#options.partitions.catchUp(feed, topic, end + 1n);
  }

  /**
   * A publish's outcome once its own instance has judged the record: a copy the feed drops (the
   * same key was appended first through another instance) is answered with the first copy. Past
   * `deadline` it is answered without that judgement, as when the read fails.
   */
  async confirm(
    topic: Topic,
    feed: NamespaceFeed,
    offset: bigint,
    deadline: Deadline,
  ): Promise<PublishOutcome> {
    try {
      await deadline.race(this.#reach(feed, topic, offset), () => {});
    } catch {
      // The record is in the log; whether it repeats an earlier copy stays unknown here, and
      // every reader's feed decides that alike.
    }
    const first = feed.decided(offset);
    return typeof first === "bigint"
      ? { offset: String(first), duplicate: true }
      : { offset: String(offset), duplicate: false };
  }

  /** The offsets among `messages` (the records from `from` on) that the feeds drop. */
  async duplicatesOf(
    ns: string,
    topic: Topic,
    from: bigint,
    messages: LogMessage[],
  ): Promise<Set<string>> {
    const last = messages.at(-1);
    if (!last) return new Set();
    const feed = await this.#feeds.get(ns)?.catch(() => undefined);
    if (feed) {
      await this.#reach(feed, topic, BigInt(last.offset)).catch(() => {});
      const decided = messages.map((m) => feed.decided(BigInt(m.offset)));
      if (decided.every((d) => d !== undefined))
        return new Set(messages.filter((_, i) => decided[i] !== null).map((m) => m.offset));
    }
    // This instance has not judged these records: judge them as every feed does, from a seed.
    const { partitions, retention } = this.#options;
    const dedupe = new FeedDedupe(retention);
    const judge = (m: LogMessage) =>
      dedupe.judge({ key: dedupeKey(m), offset: BigInt(m.offset), ts: m.ts }).duplicate;
    const start = await partitions.seedFrom(topic, from, retention.maxAgeMs);
    if (!(await partitions.range(topic, start, from, (batch) => batch.forEach(judge))))
      throw new Error(`kafka trimmed ${topic.name} while it was read`);
    return new Set(messages.filter(judge).map((m) => m.offset));
  }

  clear(): void {
    this.#live.clear();
    this.#feeds.clear();
  }
}
