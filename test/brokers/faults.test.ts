/**
 * Kill the real broker server mid-stream and bring it back, with a publisher on one relay
 * instance and a subscriber on another. Each case runs its own server on a private port, so the
 * suites beside it keep theirs. Counted against the publisher's log: duplicates and reorderings
 * must be zero, refused publishes must not be delivered, and every acknowledged message that
 * never arrives must have been signalled to the subscriber as a gap.
 */
import type { Broker } from "@pubsubbud/relay-core";
import { createClient, type Message, type PubsubBudClient } from "@pubsubbud/client";
import { type RunningRelay, startRelay } from "@pubsubbud/relay-node";
import { createAmqpBroker } from "@pubsubbud/relay-node/brokers/amqp";
import { createKafkaBroker } from "@pubsubbud/relay-node/brokers/kafka";
import { createMqttBroker } from "@pubsubbud/relay-node/brokers/mqtt";
import { createNatsBroker } from "@pubsubbud/relay-node/brokers/nats";
import { createPostgresBroker } from "@pubsubbud/relay-node/brokers/postgres";
import { createRedisBroker } from "@pubsubbud/relay-node/brokers/redis";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { missing } from "../helpers/requirements.js";
import {
  type PrivateServer,
  privateKafka,
  privateMosquitto,
  privateNats,
  privatePostgres,
  privateRabbit,
  privateRedis,
} from "../helpers/services.js";
import { waitFor } from "../helpers/wait.js";
import { commandExists } from "../helpers/commands.js";

interface FaultCase {
  name: string;
  program: string;
  server: PrivateServer;
  broker: () => Promise<Broker>;
}

const cases: FaultCase[] = [
  {
    name: "redis",
    program: "redis-server",
    server: privateRedis(16379),
    broker: () => createRedisBroker({ url: "redis://127.0.0.1:16379" }),
  },
  {
    name: "mqtt",
    program: "mosquitto",
    server: privateMosquitto(11883),
    broker: () => createMqttBroker({ url: "mqtt://127.0.0.1:11883" }),
  },
  {
    name: "postgres",
    program: "pg_ctlcluster",
    server: privatePostgres(15432),
    broker: () => createPostgresBroker({ url: "postgres://postgres@127.0.0.1:15432/postgres" }),
  },
  {
    name: "nats",
    program: "nats-server",
    server: privateNats(14222),
    broker: () => createNatsBroker({ url: "nats://127.0.0.1:14222" }),
  },
  {
    name: "rabbitmq",
    program: "rabbitmq-server",
    server: privateRabbit(16672),
    broker: () => createAmqpBroker({ url: "amqp://guest:guest@127.0.0.1:16672" }),
  },
  {
    name: "kafka",
    program: "java",
    server: privateKafka(19092),
    broker: () => createKafkaBroker({ url: "kafka://127.0.0.1:19092" }),
  },
];

/** Polls an async condition (an HTTP probe) until it holds. */
async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe.each(cases)("broker killed mid-stream: $name", (fault) => {
  const unavailable = missing(
    `${fault.program}`,
    commandExists(fault.program),
    `install ${fault.program}`,
  );
  describe.skipIf(unavailable)("with a private server", () => {
    const relays: RunningRelay[] = [];
    const clients: PubsubBudClient[] = [];
    beforeAll(async () => {
      await fault.server.start();
    }, 90_000);
    afterAll(async () => {
      for (const client of clients) client.close();
      await Promise.all(relays.map((relay) => relay.close(1000)));
      await fault.server.stop();
    }, 60_000);

    it("refuses publishes while it is down, reports unhealthy, and loses nothing silently", async () => {
      const ns = `fault${Date.now().toString(36)}`;
      for (let i = 0; i < 2; i++)
        relays.push(await startRelay({ port: 0, broker: await fault.broker() }));
      const [one, two] = relays as [RunningRelay, RunningRelay];
      const open = (relay: RunningRelay) => {
        const client = createClient({
          url: `${relay.wsUrl}/ns/${ns}`,
          WebSocket,
          reconnect: { baseDelayMs: 50, maxDelayMs: 500 },
        });
        clients.push(client);
        return client;
      };
      const subscriber = open(two);
      const received: Message[] = [];
      let gaps = 0;
      subscriber.addEventListener("gap", () => void gaps++);
      await subscriber.subscribe("feed.*", (m) => void received.push(m)).ready;
      const publisher = open(one);
      const acked: number[] = [];
      const refused: number[] = [];
      let next = 0;
      const publish = async (count: number) => {
        for (let k = 0; k < count; k++) {
          const n = next++;
          await publisher.publish(`feed.${n % 3}`, n).then(
            () => acked.push(n),
            () => refused.push(n),
          );
        }
      };
      const health = (relay: RunningRelay) =>
        fetch(`${relay.url}/healthz`).then((response) => response.status);

      await publish(100);
      await fault.server.kill();
      await until(async () => (await health(one)) === 503, "relay one to report the broker down");
      const metrics = await (await fetch(`${one.url}/metrics`)).text();
      expect(metrics).toMatch(
        new RegExp(`^pubsubbud_broker_up\\{broker="${fault.name}"\\} 0$`, "m"),
      );
      const refusedBefore = refused.length;
      await publish(3);
      expect(refused.length - refusedBefore).toBe(3);

      await fault.server.start();
      await until(
        async () => (await health(one)) === 200 && (await health(two)) === 200,
        "both relays healthy again",
      );
      await until(async () => {
        await publish(1);
        return acked.at(-1) === next - 1;
      }, "publishes to be acknowledged again");
      await publish(100);
      // Messages published while the subscriber was resuming may be lost (and then signalled);
      // publish on until the newest one arrives, so the count below covers everything.
      await until(async () => {
        await publish(1);
        const newest = acked.at(-1);
        await waitFor(() => received.some((m) => m.data === newest), "the newest message", 500);
        return true;
      }, "the subscriber to receive live messages again");

      const delivered = received.map((m) => m.data as number);
      const duplicates = delivered.length - new Set(delivered).size;
      const reordered = delivered.filter(
        (n, i) => i > 0 && n <= (delivered[i - 1] as number),
      ).length;
      const deliveredSet = new Set(delivered);
      const lost = acked.filter((n) => !deliveredSet.has(n));
      const refusedButDelivered = refused.filter((n) => deliveredSet.has(n));
      const report = {
        broker: fault.name,
        duplicates,
        reordered,
        acked: acked.length,
        refused: refused.length,
        delivered: delivered.length,
        lost: lost.length,
        gaps,
      };
      process.stderr.write(`fault report: ${JSON.stringify(report)}\n`);
      expect({ duplicates, reordered, refusedButDelivered }, JSON.stringify(report)).toEqual({
        duplicates: 0,
        reordered: 0,
        refusedButDelivered: [],
      });
      if (lost.length > 0)
        expect(gaps, `lost ${lost.length} without a gap event`).toBeGreaterThan(0);
    }, 180_000);
  });
});
