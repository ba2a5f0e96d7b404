/**
 * The MQTT 5 broker (Mosquitto, EMQX, HiveMQ…): live fan-out through the MQTT server, with a
 * relay-local window per namespace for resume, since plain MQTT keeps no shared log. See
 * docs/brokers.md.
 *
 * Mapping (mqtt-mapping.ts): channel `sensor.temp` in namespace `ns` is topic
 * `<prefix>/ns/sensor.temp`; the payload is the JSON data itself; the message id is user property
 * `pubsubbud-id` and headers are the other user properties.
 *
 * Parts: the relay's own persistent session (the MQTT client) feeds {@link LocalWindows}; a durable
 * group's member is a session of its own (mqtt-group.ts); mqtt-probe.ts learns the server's limits.
 */
import type {
  BrokerGroups,
  GroupBroker,
  PublishInput,
  PublishOutcome,
  Publisher,
} from "@pubsubbud/relay-core";
import { randomId } from "@pubsubbud/relay-core/internal";
import {
  ErrorWithReasonCode,
  type IConnackPacket,
  type IPublishPacket,
  type MqttClient,
} from "mqtt";
import { MAX_STAMP, SEQ_HEADER, TAIL_CHANNEL } from "./feed-sequence.js";
import { LocalWindows } from "./local-window.js";
import { LocalWindowBroker, windowSettings } from "./local-window-broker.js";
import { connectSession, joinMqttGroup, type MqttSessionOptions } from "./mqtt-group.js";
import { channelToTopic, readPublish, userPropertiesOf } from "./mqtt-mapping.js";
import { type ConnackProperties, logServerLimits, mqttPacketBytes } from "./mqtt-probe.js";
import {
  type BrokerCommonOptions,
  checkUrl,
  encodeData,
  GroupMembers,
  Listeners,
  redactUrl,
} from "./shared.js";

export { channelToTopic, topicToChannel } from "./mqtt-mapping.js";

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

/**
 * Connects to the MQTT server (MQTT 5, persistent session) and returns the broker.
 * @example const broker = await createMqttBroker({ url: "mqtt://127.0.0.1:1883" })
 */
export async function createMqttBroker(options: MqttBrokerOptions): Promise<GroupBroker> {
  checkUrl(options.url, "mqtt://host:1883");
  const session: MqttSessionOptions = {
    url: options.url,
    sessionExpirySeconds: options.sessionExpirySeconds ?? 300,
    connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
  };
  const { client, limits } = await connectSession(session, `pubsubbud-${randomId(12)}`);
  return new MqttBroker(options, session, client, limits);
}

class MqttBroker extends LocalWindowBroker implements GroupBroker {
  readonly name = "mqtt";
  readonly #client: MqttClient;
  readonly #limits: () => ConnackProperties;
  readonly #session: MqttSessionOptions;
  readonly #prefix: string;
  /** `<prefix>/`: every topic of this broker starts with it. */
  readonly #base: string;
  readonly #log: NonNullable<BrokerCommonOptions["log"]>;
  readonly #listeners = new Listeners();
  protected readonly windows: LocalWindows;
  /** How to stop this process's group members. */
  readonly #members = new GroupMembers();
  readonly #probing = new AbortController();

