/**
 * The Kafka broker: each namespace is a one-partition topic whose offsets are the namespace log,
 * so history is shared by every relay instance. See docs/brokers.md.
 *
 * Mapping: topic `<prefix><namespace>` (prefix `pubsubbud.`); record key = channel, value = the
 * JSON data, header `pubsubbud-id` = the message id, other headers = the message headers; the
 * epoch is the topic's id, so a deleted and recreated topic is a new log.
 *
 * Client: @platformatic/kafka, a pure-JavaScript client under active development that speaks the
 * current Kafka protocol (KRaft, Kafka 4). KafkaJS, the older choice, has had no stable release
 * since 2023; the Confluent client needs librdkafka binaries.
 */
import { Admin, Consumer, Producer } from "@platformatic/kafka";
import type { Position } from "@pubsubbud/protocol";
import {
  type Broker,
  type BrokerListener,
  compareDecimalOffsets,
  getOrCreate,
  type LogMessage,
  type PublishInput,
  type PublishOutcome,
  randomId,
  type StopListening,
} from "@pubsubbud/relay-core";
import {
  type BrokerCommonOptions,
  backoffDelay,
  badBrokerUrl,
  DedupeWindow,
  decodeData,
  encodeData,
  firstConnect,
  type GroupCapable,
  headersFromPairs,
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

const ID = "pubsubbud-id";

type FetchResponse = Awaited<ReturnType<Consumer["fetch"]>>;
const OFFSET_OUT_OF_RANGE = 1;

interface Topic {
  name: string;
  id: string;
  leader: number;
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
export async function createKafkaBroker(
  options: KafkaBrokerOptions,
): Promise<Broker & GroupCapable> {
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
  const dedupe = new Map<string, DedupeWindow>();
  /** Next offset to fetch, per listened namespace. */
  const cursors = new Map<string, bigint>();
  let healthy = true;
  let closed = false;

  const dedupeOf = (ns: string) => getOrCreate(dedupe, ns, () => new DedupeWindow(retention));

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

  const fetchFrom = (
    consumer: Consumer,
    topic: Topic,
    from: Array<[string, bigint]>,
    waitMs: number,
  ) =>
    consumer.fetch({
      node: topic.leader,
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

  /** One Kafka record as a log message. */
  const toMessage = (
    key: Buffer | null | undefined,
    value: Buffer | null | undefined,
    pairs: Iterable<[Buffer | null | undefined, Buffer | null | undefined]>,
    offset: bigint,
    ts: number,
  ): LogMessage => {
    const entries: Array<[string, string]> = [];
    let id: string | undefined;
    for (const [name, value] of pairs) {
      const key = name?.toString() ?? "";
      if (key === ID) id = value?.toString();
      else entries.push([key, value?.toString() ?? ""]);
    }
    const message: LogMessage = {
      channel: key?.toString() || keylessChannel,
      id: id ?? `kafka-${offset}`,
      data: decodeData(value?.toString() ?? "null"),
      ts,
      offset: String(offset),
    };
    const headers = headersFromPairs(entries);
    if (headers) message.headers = headers;
    return message;
  };

  /** The records of a fetch response's partition as log messages, from offset `from` on. */
  const messagesOf = (
    partition: FetchResponse["responses"][number]["partitions"][number],
    from: bigint,
  ) => {
    const messages: LogMessage[] = [];
    for (const batch of partition.records ?? [])
      for (const record of batch.records) {
        const offset = batch.firstOffset + BigInt(record.offsetDelta);
        if (offset < from) continue;
        const ts = Number(batch.firstTimestamp + record.timestampDelta);
        messages.push(toMessage(record.key, record.value, record.headers, offset, ts));
      }
    return messages;
  };

  const liveLoop = async () => {
    let attempt = 0;
    while (!closed) {
      try {
        const namespaces = [...cursors.keys()];
        if (namespaces.length === 0) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          continue;
        }
        const described = await Promise.all(namespaces.map(topicOf));
        const byId = new Map(described.map((t, i) => [t.id, namespaces[i] as string]));
        // One long poll per leader, each asking for all of that leader's topics.
        const byLeader = new Map<number, Topic[]>();
        for (const topic of described) getOrCreate(byLeader, topic.leader, () => []).push(topic);
        const responses = await Promise.all(
          [...byLeader.values()].map((group) =>
            fetchFrom(
              live,
              group[0] as Topic,
              group.map((t) => [t.id, cursors.get(byId.get(t.id) as string) ?? 0n]),
              200,
            ),
          ),
        );
        healthy = true;
        attempt = 0;
        for (const topic of responses.flatMap((response) => response.responses)) {
          const ns = byId.get(topic.topicId);
          const partition = topic.partitions[0];
          const cursor = ns === undefined ? undefined : cursors.get(ns);
          if (ns === undefined || !partition || cursor === undefined) continue;
          if (partition.errorCode === OFFSET_OUT_OF_RANGE) {
            log("warn", "kafka log moved past this relay's position", { namespace: ns });
            cursors.set(ns, partition.highWatermark);
            listeners.gap(ns);
            continue;
          }
          if (partition.errorCode !== 0)
            throw new Error(`kafka fetch error ${partition.errorCode}`);
          const window = dedupeOf(ns);
          for (const message of messagesOf(partition, cursor)) {
            cursors.set(ns, BigInt(message.offset) + 1n);
            // A second record with an id seen inside the window is a duplicate (a retry through
            // another instance, or a foreign producer's resend): skipped.
            const seen = window.get(message.id);
            if (seen !== undefined && seen !== message.offset) continue;
            window.remember(message.id, message.offset);
            listeners.message(ns, message);
          }
        }
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
  // Health while nothing is listened to: a metadata round trip every 2 s.
  const probe = setInterval(() => {
    if (cursors.size > 0) return;
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
    const end = await highWatermark(topic);
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

  const highWatermark = async (topic: Topic): Promise<bigint> => {
    const offsets = await reader.listOffsets({ topics: [topic.name] });
    return offsets.get(topic.name)?.[0] ?? 0n;
  };

  return {
    name: "kafka",
    capabilities: { sharedHistory: true },
    async publish(namespace: string, input: PublishInput): Promise<PublishOutcome> {
      const window = dedupeOf(namespace);
      const seen = window.get(input.id);
      if (seen !== undefined) return { offset: seen, duplicate: true };
      const topic = await topicOf(namespace);
      const headers = new Map<Buffer, Buffer>([[Buffer.from(ID), Buffer.from(input.id)]]);
      for (const [name, value] of headersToPairs(input.headers))
        if (name !== ID) headers.set(Buffer.from(name), Buffer.from(value));
      try {
        const result = await producer.send({
          messages: [
            {
              topic: topic.name,
              key: Buffer.from(input.channel),
              value: Buffer.from(encodeData(input.data)),
              headers,
            },
          ],
        });
        const offset = result.offsets?.[0]?.offset;
        if (offset === undefined) throw new Error("kafka returned no offset");
        healthy = true;
        window.remember(input.id, String(offset));
        return { offset: String(offset), duplicate: false };
      } catch (error) {
        healthy = false;
        throw error;
      }
    },
    async listen(namespace: string, listener: BrokerListener): Promise<StopListening> {
      if (listeners.add(namespace, listener)) {
        try {
          cursors.set(namespace, await highWatermark(await topicOf(namespace)));
        } catch (error) {
          listeners.remove(namespace, listener);
          throw error;
        }
      }
      return async () => {
        if (listeners.remove(namespace, listener)) cursors.delete(namespace);
      };
    },
    async head(namespace: string): Promise<Position> {
      const topic = await topicOf(namespace);
      const end = await highWatermark(topic);
      return { epoch: topic.id, offset: end === 0n ? "" : String(end - 1n) };
    },
    async since(namespace: string, position: Position): Promise<LogMessage[] | undefined> {
      const topic = await topicOf(namespace);
      if (position.epoch !== topic.id || !/^\d*$/.test(position.offset)) return undefined;
      const from = position.offset === "" ? 0n : BigInt(position.offset) + 1n;
      const end = await highWatermark(topic);
      if (from > end || end - from > BigInt(retention.maxMessages)) return undefined;
      const messages: LogMessage[] = [];
      for (let next = from; next < end; ) {
        const response = await fetchFrom(reader, topic, [[topic.id, next]], 0);
        const partition = response.responses[0]?.partitions[0];
        if (partition?.errorCode !== 0 || partition.logStartOffset > from) return undefined;
        const batch = messagesOf(partition, next).filter((m) => BigInt(m.offset) < end);
        if (batch.length === 0) break;
        messages.push(...batch);
        next = BigInt((batch.at(-1) as LogMessage).offset) + 1n;
      }
      const oldest = Date.now() - retention.maxAgeMs;
      if (messages.some((m) => m.ts < oldest)) return undefined;
      const ids = new Set<string>();
      return messages.filter((m) => !ids.has(m.id) && ids.add(m.id));
    },
    compareOffsets: compareDecimalOffsets,
    healthy: () => healthy && !closed,
    // A Kafka consumer group `<topic>.<group>`: the namespace's one partition is read by one
    // member at a time (the others stand by and take over on a rebalance), and each record is
    // committed after `handle`. A record whose handling failed is retried with backoff; one not
    // committed when the member stops goes to the member that takes over.
    async consumeGroup(namespace, group, _member, handle) {
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
          const message = toMessage(record.key, record.value, record.headers, record.offset, ts);
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
    async close() {
      closed = true;
      await Promise.all([...groupStops].map((stop) => stop()));
      clearInterval(probe);
      listeners.clear();
      cursors.clear();
      await Promise.all(clients.map((c) => c.close().catch(() => {})));
    },
  };
}
