/**
 * PostgreSQL keeps one order per namespace, the publish order of each connection, with every
 * acknowledged message delivered once: on a fresh table (offsets cross 9→10, 99→100, 999→1000),
 * with publishes pipelined without awaiting, and with generated interleavings of publishers on two
 * relay instances compared against the model of a log (a linear extension of "acked before sent").
 */
import { createClient, type Message, type PubsubBudClient } from "@pubsubbud/client";
import type { RelayFrame } from "@pubsubbud/protocol";
import { compareDecimalOffsets } from "@pubsubbud/relay-core";
import type { RunningRelay } from "@pubsubbud/relay-node";
import fc from "fast-check";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPostgresBroker } from "@pubsubbud/relay-node/brokers/postgres";
import { openRaw, rawClientId } from "../helpers/raw.js";
import { waitFor } from "../helpers/wait.js";
import {
  type Acked,
  dropTable,
  freshTable,
  logOrder,
  offsetsOf,
  PG_URL,
  pgMissing,
  startInstances,
} from "./postgres-helpers.js";

const opened: PubsubBudClient[] = [];
function open(relay: RunningRelay, ns: string): PubsubBudClient {
  const client = createClient({
    url: `${relay.wsUrl}/ns/${ns}`,
    WebSocket,
    // 2,000 publishes go out before the first ack returns.
    maxQueuedPublishes: 5_000,
  });
  opened.push(client);
  return client;
}

/** A subscriber to `feed.*` and what it received. */
async function subscriber(relay: RunningRelay, ns: string): Promise<Message[]> {
  const received: Message[] = [];
  await open(relay, ns).subscribe("feed.*", (m) => void received.push(m)).ready;
  return received;
}

/** Waits until every id arrived (or a while passed), so the equality below shows what differs. */
async function settle(received: readonly { id: string }[], ids: readonly string[]) {
  const arrived = () => {
    const seen = new Set(received.map((m) => m.id));
    return ids.every((id) => seen.has(id));
  };
  await waitFor(arrived, `${ids.length} messages`, 20_000).catch(() => {});
}

/** Offsets of consecutive messages compare as increasing (log order, nothing twice). */
function increasing(offsets: readonly string[]): boolean {
  return offsets.every((o, i) => i === 0 || compareDecimalOffsets(offsets[i - 1] as string, o) < 0);
}

