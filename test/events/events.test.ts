/**
 * createPublisher / createSubscriber against the real brokers: handlers by pattern, one failing
 * handler isolated from the others, retries, the dead-letter channel, the domain/action/version
 * convention, and a WebSocket client seeing a backend's events through a relay on the same broker.
 */
import { createClient, type Message } from "@pubsubbud/client";
import {
  createPublisher,
  createSubscriber,
  describeEvent,
  type EventMessage,
  startRelay,
} from "@pubsubbud/relay-node";
import WebSocket from "ws";
import { describe, expect, it } from "vitest";
import { waitFor } from "../helpers/wait.js";
import { sharedBrokerKinds } from "../brokers/kinds.js";

let counter = 0;
const freshNamespace = () => `ev${Date.now().toString(36)}-${++counter}`;

describe.each(sharedBrokerKinds)("event handlers on $name", (kind) => {
  describe.skipIf(kind.unavailable)("on the real server", () => {
    it("runs every matching handler, retries a failing one, then dead-letters it without holding up the others", async () => {
      const namespace = freshNamespace();
      await using publisher = await createPublisher({ broker: await kind.create(), namespace });
      const errors: string[] = [];
      await using worker = await createSubscriber({
        broker: await kind.create(),
        namespace,
        retry: { attempts: 3, delayMs: 5 },
        onError: (error, message, handler) =>
          errors.push(`${handler}:${message.attempt}:${String(error)}`),
      });
      const mailed: EventMessage[] = [];
      const logged: string[] = [];
      const dead: EventMessage[] = [];
      let stockCalls = 0;
      worker.on("order.*", (m) => void mailed.push(m), "mailer");
      worker.on(
        "order.*",
        () => {
          stockCalls++;
          throw new Error("warehouse offline");
        },
        "stock",
      );
      worker.on(
        "order.[cp]*",
        async (m) => {
          await new Promise((resolve) => setTimeout(resolve, 1));
          logged.push(m.channel);
        },
        "audit",
      );
      worker.on("dead-letter.*", (m) => void dead.push(m), "dead-letters");

      await publisher.emit("order", "created", { id: 7 }, { version: 2 });
      await publisher.emit("order", "paid", { id: 7 });
      await publisher.publish("invoice.sent", { id: 7 });
      await waitFor(() => dead.length === 2, "two dead letters");
      await worker.idle();

      expect(mailed.map((m) => m.channel)).toEqual(["order.created", "order.paid"]);
      expect(describeEvent(mailed[0] as EventMessage)).toEqual({
        domain: "order",
        action: "created",
        version: 2,
      });
      expect(describeEvent(mailed[1] as EventMessage).version).toBeUndefined();
      expect(logged).toEqual(["order.created", "order.paid"]);
      expect(stockCalls).toBe(6);
      expect(errors.filter((e) => e.startsWith("stock:"))).toHaveLength(6);
      expect(dead.map((m) => [m.channel, (m.data as { handler: string }).handler])).toEqual([
        ["dead-letter.order.created", "stock"],
        ["dead-letter.order.paid", "stock"],
      ]);
      expect(dead[0]?.data).toMatchObject({
        message: { channel: "order.created", data: { id: 7 } },
        error: "Error: warehouse offline",
      });
    });
  });
});

describe("publisher and subscriber arguments", () => {
  it("refuses a bad channel, pattern, data or dead-letter prefix with bad_argument", async () => {
    const [kind] = sharedBrokerKinds.filter((k) => k.name === "file");
    if (!kind) throw new Error("the file broker kind is missing");
    await using publisher = await createPublisher({ broker: await kind.create() });
    await expect(publisher.publish("bad channel", 1)).rejects.toMatchObject({
      code: "bad_argument",
    });
    await expect(publisher.publish("good.channel", 10n)).rejects.toMatchObject({
      code: "bad_argument",
      message: /BigInt/,
    });
    await using worker = await createSubscriber({ broker: await kind.create() });
    expect(() => worker.on("x*".repeat(17), () => {})).toThrow(/wildcards/);
    await expect(
      createSubscriber({ broker: await kind.create(), deadLetter: "no spaces allowed" }),
    ).rejects.toMatchObject({ code: "bad_argument" });
  });

  it("delivers a backend's events to a WebSocket client through a relay on the same broker", async () => {
    const [kind] = sharedBrokerKinds.filter((k) => k.name === "file");
    if (!kind) throw new Error("the file broker kind is missing");
    const namespace = freshNamespace();
    const relay = await startRelay({ port: 0, broker: await kind.create() });
    const client = createClient({ url: `${relay.wsUrl}/ns/${namespace}`, WebSocket });
    const seen: Message[] = [];
    await client.subscribe("order.*", (m) => void seen.push(m)).ready;
    await using publisher = await createPublisher({ broker: await kind.create(), namespace });
    const sent = await publisher.emit("order", "shipped", { id: 7 }, { version: 1 });
    await waitFor(() => seen.length === 1, "the browser-side client");
    expect(seen[0]).toMatchObject({
      channel: "order.shipped",
      id: sent.id,
      data: { id: 7 },
      headers: { "event-version": 1 },
    });
    client.close();
    await relay.close(1000);
  });
});
