/**
 * The RabbitMQ broker's connection, as one class whose state is in view: the AMQP connection, its
 * confirm channel, this relay's exclusive queue (bound per listened namespace), and whether the
 * broker was closed. A lost connection is opened again with backoff; the exclusive queue died with
 * it, so `onReconnected` tells the owner to rebind and report gaps. Group members are started
 * again on every (re)connect.
 */
import { type ChannelModel, type ConfirmChannel, type ConsumeMessage, connect } from "amqplib";
import { namespaceBinding, tailKey } from "./amqp-mapping.js";
import { SEQ_HEADER } from "./feed-sequence.js";
import { type BrokerCommonOptions, reconnectWithBackoff, redactUrl } from "./shared.js";

/** A publish the channel refused to send (it was closed): provably never reached RabbitMQ. */
export class NotSent extends Error {
  override readonly name = "NotSent";
}

export interface AmqpConnectionOptions {
  url: string;
  exchange: string;
  connectTimeoutMs: number;
  log: NonNullable<BrokerCommonOptions["log"]>;
  /** Every delivery on this relay's queue (auto-acknowledged). */
  onDelivery(delivery: ConsumeMessage): void;
  /** The connection is back after a loss, with a new, unbound queue. */
  onReconnected(): void;
}

/** Something started on every (re)connect with the new connection: a group member. */
export type OnConnect = (model: ChannelModel) => Promise<void>;

export class AmqpConnection {
  readonly #options: AmqpConnectionOptions;
  readonly #onConnect = new Set<OnConnect>();
  #connection: ChannelModel | undefined;
  #channel: ConfirmChannel | undefined;
  #queue = "";
  #closed = false;

  constructor(options: AmqpConnectionOptions) {
    this.#options = options;
  }

  /** Opens the connection, the confirm channel, the exchange and this relay's exclusive queue. */
  async open(): Promise<void> {
    const { url, exchange, connectTimeoutMs, log } = this.#options;
    const opened = await connect(url, { timeout: connectTimeoutMs });
    opened.on("error", () => {});
    const channel = await opened.createConfirmChannel();
    channel.on("error", () => {});
    await channel.assertExchange(exchange, "topic", { durable: true });
    const { queue } = await channel.assertQueue("", { exclusive: true, autoDelete: true });
    await channel.consume(queue, (delivery) => delivery && this.#options.onDelivery(delivery), {
      noAck: true,
    });
    opened.on("close", () => {
      if (this.#closed) return;
      this.#channel = undefined;
      log("warn", "rabbitmq connection lost", { url: redactUrl(url) });
      void this.#reconnect();
    });
    this.#connection = opened;
    this.#channel = channel;
    this.#queue = queue;
    for (const start of this.#onConnect) await start(opened);
  }

  async #reconnect(): Promise<void> {
    if (
      !(await reconnectWithBackoff(
        () => this.open(),
        () => this.#closed,
      ))
    )
      return;
    this.#options.log("info", "rabbitmq reconnected", {});
    this.#options.onReconnected();
  }

  get healthy(): boolean {
    return !this.#closed && this.#channel !== undefined;
  }

  /** The confirm channel, or an error naming the server when the connection is down. */
  channel(): ConfirmChannel {
    if (!this.#channel)
      throw new Error(`RabbitMQ ${redactUrl(this.#options.url)} is not connected`);
    return this.#channel;
  }

  /** Routes the namespace's messages to this relay's queue. */
  async bind(ns: string): Promise<void> {
    await this.channel().bindQueue(this.#queue, this.#options.exchange, namespaceBinding(ns));
  }

  async unbind(ns: string): Promise<void> {
    await this.#channel?.unbindQueue(this.#queue, this.#options.exchange, namespaceBinding(ns));
  }

  /**
   * Publishes on `channel` (taken before the message was built, so a reconnect meanwhile cannot
   * slip it onto another channel) and resolves on the broker's confirm; {@link NotSent} when the
   * channel closed before the message was written.
   */
  publish(
    channel: ConfirmChannel,
    routingKey: string,
    body: Buffer,
    properties: Parameters<ConfirmChannel["publish"]>[3],
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      try {
        channel.publish(this.#options.exchange, routingKey, body, properties, (error: unknown) =>
          error ? reject(error) : resolve(),
        );
      } catch (error) {
        reject(
          new NotSent("RabbitMQ channel closed before the message was sent", { cause: error }),
        );
      }
    });
  }

  /** Sends a tail marker; best effort (a closed channel: the next tail or message tells the same). */
  sendTail(ns: string, stamp: string): void {
    try {
      this.#channel?.publish(this.#options.exchange, tailKey(ns), Buffer.alloc(0), {
        headers: { [SEQ_HEADER]: stamp },
      });
    } catch {
      // best effort
    }
  }

  /** Runs `start` now when connected and again after every reconnect; returns how to stop that. */
  async onEveryConnect(start: OnConnect): Promise<() => void> {
    this.#onConnect.add(start);
    if (this.#connection) await start(this.#connection);
    return () => this.#onConnect.delete(start);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#connection?.close().catch(() => {});
  }
}
