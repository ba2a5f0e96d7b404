/**
 * The Kafka broker's live reading: one loop that long-polls every live feed's partition, one
 * fetch per leader, and hands each partition's records to its feed (which judges duplicates and
 * delivers). A partition that moved past a feed's position (retention deleted records it had not
 * read) gets a re-seeded feed and a gap. A failed poll backs off and forgets the topics'
 * descriptions (leaders may have moved). The loop's success is the broker's health while it has
 * live feeds.
 */
import type { Consumer } from "@platformatic/kafka";
import { getOrCreate } from "@pubsubbud/relay-core/internal";
import type { NamespaceFeed } from "./kafka-feed.js";
import type { KafkaFeeds } from "./kafka-feeds.js";
import { fetchPartitions, OFFSET_OUT_OF_RANGE, type Topic } from "./kafka-reader.js";
import { messagesOf } from "./kafka-records.js";
import type { KafkaTopics } from "./kafka-topics.js";
import { type BrokerCommonOptions, backoffDelay } from "./shared.js";

export interface LivePollerOptions {
  /** The consumer that long-polls (no group). */
  consumer: Consumer;
  topics: KafkaTopics;
  feeds: KafkaFeeds;
  keylessChannel: string;
  /** The namespace's live feed missed records: its listeners resume. */
  gap(ns: string): void;
  /** Each poll's success or failure. */
  health(up: boolean): void;
  log: NonNullable<BrokerCommonOptions["log"]>;
}

interface Polled {
  ns: string;
  feed: NamespaceFeed;
  from: bigint;
  topic: Topic;
}

export class LivePoller {
  readonly #options: LivePollerOptions;
  #stopped = false;
  #up = true;

  constructor(options: LivePollerOptions) {
    this.#options = options;
    void this.#loop();
  }

  async #loop(): Promise<void> {
    const { feeds, topics, log } = this.#options;
    for (let attempt = 0; !this.#stopped; ) {
      try {
        if (feeds.live().size === 0) await new Promise((resolve) => setTimeout(resolve, 50));
        else await this.#poll();
        attempt = 0;
      } catch (error) {
        if (this.#stopped) return;
        if (this.#up) log("warn", "kafka fetch failed; retrying", { error: String(error) });
        this.#health(false);
        topics.forget(); // leaders may have moved
        await new Promise((resolve) => setTimeout(resolve, backoffDelay(attempt++)));
      }
    }
  }

  #health(up: boolean): void {
    this.#up = up;
    this.#options.health(up);
  }

  /** One long poll of the live feeds, per leader; records go through each feed's dedupe. */
  async #poll(): Promise<void> {
    const { consumer, topics, feeds, keylessChannel } = this.#options;
    const polled: Polled[] = await Promise.all(
      [...feeds.live()].map(async ([ns, feed]) => ({
        ns,
        feed,
        from: feed.cursor,
        topic: await topics.of(ns),
      })),
    );
    const byId = new Map(polled.map((entry) => [entry.topic.id, entry]));
    const byLeader = new Map<number, Polled[]>();
    for (const entry of polled) getOrCreate(byLeader, entry.topic.leader, () => []).push(entry);
    const responses = await Promise.all(
      [...byLeader].map(([leader, group]) =>
        fetchPartitions(
          consumer,
          leader,
          group.map((entry) => [entry.topic.id, entry.from]),
          200,
        ),
      ),
    );
    this.#health(true);
    for (const response of responses.flatMap((r) => r.responses)) {
      const entry = byId.get(response.topicId);
      const partition = response.partitions[0];
      if (!entry || !partition || feeds.live().get(entry.ns) !== entry.feed) continue;
      if (partition.errorCode === OFFSET_OUT_OF_RANGE) {
        this.#options.log("warn", "kafka log moved past this relay's position", {
          namespace: entry.ns,
        });
        feeds.goLive(entry.ns, await feeds.seeded(entry.ns, entry.topic));
        this.#options.gap(entry.ns);
        continue;
      }
      if (partition.errorCode !== 0) throw new Error(`kafka fetch error ${partition.errorCode}`);
      const { messages, next } = messagesOf(partition, entry.from, keylessChannel);
      entry.feed.accept(messages, next);
    }
  }

  stop(): void {
    this.#stopped = true;
  }
}
