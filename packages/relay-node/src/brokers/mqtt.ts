/**
 * The MQTT 5 broker (Mosquitto, EMQX, HiveMQ…): live fan-out through the MQTT server, with a
 * relay-local window per namespace for resume, since plain MQTT keeps no shared log. See
 * docs/brokers.md.
 *
 * Mapping: channel `sensor.temp` in namespace `ns` is topic `<prefix>/ns/sensor.temp`; the payload
 * is the JSON data itself; the message id is user property `pubsubbud-id` and headers are the
 * other user properties. `%`, `+`, `#` and NUL in channels are percent-encoded, `/` is kept (a
 * topic level separator, so `mosquitto_sub -t 'pubsubbud/ns/sensor/#'` works as MQTT users expect).
 */
import type { Position } from "@pubsubbud/protocol";
import { channelError, DEFAULT_LIMITS } from "@pubsubbud/protocol";
import {
  type BrokerListener,
  compareDecimalOffsets,
  type PublishInput,
  type PublishOutcome,
  type GroupBroker,
} from "@pubsubbud/relay-core";
import { randomId } from "@pubsubbud/relay-core/internal";
import {
  ErrorWithReasonCode,
  type IClientOptions,
  type IPublishPacket,
  type MqttClient,
} from "mqtt";
import { MAX_STAMP, SEQ_HEADER, TAIL_CHANNEL } from "./feed-sequence.js";
import { LocalWindows } from "./local-window.js";
import { connectKeepingLimits, logServerLimits, mqttPacketBytes } from "./mqtt-probe.js";
import {
  type BrokerCommonOptions,
  checkUrl,
  decodeData,
  encodeData,
  firstConnect,
  headersFromPairs,
  headersToPairs,
  Listeners,
  percentDecode,
  percentEncode,
  redactUrl,
  retentionOf,
} from "./shared.js";

/** Options of {@link createMqttBroker}. */
export interface MqttBrokerOptions extends BrokerCommonOptions {
  /** `mqtt://[user:password@]host:1883`, `mqtts://…`, `ws://…` or `wss://…`. */
  url: string;
  /** First topic level(s) of every topic. @default "pubsubbud" */
  prefix?: string;
  /**
   * How long the relay keeps a namespace subscribed (and its local window filling) after its last
   * client left, so a client that reconnects to the same instance can still resume. @default 60000
   */
  lingerMs?: number;
  /** How long the MQTT server keeps this relay's session (and queues its messages) while it is away. @default 300 */
  sessionExpirySeconds?: number;
  /**
   * How long a publish waits for the server's PUBACK and its own copy; past it the publish is
   * answered `publish_uncertain`. @default 10000
   */
  publishTimeoutMs?: number;
  /** @default 5000 */
  connectTimeoutMs?: number;
  /**
   * Publishes this relay has on their way at once (sent to a namespace it listens to, own copy not
   * yet back); more wait their turn, so the server's queue for this relay stays below its limit
   * (Mosquitto `max_queued_messages`, 1000 by default). @default 500
   */
  maxPublishesInFlight?: number;
  /**
   * Messages of the start-up probe that measures how many messages the server queues for a
   * session (Mosquitto `max_queued_messages`); a smaller limit is logged as a warning. 0 skips
   * it. @default 1100
   */
  probeMessages?: number;
}

const ID = "pubsubbud-id";

