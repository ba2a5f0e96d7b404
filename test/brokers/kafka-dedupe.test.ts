/**
 * Kafka dedupe across relay instances, on the real Kafka: two broker instances (two relays, as
 * far as Kafka can tell) on one topic, a message id retried through either of them, and copies
 * appended behind the relays' backs (a producer's own resend). Every instance must deliver the
 * key once, live and in replay, and answer a retry with the first copy's offset.
 */
import type { Broker, PublishInput } from "@pubsubbud/relay-core";
import { createKafkaBroker } from "@pubsubbud/relay-node/brokers/kafka";
import { afterAll, describe, expect, it } from "vitest";
import { missing } from "../helpers/requirements.js";
import { reachable, services } from "../helpers/services.js";
import { waitFor } from "../helpers/wait.js";
import { appendCopy, rawProducer, recorder } from "./kafka-helpers.js";

const url = `kafka://127.0.0.1:${services.kafka.port}`;
const up = await reachable(services.kafka.port);
const run = Date.now().toString(36);
let counter = 0;
const freshNamespace = () => `kd${run}-${++counter}`;

describe.skipIf(missing(`Kafka on 127.0.0.1:${services.kafka.port}`, up, services.kafka.fix))(
  "Kafka dedupe across instances",
  () => {
    const opened: Broker[] = [];
    const open = async () => {
      const broker = await createKafkaBroker({ url });
      opened.push(broker);
      return broker;
    };
    const raw = rawProducer(`kd-${run}`);
    afterAll(async () => {
      await Promise.all(opened.map((b) => b.close()));
      await raw.close();
    });

    const resend = (ns: string, input: PublishInput) => appendCopy(raw, ns, input);
    /** Two instances, both listening to `ns`. */
    const twoListening = async (ns: string) => {
      const [one, two] = await Promise.all([open(), open()]);
      const onOne = recorder();
      const onTwo = recorder();
      await one.listen(ns, onOne.listener);
      await two.listen(ns, onTwo.listener);
      return { one, two, onOne, onTwo };
    };

    it("answers a retry racing through the other instance with the first copy's offset, and delivers it once on both", async () => {
      const ns = freshNamespace();
      const { one, two, onOne, onTwo } = await twoListening(ns);
      const input = { channel: "pay", id: "p-1", data: 1, headers: { sender: "alice" } };
      // Neither instance has read the id yet, so both append it: the feeds must agree.
      const outcomes = await Promise.all([one.publish(ns, input), two.publish(ns, input)]);
      await one.publish(ns, { channel: "pay", id: "marker", data: 2 });
      await waitFor(
        () => onOne.ids().includes("marker") && onTwo.ids().includes("marker"),
        "the marker on both instances",
      );
      expect(onOne.ids()).toEqual(["p-1", "marker"]);
      expect(onTwo.messages).toEqual(onOne.messages);
      const delivered = onOne.messages[0]?.offset;
      expect(outcomes.map((o) => o.offset)).toEqual([delivered, delivered]);
      expect(outcomes.map((o) => o.duplicate).sort()).toEqual([false, true]);
    });

    it("drops a retry on an instance that started listening after the first copy", async () => {
      const ns = freshNamespace();
      const [one, two] = await Promise.all([open(), open()]);
      const input = { channel: "pay", id: "p-2", data: 1 };
      const first = await one.publish(ns, input);
      const onTwo = recorder();
      await two.listen(ns, onTwo.listener);
      // Two learnt the first copy when it started listening: the retry is answered, not appended.
      expect(await two.publish(ns, input)).toEqual({ offset: first.offset, duplicate: true });
      await resend(ns, input);
      await two.publish(ns, { channel: "pay", id: "marker", data: 2 });
      await waitFor(() => onTwo.ids().includes("marker"), "the marker");
      expect(onTwo.ids()).toEqual(["marker"]);
    });

    it("answers a retry through an instance that does not listen with the first copy's offset", async () => {
      const ns = freshNamespace();
      const [one, two] = await Promise.all([open(), open()]);
      const onOne = recorder();
      await one.listen(ns, onOne.listener);
      const input = { channel: "pay", id: "p-3", data: 1, headers: { sender: "bob" } };
      const first = await one.publish(ns, input);
      expect(await two.publish(ns, input)).toEqual({ offset: first.offset, duplicate: true });
      await two.publish(ns, { channel: "pay", id: "marker", data: 2 });
      await waitFor(() => onOne.ids().includes("marker"), "the marker");
      expect(onOne.ids()).toEqual(["p-3", "marker"]);
    });

    it("never replays a copy that live delivery dropped, on any instance", async () => {
      const ns = freshNamespace();
      const [one, two, three] = await Promise.all([open(), open(), open()]);
      const onOne = recorder();
      await one.listen(ns, onOne.listener);
      const input = { channel: "pay", id: "p-4", data: 1, headers: { sender: "carol" } };
      await one.publish(ns, input);
      const position = await one.head(ns);
      await resend(ns, input);
      await one.publish(ns, { channel: "pay", id: "marker", data: 2 });
      await waitFor(() => onOne.ids().includes("marker"), "the marker");
      expect(onOne.ids()).toEqual(["p-4", "marker"]);
      // One answers from its live feed, two from a seed read, three after listening.
      await three.listen(ns, recorder().listener);
      for (const broker of [one, two, three])
        expect((await broker.since(ns, position))?.map((m) => m.id)).toEqual(["marker"]);
      const all = { epoch: position.epoch, offset: "" };
      for (const broker of [one, two, three])
        expect((await broker.since(ns, all))?.map((m) => m.id)).toEqual(["p-4", "marker"]);
    });

    it("delivers the same id from two senders as two messages, live and in replay", async () => {
      const ns = freshNamespace();
      const { one, two, onOne, onTwo } = await twoListening(ns);
      const start = await one.head(ns);
      const alice = await one.publish(ns, {
        channel: "c",
        id: "x",
        data: 1,
        headers: { sender: "alice" },
      });
      const bob = await two.publish(ns, {
        channel: "c",
        id: "x",
        data: 2,
        headers: { sender: "bob" },
      });
      expect([alice.duplicate, bob.duplicate]).toEqual([false, false]);
      await waitFor(() => onOne.messages.length === 2 && onTwo.messages.length === 2, "both");
      expect(onOne.messages.map((m) => m.data)).toEqual([1, 2]);
      expect(onTwo.messages).toEqual(onOne.messages);
      expect((await two.since(ns, start))?.map((m) => m.data)).toEqual([1, 2]);
    });
  },
);
