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

describe("durable-object sqlite byte bound and stored ids", () => {
  /** Runs `body` on a fresh object's storage. */
  const onFreshObject = <T>(body: (sql: SqlStorage) => Promise<T>) => {
    const { NAMESPACES } = env as unknown as Env;
    return runInDurableObject(NAMESPACES.get(NAMESPACES.newUniqueId()), (_object, state) =>
      body(state.storage.sql),
    );
  };
  const kilobyte = "k".repeat(1_000);

  it("keeps the replay window under maxBytes and answers undefined for a resume from before it", async () => {
    await onFreshObject(async (sql) => {
      const broker = createSqliteBroker(sql, { maxBytes: 20_000, maxMessages: 10_000 });
      for (let i = 1; i <= 200; i++)
        await broker.publish("ns", { channel: "c", id: `m${i}`, data: kilobyte });
      const { epoch } = await broker.head("ns");
      // 200 messages of about 1.1 KB each: far more than 20 KB, far fewer than 10,000.
      expect(await broker.since("ns", { epoch, offset: "" })).toBeUndefined();
      expect(await broker.since("ns", { epoch, offset: "150" })).toBeUndefined();
      const kept = await broker.since("ns", { epoch, offset: "190" });
      expect(kept?.map((m) => m.id)).toEqual(Array.from({ length: 10 }, (_, i) => `m${191 + i}`));
      // At most 10% and one message over the bound, whatever a resume asks for.
      const stored = sql
        .exec<{ n: number; bytes: number }>(
          "SELECT COUNT(*) AS n, SUM(length(data)) AS bytes FROM pubsubbud_log",
        )
        .one();
      expect(stored.bytes).toBeLessThan(20_000 * 1.1 + 1_100);
      expect(stored.n).toBeGreaterThanOrEqual(10);
    });
  });

  it("keeps the byte bound across a restart of the object", async () => {
    await onFreshObject(async (sql) => {
      const retention = { maxBytes: 20_000 };
      const first = createSqliteBroker(sql, retention);
      for (let i = 1; i <= 15; i++)
        await first.publish("ns", { channel: "c", id: `a${i}`, data: kilobyte });
      // A wake: a new broker on the same storage goes on counting from the stored rows.
      const woken = createSqliteBroker(sql, retention);
      for (let i = 1; i <= 15; i++)
        await woken.publish("ns", { channel: "c", id: `b${i}`, data: kilobyte });
      const { epoch } = await woken.head("ns");
      expect(await woken.since("ns", { epoch, offset: "" })).toBeUndefined();
      const bytes = sql
        .exec<{ b: number }>("SELECT SUM(length(data)) AS b FROM pubsubbud_log")
        .one();
      expect(bytes.b).toBeLessThan(20_000 * 1.1 + 1_100);
    });
  });

  it("replays ids holding lone UTF-16 surrogates exactly as they were published, and dedupes them", async () => {
    await onFreshObject(async (sql) => {
      const ids = ["x\ud800", "x\ud801", "x\ufffd", "\udc00y", "y\u0000a"];
      // Compared as JSON (`"x\\ud800"`): a lone surrogate in a failure message would break the
      // pool's own WebSocket to vitest, which sends text as UTF-8.
      const escaped = (list: string[] | undefined) => list?.map((id) => JSON.stringify(id));
      const broker = createSqliteBroker(sql);
      const offsets = [];
      for (const id of ids)
        offsets.push((await broker.publish("ns", { channel: "c", id, data: 1 })).offset);
      expect(offsets).toEqual(["1", "2", "3", "4", "5"]);
      const { epoch } = await broker.head("ns");
      const replayed = await broker.since("ns", { epoch, offset: "" });
      expect(escaped(replayed?.map((m) => m.id))).toEqual(escaped(ids));
      // After a wake too, and the dedupe key of each id is still its own.
      const woken = createSqliteBroker(sql);
      const again = await woken.since("ns", { epoch, offset: "" });
      expect(escaped(again?.map((m) => m.id))).toEqual(escaped(ids));
      expect(await woken.publish("ns", { channel: "c", id: "x\ud801", data: 1 })).toEqual({
        offset: "2",
        duplicate: true,
      });
      expect((await woken.publish("ns", { channel: "c", id: "x\udbff", data: 1 })).duplicate).toBe(
        false,
      );
    });
  });

  it("migrates the tables of schema 1: ids stay readable, old retries stay duplicates, bytes are counted", async () => {
    await onFreshObject(async (sql) => {
      // The tables as relay-worker 0.1.0 made them, with a message and a subscription in them.
      sql.exec(`CREATE TABLE pubsubbud_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
      sql.exec(`CREATE TABLE pubsubbud_log (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, channel TEXT NOT NULL,
         data TEXT NOT NULL, headers TEXT, ts INTEGER NOT NULL)`);
      sql.exec(
        `CREATE TABLE pubsubbud_seen (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, ts INTEGER NOT NULL)`,
      );
      sql.exec(`CREATE INDEX pubsubbud_seen_ts ON pubsubbud_seen (ts)`);
      sql.exec(`CREATE TABLE pubsubbud_subs (session TEXT NOT NULL, id TEXT NOT NULL,
         pattern TEXT NOT NULL, PRIMARY KEY (session, id))`);
      sql.exec(
        `INSERT INTO pubsubbud_meta VALUES ('epoch', 'old-epoch'), ('trimmed_through', '3')`,
      );
      const now = Date.now();
      for (const [seq, id] of [
        [4, 'say "hi"'],
        [5, "plain"],
      ] as const) {
        sql.exec(
          `INSERT INTO pubsubbud_log VALUES (?, ?, 'c', ?, NULL, ?)`,
          seq,
          id,
          JSON.stringify(kilobyte),
          now,
        );
        // The dedupe key of an anonymous sender (relay-core's dedupeKey).
        sql.exec(`INSERT INTO pubsubbud_seen VALUES (?, ?, ?)`, `0::${id}`, seq, now);
      }
      sql.exec(`INSERT INTO pubsubbud_subs VALUES ('session-1', 'sub-1', 'c.*')`);

      const broker = createSqliteBroker(sql, { maxBytes: 2_500 });
      const position = { epoch: "old-epoch", offset: "3" };
      expect((await broker.since("ns", position))?.map((m) => [m.id, m.offset])).toEqual([
        ['say "hi"', "4"],
        ["plain", "5"],
      ]);
      expect(await broker.publish("ns", { channel: "c", id: "plain", data: 0 })).toEqual({
        offset: "5",
        duplicate: true,
      });
      expect(sql.exec("SELECT value FROM pubsubbud_meta WHERE key = 'schema'").one().value).toBe(
        "2",
      );
      expect(sql.exec("SELECT id FROM pubsubbud_subs").one().id).toBe('"sub-1"');
      // The migrated rows count: with a third 1 KB message the log is over 2,500 bytes by 10%,
      // and the oldest goes.
      await broker.publish("ns", { channel: "c", id: "new", data: kilobyte });
      expect(await broker.since("ns", position)).toBeUndefined();
      expect((await broker.since("ns", { ...position, offset: "4" }))?.map((m) => m.id)).toEqual([
        "plain",
        "new",
      ]);
    });
  });
});
