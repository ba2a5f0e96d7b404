/**
 * The Kafka broker: each namespace is a one-partition topic whose offsets are the namespace log,
 * so history is shared by every relay instance. See docs/brokers.md.
 *
 * Mapping: topic `<prefix><namespace>` (prefix `pubsubbud.`); records as kafka-records.ts maps
 * them; the epoch is the topic's id, so a deleted and recreated topic is a new log. Dedupe is
 * decided from the partition itself (kafka-dedupe.ts), so every instance drops the same copies.
 *
 * Parts: {@link KafkaTopics} creates and describes topics; {@link KafkaFeeds} keeps each
 * namespace's reading of its partition; {@link LivePoller} long-polls the live ones;
 * {@link ProduceQueue} batches publishes; {@link Deadlines} answers those Kafka leaves unanswered
 * (`publishTimeoutMs`); {@link PartitionReader} reads history; kafka-clients.ts makes the Kafka
 * clients, kafka-group.ts a durable group's member.
 *
 * Client: @platformatic/kafka, a pure-JavaScript client under active development that speaks the
 * current Kafka protocol (KRaft, Kafka 4). KafkaJS, the older choice, has had no stable release
 * since 2023; the Confluent client needs librdkafka binaries.
 */
import type { Position } from "@pubsubbud/protocol";
import {
  type BrokerGroups,
  type BrokerListener,
  compareDecimalOffsets,
  dedupeKey,
  type GroupBroker,
  type LogMessage,
  type LogRetention,
  type PublishInput,
  type PublishOutcome,
  type Publisher,
  type StopListening,
} from "@pubsubbud/relay-core";
import { randomId } from "@pubsubbud/relay-core/internal";
import { Deadlines } from "./deadlines.js";
import type { NamespaceFeed } from "./kafka-feed.js";
import { KafkaFeeds } from "./kafka-feeds.js";
import { connectKafkaClients, type KafkaClients } from "./kafka-clients.js";
import { joinKafkaGroup } from "./kafka-group.js";
import { LivePoller } from "./kafka-live.js";
import { publishError } from "./kafka-outcome.js";
import { NotSentError, ProduceQueue } from "./kafka-produce.js";
import { PartitionReader, type Topic } from "./kafka-reader.js";
import { recordOf } from "./kafka-records.js";
import { KafkaTopics } from "./kafka-topics.js";
import { type BrokerCommonOptions, GroupMembers, Listeners, retentionOf } from "./shared.js";

/** Options of {@link createKafkaBroker}. */
export interface KafkaBrokerOptions extends BrokerCommonOptions {
  /** `kafka://host:9092[,host:9092…]`. */
  url: string;
  /** Prefix of every topic. @default "pubsubbud." */
  prefix?: string;
  /** Channel given to records that have no key (written by other producers). @default "kafka" */
  keylessChannel?: string;
  /** Replication factor of the topics the broker creates. @default 1 */
  replicas?: number;
  /** @default 5000 */
  connectTimeoutMs?: number;
  /**
   * How long a publish waits for Kafka's acknowledgement; past it the publish is answered
   * `publish_uncertain` if its produce request left, `publish_failed` if it never left (it is then
   * never sent). @default 10000
   */
  publishTimeoutMs?: number;
}

/**
 * Connects to Kafka and returns the broker; fails with a clear error when Kafka cannot be reached.
 * @example const broker = await createKafkaBroker({ url: "kafka://127.0.0.1:9092" })
 */
export async function createKafkaBroker(options: KafkaBrokerOptions): Promise<GroupBroker> {
  const { url, connectTimeoutMs = 5_000 } = options;
  const clients = await connectKafkaClients(url, connectTimeoutMs, `pubsubbud-${randomId(8)}`);
  return new KafkaBroker(options, clients);
}

class KafkaBroker implements GroupBroker {
  readonly name = "kafka";
  readonly capabilities = { sharedHistory: true, totalOrder: true };
  readonly #clients: KafkaClients;
  readonly #retention: LogRetention;
  readonly #keylessChannel: string;
  readonly #log: NonNullable<BrokerCommonOptions["log"]>;
  readonly #listeners = new Listeners();
  readonly #topics: KafkaTopics;
  readonly #partitions: PartitionReader;
  readonly #feeds: KafkaFeeds;
  readonly #produce: ProduceQueue;
  readonly #poller: LivePoller;
  readonly #probe: ReturnType<typeof setInterval>;
  readonly #members = new GroupMembers();
  readonly #deadlines: Deadlines;
  #healthy = true;
  #closed = false;

