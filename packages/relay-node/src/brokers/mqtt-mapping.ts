/**
 * How a PubsubBud message sits in MQTT 5, both ways: channel `sensor.temp` in namespace `ns` is
 * topic `<prefix>/ns/sensor.temp`; the payload is the JSON data itself; the message id is user
 * property `pubsubbud-id`, the relay's stamp `pubsubbud-seq`, and the headers are the other user
 * properties. `%`, `+`, `#` and NUL in channels are percent-encoded, `/` is kept (a topic level
 * separator, so `mosquitto_sub -t 'pubsubbud/ns/sensor/#'` works as MQTT users expect). Pure
 * functions, no client.
 */
import { channelError, DEFAULT_LIMITS } from "@pubsubbud/protocol";
import type { PublishInput } from "@pubsubbud/relay-core";
import { randomId } from "@pubsubbud/relay-core/internal";
import { SEQ_HEADER, TAIL_CHANNEL } from "./feed-sequence.js";
import {
  decodeData,
  headersFromPairs,
  headersToPairs,
  percentDecode,
  percentEncode,
} from "./shared.js";

/** The user property that carries the message id. */
export const ID_PROPERTY = "pubsubbud-id";

/** A channel as one or more topic levels. */
export function channelToTopic(channel: string): string {
  return percentEncode(channel, /[%+#\0]/g);
}

/** The channel a topic below the namespace level names. */
export function topicToChannel(topic: string): string {
  return percentDecode(topic, /%(25|2B|23|00)/gi);
}

/** User properties as the client library gives them: a repeated name comes as an array. */
export type UserProperties = Record<string, string | string[]>;

/** A received PUBLISH, read: a message with its stamp, a tail marker, or a topic that names no channel. */
export type ReadPublish =
  | { kind: "message"; ns: string; input: PublishInput; stamp: string | undefined }
  | { kind: "tail"; ns: string; stamp: string | undefined }
  | { kind: "invalid" };

/** The last value of a user property (a repeated property's latest wins). */
const last = (value: string | string[] | undefined): string | undefined =>
  Array.isArray(value) ? value.at(-1) : value;

/**
 * Reads a PUBLISH on `topic` below `base` (`<prefix>/`); undefined for a topic outside it. A
 * foreign producer's message without `pubsubbud-id` gets a fresh id.
 */
export function readPublish(
  base: string,
  topic: string,
  payload: Buffer,
  properties: UserProperties = {},
): ReadPublish | undefined {
  if (!topic.startsWith(base)) return undefined;
  const rest = topic.slice(base.length);
  const slash = rest.indexOf("/");
  if (slash < 0) return undefined;
  const ns = rest.slice(0, slash);
  const channel = topicToChannel(rest.slice(slash + 1));
  if (channel === TAIL_CHANNEL) return { kind: "tail", ns, stamp: last(properties[SEQ_HEADER]) };
  if (channelError(channel, DEFAULT_LIMITS)) return { kind: "invalid" };
  const entries: Array<[string, string]> = [];
  let id: string | undefined;
  let stamp: string | undefined;
  for (const [name, value] of Object.entries(properties)) {
    const text = last(value) ?? "";
    if (name === ID_PROPERTY) id = text;
    else if (name === SEQ_HEADER) stamp = text;
    else entries.push([name, text]);
  }
  const input: PublishInput = {
    channel,
    id: id ?? `mqtt-${randomId(16)}`,
    data: decodeData(payload.toString("utf8")),
  };
  const headers = headersFromPairs(entries);
  if (headers) input.headers = headers;
  return { kind: "message", ns, input, stamp };
}

/** The user properties a relay publishes a message with, before its stamp. */
export function userPropertiesOf(input: PublishInput): Record<string, string> {
  const properties: Record<string, string> = { [ID_PROPERTY]: input.id };
  // A client's own `pubsubbud-seq` header would forge this relay's stream: dropped.
  for (const [name, value] of headersToPairs(input.headers))
    if (name !== ID_PROPERTY && name !== SEQ_HEADER) properties[name] = value;
  return properties;
}
