/**
 * PostgreSQL delivers every acknowledged message once, in log order, on a fresh table (offsets
 * cross 9→10, 99→100, 999→1000): live, on replay and to durable groups.
 */
import { createClient, type Message, type PubsubBudClient } from "@pubsubbud/client";
import type { RelayFrame } from "@pubsubbud/protocol";
import { compareDecimalOffsets } from "@pubsubbud/relay-core";
import type { RunningRelay } from "@pubsubbud/relay-node";
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

  it("gives a durable group the rows of a fresh table in log order across 9→10 and 99→100, each once", async () => {
    const groupTable = freshTable("group");
    const broker = await createPostgresBroker({ url: PG_URL, table: groupTable });
    try {
      const handled: string[] = [];
      const stop = await broker.consumeGroup("jobs", "workers", undefined, async (m) => {
        handled.push(m.offset);
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