  constructor(
    options: MqttBrokerOptions,
    session: MqttSessionOptions,
    client: MqttClient,
    limits: () => ConnackProperties,
  ) {
    super(true);
    this.#client = client;
    this.#limits = limits;
    this.#session = session;
    this.#prefix = options.prefix ?? "pubsubbud";
    this.#base = `${this.#prefix}/`;
    const log = options.log ?? (() => {});
    this.#log = log;
    this.windows = new LocalWindows({
      ...windowSettings(options, this.#listeners),
      // Only a PUBACK with an error reason code proves the server did not take the message.
      refused: (error) => error instanceof ErrorWithReasonCode && error.code >= 0x80,
      subscribe: (ns) => this.#subscribe(ns),
      unsubscribe: (ns) => client.unsubscribeAsync(this.#filter(ns)).then(() => {}),
      sendTail: (ns, stamp) => this.#sendTail(ns, stamp),
      log,
    });
    client.on("error", () => {});
    client.on("close", () => log("warn", "mqtt connection lost", { url: redactUrl(session.url) }));
    client.on("connect", (connack) => this.#reconnected(connack));
    client.on("message", (topic: string, payload: Buffer, packet: IPublishPacket) =>
      this.#receive(topic, payload, packet),
    );
    const probeMessages = options.probeMessages ?? 1_100;
    if (probeMessages > 0)
      logServerLimits({
        url: session.url,
        publisher: client,
        limits: limits(),
        prefix: this.#prefix,
        sent: probeMessages,
        connectTimeoutMs: session.connectTimeoutMs,
        log,
        signal: this.#probing.signal,
      });
  }

  #filter(ns: string): string {
    return `${this.#base}${ns}/#`;
  }

  #subscribe(ns: string): Promise<void> {
    return this.#client.subscribeAsync(this.#filter(ns), { qos: 1 }).then(() => {});
  }

  #sendTail(ns: string, stamp: string): void {
    if (!this.#client.connected) return;
    const properties = { userProperties: { [SEQ_HEADER]: stamp } };
    this.#client
      .publishAsync(`${this.#base}${ns}/${TAIL_CHANNEL}`, "", { qos: 1, properties })
      .catch(() => {});
  }

  /** Every CONNACK after the first: the server kept this relay's session, or forgot it. */
  #reconnected(connack: IConnackPacket): void {
    this.#log("info", "mqtt reconnected", { sessionPresent: connack.sessionPresent });
    if (connack.sessionPresent) return; // the server queued what we missed
    // The server forgot this relay's session (restart without persistence): messages may be
    // lost, so the windows start new epochs and clients resume once subscriptions are back.
    this.windows.restart(
      (ns) => this.#subscribe(ns),
      (error) => this.#log("warn", "mqtt resubscribe failed", { error: String(error) }),
    );
  }

  #receive(topic: string, payload: Buffer, packet: IPublishPacket): void {
    const read = readPublish(this.#base, topic, payload, packet.properties?.userProperties);
    if (read?.kind === "message") this.windows.receive(read.ns, read.input, read.stamp);
    else if (read?.kind === "tail") this.windows.receiveTail(read.ns, read.stamp);
    else if (read?.kind === "invalid")
      this.#log("warn", "mqtt topic is not a valid channel; message skipped", { topic });
  }

  async publish(
    namespace: string,
    input: PublishInput,
    publisher?: Publisher,
  ): Promise<PublishOutcome> {
    const client = this.#client;
    if (!client.connected)
      throw new Error(`MQTT server ${redactUrl(this.#session.url)} is not connected`);
    const topic = `${this.#base}${namespace}/${channelToTopic(input.channel)}`;
    const payload = encodeData(input.data);
    const userProperties = userPropertiesOf(input);
    // Sending a packet over the server's limit gets the connection closed, and the client
    // library would resend it after every reconnect: refused here instead.
    const bytes = mqttPacketBytes(topic, payload, { ...userProperties, [SEQ_HEADER]: MAX_STAMP });
    const limit = this.#limits().maximumPacketSize;
    if (limit !== undefined && bytes > limit)
      throw new Error(
        `message is ${bytes} bytes as an MQTT packet; the server takes at most ${limit} (its max_packet_size): send less data or raise the limit`,
      );
    return this.windows.publish(
      namespace,
      input,
      (stamp) =>
        client.publishAsync(topic, payload, {
          qos: 1,
          properties: { userProperties: { ...userProperties, [SEQ_HEADER]: stamp } },
        }),
      publisher,
    );
  }

  healthy(): boolean {
    return this.#client.connected;
  }

  readonly groups: BrokerGroups = {
    namedMembers: true,
    consume: async (namespace, group, member, handle) => {
      const session = await joinMqttGroup({
        ...this.#session,
        prefix: this.#prefix,
        namespace,
        group,
        member,
        handle,
      });
      // Ended at once when the broker closes, as its own client is; gently when the member stops.
      return this.#members.add(() => session.endAsync(this.#probing.signal.aborted));
    },
  };

  async close(): Promise<void> {
    this.#probing.abort();
    this.windows.clear();
    this.#listeners.clear();
    await this.#members.stopAll();
    await this.#client.endAsync(true);
  }
}
