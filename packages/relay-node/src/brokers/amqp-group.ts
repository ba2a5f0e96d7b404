/**
 * One member of a RabbitMQ durable group: a durable queue `<exchange>.<ns>.<group>` bound to the
 * namespace, which the group's members consume in competition; what arrives while none runs waits
 * in the queue. Each delivery is acknowledged once `handle` resolved, requeued when it rejected.
 * The member's channel is opened again on every reconnect (see AmqpConnection.onEveryConnect).
 */
import type { GroupMessage } from "@pubsubbud/relay-core";
import type { Channel, ChannelModel } from "amqplib";
import { groupMessageOf, namespaceBinding, namespaceKey, readDelivery } from "./amqp-mapping.js";

export interface AmqpGroupMemberOptions {
  exchange: string;
  namespace: string;
  group: string;
  handle(message: GroupMessage): Promise<void>;
}

export class AmqpGroupMember {
  readonly #options: AmqpGroupMemberOptions;
  /** The channel of the current connection, once consuming. */
  #channel: Channel | undefined;

  constructor(options: AmqpGroupMemberOptions) {
    this.#options = options;
  }

  get queue(): string {
    const { exchange, namespace, group } = this.#options;
    return `${exchange}.${namespaceKey(namespace)}.${group}`;
  }

  /** Declares and binds the group's queue on `model` and consumes it. */
  async start(model: ChannelModel): Promise<void> {
    const { exchange, namespace, handle } = this.#options;
    const channel = await model.createChannel();
    channel.on("error", () => {});
    await channel.assertQueue(this.queue, { durable: true });
    await channel.bindQueue(this.queue, exchange, namespaceBinding(namespace));
    await channel.prefetch(10);
    await channel.consume(this.queue, (delivery) => {
      if (!delivery) return;
      const read = readDelivery(delivery);
      const handled =
        read.kind === "message" ? handle(groupMessageOf(read.input, delivery)) : Promise.resolve();
      handled.then(
        () => channel.ack(delivery),
        () => channel.nack(delivery, false, true),
      );
    });
    this.#channel = channel;
  }

  async stop(): Promise<void> {
    await this.#channel?.close().catch(() => {});
  }
}
