/**
 * The broker contract as a suite any broker can run: `brokerContract(name, create)` inside a
 * vitest file. It checks the `Broker` interface's promises (log order, offsets, replay after a
 * position, retention, dedupe scoped to the sender, reference counting) and what the broker's
 * `capabilities` declare (one order across instances, a shared log or a relay-local window).
 * Needs vitest (an optional peer dependency of relay-core).
 * @example
 * import { brokerContract } from "@pubsubbud/relay-core/testing";
 * brokerContract("my-broker", (retention) => createMyBroker({ url, retention }));
 */
import { afterAll, describe, expect, it } from "vitest";
import type { Broker, BrokerListener, LogMessage } from "../broker.js";
import type { LogRetention } from "../memory-log.js";

/** Options of {@link brokerContract}. */
export interface BrokerContractOptions {
  /**
   * Why the suite cannot run here (its server is missing), or false to run it. The suite is then
   * reported as skipped under this reason, never silently passed.
   * @default false
   */
  skip?: string | false;
  /**
   * Whether calling `create` twice gives two instances on one server, as two relay processes
   * would see it (false for an in-process broker such as the memory broker).
   * @default true
   */
  twoInstances?: boolean;
  /** How long a case waits for a delivery, in ms. @default 15000 */
  timeoutMs?: number;
}

/** Creates one broker instance, as one relay would; `retention` overrides its window. */
export type CreateBroker = (retention?: Partial<LogRetention>) => Promise<Broker>;

let suites = 0;

/**
 * Declares the broker contract suite for one broker. Each case opens fresh namespaces, so the
 * suite can run against a shared server; every broker it opens is closed after the suite.
 */
