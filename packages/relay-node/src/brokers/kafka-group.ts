/**
 * One member of a Kafka durable group: a consumer group `<topic>.<group>`. The namespace's one
 * partition is read by one member at a time (the others stand by and take over on a rebalance),
 * and each record is committed after `handle`. A record whose handling failed is retried with
 * backoff; one not committed when the member stops goes to the member that takes over. A new
 * group starts at the end of the log, like the other brokers' groups.
 */
import { type Admin, Consumer } from "@platformatic/kafka";
import type { GroupMessage } from "@pubsubbud/relay-core";
import type { KafkaClientOptions } from "./kafka-clients.js";
import type { PartitionReader, Topic } from "./kafka-reader.js";
import { toMessage } from "./kafka-records.js";
import { type BrokerCommonOptions, backoffDelay } from "./shared.js";

export interface KafkaGroupMemberOptions {
  admin: Admin;
  partitions: PartitionReader;
  /** What every client of the broker is made with (bootstrap servers, timeouts, client id). */
  common: KafkaClientOptions;
  topic: Topic;
  group: string;
  keylessChannel: string;
  handle(message: GroupMessage): Promise<void>;
  log: NonNullable<BrokerCommonOptions["log"]>;
}

/** Sets a new group's committed offset to the end of the log; a group with one keeps it. */
async function startAtEnd(
  admin: Admin,
  partitions: PartitionReader,
  topic: Topic,
  groupId: string,
) {
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
}

/** Joins the group and starts handling its records; resolves with how to leave. */
export async function joinKafkaGroup(
  options: KafkaGroupMemberOptions,
): Promise<() => Promise<void>> {
  const { admin, partitions, common, topic, group, keylessChannel, handle, log } = options;
  const groupId = `${topic.name}.${group}`;
  await startAtEnd(admin, partitions, topic, groupId);
  const consumer = new Consumer({
    ...common,
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
  const owns = () =>
    consumer.assignments?.some((a) => a.topic === topic.name && a.partitions.includes(0)) ?? false;
  let stopped = false;
  const loop = (async () => {
    for await (const record of stream) {
      // A fetch sent before a rebalance can return records of a partition this member no
      // longer owns: those are its new owner's.
      if (!owns()) continue;
      const ts = Number(record.timestamp);
      const { key, value, headers, offset } = record;
      const message = toMessage(key, value, headers, offset, ts, keylessChannel);
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
  return async () => {
    stopped = true;
    await stream.close().catch(() => {});
    await loop;
    await consumer.close().catch(() => {});
  };
}