  constructor(options: KafkaBrokerOptions, clients: KafkaClients) {
    this.#clients = clients;
    this.#retention = retentionOf(options);
    this.#keylessChannel = options.keylessChannel ?? "kafka";
    this.#log = options.log ?? (() => {});
    this.#deadlines = new Deadlines(options.publishTimeoutMs ?? 10_000);
    const { admin, producer, live, reader } = clients;
    this.#topics = new KafkaTopics(
      admin,
      reader,
      options.prefix ?? "pubsubbud.",
      options.replicas ?? 1,
    );
    this.#partitions = new PartitionReader(reader, this.#retention, this.#keylessChannel);
    this.#feeds = new KafkaFeeds({
      partitions: this.#partitions,
      retention: this.#retention,
      waitMs: clients.options.timeout,
      deliver: (ns, message) => this.#listeners.message(ns, message),
    });
    this.#produce = new ProduceQueue(async (topic, records) => {
      const result = await producer.send({
        messages: records.map((record) => ({ topic, ...record })),
      });
      const first = result.offsets?.[0]?.offset;
      if (first === undefined) throw new Error("kafka acknowledged without an offset");
      return first;
    });
    this.#poller = new LivePoller({
      consumer: live,
      topics: this.#topics,
      feeds: this.#feeds,
      keylessChannel: this.#keylessChannel,
      gap: (ns) => this.#listeners.gap(ns),
      health: (up) => {
        this.#healthy = up;
      },
      log: this.#log,
    });
    this.#probe = setInterval(() => this.#housekeeping(), 2_000);
    this.#probe.unref();
  }

  /**
   * Every 2 s: forgets unlistened feeds idle past the window, and probes health while nothing is
   * listened to (a metadata round trip; the live poller tells it otherwise).
   */
  #housekeeping(): void {
    this.#feeds.sweep();
    if (this.#feeds.live().size > 0) return;
    this.#clients.admin.metadata({ topics: [], forceUpdate: true }).then(
      () => {
        this.#healthy = true;
      },
      () => {
        this.#healthy = false;
      },
    );
  }

  async publish(
    namespace: string,
    input: PublishInput,
    publisher?: Publisher,
  ): Promise<PublishOutcome> {
    const deadline = this.#deadlines.start();
    try {
      // Failures up to the send are proof the message was not appended (publish_failed).
      const { topic, feed } = await deadline.race(this.#lookUp(namespace), () => {
        throw new NotSentError(`not sent: ${namespace}'s topic was not found by the deadline`);
      });
      const first = feed.firstCopy(dedupeKey(input));
      if (first !== undefined) return { offset: String(first), duplicate: true };
      let offset: bigint;
      try {
        offset = await this.#produce.push(topic.name, recordOf(input), deadline, publisher);
      } catch (error) {
        this.#healthy = false;
        throw publishError(error);
      }
      this.#healthy = true;
      return await this.#feeds.confirm(topic, feed, offset, deadline);
    } finally {
      deadline.done();
    }
  }

  async #lookUp(namespace: string): Promise<{ topic: Topic; feed: NamespaceFeed }> {
    const topic = await this.#topics.of(namespace);
    return { topic, feed: await this.#feeds.of(namespace, topic) };
  }

  async listen(namespace: string, listener: BrokerListener): Promise<StopListening> {
    if (this.#listeners.add(namespace, listener)) {
      try {
        // Seeded (or caught up) to the end first: what follows is judged as on every instance.
        const topic = await this.#topics.of(namespace);
        const feed = await this.#feeds.of(namespace, topic);
        await this.#partitions.catchUp(feed, topic, await this.#partitions.end(topic));
        if (this.#listeners.has(namespace)) this.#feeds.goLive(namespace, feed);
      } catch (error) {
        this.#listeners.remove(namespace, listener);
        throw error;
      }
    }
    return async () => {
      if (this.#listeners.remove(namespace, listener)) this.#feeds.goIdle(namespace);
    };
  }

  async head(namespace: string): Promise<Position> {
    const topic = await this.#topics.of(namespace);
    const end = await this.#partitions.end(topic);
    return { epoch: topic.id, offset: end === 0n ? "" : String(end - 1n) };
  }

  async since(namespace: string, position: Position): Promise<LogMessage[] | undefined> {
    const topic = await this.#topics.of(namespace);
    if (position.epoch !== topic.id || !/^\d*$/.test(position.offset)) return undefined;
    const from = position.offset === "" ? 0n : BigInt(position.offset) + 1n;
    const end = await this.#partitions.end(topic);
    if (from > end || end - from > BigInt(this.#retention.maxMessages)) return undefined;
    const messages: LogMessage[] = [];
    if (!(await this.#partitions.range(topic, from, end, (batch) => messages.push(...batch))))
      return undefined;
    const oldest = Date.now() - this.#retention.maxAgeMs;
    if (messages.some((m) => m.ts < oldest)) return undefined;
    // The copies live delivery drops are dropped here too, so a resume shows none of them.
    const duplicates = await this.#feeds.duplicatesOf(namespace, topic, from, messages);
    return messages.filter((m) => !duplicates.has(m.offset));
  }

  compareOffsets = compareDecimalOffsets;

  healthy(): boolean {
    return this.#healthy && !this.#closed;
  }

  readonly groups: BrokerGroups = {
    namedMembers: false,
    consume: async (namespace, group, _member, handle) => {
      const leave = await joinKafkaGroup({
        admin: this.#clients.admin,
        partitions: this.#partitions,
        common: this.#clients.options,
        topic: await this.#topics.of(namespace),
        group,
        keylessChannel: this.#keylessChannel,
        handle,
        log: this.#log,
      });
      return this.#members.add(leave);
    },
  };

  async close(): Promise<void> {
    this.#closed = true;
    this.#poller.stop();
    await this.#members.stopAll();
    clearInterval(this.#probe);
    this.#listeners.clear();
    this.#feeds.clear();
    await this.#clients.close();
  }
}
