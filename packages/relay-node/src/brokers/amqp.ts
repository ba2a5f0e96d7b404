/**
 * The RabbitMQ broker (AMQP 0-9-1): a topic exchange for live fan-out between relay instances,
 * AMQP properties for the metadata, and a relay-local window per namespace for resume (like
 * MQTT: resume works on the same instance; another instance answers `recovered:false`). See
 * docs/brokers.md.
 *
 * Mapping: exchange `pubsubbud` (topic, durable); routing key `<namespace>.<channel>` (dots in
 * the namespace written `%2E`); body = the JSON data (content type application/json);
 * `messageId` = the message id; `headers` = the message headers. A plain
 * `basic.publish` to the exchange with routing key `ns.sensor.temp` reaches `sensor.*`, and a
 * queue bound with `ns.#` receives client publishes.
 */
import type { Position } from "@pubsubbud/protocol";
import { channelError, DEFAULT_LIMITS } from "@pubsubbud/protocol";
import {
  type Broker,
  type BrokerListener,
  compareDecimalOffsets,
  dedupeKey,
  type PublishInput,
  type PublishOutcome,
  randomId,
} from "@pubsubbud/relay-core";
import { type ChannelModel, type ConfirmChannel, type ConsumeMessage, connect } from "amqplib";
import { LocalWindows } from "./local-window.js";
import {
  type BrokerCommonOptions,
  checkUrl,
  decodeData,
  encodeData,
  firstConnect,
  headersFromPairs,
  headersToPairs,
  type GroupCapable,
  Listeners,
  reconnectWithBackoff,
  redactUrl,
  retentionOf,
} from "./shared.js";

/** Options of {@link createAmqpBroker}. */
export interface AmqpBrokerOptions extends BrokerCommonOptions {
  /** `amqp://user:password@host:5672[/vhost]` or `amqps://…`. */
  url: string;
  /** The topic exchange. @default "pubsubbud" */
  exchange?: string;
  /** How long a namespace stays bound after its last client left. @default 60000 */
  lingerMs?: number;
  /** How long a publish waits for the broker's confirm and its own copy. @default 10000 */
  publishTimeoutMs?: number;
  /** @default 5000 */
  connectTimeoutMs?: number;
}

const keyOf = (ns: string) => ns.replace(/\./g, "%2E");

/**
 * Connects to RabbitMQ and returns the broker; it reconnects by itself after a lost connection.
 * @example const broker = await createAmqpBroker({ url: "amqp://guest:guest@127.0.0.1:5672" })
 */
