import type { Broker, LogRetention } from "@pubsubbud/relay-core";
import { loadBroker } from "./brokers/drivers.js";
import { createMemoryBroker } from "./brokers/memory.js";
import { RelayNodeError, RelayNodeErrorCode } from "./errors.js";

/**
 * Options every broker built from a URL receives; each broker reads the ones it knows
 * (docs/brokers.md lists them per broker).
 */
export interface BrokerUrlOptions {
  retention?: Partial<LogRetention>;
  /** Memory: bytes of messages kept across all namespaces (then `storage_full`). @default 268435456 */
  maxBytes?: number;
  /** Key, topic or subject prefix (Redis `pubsubbud:`, MQTT `pubsubbud`, Kafka `pubsubbud.`). */
  prefix?: string;
  /** Filesystem: `interval` (default) or `always`. */
  fsync?: "always" | "interval";
  fsyncIntervalMs?: number;
  segmentMessages?: number;
  pollMs?: number;
  /** MQTT: how long a namespace stays subscribed after its last client left. */
  lingerMs?: number;
  sessionExpirySeconds?: number;
  /** MQTT, RabbitMQ, PostgreSQL, Kafka: how long a publish may wait for the broker. */
  publishTimeoutMs?: number;
  /** MQTT, RabbitMQ: publishes on their way at once before more wait their turn. */
  maxPublishesInFlight?: number;
  /** MQTT: messages of the start-up queue probe (0 skips it). */
  probeMessages?: number;
  /** PostgreSQL: log table name. */
  table?: string;
  /** PostgreSQL: NOTIFY channel. */
  channel?: string;
  /** RabbitMQ: topic exchange name. */
  exchange?: string;
  /** Kafka: channel of records without a key. */
  keylessChannel?: string;
  replicas?: number;
  connectTimeoutMs?: number;
  log?: (level: "info" | "warn", message: string, fields?: Record<string, unknown>) => void;
}

/** Drops unset options, so each broker's own defaults apply. */
function defined<T extends object>(options: T): T {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as T;
}

/**
 * Builds a broker from its URL: `memory` (the embedded default), `file:///dir`, `redis://host:6379`,
 * `mqtt://host:1883`, `kafka://host:9092`, `postgres://user@host/db`, `nats://host:4222`,
 * `amqp://user:password@host:5672`. A broker's client library loads only when its scheme
 * is used; it is an optional peer dependency, and a missing one fails with `missing_driver`
 * naming the package to install.
 * @example const broker = await createBrokerFromUrl("redis://127.0.0.1:6379")
 */
export async function createBrokerFromUrl(
  url: string,
  options: BrokerUrlOptions = {},
): Promise<Broker> {
  const scheme = url.includes(":") ? url.slice(0, url.indexOf(":")) : url;
  const common = defined(options);
  switch (scheme) {
    case "memory":
      return createMemoryBroker({
        ...(options.retention ? { retention: options.retention } : {}),
        ...(options.maxBytes ? { maxBytes: options.maxBytes } : {}),
      });
    case "file": {
      const { createFileBroker } = await import("./brokers/file.js");
      return createFileBroker({ ...common, dir: url });
    }
    case "redis":
    case "rediss": {
      const { createRedisBroker } = await loadBroker("redis", () => import("./brokers/redis.js"));
      return createRedisBroker({ ...common, url });
    }
    case "mqtt":
    case "mqtts": {
      const { createMqttBroker } = await loadBroker("mqtt", () => import("./brokers/mqtt.js"));
      return createMqttBroker({ ...common, url });
    }
    case "kafka": {
      const { createKafkaBroker } = await loadBroker("kafka", () => import("./brokers/kafka.js"));
      return createKafkaBroker({ ...common, url });
    }
    case "postgres":
    case "postgresql": {
      const { createPostgresBroker } = await loadBroker(
        "postgres",
        () => import("./brokers/postgres.js"),
      );
      return createPostgresBroker({ ...common, url });
    }
    case "nats":
    case "tls": {
      const { createNatsBroker } = await loadBroker("nats", () => import("./brokers/nats.js"));
      return createNatsBroker({ ...common, url });
    }
    case "amqp":
    case "amqps": {
      const { createAmqpBroker } = await loadBroker("amqp", () => import("./brokers/amqp.js"));
      return createAmqpBroker({ ...common, url });
    }
    default:
      throw new RelayNodeError(
        RelayNodeErrorCode.BadBroker,
        `unknown broker URL ${JSON.stringify(url)}: supported are memory (the embedded default), file:///dir, redis://host:6379, mqtt://host:1883, kafka://host:9092, postgres://user@host/db, nats://host:4222 and amqp://user:pass@host:5672`,
      );
  }
}