export function brokerContract(
  name: string,
  create: CreateBroker,
  options: BrokerContractOptions = {},
): void {
  const run = `${Date.now().toString(36)}${++suites}`;
  let counter = 0;
  const freshNamespace = () => `c${run}-${++counter}`;
  const timeoutMs = options.timeoutMs ?? 15_000;
  const waitFor = async (condition: () => boolean, what: string): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`${name}: timed out waiting for ${what}`);
      await new Promise<void>((resolve) => setTimeout(resolve, 5));
    }
  };
  const opened: Broker[] = [];
  const open = async (retention?: Partial<LogRetention>) => {
    const broker = await create(retention);
    opened.push(broker);
    return broker;
  };
  const skip = options.skip ? ` (skipped: ${options.skip})` : "";

  describe(`broker contract: ${name}${skip}`, () => {
    afterAll(async () => {
      await Promise.all(opened.map((b) => b.close()));
    });

    describe.skipIf(Boolean(options.skip))("one instance", () => {
      it("delivers every message to every listener in log order, with offsets that order them", async () => {
        const ns = freshNamespace();
        const broker = await open();
        const a = recorder();
        const b = recorder();
        await broker.listen(ns, a.listener);
        await broker.listen(ns, b.listener);
        const outcomes = [];
        for (let i = 0; i < 50; i++)
          outcomes.push(
            await broker.publish(ns, { channel: `c.${i % 3}`, id: `m${i}`, data: { i } }),
          );
        await waitFor(() => a.messages.length === 50 && b.messages.length === 50, "50 each");
        expect(a.messages.map((m) => m.data)).toEqual(outcomes.map((_, i) => ({ i })));
        expect(b.messages.map((m) => m.offset)).toEqual(a.messages.map((m) => m.offset));
        expect(a.messages.map((m) => m.offset)).toEqual(outcomes.map((o) => o.offset));
        for (let i = 1; i < 50; i++) {
          const [older, newer] = [a.messages[i - 1]?.offset ?? "", a.messages[i]?.offset ?? ""];
          expect(broker.compareOffsets(older, newer)).toBeLessThan(0);
          expect(broker.compareOffsets(newer, older)).toBeGreaterThan(0);
        }
        expect(broker.compareOffsets("", a.messages[0]?.offset ?? "")).toBeLessThan(0);
      });

      // A relay reads head and history only of namespaces it listens to, and so do these cases
      // (a broker with a relay-local window keeps one only while listening).
      it("replays exactly the messages after a position, and refuses another epoch", async () => {
        const ns = freshNamespace();
        const broker = await open();
        await broker.listen(ns, recorder().listener);
        await broker.publish(ns, { channel: "x", id: "before", data: 0 });
        const position = await broker.head(ns);
        for (let i = 1; i <= 5; i++)
          await broker.publish(ns, {
            channel: "x",
            id: `after${i}`,
            data: i,
            headers: { n: `${i}` },
          });
        const replay = await broker.since(ns, position);
        expect(replay?.map((m) => [m.id, m.data, m.headers])).toEqual(
          [1, 2, 3, 4, 5].map((i) => [`after${i}`, i, { n: `${i}` }]),
        );
        const head = await broker.head(ns);
        expect(head.epoch).toBe(position.epoch);
        expect(head.offset).toBe(replay?.at(-1)?.offset);
        expect(await broker.since(ns, head)).toEqual([]);
        expect(await broker.since(ns, { ...position, epoch: "another-epoch" })).toBeUndefined();
      });

      it("answers undefined once the position fell out of the retention window", async () => {
        const ns = freshNamespace();
        const broker = await open({ maxMessages: 10 });
        await broker.listen(ns, recorder().listener);
        const start = await broker.head(ns);
        await broker.publish(ns, { channel: "x", id: "first", data: 0 });
        const afterFirst = await broker.head(ns);
        for (let i = 1; i <= 9; i++)
          await broker.publish(ns, { channel: "x", id: `f${i}`, data: i });
        expect((await broker.since(ns, afterFirst))?.length).toBe(9);
        for (let i = 10; i <= 15; i++)
          await broker.publish(ns, { channel: "x", id: `f${i}`, data: i });
        expect(await broker.since(ns, start)).toBeUndefined();
        expect(await broker.since(ns, afterFirst)).toBeUndefined();
        const recent = await broker.head(ns);
        await broker.publish(ns, { channel: "x", id: "last", data: 16 });
        expect((await broker.since(ns, recent))?.map((m) => m.id)).toEqual(["last"]);
      });

      it("recognises a repeated id as a duplicate with the first copy's offset, delivered once", async () => {
        const ns = freshNamespace();
        const broker = await open();
        const seen = recorder();
        await broker.listen(ns, seen.listener);
        const first = await broker.publish(ns, { channel: "pay", id: "p-1", data: 1 });
        const again = await broker.publish(ns, { channel: "pay", id: "p-1", data: 1 });
        await broker.publish(ns, { channel: "pay", id: "marker", data: 2 });
        await waitFor(() => seen.messages.some((m) => m.id === "marker"), "marker");
        expect(again).toEqual({ offset: first.offset, duplicate: true });
        expect(seen.messages.map((m) => m.id)).toEqual(["p-1", "marker"]);
      });

      it("scopes the dedupe key to the sender, so one user's id never suppresses another's message", async () => {
        const ns = freshNamespace();
        const broker = await open();
        const seen = recorder();
        await broker.listen(ns, seen.listener);
        const as = (sender: string | undefined, channel: string) =>
          broker.publish(ns, {
            channel,
            id: "order-17",
            data: channel,
            ...(sender === undefined ? {} : { headers: { sender } }),
          });
        // Alice squats the id on her own channel first; the order service's message still goes out.
        expect((await as("alice", "alice.notes")).duplicate).toBe(false);
        expect((await as("orders", "orders.created")).duplicate).toBe(false);
        expect((await as(undefined, "anonymous.x")).duplicate).toBe(false);
        // The same sender retrying its id is a duplicate, with its own first offset.
        const retry = await as("orders", "orders.created");
        expect(retry.duplicate).toBe(true);
        await broker.publish(ns, { channel: "x", id: "marker", data: 0 });
        await waitFor(() => seen.messages.some((m) => m.id === "marker"), "marker");
        expect(seen.messages.map((m) => [m.id, m.data, m.headers?.sender])).toEqual([
          ["order-17", "alice.notes", "alice"],
          ["order-17", "orders.created", "orders"],
          ["order-17", "anonymous.x", undefined],
          ["marker", 0, undefined],
        ]);
        expect(retry.offset).toBe(seen.messages[1]?.offset);
      });

      it("keeps delivering to the remaining listener when one stops (reference counting)", async () => {
        const ns = freshNamespace();
        const broker = await open();
        const a = recorder();
        const b = recorder();
        const stopA = await broker.listen(ns, a.listener);
        const stopB = await broker.listen(ns, b.listener);
        await stopA();
        await broker.publish(ns, { channel: "x", id: "one", data: 1 });
        await waitFor(() => b.messages.length === 1, "b to get the message");
        await stopB();
        const c = recorder();
        await broker.listen(ns, c.listener);
        await broker.publish(ns, { channel: "x", id: "two", data: 2 });
        await waitFor(() => c.messages.length === 1, "a new listener after the last one left");
        expect(a.messages).toEqual([]);
        expect(b.messages.map((m) => m.id)).toEqual(["one"]);
        expect(c.messages.map((m) => m.id)).toEqual(["two"]);
        expect(broker.healthy()).toBe(true);
      });
      it("declares its capabilities, and answers for a namespace it never listened to with an empty log or a refusal", async () => {
        const broker = await open();
        const { sharedHistory, totalOrder } = broker.capabilities;
        expect(typeof sharedHistory).toBe("boolean");
        expect(typeof totalOrder).toBe("boolean");
        if (broker.groups) expect(typeof broker.groups.namedMembers).toBe("boolean");
        // A namespace nobody listened to: an empty log that a replay agrees with, or (a
        // relay-local window) a refusal that says why; never a placeholder position.
        const ns = freshNamespace();
        // head may answer at once, or throw at once: both are caught.
        const head = await Promise.resolve()
          .then(() => broker.head(ns))
          .catch((error: unknown) => error);
        if (head instanceof Error) {
          expect(sharedHistory).toBe(false);
          expect(head.message).toMatch(/listen/);
        } else {
          expect((head as { offset: string }).offset).toBe("");
          expect(await broker.since(ns, head as { epoch: string; offset: string })).toEqual([]);
        }
      });
    });

    describe.skipIf(Boolean(options.skip) || options.twoInstances === false)(
      options.twoInstances === false
        ? "two instances on one server (skipped: each create() is a server of its own)"
        : "two instances on one server",
      () => {
        it("gives listeners on both instances every message from both, in one order", async () => {
          const ns = freshNamespace();
          const [one, two] = await Promise.all([open(), open()]);
          const onOne = recorder();
          const onTwo = recorder();
          await one.listen(ns, onOne.listener);
          await two.listen(ns, onTwo.listener);
          await Promise.all(
            Array.from({ length: 60 }, (_, i) =>
              (i % 2 ? one : two).publish(ns, { channel: `o.${i % 4}`, id: `id${i}`, data: i }),
            ),
          );
          await waitFor(
            () => onOne.messages.length === 60 && onTwo.messages.length === 60,
            "60 on each instance",
          );
          // Each publisher's order everywhere; one order for all where the broker promises it.
          const from = (messages: LogMessage[], parity: number) =>
            messages.filter((m) => (m.data as number) % 2 === parity).map((m) => m.id);
          for (const parity of [0, 1])
            expect(from(onTwo.messages, parity)).toEqual(from(onOne.messages, parity));
          if (one.capabilities.totalOrder)
            expect(onTwo.messages.map((m) => m.id)).toEqual(onOne.messages.map((m) => m.id));
          expect(new Set(onOne.messages.map((m) => m.data)).size).toBe(60);
          if (one.capabilities.sharedHistory) {
            expect(onTwo.messages.map((m) => m.offset)).toEqual(
              onOne.messages.map((m) => m.offset),
            );
            const replay = await two.since(ns, { epoch: (await one.head(ns)).epoch, offset: "" });
            expect(replay?.map((m) => m.id)).toEqual(onOne.messages.map((m) => m.id));
          } else {
            // A relay-local window: each instance numbers what it received itself, so a position
            // from one instance proves nothing on the other, which says so.
            const position = await one.head(ns);
            expect(position.epoch).not.toBe((await two.head(ns)).epoch);
            expect(await two.since(ns, position)).toBeUndefined();
          }
        });
      },
    );
  });
}

function recorder() {
  const messages: LogMessage[] = [];
  let gaps = 0;
  const listener: BrokerListener = {
    message: (m) => void messages.push(m),
    gap: () => void gaps++,
  };
  return { messages, listener, gaps: () => gaps };
}
