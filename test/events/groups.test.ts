/**
 * Durable subscriber groups on the brokers that have them: each message goes to one member of
 * the group, and a group whose members all stopped resumes, on restart, with exactly the messages
 * published meanwhile.
 */
import { createPublisher, createSubscriber, type Subscriber } from "@pubsubbud/relay-node";
import { describe, expect, it } from "vitest";
import { sharedBrokerKinds } from "../brokers/kinds.js";
import { waitFor } from "../helpers/wait.js";

const grouped = sharedBrokerKinds.filter((kind) =>
  ["redis", "nats", "amqp", "postgres", "file"].includes(kind.name),
);
let counter = 0;

describe.each(grouped)("durable groups on $name", (kind) => {
  describe.skipIf(kind.unavailable)("on the real server", () => {
    it("gives each message to one member, and resumes after a restart with what was missed", async () => {
      const namespace = `grp${Date.now().toString(36)}-${++counter}`;
      const group = `billing-${counter}`;
      await using publisher = await createPublisher({ broker: await kind.create(), namespace });
      const handled: Array<[string, number]> = [];
      const member = async (name: string): Promise<Subscriber> => {
        const subscriber = await createSubscriber({
          broker: await kind.create(),
          namespace,
          group,
        });
        subscriber.on("invoice.*", (m) => void handled.push([name, m.data as number]));
        await subscriber.start();
        return subscriber;
      };
      const a = await member("a");
      const b = await member("b");
      for (let i = 0; i < 40; i++) await publisher.publish(`invoice.${i % 3}`, i);
      await waitFor(() => handled.length >= 40, "40 messages handled by the group");
      await Promise.all([a.close(), b.close()]);
      expect(handled.map(([, n]) => n).sort((x, y) => x - y)).toEqual(
        Array.from({ length: 40 }, (_, i) => i),
      );

      // Nobody in the group runs: these wait for it.
      for (let i = 40; i < 50; i++) await publisher.publish("invoice.late", i);
      const c = await member("c");
      await waitFor(
        () => handled.length >= 50,
        "the 10 messages published while the group was down",
      );
      await c.idle();
      await c.close();
      expect(
        handled.filter(([name]) => name === "c").map(([, n]) => n),
        JSON.stringify(handled.slice(38)),
      ).toEqual(Array.from({ length: 10 }, (_, i) => 40 + i));
      expect(handled).toHaveLength(50);
    });
  });
});

describe("durable groups where a broker has none", () => {
  it("refuses the group with bad_argument and says which brokers have them", async () => {
    const mqtt = sharedBrokerKinds.find((kind) => kind.name === "mqtt");
    const file = sharedBrokerKinds.find((kind) => kind.name === "file");
    if (!mqtt || !file) throw new Error("the mqtt or file broker kind is missing");
    if (!mqtt.unavailable)
      await expect(
        createSubscriber({ broker: await mqtt.create(), group: "billing" }),
      ).rejects.toMatchObject({ code: "bad_argument", message: /no durable groups yet/ });
    await expect(
      createSubscriber({ broker: await file.create(), group: "no spaces" }),
    ).rejects.toMatchObject({ code: "bad_argument" });
  });
});
