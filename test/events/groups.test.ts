/**
 * Durable subscriber groups on every broker with a shared server: each message goes to one member
 * of the group, and a group whose members all stopped resumes, on restart, with exactly the
 * messages published meanwhile. On MQTT the server queues them per member, so the same members
 * come back; elsewhere a new member takes them all. A member's message carries the offset its
 * publish was acknowledged with where the broker keeps a shared log, and no offset where it does
 * not (MQTT, RabbitMQ: a group reads a server queue, which gives a message no position). Closing
 * the broker ends its members, even one still joining: a process that closed it exits by itself.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { createMemoryBroker } from "@pubsubbud/relay-core";
import { createPublisher, createSubscriber, type Subscriber } from "@pubsubbud/relay-node";
import { describe, expect, it } from "vitest";
import { sharedBrokerKinds } from "../brokers/kinds.js";
import { waitFor } from "../helpers/wait.js";

let counter = 0;
const memberProcess = fileURLToPath(new URL("group-member-process.mjs", import.meta.url));

describe.each(sharedBrokerKinds)("durable groups on $name", (kind) => {
  describe.skipIf(kind.unavailable)("on the real server", () => {
    it("gives each message to one member, and resumes after a restart with what was missed", async () => {
      const namespace = `grp${Date.now().toString(36)}-${++counter}`;
      const group = `billing-${counter}`;
      const publishing = await kind.create();
      await using publisher = await createPublisher({ broker: publishing, namespace });
      const handled: Array<[string, number]> = [];
      const offsets = { acked: new Map<number, string>(), handled: new Map<number, unknown>() };
      const member = async (name: string, label = name): Promise<Subscriber> => {
        const subscriber = await createSubscriber({
          broker: await kind.create(),
          namespace,
          group,
          member: name,
        });
        subscriber.on("invoice.*", (m) => {
          handled.push([label, m.data as number]);
          offsets.handled.set(m.data as number, m.offset);
        });
        await subscriber.start();
        return subscriber;
      };
      const a = await member("a");
      const b = await member("b");
      for (let i = 0; i < 40; i++)
        offsets.acked.set(i, (await publisher.publish(`invoice.${i % 3}`, i)).offset);
      await waitFor(() => handled.length >= 40, "40 messages handled by the group").catch((e) => {
        throw new Error(`${e.message}: ${JSON.stringify(handled)}`);
      });
      await Promise.all([a.close(), b.close()]);
      expect(handled.map(([, n]) => n).sort((x, y) => x - y)).toEqual(
        Array.from({ length: 40 }, (_, i) => i),
      );

      // Nobody in the group runs: these wait for it.
      for (let i = 40; i < 50; i++)
        offsets.acked.set(i, (await publisher.publish("invoice.late", i)).offset);
      const comeback =
        kind.name === "mqtt"
          ? [await member("a", "c"), await member("b", "c")]
          : [await member("c")];
      await waitFor(
        () => handled.length >= 50,
        "the 10 messages published while the group was down",
      );
      for (const subscriber of comeback) await subscriber.idle();
      await Promise.all(comeback.map((subscriber) => subscriber.close()));
      expect(
        handled
          .filter(([name]) => name === "c")
          .map(([, n]) => n)
          .sort((x, y) => x - y),
        JSON.stringify(handled.slice(38)),
      ).toEqual(Array.from({ length: 10 }, (_, i) => 40 + i));
      expect(handled).toHaveLength(50);
      // The log position where there is a log, and none (never a made-up one) where there is not.
      expect(offsets.handled).toEqual(
        publishing.capabilities.sharedHistory
          ? offsets.acked
          : new Map([...offsets.acked.keys()].map((n) => [n, undefined])),
      );
    });

    it.each([
      ["joined", "ends a member when the broker closes"],
      ["joining", "ends a member still joining when the broker closes"],
    ])("%s: %s, so the process that ran it exits by itself", async (when) => {
      const namespace = `grp${Date.now().toString(36)}-${++counter}`;
      const args = [kind.name, JSON.stringify(kind.options), namespace, "leavers", when];
      const child = spawn(process.execPath, [memberProcess, ...args], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => {
        output += chunk;
      });
      const [code] = await once(child, "close");
      expect({ output, code }).toEqual({ output: "closed\n", code: 0 });
    });
  });
});

describe("durable groups: refused arguments", () => {
  it("refuses a group on the memory broker, a bad group name, and an unnamed MQTT member", async () => {
    await expect(
      createSubscriber({ broker: createMemoryBroker(), group: "billing" }),
    ).rejects.toMatchObject({ code: "bad_argument", message: /no durable groups/ });
    const file = sharedBrokerKinds.find((kind) => kind.name === "file");
    if (!file) throw new Error("the file broker kind is missing");
    await expect(
      createSubscriber({ broker: await file.create(), group: "no spaces" }),
    ).rejects.toMatchObject({ code: "bad_argument" });
    await expect(
      createSubscriber({ broker: await file.create(), group: "billing", member: "a/b" }),
    ).rejects.toMatchObject({ code: "bad_argument", message: /member/ });
    const mqtt = sharedBrokerKinds.find((kind) => kind.name === "mqtt");
    if (!mqtt) throw new Error("the mqtt broker kind is missing");
    if (!mqtt.unavailable)
      await expect(
        createSubscriber({ broker: await mqtt.create(), group: "billing" }),
      ).rejects.toMatchObject({ code: "bad_argument", message: /stable `member` name/ });
  });
});
