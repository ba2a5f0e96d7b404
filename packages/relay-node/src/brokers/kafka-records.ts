/**
 * Kafka records as PubsubBud log messages: record key = channel, value = the JSON data, header
 * `pubsubbud-id` = the message id, other headers = the message headers (see docs/brokers.md).
 */
import type { Consumer } from "@platformatic/kafka";
import type { LogMessage, PublishInput } from "@pubsubbud/relay-core";
import type { OutgoingRecord } from "./kafka-produce.js";
import { decodeData, encodeData, headersFromPairs, headersToPairs } from "./shared.js";

/** The record header holding the message id. */
export const ID_HEADER = "pubsubbud-id";

type FetchResponse = Awaited<ReturnType<Consumer["fetch"]>>;
/** One partition of a fetch response. */
export type FetchedPartition = FetchResponse["responses"][number]["partitions"][number];

/** One Kafka record as a log message; a record without a key gets `keylessChannel`. */
export function toMessage(
  key: Buffer | null | undefined,
  value: Buffer | null | undefined,
  pairs: Iterable<[Buffer | null | undefined, Buffer | null | undefined]>,
  offset: bigint,
  ts: number,
  keylessChannel: string,
): LogMessage {
  const entries: Array<[string, string]> = [];
  let id: string | undefined;
  for (const [name, value] of pairs) {
    const key = name?.toString() ?? "";
    if (key === ID_HEADER) id = value?.toString();
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
}

/**
 * The records of a fetched partition from offset `from` on, as log messages, and the offset after
 * the last batch (past control records, which carry no message).
 */
export function messagesOf(
  partition: FetchedPartition,
  from: bigint,
  keylessChannel: string,
): { messages: LogMessage[]; next: bigint } {
  const messages: LogMessage[] = [];
  let next = from;
  for (const batch of partition.records ?? []) {
    const end = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n;
    if (end > next) next = end;
    for (const record of batch.records) {
      const offset = batch.firstOffset + BigInt(record.offsetDelta);
      if (offset < from) continue;
      const ts = Number(batch.firstTimestamp + record.timestampDelta);
      messages.push(
        toMessage(record.key, record.value, record.headers, offset, ts, keylessChannel),
      );
    }
  }
  return { messages, next };
}

/** The record a relay produces for a message. */
export function recordOf(input: PublishInput): OutgoingRecord {
  const headers = new Map<Buffer, Buffer>([[Buffer.from(ID_HEADER), Buffer.from(input.id)]]);
  for (const [name, value] of headersToPairs(input.headers))
    if (name !== ID_HEADER) headers.set(Buffer.from(name), Buffer.from(value));
  return { key: Buffer.from(input.channel), value: Buffer.from(encodeData(input.data)), headers };
}
