/**
 * The Kafka broker: each namespace is a one-partition topic whose offsets are the namespace log,
 * so history is shared by every relay instance. See docs/brokers.md.
 *
 * Mapping: topic `<prefix><namespace>` (prefix `pubsubbud.`); records as kafka-records.ts maps
 * them; the epoch is the topic's id, so a deleted and recreated topic is a new log. Dedupe is
 * decided from the partition itself (kafka-dedupe.ts), so every instance drops the same copies.
 *
 * Client: @platformatic/kafka, a pure-JavaScript client under active development that speaks the
 * current Kafka protocol (KRaft, Kafka 4). KafkaJS, the older choice, has had no stable release
 * since 2023; the Confluent client needs librdkafka binaries.
 */
import { Admin, Consumer, Producer } from "@platformatic/kafka";
import type { Position } from "@pubsubbud/protocol";
import {
  type BrokerListener,
  compareDecimalOffsets,
  dedupeKey,
  type LogMessage,
  type PublishInput,
  type PublishOutcome,
  type StopListening,
  type GroupBroker,
} from "@pubsubbud/relay-core";
import { getOrCreate, randomId } from "@pubsubbud/relay-core/internal";
import { FeedDedupe } from "./kafka-dedupe.js";
import { NamespaceFeed } from "./kafka-feed.js";
import { publishError } from "./kafka-outcome.js";
import { ProduceQueue } from "./kafka-produce.js";
import {
  fetchPartitions,
  OFFSET_OUT_OF_RANGE,
  PartitionReader,
  type Topic,
} from "./kafka-reader.js";
import { ID_HEADER, messagesOf, toMessage } from "./kafka-records.js";
import {
  type BrokerCommonOptions,
  backoffDelay,
  badBrokerUrl,
  encodeData,
  firstConnect,
  headersToPairs,
  Listeners,
  retentionOf,
} from "./shared.js";

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
}

