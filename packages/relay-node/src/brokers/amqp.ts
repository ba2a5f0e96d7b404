/**
 * The RabbitMQ broker (AMQP 0-9-1): a topic exchange for live fan-out between relay instances,
 * AMQP properties for the metadata, and a relay-local window per namespace for resume (like
 * MQTT: resume works on the same instance; another instance answers `recovered:false`). See
 * docs/brokers.md.
 *
 * Mapping (amqp-mapping.ts): exchange `pubsubbud` (topic, durable); routing key
 * `<namespace>.<channel>` (dots in the namespace written `%2E`); body = the JSON data (content type
 * application/json); `messageId` = the message id; `headers` = the message headers. A plain
 * `basic.publish` to the exchange with routing key `ns.sensor.temp` reaches `sensor.*`, and a
 * queue bound with `ns.#` receives client publishes.
 *
 * Parts: {@link AmqpConnection} owns the connection, the confirm channel and this relay's queue;
 * {@link LocalWindows} the relay-local windows; {@link AmqpGroupMember} a durable group's member.
 */
import type {
  BrokerGroups,
  GroupBroker,
  PublishInput,
  PublishOutcome,
  Publisher,
} from "@pubsubbud/relay-core";
import type { ConsumeMessage } from "amqplib";
import { AmqpConnection, NotSent } from "./amqp-connection.js";
import { AmqpGroupMember } from "./amqp-group.js";
import { namespaceKey, publishedForm, readDelivery } from "./amqp-mapping.js";
import { LocalWindows } from "./local-window.js";
import { LocalWindowBroker, windowSettings } from "./local-window-broker.js";
import { type BrokerCommonOptions, checkUrl, firstConnect, Listeners } from "./shared.js";

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

/**
 * Connects to RabbitMQ and returns the broker; it reconnects by itself after a lost connection.
 * @example const broker = await createAmqpBroker({ url: "amqp://guest:guest@127.0.0.1:5672" })
 */
export async function createAmqpBroker(options: AmqpBrokerOptions): Promise<GroupBroker> {
  checkUrl(options.url, "amqp://user:password@host:5672");
  const broker = new AmqpBroker(options);
  await firstConnect(
    options.url,
    options.connectTimeoutMs ?? 5_000,
    broker.connection.open(),
    "that RabbitMQ runs there and accepts the URL's user, password and vhost",
  );
  return broker;
}

class AmqpBroker extends LocalWindowBroker implements GroupBroker {
  readonly name = "rabbitmq";
  readonly connection: AmqpConnection;
  protected readonly windows: LocalWindows;
  readonly #listeners = new Listeners();
  readonly #exchange: string;
  readonly #log: NonNullable<BrokerCommonOptions["log"]>;

  constructor(options: AmqpBrokerOptions) {
    // No total order: RabbitMQ routes each publishing channel on its own.
    super(false);
    this.#exchange = options.exchange ?? "pubsubbud";
    this.#log = options.log ?? (() => {});
    const log = this.#log;
    this.connection = new AmqpConnection({
      url: options.url,
      exchange: this.#exchange,
      connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
      log,
      onDelivery: (delivery) => this.#receive(delivery),
      // The exclusive queue died with the connection, and what was routed meanwhile with it.
      onReconnected: () =>
        this.windows.restart(
          (ns) => this.connection.bind(ns),
          (error) => log("warn", "rabbitmq rebind failed", { error: String(error) }),
        ),
    });
    this.windows = new LocalWindows({
      ...windowSettings(options, this.#listeners),
      // A nack is no proof: RabbitMQ nacks a message that one bound queue refused (an overflow
      // `reject-publish`, a queue process error) while the other queues enqueued it. Only a
      // publish the closed channel never sent is refused; everything else is uncertain.
      refused: (error) => error instanceof NotSent,
      log,
      sendTail: (ns, stamp) => this.connection.sendTail(ns, stamp),
      subscribe: (ns) => this.connection.bind(ns),
      unsubscribe: (ns) => this.connection.unbind(ns),
    });
  }

  #receive(delivery: ConsumeMessage): void {
    const read = readDelivery(delivery);
    if (read.kind === "tail") this.windows.receiveTail(read.ns, read.stamp);
    else if (read.kind === "message") this.windows.receive(read.ns, read.input, read.stamp);
    else
      this.#log("warn", "routing key is not a valid channel; message skipped", { key: read.key });
  }

  async publish(
    namespace: string,
    input: PublishInput,
    publisher?: Publisher,
  ): Promise<PublishOutcome> {
    const channel = this.connection.channel();
    const key = `${namespaceKey(namespace)}.${input.channel}`;
    const send = (stamp: string) => {
      const { body, properties } = publishedForm(input, stamp);
      return this.connection.publish(channel, key, body, properties);
    };
    return this.windows.publish(namespace, input, send, publisher);
  }

  healthy(): boolean {
    return this.connection.healthy;
  }

  readonly groups: BrokerGroups = {
    namedMembers: false,
    consume: async (namespace, group, _member, handle) => {
      const member = new AmqpGroupMember({ exchange: this.#exchange, namespace, group, handle });
      const forget = await this.connection.onEveryConnect((model) => member.start(model));
      return async () => {
        forget();
        await member.stop();
      };
    },
  };

  async close(): Promise<void> {
    this.windows.clear();
    this.#listeners.clear();
    await this.connection.close();
  }
}
