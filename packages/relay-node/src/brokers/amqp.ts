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
  type BrokerListener,
  compareDecimalOffsets,
  type PublishInput,
  type PublishOutcome,
  type GroupBroker,
} from "@pubsubbud/relay-core";
import { randomId } from "@pubsubbud/relay-core/internal";
import { type ChannelModel, type ConfirmChannel, type ConsumeMessage, connect } from "amqplib";
import { SEQ_HEADER, TAIL_CHANNEL } from "./feed-sequence.js";
import { LocalWindows } from "./local-window.js";
import {
  type BrokerCommonOptions,
  checkUrl,
  decodeData,
  encodeData,
  firstConnect,
  headersFromPairs,
  headersToPairs,
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
  /**
   * How long a publish waits for the broker's confirm and its own copy; past it the publish is
   * answered `publish_uncertain`. @default 10000
   */
  publishTimeoutMs?: number;
  /** @default 5000 */
  connectTimeoutMs?: number;
  /**
   * Publishes this relay has on their way at once (sent to a namespace it listens to, own copy not
   * yet back); more wait their turn, so the relay's own queue stays short (and under a length
   * limit a policy may set). @default 500
   */
  maxPublishesInFlight?: number;
}

const keyOf = (ns: string) => ns.replace(/\./g, "%2E");

/** A publish the channel refused to send (it was closed): provably never reached RabbitMQ. */
class NotSent extends Error {
  override readonly name = "NotSent";
}

/**
 * Connects to RabbitMQ and returns the broker; it reconnects by itself after a lost connection.
 * @example const broker = await createAmqpBroker({ url: "amqp://guest:guest@127.0.0.1:5672" })
 */
export async function createAmqpBroker(options: AmqpBrokerOptions): Promise<GroupBroker> {
  const {
    url,
    exchange = "pubsubbud",
    lingerMs = 60_000,
    publishTimeoutMs = 10_000,
    connectTimeoutMs = 5_000,
    maxPublishesInFlight = 500,
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
  const parse = (
    message: ConsumeMessage,
  ): { ns: string; input: PublishInput; stamp: string | undefined } | undefined => {
    const key = message.fields.routingKey;
    const dot = key.indexOf(".");
    const ns = key.slice(0, dot).replace(/%2E/g, ".");
    const name = key.slice(dot + 1);
    if (name === TAIL_CHANNEL) return undefined;
    if (dot < 0 || channelError(name, DEFAULT_LIMITS)) {
      log("warn", "routing key is not a valid channel; message skipped", { key });
      return undefined;
    }
    let stamp: string | undefined;
    const pairs: Array<[string, string]> = [];
    for (const [header, value] of Object.entries(message.properties.headers ?? {})) {
      const text = Buffer.isBuffer(value) ? value.toString() : String(value);
      if (header === SEQ_HEADER) stamp = text;
      else pairs.push([header, text]);
    }
    const input: PublishInput = {
      channel: name,
      id: message.properties.messageId
        ? String(message.properties.messageId)
        : `amqp-${randomId(16)}`,
      data: decodeData(message.content.toString("utf8")),
    };
    const headers = headersFromPairs(pairs);
    if (headers) input.headers = headers;
    return { ns, input, stamp };
  };

  const onMessage = (message: ConsumeMessage | null) => {
    if (!message) return;
    const key = message.fields.routingKey;
    if (key.endsWith(`.${TAIL_CHANNEL}`)) {
      const stamp = message.properties.headers?.[SEQ_HEADER];
      const ns = key.slice(0, -TAIL_CHANNEL.length - 1).replace(/%2E/g, ".");
      windows.receiveTail(ns, Buffer.isBuffer(stamp) ? stamp.toString() : stamp?.toString());
      return;
    }
    const parsed = parse(message);
    if (parsed) windows.receive(parsed.ns, parsed.input, parsed.stamp);
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
    publishTimeoutMs,
    maxOnTheirWay: maxPublishesInFlight,
    // A nack is no proof: RabbitMQ nacks a message that one bound queue refused (an overflow
    // `reject-publish`, a queue process error) while the other queues enqueued it. Only a
    // publish the closed channel never sent is refused; everything else is uncertain.
    refused: (error) => error instanceof NotSent,
    log,
    sendTail: (ns, stamp) => {
      try {
        channel?.publish(exchange, `${keyOf(ns)}.${TAIL_CHANNEL}`, Buffer.alloc(0), {
          headers: { [SEQ_HEADER]: stamp },
        });
      } catch {
        // best effort: the channel closed; the next tail or message tells the same
      }
    },
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

  const broker: GroupBroker = {
    name: "rabbitmq",
    capabilities: { sharedHistory: false, totalOrder: false },
    async publish(namespace: string, input: PublishInput): Promise<PublishOutcome> {
      const ch = channel;
      if (!ch) throw new Error(`RabbitMQ ${redactUrl(url)} is not connected`);
      // A client's own `pubsubbud-seq` header would forge this relay's stream: dropped.
      const headers = Object.fromEntries(
        headersToPairs(input.headers).filter(([name]) => name !== SEQ_HEADER),
      );
      const send = (stamp: string) =>
        new Promise<void>((resolve, reject) => {
          const confirmed = (error: unknown) => (error ? reject(error) : resolve());
          try {
            ch.publish(
              exchange,
              `${keyOf(namespace)}.${input.channel}`,
              Buffer.from(encodeData(input.data)),
              {
                messageId: input.id,
                headers: { ...headers, [SEQ_HEADER]: stamp },
                contentType: "application/json",
                timestamp: Math.floor(Date.now() / 1000),
              },
              confirmed,
            );
          } catch (error) {
            reject(
              new NotSent(`RabbitMQ channel closed before the message was sent`, { cause: error }),
            );
          }
        });
      return windows.publish(namespace, input, send);
    },
    listen: (namespace: string, listener: BrokerListener) => windows.listen(namespace, listener),
    head: async (namespace: string) => windows.head(namespace),
    since: async (namespace: string, position: Position) => windows.since(namespace, position),
    compareOffsets: compareDecimalOffsets,
    healthy: () => !closed && channel !== undefined,
    // A durable queue per group, bound to the namespace: members compete for its messages, and
    // what arrives while none runs waits in the queue. Acknowledged after `handle`.
    groups: {
      namedMembers: false,
      async consume(namespace, group, _member, handle) {
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