describe.skipIf(pgMissing)("PostgreSQL order and exactly-once", () => {
  const table = freshTable("order");
  let relays: [RunningRelay, RunningRelay] & AsyncDisposable;
  beforeAll(async () => {
    relays = await startInstances(table);
  });
  afterAll(async () => {
    for (const client of opened) client.close();
    await relays?.[Symbol.asyncDispose]();
    await dropTable(table);
  });

  it("delivers over 1,000 messages on a fresh table to a subscriber on each instance once each, in log order, and replays them in order from before 9→10 and 99→100", async () => {
    const ns = "crossing";
    const [one, two] = relays;
    const receivers = [await subscriber(one, ns), await subscriber(two, ns)];
    const publishers = [open(one, ns), open(two, ns)];
    const acked: Acked[] = [];
    // Rounds of pipelined publishes from both instances, so live reads carry several rows.
    for (let round = 0; round < 11; round++)
      await Promise.all(
        publishers.flatMap((publisher, p) =>
          Array.from({ length: 50 }, (_, k) =>
            publisher
              .publish(`feed.${p}`, { round, p, k })
              .then(({ id, offset }) => void acked.push({ id, offset })),
          ),
        ),
      );
    const log = logOrder(acked);
    expect(log).toHaveLength(1_100);
    for (const received of receivers) {
      await settle(received, log);
      expect(received.map((m) => m.id)).toEqual(log);
      expect(increasing(offsetsOf(received))).toBe(true);
    }

    const sorted = [...acked].sort((a, b) => compareDecimalOffsets(a.offset, b.offset));
    for (const digits of [2, 3]) {
      // Resume from two messages before the first offset with `digits` digits.
      const first = sorted.findIndex((a) => a.offset.length === digits);
      expect(first).toBeGreaterThanOrEqual(2);
      const from = sorted[first - 2] as Acked;
      const peer = await openRaw(`${one.wsUrl}/ns/${ns}`);
      const welcome = await (async () => {
        peer.send({ type: "hello", client: rawClientId("pg") });
        return peer.next((f) => f.type === "welcome", "welcome");
      })();
      peer.close();
      if (welcome.type !== "welcome") throw new Error("no welcome");
      const again = await openRaw(`${two.wsUrl}/ns/${ns}`);
      again.send({
        type: "hello",
        client: rawClientId("pg"),
        resume: { epoch: welcome.epoch, offset: from.offset },
        subscriptions: [{ id: "all", pattern: "feed.*" }],
      });
      const resumed = await again.next((f) => f.type === "welcome", "resumed welcome");
      expect(resumed).toMatchObject({ recovered: true });
      const replayed = () =>
        again.frames.filter(
          (f): f is Extract<RelayFrame, { type: "message" }> => f.type === "message",
        );
      const missed = log.slice(first - 1);
      await settle(replayed(), missed);
      expect(replayed().map((m) => m.id)).toEqual(missed);
      again.close();
    }
  }, 120_000);

  it("keeps 2,000 publishes pipelined from one connection in publish order, for a subscriber on each instance", async () => {
    const ns = "pipelined";
    const [one, two] = relays;
    const receivers = [await subscriber(one, ns), await subscriber(two, ns)];
    const publisher = open(one, ns);
    const acks = await Promise.all(
      Array.from({ length: 2_000 }, (_, n) => publisher.publish(`feed.${n % 7}`, n)),
    );
    const sent = acks.map((ack) => ack.id);
    expect(increasing(acks.map((ack) => ack.offset))).toBe(true);
    for (const received of receivers) {
      await settle(received, sent);
      expect(received.map((m) => m.data)).toEqual(sent.map((_, n) => n));
      expect(received.map((m) => m.id)).toEqual(sent);
    }
  }, 120_000);

  it("orders generated interleavings of pipelined and awaited publishers on two instances as one log every subscriber sees", async () => {
    const step = fc.record({
      publisher: fc.nat({ max: 2 }),
      count: fc.integer({ min: 1, max: 40 }),
      awaited: fc.boolean(),
    });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 10 }), async (steps) => {
        const ns = `model${run++}`;
        const [one, two] = relays;
        const receivers = [await subscriber(one, ns), await subscriber(two, ns)];
        const publishers = [open(one, ns), open(two, ns), open(one, ns)];
        // A logical clock: a message acked before another was sent must precede it in the log.
        let clock = 0;
        const sent: Array<{ publisher: number; sentAt: number; ackedAt: number } & Acked> = [];
        const inFlight: Promise<void>[] = [];
        for (const { publisher, count, awaited } of steps) {
          const batch = Array.from({ length: count }, () => {
            const record = { publisher, sentAt: clock++, ackedAt: -1, id: "", offset: "" };
            sent.push(record);
            return (publishers[publisher] as PubsubBudClient)
              .publish("feed.x", record.sentAt)
              .then(({ id, offset }) => {
                Object.assign(record, { id, offset, ackedAt: clock++ });
              });
          });
          if (awaited) await Promise.all(batch);
          else inFlight.push(...batch);
        }
        await Promise.all(inFlight);
        const log = [...sent].sort((a, b) => compareDecimalOffsets(a.offset, b.offset));
        for (const [i, later] of log.entries())
          for (const earlier of log.slice(i + 1)) {
            const violated =
              earlier.ackedAt < later.sentAt ||
              (earlier.publisher === later.publisher && earlier.sentAt < later.sentAt);
            if (violated)
              throw new Error(
                `message sent at ${earlier.sentAt} (publisher ${earlier.publisher}) is logged after one sent at ${later.sentAt} (publisher ${later.publisher})`,
              );
          }
        const ids = log.map((r) => r.id);
        for (const received of receivers) {
          await settle(received, ids);
          expect(received.map((m) => m.id)).toEqual(ids);
        }
      }),
      // The shrunk counterexample of the code before the per-namespace queue: two pipelined
      // publishes of one connection swapped places.
      { numRuns: 6, examples: [[[{ publisher: 0, count: 2, awaited: false }]]] },
    );
  }, 240_000);

  it("gives a durable group the rows of a fresh table in log order across 9→10 and 99→100, each once", async () => {
    const groupTable = freshTable("group");
    const broker = await createPostgresBroker({ url: PG_URL, table: groupTable });
    try {
      const handled: Array<string | undefined> = [];
      const stop = await broker.groups.consume("jobs", "workers", undefined, async (m) => {
        handled.push(m.offset); // a shared log: every group message carries its offset
      });
      const acks = await Promise.all(
        Array.from({ length: 120 }, (_, n) =>
          broker.publish("jobs", { channel: "job", id: `j${n}`, data: n }),
        ),
      );
      await waitFor(() => handled.length >= acks.length, "every job", 20_000).catch(() => {});
      await stop();
      expect(handled).toEqual(acks.map((ack) => ack.offset).sort(compareDecimalOffsets));
      expect(handled.slice(0, 12)).toEqual([
        "1",
        "2",
        "3",
        "4",
        "5",
        "6",
        "7",
        "8",
        "9",
        "10",
        "11",
        "12",
      ]);
    } finally {
      await broker.close();
      await dropTable(groupTable);
    }
  });
});
