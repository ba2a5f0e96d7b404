/**
 * A backend that INSERTs into the PostgreSQL log takes part in the one order of its namespace: its
 * row is numbered under the namespace lock, so a relay publish that commits after it can never
 * overtake it (readers follow `seq > last` and would skip a row that commits late).
 */
import type { LogMessage } from "@pubsubbud/relay-core";
import { createPostgresBroker } from "@pubsubbud/relay-node/brokers/postgres";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { waitFor } from "../helpers/wait.js";
import { dropTable, freshTable, PG_URL, pgMissing, sql } from "./postgres-helpers.js";

describe.skipIf(pgMissing)("PostgreSQL with a backend writing to the log", () => {
  const table = freshTable("backend");
  afterAll(() => dropTable(table));

  it("keeps a backend's INSERT in a transaction still open before a publish made meanwhile, for a listener on another instance", async () => {
    const writer = await createPostgresBroker({ url: PG_URL, table });
    const reader = await createPostgresBroker({ url: PG_URL, table });
    const backend = new pg.Client({ connectionString: PG_URL });
    await backend.connect();
    try {
      const received: LogMessage[] = [];
      const stop = await reader.listen("be", {
        message: (m) => void received.push(m),
        gap: () => {},
      });
      const backendPid = (await backend.query("select pg_backend_pid() as pid")).rows[0].pid;
      await backend.query("begin");
      await backend.query(
        `insert into "${table}" (namespace, seq, channel, id, data)
         values ('be', nextval('"${table}_seq"'), 'order.created', 'backend-1', '{"order":7}')`,
      );
      let published = false;
      const publish = Promise.resolve(
        writer.publish("be", { channel: "order.paid", id: "relay-1", data: { order: 7 } }),
      ).finally(() => {
        published = true;
      });
      // The publish waits for the backend's transaction (or, wrongly, overtakes it).
      const waiting = async () =>
        (
          await sql<{ n: number }>(
            `select count(*)::int as n from pg_locks
             where locktype = 'advisory' and not granted and $1 = any(pg_blocking_pids(pid))`,
            [backendPid],
          )
        )[0]?.n ?? 0;
      const deadline = Date.now() + 10_000;
      while (!published && (await waiting()) === 0) {
        if (Date.now() > deadline) throw new Error("the publish neither waited nor finished");
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await backend.query("commit");
      await publish;
      await waitFor(() => received.length >= 2, "both messages", 5_000).catch(() => {});
      expect(received.map((m) => m.id)).toEqual(["backend-1", "relay-1"]);
      await stop();
    } finally {
      await backend.end();
      await Promise.all([writer.close(), reader.close()]);
    }
  });

  it("numbers a backend's INSERT that names no seq", async () => {
    const broker = await createPostgresBroker({ url: PG_URL, table });
    try {
      const before = await broker.publish("be2", { channel: "a", id: "first", data: 1 });
      const [row] = await sql<{ seq: string }>(
        `insert into "${table}" (namespace, channel, id, data) values ('be2', 'a', 'b-1', '2')
         returning seq::text`,
      );
      expect(BigInt(row?.seq ?? 0)).toBeGreaterThan(BigInt(before.offset));
      const messages = await broker.since("be2", {
        ...(await broker.head("be2")),
        offset: before.offset,
      });
      expect(messages?.map((m) => m.id)).toEqual(["b-1"]);
    } finally {
      await broker.close();
    }
  });
});
