/**
 * How a PubsubBud message sits in NATS, both ways: channel `sensor.temp` in namespace `ns` is
 * subject `<prefix>.ns.sensor.temp`; the payload is the JSON data; headers are NATS headers, the id
 * is header `pubsubbud-id`, and `Nats-Msg-Id` carries the sender-scoped {@link dedupeKey} (a foreign
 * producer's `Nats-Msg-Id` serves as the id when `pubsubbud-id` is absent). The namespace's stream
 * is `PUBSUBBUD_<ns>` (dots written `_2E`, underscores `_5F`). Pure functions, no connection.
 */
import type { JsMsg } from "@nats-io/jetstream";
import { headers as natsHeaders, type MsgHdrs } from "@nats-io/nats-core";
import { channelError, DEFAULT_LIMITS } from "@pubsubbud/protocol";
import type { LogMessage, PublishInput } from "@pubsubbud/relay-core";
import {
  decodeData,
  headersFromPairs,
  headersToPairs,
  percentDecode,
  percentEncode,
} from "./shared.js";

/** JetStream's dedupe header: it carries the sender-scoped dedupe key. */
export const MSG_ID = "Nats-Msg-Id";
/** The message id itself. */
export const ID = "pubsubbud-id";
/** JetStream counts time in nanoseconds. */
export const NS_PER_MS = 1_000_000;

/** A channel as subject tokens: `.` separates tokens; what NATS forbids in a token is %-encoded. */
export function channelToSubject(channel: string): string {
  const unsafe = /[%*> \t\r\n\0]/g;
  return channel
    .split(".")
    .map((token) => (token === "" ? "%" : percentEncode(token, unsafe)))
    .join(".");
}

/** The channel that subject tokens (below the namespace) name. */
export function subjectToChannel(tokens: string): string {
  return tokens
    .split(".")
    .map((token) => (token === "%" ? "" : percentDecode(token, /%([0-9A-F]{2})/g)))
    .join(".");
}

/** The JetStream stream that is a namespace's log. */
export const streamName = (ns: string): string =>
  `PUBSUBBUD_${ns.replace(/_/g, "_5F").replace(/\./g, "_2E")}`;

/** The NATS headers a relay publishes a message with. */
export function headersOf(input: PublishInput): MsgHdrs {
  const h = natsHeaders();
  h.append(ID, input.id);
  for (const [name, value] of headersToPairs(input.headers))
    if (name !== ID && name !== MSG_ID) h.append(name, value);
  return h;
}

/**
 * A stream message as a log message: its sequence is the offset, its stream timestamp the `ts`.
 * Undefined when its subject names no valid channel.
 */
export function messageOf(subjectPrefix: string, m: JsMsg): LogMessage | undefined {
  const channel = subjectToChannel(m.subject.slice(subjectPrefix.length));
  if (channelError(channel, DEFAULT_LIMITS)) return undefined;
  const pairs: Array<[string, string]> = [];
  let id: string | undefined;
  let msgId: string | undefined;
  for (const [name, values] of m.headers ?? []) {
    const value = values.at(-1) ?? "";
    if (name === ID) id = value;
    else if (name === MSG_ID) msgId = value;
    else pairs.push([name, value]);
  }
  const message: LogMessage = {
    channel,
    id: id ?? msgId ?? `nats-${m.seq}`,
    data: decodeData(new TextDecoder().decode(m.data)),
    ts: Math.floor(Number(m.info.timestampNanos) / NS_PER_MS),
    offset: String(m.seq),
  };
  const headers = headersFromPairs(pairs);
  if (headers) message.headers = headers;
  return message;
}
