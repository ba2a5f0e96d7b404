/**
 * How a PubsubBud message sits in AMQP, both ways: routing key `<namespace>.<channel>` (dots in the
 * namespace written `%2E`, so the first dot ends it), body = the JSON data, `messageId` = the
 * message id, `headers` = the message headers plus the relay's stamp. Pure functions, no client.
 */
import { channelError, DEFAULT_LIMITS } from "@pubsubbud/protocol";
import type { GroupMessage, PublishInput } from "@pubsubbud/relay-core";
import { randomId } from "@pubsubbud/relay-core/internal";
import { SEQ_HEADER, TAIL_CHANNEL } from "./feed-sequence.js";
import { decodeData, encodeData, headersFromPairs, headersToPairs } from "./shared.js";

/** The namespace as the first word of a routing key. */
export const namespaceKey = (ns: string): string => ns.replace(/\./g, "%2E");

/** The binding that routes every channel of a namespace. */
export const namespaceBinding = (ns: string): string => `${namespaceKey(ns)}.#`;

/** The routing key of a namespace's tail markers (feed-sequence.ts). */
export const tailKey = (ns: string): string => `${namespaceKey(ns)}.${TAIL_CHANNEL}`;

/** What the relay reads from a delivery (amqplib's `ConsumeMessage`, narrowed). */
export interface AmqpDelivery {
  fields: { routingKey: string };
  properties: { messageId?: unknown; headers?: Record<string, unknown>; timestamp?: unknown };
  content: Buffer;
}

/** A delivery, read: a message with its stamp, a tail marker, or a key that names no channel. */
export type ReadDelivery =
  | { kind: "message"; ns: string; input: PublishInput; stamp: string | undefined }
  | { kind: "tail"; ns: string; stamp: string | undefined }
  | { kind: "invalid"; key: string };

const text = (value: unknown): string =>
  Buffer.isBuffer(value) ? value.toString() : String(value);

/** Reads a delivery; a foreign producer's message without `messageId` gets a fresh id. */
export function readDelivery(delivery: AmqpDelivery): ReadDelivery {
  const key = delivery.fields.routingKey;
  const dot = key.indexOf(".");
  const ns = key.slice(0, dot).replace(/%2E/g, ".");
  const name = key.slice(dot + 1);
  const headers = delivery.properties.headers ?? {};
  const stampValue = headers[SEQ_HEADER];
  const stamp = stampValue === undefined ? undefined : text(stampValue);
  if (dot >= 0 && name === TAIL_CHANNEL) return { kind: "tail", ns, stamp };
  if (dot < 0 || channelError(name, DEFAULT_LIMITS)) return { kind: "invalid", key };
  const pairs: Array<[string, string]> = [];
  for (const [header, value] of Object.entries(headers))
    if (header !== SEQ_HEADER) pairs.push([header, text(value)]);
  const { messageId } = delivery.properties;
  const input: PublishInput = {
    channel: name,
    id: messageId ? String(messageId) : `amqp-${randomId(16)}`,
    data: decodeData(delivery.content.toString("utf8")),
  };
  const parsed = headersFromPairs(pairs);
  if (parsed) input.headers = parsed;
  return { kind: "message", ns, input, stamp };
}

/**
 * A group's delivery as the member's message: stamped with the AMQP timestamp (seconds) when the
 * publisher set one. No offset: a group reads a queue, which gives a message no log position.
 */
export function groupMessageOf(input: PublishInput, delivery: AmqpDelivery): GroupMessage {
  return { ...input, ts: Number(delivery.properties.timestamp ?? 0) * 1000 || Date.now() };
}

/** The body and properties a relay publishes a message with, carrying `stamp`. */
export function publishedForm(input: PublishInput, stamp: string) {
  // A client's own `pubsubbud-seq` header would forge this relay's stream: dropped.
  const headers = Object.fromEntries(
    headersToPairs(input.headers).filter(([name]) => name !== SEQ_HEADER),
  );
  return {
    body: Buffer.from(encodeData(input.data)),
    properties: {
      messageId: input.id,
      headers: { ...headers, [SEQ_HEADER]: stamp },
      contentType: "application/json",
      timestamp: Math.floor(Date.now() / 1000),
    },
  };
}
