/**
 * PostgreSQL, NATS and RabbitMQ users take part without knowing PubsubBud, in both directions:
 * psql (INSERT, NOTIFY, SELECT), a plain nats.js publisher and subscriber, a plain amqplib
 * publisher and consumer — against a real relay and a real client.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { jetstream } from "@nats-io/jetstream";
import { connect as natsConnect } from "@nats-io/transport-node";
import { createAmqpBroker } from "@pubsubbud/relay-node/brokers/amqp";
import { createNatsBroker } from "@pubsubbud/relay-node/brokers/nats";
import { createPostgresBroker } from "@pubsubbud/relay-node/brokers/postgres";
import { connect as amqpConnect } from "amqplib";
import { describe, expect, it } from "vitest";
import { missing } from "../helpers/requirements.js";
import { reachable, services } from "../helpers/services.js";
import { waitFor } from "../helpers/wait.js";
import { cleanup, clientOf, freshNamespace, relayWith, subscribed } from "./interop-helpers.js";

const run = promisify(execFile);
const [pgUp, natsUp, amqpUp] = await Promise.all(
  [services.postgres.port, services.nats.port, services.amqp.port].map((port) => reachable(port)),
);
const psql = (sql: string) =>
  run("psql", ["-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-At", "-c", sql]);

describe.skipIf(missing("PostgreSQL on 127.0.0.1:5432", pgUp === true, services.postgres.fix))(
  "PostgreSQL native idiom",
  () => {
    it("delivers a backend's INSERT and NOTIFY, and keeps client publishes in the table", async () => {
      const ns = freshNamespace();
      const url = "postgres://postgres@127.0.0.1:5432/test";
      const relay = await relayWith(await createPostgresBroker({ url }));
      const client = clientOf(relay, ns);
      const messages = await subscribed(client, "order.*");
      await psql(
        `insert into pubsubbud_log (namespace, seq, channel, id, data)
         values ('${ns}', nextval('pubsubbud_log_seq'), 'order.created', 'backend-1', '{"order":7}')`,
      );
      await psql(
        `select pg_notify('pubsubbud_publish', '{"namespace":"${ns}","channel":"order.paid","data":{"order":7}}')`,
      );
      await waitFor(() => messages.length === 2, "the INSERT and the NOTIFY");
      expect(messages.map((m) => [m.channel, m.id === "backend-1", m.data])).toEqual([
        ["order.created", true, { order: 7 }],
        ["order.paid", false, { order: 7 }],
      ]);
      // Larger than NOTIFY's 8,000-byte payload limit: the row carries it, not the notification.
      const big = "x".repeat(20_000);
      const ack = await client.publish("order.note", { big }, { headers: { by: "web" } });
      await waitFor(() => messages.length === 3, "the large message");
      expect(messages[2]?.data).toEqual({ big });
      const { stdout } = await psql(
        `select channel, id, headers::text, length(data->>'big') from pubsubbud_log
         where namespace = '${ns}' and seq = ${ack.offset}`,
      );
      expect(stdout.trim()).toBe(`order.note|${ack.id}|{"by": "web"}|20000`);
    });

    it("keeps hostile namespaces and channels as data, never as SQL", async () => {
      const ns = freshNamespace();
      const relay = await relayWith(
        await createPostgresBroker({ url: "postgres://postgres@127.0.0.1:5432/test" }),
      );
      const client = clientOf(relay, ns);
      const messages = await subscribed(client, "x.*");
      const hostile = "x.');drop_table(pubsubbud_log);--";
      await client.publish(hostile, 1);
      await waitFor(() => messages.length === 1, "the hostile channel's message");
      expect(messages[0]?.channel).toBe(hostile);
      const { stdout } = await psql(`select count(*) from pubsubbud_log where namespace = '${ns}'`);
      expect(stdout.trim()).toBe("1");
      await expect(
        createPostgresBroker({
          url: "postgres://postgres@127.0.0.1:5432/test",
          table: "log; drop",
        }),
      ).rejects.toThrow(/table "log; drop" is not a plain name/);
    });
  },
);

describe.skipIf(missing("NATS on 127.0.0.1:4222", natsUp === true, services.nats.fix))(
  "NATS native idiom",
  () => {
    it("delivers a plain publisher's message and gives a plain subscriber the client's publishes", async () => {
      const ns = freshNamespace();
      const relay = await relayWith(await createNatsBroker({ url: "nats://127.0.0.1:4222" }));
      const client = clientOf(relay, ns);
      const messages = await subscribed(client, "sensor.*");
      const nc = await natsConnect({ servers: "127.0.0.1:4222" });
      cleanup.push(() => nc.close());
      const seen: Array<{
        subject: string;
        data: string;
        id: string | undefined;
        dedupe: string | undefined;
      }> = [];
      const sub = nc.subscribe(`pubsubbud.${ns}.>`, {
        callback: (_, m) => {
          seen.push({
            subject: m.subject,
            data: m.string(),
            id: m.headers?.get("pubsubbud-id"),
            dedupe: m.headers?.get("Nats-Msg-Id"),
          });
        },
      });
      await nc.flush();
      // A core publish: the namespace's stream captures it like any message.
      nc.publish(`pubsubbud.${ns}.sensor.temp`, '{"c":21}');
      await jetstream(nc).publish(`pubsubbud.${ns}.sensor.hum`, "55");
      await waitFor(() => messages.length === 2, "both plain publishes");
      expect(messages.map((m) => [m.channel, m.data])).toEqual([
        ["sensor.temp", { c: 21 }],
        ["sensor.hum", 55],
      ]);
      const ack = await client.publish("sensor.fan", { on: true });
      await waitFor(
        () => seen.some((m) => m.subject.endsWith(".sensor.fan")),
        "the plain subscriber",
      );
      expect(seen.find((m) => m.subject.endsWith(".sensor.fan"))).toEqual({
        subject: `pubsubbud.${ns}.sensor.fan`,
        data: '{"on":true}',
        id: ack.id,
        // JetStream dedupes on the sender-scoped key (an anonymous client has an empty scope).
        dedupe: `0::${ack.id}`,
      });
      sub.unsubscribe();
    });
  },
);

describe.skipIf(missing("RabbitMQ on 127.0.0.1:5672", amqpUp === true, services.amqp.fix))(
  "RabbitMQ native idiom",
  () => {
    it("delivers a plain basic.publish and gives a plain bound queue the client's publishes", async () => {
      const ns = freshNamespace();
      const url = "amqp://guest:guest@127.0.0.1:5672";
      const relay = await relayWith(await createAmqpBroker({ url }));
      const client = clientOf(relay, ns);
      const messages = await subscribed(client, "order.*");
      const connection = await amqpConnect(url);
      cleanup.push(() => connection.close());
      const channel = await connection.createChannel();
      const { queue } = await channel.assertQueue("", { exclusive: true });
      await channel.bindQueue(queue, "pubsubbud", `${ns}.#`);
      const seen: Array<{ key: string; body: string; id: unknown; headers: unknown }> = [];
      await channel.consume(
        queue,
        (m) =>
          m &&
          seen.push({
            key: m.fields.routingKey,
            body: m.content.toString(),
            id: m.properties.messageId,
            headers: m.properties.headers,
          }),
        { noAck: true },
      );
      channel.publish("pubsubbud", `${ns}.order.created`, Buffer.from('{"order":7}'), {
        headers: { trace: "t-1" },
      });
      await waitFor(() => messages.length === 1, "the plain publish");
      expect(messages[0]).toMatchObject({
        channel: "order.created",
        data: { order: 7 },
        headers: { trace: "t-1" },
      });
      const ack = await client.publish("order.paid", { order: 7 }, { headers: { by: "web" } });
      await waitFor(() => seen.some((m) => m.key.endsWith(".order.paid")), "the plain consumer");
      expect(seen.find((m) => m.key.endsWith(".order.paid"))).toEqual({
        key: `${ns}.order.paid`,
        body: '{"order":7}',
        id: ack.id,
        // The relay's stream stamp rides along: other relay instances detect drops by it.
        headers: { by: "web", "pubsubbud-seq": expect.stringMatching(/^\w+\.\w+:1:\d+$/) },
      });
    });
  },
);