/** A channel as one or more topic levels. */
export function channelToTopic(channel: string): string {
  return percentEncode(channel, /[%+#\0]/g);
}

/** The channel a topic below the namespace level names. */
export function topicToChannel(topic: string): string {
  return percentDecode(topic, /%(25|2B|23|00)/gi);
}

/**
 * Connects to the MQTT server (MQTT 5, persistent session) and returns the broker.
 * @example const broker = await createMqttBroker({ url: "mqtt://127.0.0.1:1883" })
 */
export async function createMqttBroker(options: MqttBrokerOptions): Promise<GroupBroker> {
  const {
    url,
    prefix = "pubsubbud",
    lingerMs = 60_000,
    sessionExpirySeconds = 300,
    publishTimeoutMs = 10_000,
    connectTimeoutMs = 5_000,
    maxPublishesInFlight = 500,
    probeMessages = 1_100,
  } = options;
  const retention = retentionOf(options);
  const log = options.log ?? (() => {});
  const check = "that the MQTT server runs there, speaks MQTT 5, and accepts the URL's credentials";
  checkUrl(url, "mqtt://host:1883");
  const listeners = new Listeners();
  const base = `${prefix}/`;
  const topicFilter = (ns: string) => `${base}${ns}/#`;
  let connectedOnce = false;

  /** Connects an MQTT 5 client with a persistent session: the relay's own, or a group member's. */
  const connectSession = (clientId: string, more: IClientOptions = {}) =>
    firstConnect(
      url,
      connectTimeoutMs,
      connectKeepingLimits(url, {
        protocolVersion: 5,
        clientId,
        clean: false,
        properties: { sessionExpiryInterval: sessionExpirySeconds },
        // Instances spread their reconnects over 0.5–1.5 s instead of retrying in lockstep.
        reconnectPeriod: 500 + Math.floor(Math.random() * 1000),
        connectTimeout: connectTimeoutMs,
        ...more,
      }),
      check,
    );
  const { client, limits } = await connectSession(`pubsubbud-${randomId(12)}`);
  connectedOnce = true;
  const windows = new LocalWindows({
    retention,
    lingerMs,
    listeners,
    publishTimeoutMs,
    maxOnTheirWay: maxPublishesInFlight,
    // Only a PUBACK with an error reason code proves the server did not take the message.
    refused: (error) => error instanceof ErrorWithReasonCode && error.code >= 0x80,
    subscribe: (ns) => client.subscribeAsync(topicFilter(ns), { qos: 1 }).then(() => {}),
    unsubscribe: (ns) => client.unsubscribeAsync(topicFilter(ns)).then(() => {}),
    sendTail: (ns, stamp) => {
      if (!client.connected) return;
      const userProperties = { [SEQ_HEADER]: stamp };
      client
        .publishAsync(`${base}${ns}/${TAIL_CHANNEL}`, "", {
          qos: 1,
          properties: { userProperties },
        })
        .catch(() => {});
    },
    log,
  });
  client.on("error", () => {});
  client.on("close", () => log("warn", "mqtt connection lost", { url: redactUrl(url) }));
  client.on("connect", (connack) => {
    if (!connectedOnce) return;
    log("info", "mqtt reconnected", { sessionPresent: connack.sessionPresent });
    if (connack.sessionPresent) return; // the server queued what we missed
    // The server forgot this relay's session (restart without persistence): messages may be
    // lost, so the windows start new epochs and clients resume once subscriptions are back.
    windows.restart(
      (ns) => client.subscribeAsync(topicFilter(ns), { qos: 1 }).then(() => {}),
      (error) => log("warn", "mqtt resubscribe failed", { error: String(error) }),
    );
  });
  /** A message on a namespace's topic, or undefined (another topic, or not a valid channel). */
  const parse = (topic: string, payload: Buffer, packet: IPublishPacket) => {
    if (!topic.startsWith(base)) return undefined;
    const rest = topic.slice(base.length);
    const slash = rest.indexOf("/");
    if (slash < 0) return undefined;
    const channel = topicToChannel(rest.slice(slash + 1));
    if (channel === TAIL_CHANNEL) return undefined;
    if (channelError(channel, DEFAULT_LIMITS)) {
      log("warn", "mqtt topic is not a valid channel; message skipped", { topic });
      return undefined;
    }
    const properties = packet.properties?.userProperties ?? {};
    const entries: Array<[string, string]> = [];
    let id: string | undefined;
    let stamp: string | undefined;
    for (const [name, value] of Object.entries(properties)) {
      const text = Array.isArray(value) ? (value.at(-1) ?? "") : String(value);
      if (name === ID) id = text;
      else if (name === SEQ_HEADER) stamp = text;
      else entries.push([name, text]);
    }
    const headers = headersFromPairs(entries);
    const input: PublishInput = {
      channel,
      id: id ?? `mqtt-${randomId(16)}`,
      data: decodeData(payload.toString("utf8")),
    };
    if (headers) input.headers = headers;
    return { namespace: rest.slice(0, slash), input, stamp };
  };
  client.on("message", (topic: string, payload: Buffer, packet: IPublishPacket) => {
    const parsed = parse(topic, payload, packet);
    if (parsed) windows.receive(parsed.namespace, parsed.input, parsed.stamp);
    else if (topic.startsWith(base) && topic.endsWith(`/${TAIL_CHANNEL}`)) {
      const rest = topic.slice(base.length, -TAIL_CHANNEL.length - 1);
      const stamp = packet.properties?.userProperties?.[SEQ_HEADER];
      windows.receiveTail(rest, Array.isArray(stamp) ? stamp.at(-1) : stamp);
    }
  });
  const members = new Set<MqttClient>();
  const probing = new AbortController();
  if (probeMessages > 0)
    logServerLimits({
      url,
      publisher: client,
      limits: limits(),
      prefix,
      sent: probeMessages,
      connectTimeoutMs,
      log,
      signal: probing.signal,
    });

  const broker: GroupBroker = {
    name: "mqtt",
    capabilities: { sharedHistory: false, totalOrder: true },
    async publish(namespace: string, input: PublishInput): Promise<PublishOutcome> {
      if (!client.connected) throw new Error(`MQTT server ${redactUrl(url)} is not connected`);
      const topic = `${base}${namespace}/${channelToTopic(input.channel)}`;
      const payload = encodeData(input.data);
      const userProperties: Record<string, string> = { [ID]: input.id };
      // A client's own `pubsubbud-seq` header would forge this relay's stream: dropped.
      for (const [name, value] of headersToPairs(input.headers))
        if (name !== ID && name !== SEQ_HEADER) userProperties[name] = value;
      // Sending a packet over the server's limit gets the connection closed, and the client
      // library would resend it after every reconnect: refused here instead.
      const bytes = mqttPacketBytes(topic, payload, { ...userProperties, [SEQ_HEADER]: MAX_STAMP });
      const limit = limits().maximumPacketSize;
      if (limit !== undefined && bytes > limit)
        throw new Error(
          `message is ${bytes} bytes as an MQTT packet; the server takes at most ${limit} (its max_packet_size): send less data or raise the limit`,
        );
      return windows.publish(namespace, input, (stamp) =>
        client.publishAsync(topic, payload, {
          qos: 1,
          properties: { userProperties: { ...userProperties, [SEQ_HEADER]: stamp } },
        }),
      );
    },
    listen: (namespace: string, listener: BrokerListener) => windows.listen(namespace, listener),
    head: async (namespace: string) => windows.head(namespace),
    since: async (namespace: string, position: Position) => windows.since(namespace, position),
    compareOffsets: compareDecimalOffsets,
    healthy: () => client.connected,
    // An MQTT 5 shared subscription `$share/<group>/<prefix>/<ns>/#`, held by one persistent
    // session per member (client id `<prefix>-<ns>-<group>-<member>`): the server gives each
    // message to one member's session and queues it while that member is away, so a member
    // restarted under the same name gets its share. The PUBACK follows `handle`; when handling
    // fails the message stays unacknowledged and the member reconnects, so the server resends it.
    groups: {
      namedMembers: true,
      async consume(namespace, group, member, handle) {
        const filter = `$share/${group}/${base}${namespace}/#`;
        const { client: session } = await connectSession(
          `${prefix}-${namespace}-${group}-${member ?? randomId(8)}`,
          {
            customHandleAcks: (topic, payload, packet, done) => {
              const parsed = parse(topic, payload, packet);
              const ts = Date.now();
              const handled = parsed
                ? handle({ ...parsed.input, ts, offset: "" })
                : Promise.resolve();
              handled.then(
                () => done(0),
                (error) => {
                  done(error instanceof Error ? error : new Error(String(error)));
                  session.stream.destroy();
                },
              );
            },
          },
        );
        session.on("error", () => {});
        await session.subscribeAsync(filter, { qos: 1 });
        members.add(session);
        return async () => {
          members.delete(session);
          await session.endAsync();
        };
      },
    },
    async close() {
      probing.abort();
      windows.clear();
      listeners.clear();
      for (const member of members) await member.endAsync(true);
      await client.endAsync(true);
    },
  };
  return broker;
}
