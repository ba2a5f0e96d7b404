/**
 * Reads a namespace's one-partition topic outside the live long poll: its end, a range of its
 * records, where a dedupe seed must start, and catching a feed up to an offset.
 */
import type { Consumer } from "@platformatic/kafka";
import type { LogMessage, LogRetention } from "@pubsubbud/relay-core";
import { CLOCK_SKEW_MS, seedStart } from "./kafka-dedupe.js";
import type { NamespaceFeed } from "./kafka-feed.js";
import { messagesOf } from "./kafka-records.js";

/** A namespace's topic as the broker knows it. */
export interface Topic {
  name: string;
  id: string;
  leader: number;
}

/** The error code of a fetch from an offset the log no longer (or not yet) has. */
export const OFFSET_OUT_OF_RANGE = 1;

/** Fetches partition 0 of each topic id from its offset, in one request to `leader`. */
export function fetchPartitions(
  consumer: Consumer,
  leader: number,
  from: Array<[string, bigint]>,
  waitMs: number,
): ReturnType<Consumer["fetch"]> {
  return consumer.fetch({
    node: leader,
    maxWaitTime: waitMs,
    topics: from.map(([id, fetchOffset]) => ({
      topicId: id,
      partitions: [
        {
          partition: 0,
          currentLeaderEpoch: -1,
          fetchOffset,
          lastFetchedEpoch: -1,
          partitionMaxBytes: 1 << 20,
        },
      ],
    })),
  });
}

/** Reads partitions with one consumer; see the file header. */
export class PartitionReader {
  readonly #consumer: Consumer;
  readonly #retention: LogRetention;
  readonly #keylessChannel: string;
  /** The read in progress per feed: one at a time, so records reach a feed in log order. */
  readonly #reading = new WeakMap<NamespaceFeed, Promise<void>>();

  constructor(consumer: Consumer, retention: LogRetention, keylessChannel: string) {
    this.#consumer = consumer;
    this.#retention = retention;
    this.#keylessChannel = keylessChannel;
  }

  /** The offset the next record will get (the high watermark). */
  async end(topic: Topic): Promise<bigint> {
    const offsets = await this.#consumer.listOffsets({ topics: [topic.name] });
    return offsets.get(topic.name)?.[0] ?? 0n;
  }

  /**
   * Reads the records from `from` up to `end`, handing each read to `take`; false when `from` is
   * no longer in the log (trimmed by Kafka's retention).
   */
  async range(
    topic: Topic,
    from: bigint,
    end: bigint,
    take: (messages: LogMessage[], next: bigint) => void,
  ): Promise<boolean> {
    for (let next = from; next < end; ) {
      const response = await fetchPartitions(this.#consumer, topic.leader, [[topic.id, next]], 0);
      const partition = response.responses[0]?.partitions[0];
      if (partition?.errorCode === OFFSET_OUT_OF_RANGE) return false;
      if (partition?.errorCode !== 0)
        throw new Error(`kafka fetch error ${partition?.errorCode ?? "(no partition)"}`);
      if (partition.logStartOffset > next) return false;
      const read = messagesOf(partition, next, this.#keylessChannel);
      if (read.next <= next) break;
      const until = read.next < end ? read.next : end;
      take(
        read.messages.filter((m) => BigInt(m.offset) < end),
        until,
      );
      next = until;
    }
    return true;
  }

  /**
   * Where to start reading so that dedupe decisions on records from `end` on agree with every
   * other instance's; `ageMs` is how much older than now those records may be.
   */
  async seedFrom(topic: Topic, end: bigint, ageMs: number): Promise<bigint> {
    const since = Date.now() - ageMs - this.#retention.dedupeWindowMs - CLOCK_SKEW_MS;
    const [byTime, earliest] = await Promise.all([
      this.#consumer.listOffsets({ topics: [topic.name], timestamp: BigInt(since) }),
      this.#consumer.listOffsets({ topics: [topic.name], timestamp: -2n }),
    ]);
    const timed = byTime.get(topic.name)?.[0] ?? -1n;
    return seedStart(end, timed, earliest.get(topic.name)?.[0] ?? 0n, this.#retention);
  }

  /** Reads the partition into `feed` until it has judged every offset before `target`. */
  async catchUp(feed: NamespaceFeed, topic: Topic, target: bigint): Promise<void> {
    for (;;) {
      await this.#reading.get(feed)?.catch(() => {});
      if (feed.cursor >= target) return;
      if (this.#reading.has(feed)) continue; // another caller started the next read
      const read = this.range(topic, feed.cursor, target, (messages, next) =>
        feed.accept(messages, next),
      ).then((whole) => {
        if (!whole) throw new Error(`kafka trimmed ${topic.name} past this relay's position`);
      });
      this.#reading.set(feed, read);
      try {
        await read;
      } finally {
        this.#reading.delete(feed);
      }
      if (feed.cursor < target) throw new Error(`kafka log ${topic.name} ends before ${target}`);
    }
  }
}
