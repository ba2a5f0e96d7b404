/**
 * Programs that already use a broker take part without knowing PubsubBud, in both directions:
 * the broker's own command-line tools (redis-cli, mosquitto_pub/mosquitto_sub) and a plain Kafka
 * producer and consumer, against a real relay and a real client.
 */
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { Consumer, Producer } from "@platformatic/kafka";
import { createKafkaBroker } from "@pubsubbud/relay-node/brokers/kafka";
import { createMqttBroker } from "@pubsubbud/relay-node/brokers/mqtt";
import { createRedisBroker } from "@pubsubbud/relay-node/brokers/redis";
import { describe, expect, it } from "vitest";
import { missing } from "../helpers/requirements.js";
import { reachable, services } from "../helpers/services.js";
import { waitFor } from "../helpers/wait.js";
import {
  cleanup,
  clientOf,
  freshNamespace,
  lines,
  relayWith,
  subscribed,
} from "./interop-helpers.js";

const run = promisify(execFile);
const [redisUp, mqttUp, kafkaUp] = await Promise.all([
  reachable(services.redis.port),
  reachable(services.mqtt.port),
  reachable(services.kafka.port),
]);
describe.skipIf(missing("Redis on 127.0.0.1:6379", redisUp, services.redis.fix))(
  "Redis native idiom",
  () => {
    it("delivers a plain PUBLISH and a plain XADD to subscribers, and shows client publishes in the stream", async () => {
      const ns = freshNamespace();
      const relay = await relayWith(await createRedisBroker({ url: "redis://127.0.0.1:6379" }));
      const client = clientOf(relay, ns);
      const messages = await subscribed(client, "sensor.*");
      await run("redis-cli", ["PUBLISH", `pubsubbud:${ns}:sensor.temp`, '{"c":21}']);
      await run("redis-cli", [
        "XADD",
        `pubsubbud:${ns}`,
        "*",
        "channel",
        "sensor.hum",
        "data",
        "55",
      ]);
      await waitFor(() => messages.length === 2, "both foreign messages");
      expect(messages.map((m) => [m.channel, m.data])).toEqual([
        ["sensor.temp", { c: 21 }],
        ["sensor.hum", 55],
      ]);
      const ack = await client.publish("sensor.door", { open: true }, { headers: { by: "web" } });
      const { stdout } = await run("redis-cli", [
        "XRANGE",
        `pubsubbud:${ns}`,
        ack.offset,
        ack.offset,
      ]);
      // `n` counts the relay's appends to the namespace (the bridged PUBLISH was the first).
      expect(stdout.split("\n").filter(Boolean)).toEqual([
        ack.offset,
        "channel",
        "sensor.door",
        "id",
        ack.id,
        "data",
        '{"open":true}',
        "headers",
        '{"by":"web"}',
        "n",
        "2",
      ]);
    });
  },
);

describe.skipIf(missing("Mosquitto on 127.0.0.1:1883", mqttUp, services.mqtt.fix))(
  "MQTT native idiom",
  () => {
    it("delivers mosquitto_pub's plain JSON to sensor.*, and client publishes to mosquitto_sub", async () => {
      const ns = freshNamespace();
      const relay = await relayWith(await createMqttBroker({ url: "mqtt://127.0.0.1:1883" }));
      const client = clientOf(relay, ns);
      const messages = await subscribed(client, "sensor.*");
      await run("mosquitto_pub", [
        "-V",
        "mqttv5",
        "-q",
        "1",
        "-t",
        `pubsubbud/${ns}/sensor.temp`,
        "-m",
        '{"c":21}',
      ]);
      await waitFor(() => messages.length === 1, "the device's reading");
      expect(messages[0]).toMatchObject({ channel: "sensor.temp", data: { c: 21 } });

      const device = lines(
        spawn("mosquitto_sub", ["-V", "mqttv5", "-t", `pubsubbud/${ns}/#`, "-F", "%t|%p|%P"]),
      );
      // mosquitto_sub says nothing when it is subscribed: publish until it has heard one.
      for (let i = 0; device.length === 0 && i < 200; i++) {
        await client.publish("cmd.fan", { on: i }, { headers: { by: "web" } });
        await waitFor(() => device.length > 0 || messages.length >= 0, "a turn", 50).catch(
          () => {},
        );
      }
      const [topic, payload, properties] = (device[0] ?? "").split("|");
      expect(topic).toBe(`pubsubbud/${ns}/cmd.fan`);
      expect(JSON.parse(payload ?? "")).toHaveProperty("on");
      expect(properties).toContain("by:web");
      expect(properties).toContain("pubsubbud-id:");
    });
  },
);

describe.skipIf(missing("Kafka on 127.0.0.1:9092", kafkaUp, services.kafka.fix))(
  "Kafka native idiom",
  () => {
    it("delivers a plain producer's records (key = channel) and gives a plain consumer the client's publishes", async () => {
      const ns = freshNamespace();
      const relay = await relayWith(await createKafkaBroker({ url: "kafka://127.0.0.1:9092" }));
      const client = clientOf(relay, ns);
      const messages = await subscribed(client, "order.*");
      const bootstrapBrokers = ["127.0.0.1:9092"];
      const producer = new Producer({ clientId: "plain-producer", bootstrapBrokers });
      cleanup.push(() => producer.close());
      await producer.send({
        messages: [
          {
            topic: `pubsubbud.${ns}`,
            key: Buffer.from("order.created"),
            value: Buffer.from('{"order":7}'),
            headers: new Map([[Buffer.from("trace"), Buffer.from("t-1")]]),
          },
        ],
      });
      await waitFor(() => messages.length === 1, "the plain producer's record");
      expect(messages[0]).toMatchObject({
        channel: "order.created",
        data: { order: 7 },
        headers: { trace: "t-1" },
        offset: "0",
      });

      const ack = await client.publish("order.paid", { order: 7, amount: 12 });
      const consumer = new Consumer({
        clientId: "plain-consumer",
        groupId: `plain-${ns}`,
        bootstrapBrokers,
      });
      cleanup.push(() => consumer.close(true));
      const stream = await consumer.consume({ topics: [`pubsubbud.${ns}`], mode: "earliest" });
      const records: Array<{ key: string; value: string; id: string | undefined; offset: bigint }> =
        [];
      stream.on("data", (m) =>
        records.push({
          key: m.key.toString(),
          value: m.value.toString(),
          id: [...m.headers].find(([k]) => k.toString() === "pubsubbud-id")?.[1].toString(),
          offset: m.offset,
        }),
      );
      await waitFor(() => records.length === 2, "both records for the plain consumer");
      await stream.close();
      expect(records[1]).toEqual({
        key: "order.paid",
        value: '{"order":7,"amount":12}',
        id: ack.id,
        offset: BigInt(ack.offset),
      });
    });
  },
);
