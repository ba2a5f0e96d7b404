/**
 * The brokers of the fault run, each with a private server on its DEFAULT settings (no tuning:
 * Mosquitto's default max_queued_messages, Redis's default snapshots and no AOF, PostgreSQL as
 * initdb makes it, RabbitMQ and Kafka as their packages ship) on ports of its own, so the suites
 * beside it keep theirs. The filesystem broker has no server: its "server" is the publisher's
 * relay process, which holds the appends, killed and restarted on its port.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import type { Broker } from "@pubsubbud/relay-core";
import { createAmqpBroker } from "@pubsubbud/relay-node/brokers/amqp";
import { createFileBroker } from "@pubsubbud/relay-node/brokers/file";
import { createKafkaBroker } from "@pubsubbud/relay-node/brokers/kafka";
import { createMqttBroker } from "@pubsubbud/relay-node/brokers/mqtt";
import { createNatsBroker } from "@pubsubbud/relay-node/brokers/nats";
import { createPostgresBroker } from "@pubsubbud/relay-node/brokers/postgres";
import { createRedisBroker } from "@pubsubbud/relay-node/brokers/redis";
import {
  foregroundServer,
  type PrivateServer,
  privateMosquitto,
  privateNats,
  privatePostgres,
  privateRabbit,
  repoRoot,
  tempDir,
  untilReachable,
} from "../helpers/services.js";

/** Relay limits of the run: the relay lets the whole burst through to the broker. */
export const RUN_LIMITS = { publishRatePerSecond: 100_000, publishBurst: 100_000 };

export interface FaultRunCase {
  name: string;
  /** The program the case needs on the PATH. */
  program: string;
  server: PrivateServer;
  /** A broker as one relay instance makes it. */
  broker: () => Promise<Broker>;
  /** Set when the publisher's relay is the server itself (the filesystem broker). */
  publisherPort?: number;
}

/** redis-server with nothing but its port and a data directory: default RDB snapshots, no AOF. */
function defaultRedis(port: number): PrivateServer {
  const dir = tempDir("redis");
  return foregroundServer(port, "redis-server", [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    dir,
  ]);
}

/**
 * The server, waiting longer for its port when it starts slowly (RabbitMQ's VM on a loaded
 * 2-core machine can take more than the helpers' 30 s).
 */
function patient(server: PrivateServer): PrivateServer {
  const start = async () => {
    try {
      await server.start();
    } catch {
      await untilReachable(server.port, "the restarted server", 120_000);
    }
  };
  return { ...server, start };
}

/**
 * A private Kafka from the repo's script, driven without blocking: the relays in this process
 * must see the outage while it lasts (a synchronous kill and start would freeze them through it).
 */
function asyncKafka(port: number): PrivateServer {
  const script = join(repoRoot, "scripts/services/kafka.sh");
  const env = { ...process.env, PUBSUBBUD_KAFKA_PORT: String(port) };
  const run = (command: string) => async () => {
    await promisify(execFile)(script, [command], { env });
  };
  return { port, start: run("start"), kill: run("kill"), stop: run("stop") };
}

const relayScript = fileURLToPath(new URL("./fault-run-relay.mjs", import.meta.url));

/** The filesystem broker's case: the publisher's relay runs in a process of its own. */
function fileCase(port: number): FaultRunCase {
  const dir = tempDir("fault-run-file");
  return {
    name: "file",
    program: "node",
    server: foregroundServer(port, process.execPath, [
      relayScript,
      dir,
      String(port),
      JSON.stringify(RUN_LIMITS),
    ]),
    broker: () => createFileBroker({ dir }),
    publisherPort: port,
  };
}

export const faultRunCases: FaultRunCase[] = [
  fileCase(28080),
  {
    name: "redis",
    program: "redis-server",
    server: defaultRedis(26379),
    broker: () => createRedisBroker({ url: "redis://127.0.0.1:26379" }),
  },
  {
    name: "mqtt",
    program: "mosquitto",
    server: privateMosquitto(21883),
    broker: () => createMqttBroker({ url: "mqtt://127.0.0.1:21883" }),
  },
  {
    name: "kafka",
    program: "java",
    server: asyncKafka(29092),
    broker: () => createKafkaBroker({ url: "kafka://127.0.0.1:29092" }),
  },
  {
    name: "postgres",
    program: "pg_ctlcluster",
    server: privatePostgres(25432),
    broker: () => createPostgresBroker({ url: "postgres://postgres@127.0.0.1:25432/postgres" }),
  },
  {
    name: "nats",
    program: "nats-server",
    server: privateNats(24222),
    broker: () => createNatsBroker({ url: "nats://127.0.0.1:24222" }),
  },
  {
    name: "rabbitmq",
    program: "rabbitmq-server",
    server: patient(privateRabbit(26672)),
    broker: () => createAmqpBroker({ url: "amqp://guest:guest@127.0.0.1:26672" }),
  },
];
