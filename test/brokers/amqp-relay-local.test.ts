/**
 * RabbitMQ's relay-local windows against the real server on :5672 with its default settings (no
 * queue length limit, no consumer prefetch on the relays' auto-ack queues): the shared cases.
 */
import { createAmqpBroker } from "@pubsubbud/relay-node/brokers/amqp";
import { missing } from "../helpers/requirements.js";
import { reachable, services } from "../helpers/services.js";
import { describeRelayLocal } from "./relay-local-cases.js";

const up = await reachable(services.amqp.port);

describeRelayLocal({
  name: "rabbitmq",
  port: services.amqp.port,
  get unavailable() {
    return missing(`RabbitMQ on 127.0.0.1:${services.amqp.port}`, up, services.amqp.fix);
  },
  // RabbitMQ's exclusive queue dies with its connection: every broker is "fragile".
  create: ({ port = services.amqp.port } = {}) =>
    createAmqpBroker({ url: `amqp://guest:guest@127.0.0.1:${port}` }),
});