/** The bootstrap servers a `kafka://` URL names. */
function serversOf(url: string): string[] {
  const match = /^kafka:\/\/([^/?#]+)\/?$/.exec(url);
  if (!match?.[1])
    throw badBrokerUrl(url, "not a kafka URL", "the form kafka://host:9092[,host2:9092]");
  return match[1].split(",");
}

/**
 * Connects to Kafka and returns the broker; fails with a clear error when Kafka cannot be reached.
 * @example const broker = await createKafkaBroker({ url: "kafka://127.0.0.1:9092" })
 */
export async function createKafkaBroker(options: KafkaBrokerOptions): Promise<GroupBroker> {
  const {
    url,
    prefix = "pubsubbud.",
    keylessChannel = "kafka",
    replicas = 1,
    connectTimeoutMs = 5_000,
  } = options;
  const bootstrapBrokers = serversOf(url);
  const retention = retentionOf(options);
  const log = options.log ?? (() => {});
  const common = { bootstrapBrokers, timeout: connectTimeoutMs, retries: 2, retryDelay: 250 };
  const clientId = `pubsubbud-${randomId(8)}`;
  const admin = new Admin({ ...common, clientId });
  const producer = new Producer({ ...common, clientId, acks: -1 });
  // Two consumers without a group: one long-polls the listened topics, one reads history.
  const live = new Consumer({ ...common, clientId, groupId: `${clientId}-live` });
  const reader = new Consumer({ ...common, clientId, groupId: `${clientId}-reader` });
  const clients = [admin, producer, live, reader];
  try {
    await firstConnect(
      url,
      connectTimeoutMs,
      admin.metadata({ topics: [] }),
      "that Kafka runs there and its advertised listeners are reachable from this host",
    );
  } catch (error) {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    throw error;
  }

  const listeners = new Listeners();
  const topics = new Map<string, Promise<Topic>>();
  /** Each namespace's reading of its partition: live while listened to, else kept for publishes. */
  const feeds = new Map<string, Promise<NamespaceFeed>>();
  /** The feeds the live loop polls, by namespace. */
  const liveFeeds = new Map<string, NamespaceFeed>();
  const partitions = new PartitionReader(reader, retention, keylessChannel);
  const produce = new ProduceQueue(async (topic, records) => {
    const result = await producer.send({
      messages: records.map((record) => ({ topic, ...record })),
    });
    const first = result.offsets?.[0]?.offset;
    if (first === undefined) throw new Error("kafka acknowledged without an offset");
    return first;
  });
  let healthy = true;
  let closed = false;

  const describe = async (name: string): Promise<Topic> => {
    const metadata = await reader.metadata({ topics: [name], forceUpdate: true });
    const topic = metadata.topics.get(name);
    const leader = topic?.partitions[0]?.leader;
    if (!topic || leader === undefined || leader < 0)
      throw new Error(`topic ${name} has no leader yet`);
    return { name, id: topic.id, leader };
  };

  /** The namespace's topic, created (one partition) on first use. */
  const topicOf = (ns: string): Promise<Topic> => {
    const pending = getOrCreate(topics, ns, async () => {
      const name = `${prefix}${ns}`;
      try {
        return await describe(name);
      } catch {
        await admin.createTopics({ topics: [name], partitions: 1, replicas }).catch((error) => {
          if (!/already exists/i.test(String(error?.errors?.[0]?.message ?? error))) throw error;
        });
        for (let attempt = 0; ; attempt++) {
          try {
            return await describe(name);
          } catch (error) {
            if (attempt > 20) throw error;
            await new Promise((resolve) => setTimeout(resolve, backoffDelay(attempt, 20, 500)));
          }
        }
      }
    });
    pending.catch(() => topics.delete(ns));
    return pending;
  };

  /** A feed seeded from the partition's recent records, having read up to its end. */
  const seededFeed = async (ns: string, topic: Topic): Promise<NamespaceFeed> => {
    const end = await partitions.end(topic);
    const feed = new NamespaceFeed({
      retention,
      start: await partitions.seedFrom(topic, end, 0),
      from: end,
      deliver: (message) => listeners.message(ns, message),
    });
    await partitions.catchUp(feed, topic, end);
    return feed;
  };

  /** The namespace's feed; a new one, or an unlistened one idle past the window, is seeded. */
  const feedOf = async (ns: string, topic: Topic): Promise<NamespaceFeed> => {
    const pending = getOrCreate(feeds, ns, () => seededFeed(ns, topic));
    const feed = await pending.catch((error) => {
      if (feeds.get(ns) === pending) feeds.delete(ns);
      throw error;
    });
    if (feed.live || Date.now() - feed.touchedAt <= retention.dedupeWindowMs) return feed;
    if (feeds.get(ns) === pending) feeds.delete(ns);
    return feedOf(ns, topic);
  };

  const goLive = (ns: string, feed: NamespaceFeed) => {
    const before = liveFeeds.get(ns);
    if (before) before.live = false;
    feed.live = true;
    liveFeeds.set(ns, feed);
    feeds.set(ns, Promise.resolve(feed));
  };
  const goIdle = (ns: string) => {
    const feed = liveFeeds.get(ns);
    liveFeeds.delete(ns);
    if (!feed) return;
    feed.live = false;
    feed.touchedAt = Date.now();
  };

  /**
   * A publish's outcome once its own instance has judged the record: a copy the feed drops (the
   * same key was appended first through another instance) is answered with the first copy.
   */
  const confirm = async (
    topic: Topic,
    feed: NamespaceFeed,
    offset: bigint,
  ): Promise<PublishOutcome> => {
    try {
      if (!(feed.live && (await feed.past(offset, connectTimeoutMs))))
        await partitions.catchUp(feed, topic, offset + 1n);
    } catch {
      // The record is in the log; whether it repeats an earlier copy stays unknown here, and
      // every reader's feed decides that alike.
    }
    const first = feed.decided(offset);
    return typeof first === "bigint"
      ? { offset: String(first), duplicate: true }
      : { offset: String(offset), duplicate: false };
  };

  /** The offsets among `messages` (the records from `from` on) that the feeds drop. */
  const duplicatesOf = async (
    ns: string,
    topic: Topic,
    from: bigint,
    messages: LogMessage[],
  ): Promise<Set<string>> => {
    const last = messages.at(-1);
    if (!last) return new Set();
    const feed = await feeds.get(ns)?.catch(() => undefined);
    if (feed) {
      const end = BigInt(last.offset);
      if (!(feed.live && (await feed.past(end, connectTimeoutMs))))
        await partitions.catchUp(feed, topic, end + 1n).catch(() => {});
      const decided = messages.map((m) => feed.decided(BigInt(m.offset)));
      if (decided.every((d) => d !== undefined))
        return new Set(messages.filter((_, i) => decided[i] !== null).map((m) => m.offset));
    }
    // This instance has not judged these records: judge them as every feed does, from a seed.
    const dedupe = new FeedDedupe(retention);
    const judge = (m: LogMessage) =>
      dedupe.judge({ key: dedupeKey(m), offset: BigInt(m.offset), ts: m.ts }).duplicate;
    const start = await partitions.seedFrom(topic, from, retention.maxAgeMs);
    if (!(await partitions.range(topic, start, from, (batch) => batch.forEach(judge))))
      throw new Error(`kafka trimmed ${topic.name} while it was read`);
    return new Set(messages.filter(judge).map((m) => m.offset));
  };

  /** One long poll of the live feeds, per leader; records go through each feed's dedupe. */
  const pollLive = async () => {
    const polled = await Promise.all(
      [...liveFeeds].map(async ([ns, feed]) => ({
        ns,
        feed,
        from: feed.cursor,
        topic: await topicOf(ns),
      })),
    );
    const byId = new Map(polled.map((entry) => [entry.topic.id, entry]));
    const byLeader = new Map<number, typeof polled>();
    for (const entry of polled) getOrCreate(byLeader, entry.topic.leader, () => []).push(entry);
    const responses = await Promise.all(
      [...byLeader.values()].map((group) =>
        fetchPartitions(
          live,
          (group[0] as (typeof polled)[number]).topic.leader,
          group.map((entry) => [entry.topic.id, entry.from]),
          200,
        ),
      ),
    );
    healthy = true;
    for (const response of responses.flatMap((r) => r.responses)) {
      const entry = byId.get(response.topicId);
      const partition = response.partitions[0];
      if (!entry || !partition || liveFeeds.get(entry.ns) !== entry.feed) continue;
      if (partition.errorCode === OFFSET_OUT_OF_RANGE) {
        log("warn", "kafka log moved past this relay's position", { namespace: entry.ns });
        goLive(entry.ns, await seededFeed(entry.ns, entry.topic));
        listeners.gap(entry.ns);
        continue;
      }
      if (partition.errorCode !== 0) throw new Error(`kafka fetch error ${partition.errorCode}`);
      const { messages, next } = messagesOf(partition, entry.from, keylessChannel);
      entry.feed.accept(messages, next);
    }
  };

  const liveLoop = async () => {
    for (let attempt = 0; !closed; ) {
      try {
        if (liveFeeds.size === 0) await new Promise((resolve) => setTimeout(resolve, 50));
        else await pollLive();
        attempt = 0;
      } catch (error) {
        if (closed) return;
        if (healthy) log("warn", "kafka fetch failed; retrying", { error: String(error) });
        healthy = false;
        topics.clear(); // leaders may have moved
        await new Promise((resolve) => setTimeout(resolve, backoffDelay(attempt++)));
      }
    }
  };
  void liveLoop();
  // Every 2 s: forget unlistened feeds idle past the window; probe health while nothing is
  // listened to (a metadata round trip).
  const probe = setInterval(() => {
    for (const [ns, pending] of feeds)
      void pending.then(
        (feed) => {
          const idle = !feed.live && Date.now() - feed.touchedAt > retention.dedupeWindowMs;
          if (idle && feeds.get(ns) === pending) feeds.delete(ns);
        },
        () => {},
      );
    if (liveFeeds.size > 0) return;
    admin.metadata({ topics: [], forceUpdate: true }).then(
      () => {
        healthy = true;
      },
      () => {
        healthy = false;
      },
    );
  }, 2_000);
  probe.unref();

  /** A new group starts at the end of the log, like the other brokers' groups. */
  const startAtEnd = async (topic: Topic, groupId: string) => {
    const [listed] = await admin.listConsumerGroupOffsets({
      groups: [{ groupId, topics: [{ name: topic.name, partitionIndexes: [0] }] }],
    });
    const committed = listed?.topics[0]?.partitions[0]?.committedOffset ?? -1n;
    if (committed >= 0n) return;
    const end = await partitions.end(topic);
    await admin
      .alterConsumerGroupOffsets({
        groupId,
        topics: [{ name: topic.name, partitionOffsets: [{ partition: 0, offset: end }] }],
      })
      .catch(() => {}); // another member started the group first
  };
  const owns = (consumer: Consumer, name: string) =>
    consumer.assignments?.some((a) => a.topic === name && a.partitions.includes(0)) ?? false;
  const groupStops = new Set<() => Promise<void>>();

  return {
    name: "kafka",
    capabilities: { sharedHistory: true, totalOrder: true },
    async publish(namespace: string, input: PublishInput): Promise<PublishOutcome> {
      // Failures up to the send are proof the message was not appended (publish_failed).
      const topic = await topicOf(namespace);
      const feed = await feedOf(namespace, topic);
      const first = feed.firstCopy(dedupeKey(input));
      if (first !== undefined) return { offset: String(first), duplicate: true };
      const headers = new Map<Buffer, Buffer>([[Buffer.from(ID_HEADER), Buffer.from(input.id)]]);
      for (const [name, value] of headersToPairs(input.headers))
        if (name !== ID_HEADER) headers.set(Buffer.from(name), Buffer.from(value));
      const record = {
        key: Buffer.from(input.channel),
        value: Buffer.from(encodeData(input.data)),
        headers,
      };
      let offset: bigint;
      try {
        offset = await produce.push(topic.name, record);
      } catch (error) {
        healthy = false;
        throw publishError(error);
      }
      healthy = true;
      return confirm(topic, feed, offset);
    },
    async listen(namespace: string, listener: BrokerListener): Promise<StopListening> {
      if (listeners.add(namespace, listener)) {
        try {
          // Seeded (or caught up) to the end first: what follows is judged as on every instance.
          const topic = await topicOf(namespace);
          const feed = await feedOf(namespace, topic);
          await partitions.catchUp(feed, topic, await partitions.end(topic));
          if (listeners.has(namespace)) goLive(namespace, feed);
        } catch (error) {
          listeners.remove(namespace, listener);
          throw error;
        }
      }
      return async () => {
        if (listeners.remove(namespace, listener)) goIdle(namespace);
      };
    },
    async head(namespace: string): Promise<Position> {
      const topic = await topicOf(namespace);
      const end = await partitions.end(topic);
      return { epoch: topic.id, offset: end === 0n ? "" : String(end - 1n) };
    },
    async since(namespace: string, position: Position): Promise<LogMessage[] | undefined> {
      const topic = await topicOf(namespace);
      if (position.epoch !== topic.id || !/^\d*$/.test(position.offset)) return undefined;
      const from = position.offset === "" ? 0n : BigInt(position.offset) + 1n;
      const end = await partitions.end(topic);
      if (from > end || end - from > BigInt(retention.maxMessages)) return undefined;
      const messages: LogMessage[] = [];
      if (!(await partitions.range(topic, from, end, (batch) => messages.push(...batch))))
        return undefined;
      const oldest = Date.now() - retention.maxAgeMs;
      if (messages.some((m) => m.ts < oldest)) return undefined;
      // The copies live delivery drops are dropped here too, so a resume shows none of them.
      const duplicates = await duplicatesOf(namespace, topic, from, messages);
      return messages.filter((m) => !duplicates.has(m.offset));
    },
    compareOffsets: compareDecimalOffsets,
    healthy: () => healthy && !closed,
    // A Kafka consumer group `<topic>.<group>`: the namespace's one partition is read by one
    // member at a time (the others stand by and take over on a rebalance), and each record is
    // committed after `handle`. A record whose handling failed is retried with backoff; one not
    // committed when the member stops goes to the member that takes over.
    groups: {
      namedMembers: false,
      async consume(namespace, group, _member, handle) {
        const topic = await topicOf(namespace);
        const groupId = `${topic.name}.${group}`;
        await startAtEnd(topic, groupId);
        const consumer = new Consumer({
          ...common,
          clientId,
          groupId,
          autocommit: false,
          sessionTimeout: 10_000,
          heartbeatInterval: 1_000,
        });
        const stream = await consumer.consume({
          topics: [topic.name],
          mode: "committed",
          fallbackMode: "latest",
          autocommit: false,
        });
        let stopped = false;
        const loop = (async () => {
          for await (const record of stream) {
            // A fetch sent before a rebalance can return records of a partition this member no
            // longer owns: those are its new owner's.
            if (!owns(consumer, topic.name)) continue;
            const ts = Number(record.timestamp);
            const message = toMessage(
              record.key,
              record.value,
              record.headers,
              record.offset,
              ts,
              keylessChannel,
            );
            for (let attempt = 0; ; attempt++) {
              try {
                await handle(message);
                break;
              } catch {
                if (stopped) return;
                await new Promise((resolve) => setTimeout(resolve, backoffDelay(attempt)));
              }
            }
            // A commit refused by a rebalance leaves the record to the partition's next owner.
            await Promise.resolve(record.commit()).catch((error) =>
              log("warn", "kafka group commit failed", { error: String(error) }),
            );
          }
        })().catch((error) => log("warn", "kafka group member failed", { error: String(error) }));
        const stop = async () => {
          stopped = true;
          groupStops.delete(stop);
          await stream.close().catch(() => {});
          await loop;
          await consumer.close().catch(() => {});
        };
        groupStops.add(stop);
        return stop;
      },
    },
    async close() {
      closed = true;
      await Promise.all([...groupStops].map((stop) => stop()));
      clearInterval(probe);
      listeners.clear();
      liveFeeds.clear();
      feeds.clear();
      await Promise.all(clients.map((c) => c.close().catch(() => {})));
    },
  };
}
