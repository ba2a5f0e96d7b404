/**
 * The brokers the shared suites run with: one entry each. `create` makes a broker as one relay
 * instance would; calling it twice gives two instances on the same server.
 */
import type { Broker, LogRetention } from "@pubsubbud/relay-core";
import { createMemoryBroker } from "@pubsubbud/relay-node";
import { createFileBroker } from "@pubsubbud/relay-node/brokers/file";
import { createKafkaBroker } from "@pubsubbud/relay-node/brokers/kafka";
import { createMqttBroker } from "@pubsubbud/relay-node/brokers/mqtt";
import { createRedisBroker } from "@pubsubbud/relay-node/brokers/redis";
import { missing } from "../helpers/requirements.js";
import { reachable, services, tempDir } from "../helpers/services.js";

export interface BrokerKind {
  readonly name: string;
  /** True when the broker's server is missing (the suite is skipped, or fails in CI). */
  readonly unavailable: boolean;
  /** Whether two instances share one log (offsets, history and dedupe agree across instances). */
  readonly shared: boolean;
  create(retention?: Partial<LogRetention>): Promise<Broker>;
}

const [redisUp, mqttUp, kafkaUp] = await Promise.all([
  reachable(services.redis.port),
  reachable(services.mqtt.port),
  reachable(services.kafka.port),
]);
/** One directory per test run, shared by every file broker instance, like processes on one host. */
const fileDir = tempDir("file-broker");

export const brokerKinds: BrokerKind[] = [
  {
    name: "memory",
    unavailable: false,
    shared: false,
    create: async (retention) => createMemoryBroker(retention ? { retention } : {}),
  },
  {
    name: "redis",
    get unavailable() {
      return missing("Redis on 127.0.0.1:6379", redisUp, services.redis.fix);
    },
    shared: true,
    create: (retention) =>
      createRedisBroker({
        url: `redis://127.0.0.1:${services.redis.port}`,
        ...(retention ? { retention } : {}),
      }),
  },
  {
    name: "mqtt",
    get unavailable() {
      return missing("Mosquitto on 127.0.0.1:1883", mqttUp, services.mqtt.fix);
    },
    shared: false,
    create: (retention) =>
      createMqttBroker({
        url: `mqtt://127.0.0.1:${services.mqtt.port}`,
        ...(retention ? { retention } : {}),
      }),
  },
  {
    name: "kafka",
    get unavailable() {
      return missing("Kafka on 127.0.0.1:9092", kafkaUp, services.kafka.fix);
    },
    shared: true,
    create: (retention) =>
      createKafkaBroker({
        url: `kafka://127.0.0.1:${services.kafka.port}`,
        ...(retention ? { retention } : {}),
      }),
  },
  {
    name: "file",
    unavailable: false,
    shared: true,
    create: (retention) =>
      createFileBroker({ dir: fileDir, segmentMessages: 4, ...(retention ? { retention } : {}) }),
  },
];

/** The networked brokers, for the suites that need two instances on one server. */
export const sharedBrokerKinds = brokerKinds.filter((kind) => kind.name !== "memory");
