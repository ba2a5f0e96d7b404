/**
 * The brokers the shared suites run with: one entry each. `create` makes a broker as one relay
 * instance would; calling it twice gives two instances on the same server. What a broker can
 * promise (a shared log, one order) is read from its `capabilities`, never kept here.
 */
import type { Broker, LogRetention } from "@pubsubbud/relay-core";
import { createMemoryBroker } from "@pubsubbud/relay-node";
import { createAmqpBroker } from "@pubsubbud/relay-node/brokers/amqp";
import { createFileBroker } from "@pubsubbud/relay-node/brokers/file";
import { createKafkaBroker } from "@pubsubbud/relay-node/brokers/kafka";
import { createMqttBroker } from "@pubsubbud/relay-node/brokers/mqtt";
import { createNatsBroker } from "@pubsubbud/relay-node/brokers/nats";
import { createPostgresBroker } from "@pubsubbud/relay-node/brokers/postgres";
import { createRedisBroker } from "@pubsubbud/relay-node/brokers/redis";
import { missing } from "../helpers/requirements.js";
import { reachable, services, tempDir } from "../helpers/services.js";

export interface BrokerKind {
  readonly name: string;
  /** True when the broker's server is missing (the suite is skipped, or fails in CI). */
  readonly unavailable: boolean;
  create(retention?: Partial<LogRetention>): Promise<Broker>;
  /** What `create` gives the broker's factory: for a child process that makes the same broker. */
  readonly options: Record<string, unknown>;
}

const networkedNames = ["redis", "mqtt", "kafka", "postgres", "nats", "amqp"] as const;
const up = new Set(
  (
    await Promise.all(
      networkedNames.map(async (name) => ((await reachable(services[name].port)) ? name : "")),
    )
  ).filter(Boolean),
);
/** A broker whose server runs on its standard port (see helpers/services.ts). */
function networked(
  name: keyof typeof services,
  create: (options: { url: string; retention?: Partial<LogRetention> }) => Promise<Broker>,
  authority = `127.0.0.1:${services[name].port}`,
): BrokerKind {
  const { port, fix } = services[name];
  const options = { url: `${name}://${authority}` };
  return {
    name,
    get unavailable() {
      return missing(`${name} on 127.0.0.1:${port}`, up.has(name), fix);
    },
    create: (retention) => create({ ...options, ...(retention ? { retention } : {}) }),
    options,
  };
}

/** One directory per test run, shared by every file broker instance, like processes on one host. */
const fileOptions = { dir: tempDir("file-broker"), segmentMessages: 4 };

export const brokerKinds: BrokerKind[] = [
  {
    name: "memory",
    unavailable: false,
    create: async (retention) => createMemoryBroker(retention ? { retention } : {}),
    options: {},
  },
  networked("redis", createRedisBroker),
  networked("mqtt", createMqttBroker),
  networked("kafka", createKafkaBroker),
  networked("postgres", createPostgresBroker, "postgres@127.0.0.1:5432/test"),
  networked("nats", createNatsBroker),
  networked("amqp", createAmqpBroker, "guest:guest@127.0.0.1:5672"),
  {
    name: "file",
    unavailable: false,
    create: (retention) =>
      createFileBroker({ ...fileOptions, ...(retention ? { retention } : {}) }),
    options: fileOptions,
  },
];

/** The networked brokers, for the suites that need two instances on one server. */
export const sharedBrokerKinds = brokerKinds.filter((kind) => kind.name !== "memory");
