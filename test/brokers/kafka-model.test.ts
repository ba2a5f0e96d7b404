/**
 * Kafka dedupe against a reference model, on the real Kafka: generated sequences of publishes,
 * retries through either instance, racing retries, resends behind the relays' backs and a late
 * listener. The model: each (sender, id) is delivered once, where it first appeared, to every
 * listener that was listening then, and every replay shows the same list.
 */
import type { Broker, LogMessage, PublishInput } from "@pubsubbud/relay-core";
import { createKafkaBroker } from "@pubsubbud/relay-node/brokers/kafka";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { missing } from "../helpers/requirements.js";
import { reachable, services } from "../helpers/services.js";
import { waitFor } from "../helpers/wait.js";
import { appendCopy, rawProducer, recorder } from "./kafka-helpers.js";

const up = await reachable(services.kafka.port);
const run = Date.now().toString(36);
let counter = 0;

type Step =
  | { op: "publish"; key: number; sender: number; via: 0 | 1 }
  | { op: "race"; key: number; sender: number }
  | { op: "resend"; key: number; sender: number }
  | { op: "listen" };

const key = fc.integer({ min: 0, max: 3 });
const sender = fc.integer({ min: 0, max: 1 });
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant("publish" as const),
      key,
      sender,
      via: fc.constantFrom(0 as const, 1 as const),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("race" as const), key, sender }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("resend" as const), key, sender }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("listen" as const) }) },
);

const inputOf = (k: number, s: number): PublishInput => ({
  channel: `c.${k}`,
  id: `k${k}`,
  data: { k, s },
  headers: { sender: `user${s}` },
});
const nameOf = (m: { id: string; headers?: LogMessage["headers"] }) =>
  `${m.headers?.sender}/${m.id}`;

describe.skipIf(missing(`Kafka on 127.0.0.1:${services.kafka.port}`, up, services.kafka.fix))(
  "Kafka dedupe model",
  () => {
    let instances: Broker[] = [];
    const raw = rawProducer(`km-${run}`);
    beforeAll(async () => {
      instances = await Promise.all(
        [0, 1, 2].map(() => createKafkaBroker({ url: `kafka://127.0.0.1:${services.kafka.port}` })),
      );
    });
    afterAll(async () => {
      await Promise.all(instances.map((b) => b.close()));
      await raw.close();
    });

    it("delivers each sender's id once on every instance, live and in replay, whoever retries it", async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 12 }), async (steps) => {
          const [one, two, three] = instances as [Broker, Broker, Broker];
          const ns = `km${run}-${++counter}`;
          const onOne = recorder();
          const onTwo = recorder();
          const stops = [await one.listen(ns, onOne.listener)];
          const expected: string[] = [];
          let twoFrom: number | undefined;
          const acks = new Map<string, string[]>();
          const ack = (name: string, offset: string) =>
            acks.set(name, [...(acks.get(name) ?? []), offset]);
          for (const step of steps) {
            if (step.op === "listen") {
              if (twoFrom === undefined) {
                stops.push(await two.listen(ns, onTwo.listener));
                twoFrom = expected.length;
              }
              continue;
            }
            const input = inputOf(step.key, step.sender);
            const name = nameOf(input);
            if (!expected.includes(name)) expected.push(name);
            if (step.op === "publish")
              ack(name, (await instances[step.via]?.publish(ns, input))?.offset ?? "");
            else if (step.op === "race")
              for (const outcome of await Promise.all([
                one.publish(ns, input),
                two.publish(ns, input),
              ]))
                ack(name, outcome.offset);
            else await appendCopy(raw, ns, input);
          }
          await one.publish(ns, { channel: "end", id: "marker", data: 0 });
          const done = (r: ReturnType<typeof recorder>) =>
            r.messages.some((m) => m.id === "marker");
          await waitFor(() => done(onOne) && (twoFrom === undefined || done(onTwo)), "the marker");
          const names = (messages: LogMessage[]) =>
            messages.filter((m) => m.id !== "marker").map(nameOf);
          expect(names(onOne.messages)).toEqual(expected);
          if (twoFrom !== undefined) expect(names(onTwo.messages)).toEqual(expected.slice(twoFrom));
          const offsetOf = new Map(onOne.messages.map((m) => [nameOf(m), m.offset]));
          for (const [name, offsets] of acks)
            expect(offsets.map(() => offsetOf.get(name))).toEqual(offsets);
          const all = { epoch: (await one.head(ns)).epoch, offset: "" };
          for (const broker of [one, two, three])
            expect(names((await broker.since(ns, all)) ?? [])).toEqual(expected);
          for (const stop of stops) await stop();
        }),
        {
          numRuns: 12,
          // Shrunk from a failure of the per-instance dedupe: a racing retry, then one more.
          examples: [
            [
              [
                { op: "race", key: 0, sender: 0 },
                { op: "publish", key: 0, sender: 0, via: 0 },
              ],
            ],
          ],
        },
      );
    }, 120_000);
  },
);
