/**
 * The broker contract (`@pubsubbud/relay-core/testing`) on relay-worker's SQLite broker, inside
 * real workerd: each broker instance lives on the SQLite storage of a fresh Durable Object, as
 * one namespace's object holds it. workerd lets only that object touch its storage, so every
 * call the suite makes runs inside the object (`runInDurableObject`). One object is one relay,
 * so there is no second instance on a shared server to compare with.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Broker, LogRetention } from "@pubsubbud/relay-core";
import { brokerContract } from "@pubsubbud/relay-core/testing";
import type { Env } from "./config.js";
import { createSqliteBroker } from "./sqlite-broker.js";

brokerContract(
  "durable-object sqlite",
  async (retention) => {
    const { NAMESPACES } = env as unknown as Env;
    const stub = NAMESPACES.get(NAMESPACES.newUniqueId());
    const inside = <T>(call: () => T | Promise<T>) => runInDurableObject(stub, async () => call());
    const broker = await runInDurableObject(stub, (_instance, state) =>
      createSqliteBroker(state.storage.sql, retention),
    );
    return {
      name: broker.name,
      capabilities: broker.capabilities,
      publish: (namespace, input) => inside(() => broker.publish(namespace, input)),
      listen: async (namespace, listener) => {
        const stop = await inside(() => broker.listen(namespace, listener));
        return () => inside(stop);
      },
      head: (namespace) => inside(() => broker.head(namespace)),
      since: (namespace, position) => inside(() => broker.since(namespace, position)),
      compareOffsets: (a, b) => broker.compareOffsets(a, b),
      healthy: () => broker.healthy(),
      close: () => inside(() => broker.close()),
    } satisfies Broker;
  },
  { twoInstances: false },
);

/**
 * What retention costs in rows read, which Cloudflare bills: the once-a-second sweep must find
 * the aged end of the log and of the dedupe table from their first rows, not by reading them
 * whole. The SQL is workerd's own; the storage is wrapped only to add up each cursor's rowsRead.
 */
describe("durable-object sqlite retention", () => {
  const counted = (sql: SqlStorage) => {
    const cursors: Array<{ rowsRead: number }> = [];
    const wrapped = new Proxy(sql, {
      get(target, property) {
        if (property !== "exec") return Reflect.get(target, property);
        return (query: string, ...bindings: SqlStorageValue[]) => {
          const cursor = target.exec(query, ...bindings);
          cursors.push(cursor);
          return cursor;
        };
      },
    });
    return { sql: wrapped, read: () => cursors.reduce((sum, cursor) => sum + cursor.rowsRead, 0) };
  };

  /** A broker on a fresh object's storage, its clock in the test's hands, 1 ms per publish. */
  const withBroker = (
    retention: Partial<LogRetention>,
    run: (
      broker: Broker,
      tools: { read: () => number; tick: (ms: number) => void },
    ) => Promise<void>,
  ) => {
    const { NAMESPACES } = env as unknown as Env;
    return runInDurableObject(NAMESPACES.get(NAMESPACES.newUniqueId()), async (_object, state) => {
      let clock = 1_000_000;
      const { sql, read } = counted(state.storage.sql);
      const broker = createSqliteBroker(sql, retention, () => clock);
      const tick = (ms: number) => {
        clock += ms;
      };
      await run(broker, { read, tick });
    });
  };
  const publishMany = async (broker: Broker, tick: (ms: number) => void, n: number) => {
    for (let i = 1; i <= n; i++) {
      tick(1);
      await broker.publish("ns", { channel: "c", id: `m${i}`, data: i });
    }
  };

  it("reads a handful of rows in a sweep with nothing to trim, however long the log", async () => {
    await withBroker(
      { maxAgeMs: 60_000, dedupeMaxIds: 100_000 },
      async (broker, { read, tick }) => {
        await publishMany(broker, tick, 4_000);
        tick(1_000); // a sweep is due; nothing is old enough or past the count
        const before = read();
        await broker.publish("ns", { channel: "c", id: "late", data: 0 });
        // A scan for the aged end would read the 4,000-row log and the 4,000 remembered ids.
        expect(read() - before).toBeLessThan(20);
      },
    );
  });

  it("trims by age and by dedupe count exactly where it promises", async () => {
    const retention = { maxAgeMs: 2_000, dedupeWindowMs: 60_000, dedupeMaxIds: 1_500 };
    await withBroker(retention, async (broker, { tick }) => {
      await publishMany(broker, tick, 4_000);
      tick(1_000); // the first 2,999 messages are older than 2 s now
      await broker.publish("ns", { channel: "c", id: "late", data: 0 });
      const { epoch } = await broker.head("ns");
      expect(await broker.since("ns", { epoch, offset: "2998" })).toBeUndefined();
      const kept = await broker.since("ns", { epoch, offset: "2999" });
      expect(kept?.map((m) => m.id)).toEqual([
        ...Array.from({ length: 1_001 }, (_, i) => `m${3_000 + i}`),
        "late",
      ]);
      // The newest 1,500 ids are remembered; older ones are new again.
      expect(await broker.publish("ns", { channel: "c", id: "m4000", data: 0 })).toEqual({
        offset: "4000",
        duplicate: true,
      });
      expect((await broker.publish("ns", { channel: "c", id: "m2600", data: 0 })).duplicate).toBe(
        true,
      );
      expect((await broker.publish("ns", { channel: "c", id: "m2000", data: 0 })).duplicate).toBe(
        false,
      );
    });
  });
});