export async function createAmqpBroker(options: AmqpBrokerOptions): Promise<Broker & GroupCapable> {
  const {
    url,
    exchange = "pubsubbud",
    lingerMs = 60_000,
    publishTimeoutMs = 10_000,
    connectTimeoutMs = 5_000,
  } = options;
  checkUrl(url, "amqp://user:password@host:5672");
  const retention = retentionOf(options);
  const log = options.log ?? (() => {});
  const listeners = new Listeners();
  let connection: ChannelModel | undefined;
  let channel: ConfirmChannel | undefined;
  let queue = "";
  let closed = false;

  /** A delivery as a namespace and a message, or undefined when its key names no channel. */
  const parse = (message: ConsumeMessage): { ns: string; input: PublishInput } | undefined => {
    const key = message.fields.routingKey;
    const dot = key.indexOf(".");
    const ns = key.slice(0, dot).replace(/%2E/g, ".");
    const name = key.slice(dot + 1);
    if (dot < 0 || channelError(name, DEFAULT_LIMITS)) {
      log("warn", "routing key is not a valid channel; message skipped", { key });
      return undefined;
    }
    const pairs = Object.entries(message.properties.headers ?? {}).map(
      ([header, value]): [string, string] => [
        header,
        Buffer.isBuffer(value) ? value.toString() : String(value),
      ],
    );
    const input: PublishInput = {
      channel: name,
      id: message.properties.messageId
        ? String(message.properties.messageId)
        : `amqp-${randomId(16)}`,
      data: decodeData(message.content.toString("utf8")),
    };
    const headers = headersFromPairs(pairs);
    if (headers) input.headers = headers;
    return { ns, input };
  };

  const onMessage = (message: ConsumeMessage | null) => {
    const parsed = message && parse(message);
    if (parsed && windows.has(parsed.ns)) windows.receive(parsed.ns, parsed.input);
  };

  /** Durable group consumers, started again on every (re)connect. */
  const groups = new Set<(model: ChannelModel) => Promise<void>>();

  /** Opens the connection, the confirm channel, the exchange and this relay's exclusive queue. */
  const open = async () => {
    const opened = await connect(url, { timeout: connectTimeoutMs });
    opened.on("error", () => {});
    const ch = await opened.createConfirmChannel();
    ch.on("error", () => {});
    await ch.assertExchange(exchange, "topic", { durable: true });
    const { queue: name } = await ch.assertQueue("", { exclusive: true, autoDelete: true });
    await ch.consume(name, onMessage, { noAck: true });
    opened.on("close", () => {
      if (closed) return;
      channel = undefined;
      log("warn", "rabbitmq connection lost", { url: redactUrl(url) });
      void reconnect();
    });
    connection = opened;
    channel = ch;
    queue = name;
    for (const start of groups) await start(opened);
  };

  const bind = async (ns: string) => {
    if (!channel) throw new Error(`RabbitMQ ${redactUrl(url)} is not connected`);
    await channel.bindQueue(queue, exchange, `${keyOf(ns)}.#`);
  };

  const reconnect = async () => {
    if (!(await reconnectWithBackoff(open, () => closed))) return;
    log("info", "rabbitmq reconnected", {});
    // The exclusive queue died with the connection, and what was routed meanwhile with it.
    windows.restart(bind, (error) =>
      log("warn", "rabbitmq rebind failed", { error: String(error) }),
    );
  };

  const windows = new LocalWindows({
    retention,
    lingerMs,
    listeners,
    subscribe: bind,
    unsubscribe: async (ns) => {
      await channel?.unbindQueue(queue, exchange, `${keyOf(ns)}.#`);
    },
  });

  await firstConnect(
    url,
    connectTimeoutMs,
    open(),
    "that RabbitMQ runs there and accepts the URL's user, password and vhost",
  );

  const broker: Broker & GroupCapable = {
    name: "rabbitmq",
    capabilities: { sharedHistory: false },
    async publish(namespace: string, input: PublishInput): Promise<PublishOutcome> {
      const ch = channel;
      if (!ch) throw new Error(`RabbitMQ ${redactUrl(url)} is not connected`);
      const seen = windows.seen(namespace, dedupeKey(input));
      if (seen !== undefined) return { offset: seen, duplicate: true };
      const headers = Object.fromEntries(headersToPairs(input.headers));
      const send = () =>
        new Promise<void>((resolve, reject) => {
          ch.publish(
            exchange,
            `${keyOf(namespace)}.${input.channel}`,
            Buffer.from(encodeData(input.data)),
            {
              messageId: input.id,
              headers,
              contentType: "application/json",
              timestamp: Math.floor(Date.now() / 1000),
            },
            (error) => (error ? reject(error) : resolve()),
          );
        });
      const offset = await windows.publish(namespace, input.id, send, publishTimeoutMs);
      return { offset, duplicate: false };
    },
    listen: (namespace: string, listener: BrokerListener) => windows.listen(namespace, listener),
    head: async (namespace: string) => windows.head(namespace),
    since: async (namespace: string, position: Position) => windows.since(namespace, position),
    compareOffsets: compareDecimalOffsets,
    healthy: () => !closed && channel !== undefined,
    // A durable queue per group, bound to the namespace: members compete for its messages, and
    // what arrives while none runs waits in the queue. Acknowledged after `handle`.
    async consumeGroup(namespace, group, _member, handle) {
      const name = `${exchange}.${keyOf(namespace)}.${group}`;
      let active: { ch: import("amqplib").Channel; tag: string } | undefined;
      const start = async (model: ChannelModel) => {
        const ch = await model.createChannel();
        ch.on("error", () => {});
        await ch.assertQueue(name, { durable: true });
        await ch.bindQueue(name, exchange, `${keyOf(namespace)}.#`);
        await ch.prefetch(10);
        const { consumerTag } = await ch.consume(name, (delivery) => {
          if (!delivery) return;
          const parsed = parse(delivery);
          const message = parsed && {
            ...parsed.input,
            ts: Number(delivery.properties.timestamp ?? 0) * 1000 || Date.now(),
            offset: "",
          };
          (message ? handle(message) : Promise.resolve()).then(
            () => ch.ack(delivery),
            () => ch.nack(delivery, false, true),
          );
        });
        active = { ch, tag: consumerTag };
      };
      groups.add(start);
      if (connection) await start(connection);
      return async () => {
        groups.delete(start);
        await active?.ch.close().catch(() => {});
      };
    },
    async close() {
      closed = true;
      windows.clear();
      listeners.clear();
      await connection?.close().catch(() => {});
    },
  };
  return broker;
}
