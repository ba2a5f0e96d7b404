/**
 * Writing to the PostgreSQL log: transactions that tell a COMMIT whose answer was lost from one the
 * server refused, and the append of a batch of publishes under the namespace lock.
 */
import {
  dedupeKey,
  type PublishInput,
  type PublishOutcome,
  PublishUncertainError,
} from "@pubsubbud/relay-core";
import pg from "pg";
import { APPEND_SETTING, namespaceLock, type PgNames } from "./postgres-schema.js";

/** SQLSTATE classes of errors caused by one statement's values: data, integrity, program limits. */
const VALUE_ERRORS = /^(22|23|54)/;
/** SQLSTATE classes after which a transaction certainly rolled back: integrity, rollback, state. */
const ROLLED_BACK = /^(23|25|40)/;

/** True when the server refused a statement for the values it carried (another batch may pass). */
export function refusedForValues(error: unknown): boolean {
  return error instanceof pg.DatabaseError && VALUE_ERRORS.test(error.code ?? "");
}

/**
 * A transaction on one pooled connection. Anything that fails before COMMIT is sent rolls back (a
 * transaction never commits without it), so it is a plain error. A COMMIT that fails without the
 * server saying it rolled back (the connection died, the query timed out) may have committed: that
 * is a {@link PublishUncertainError}. A connection that failed is destroyed, never pooled again.
 */
export async function transaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  // A checked-out client whose connection dies emits `error`; unheard, it would crash the process.
  const onError = (error: Error) => {
    broken = error;
  };
  client.on("error", onError);
  const release = (error?: Error) => {
    client.release(error);
    client.off("error", onError);
  };
  let result: T;
  try {
    await client.query("begin");
    result = await work(client);
  } catch (error) {
    // Only a session that answered (a statement refused) can roll back; any other failure
    // (a timeout, a lost connection) ends the session, and the server rolls back without us.
    if (error instanceof pg.DatabaseError)
      await client.query("rollback").catch((failed: Error) => {
        broken = failed;
      });
    else broken = error instanceof Error ? error : new Error(String(error));
    release(broken);
    throw error;
  }
  try {
    await client.query("commit");
  } catch (error) {
    const rolledBack = error instanceof pg.DatabaseError && ROLLED_BACK.test(error.code ?? "");
    release(rolledBack ? broken : (error as Error));
    if (rolledBack) throw error;
    throw new PublishUncertainError(
      `the COMMIT's answer was lost (${String(error)}); the transaction may have committed`,
      { cause: error },
    );
  }
  release(broken);
  return result;
}

interface LoggedRow {
  key: string;
  pos: string;
}

/**
 * Appends a batch of one namespace in order, in the caller's transaction: takes the namespace
 * lock, answers the dedupe keys already in the log (or earlier in the batch) as duplicates, and
 * numbers the rest after everything committed before. Returns one outcome per input.
 */
export async function appendBatch(
  db: pg.ClientBase,
  names: PgNames,
  namespace: string,
  inputs: readonly PublishInput[],
): Promise<PublishOutcome[]> {
  await db.query(
    `select set_config('${APPEND_SETTING}', $1, true), pg_advisory_xact_lock(hashtext($2))`,
    [names.table, namespaceLock(names, namespace)],
  );
  const keys = inputs.map((input) => dedupeKey(input));
  const seen = await db.query<LoggedRow>(
    `select key, seq::text as pos from ${names.log} where namespace = $1 and key = any($2::text[])`,
    [namespace, keys],
  );
  const logged = new Map(seen.rows.map((row) => [row.key, row.pos]));
  // Indexes of the first copy of each key the log does not hold yet: the rows to insert.
  const fresh: number[] = [];
  const inBatch = new Set<string>();
  keys.forEach((key, i) => {
    if (!logged.has(key) && !inBatch.has(key)) fresh.push(i);
    inBatch.add(key);
  });
  if (fresh.length > 0) {
    // Taken under the lock, so each number is above every committed row of the namespace;
    // sorted, so the batch's rows are numbered in its order.
    const numbers = await db.query<{ pos: string }>(
      "select nextval($1::regclass)::text as pos from generate_series(1, $2)",
      [names.sequence, fresh.length],
    );
    const sorted = numbers.rows
      .map((row) => BigInt(row.pos))
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    fresh.forEach((i, k) => {
      logged.set(keys[i] as string, String(sorted[k]));
    });
    const column = (pick: (input: PublishInput) => string | null) =>
      fresh.map((i) => pick(inputs[i] as PublishInput));
    await db.query(
      `insert into ${names.log} (namespace, seq, channel, id, key, data, headers)
       select $1, u.seq, u.channel, u.id, u.key, u.data::jsonb, u.headers::jsonb
       from unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
         as u(seq, channel, id, key, data, headers)`,
      [
        namespace,
        fresh.map((i) => logged.get(keys[i] as string)),
        column((input) => input.channel),
        column((input) => input.id),
        fresh.map((i) => keys[i]),
        column((input) => JSON.stringify(input.data ?? null)),
        column((input) => (input.headers === undefined ? null : JSON.stringify(input.headers))),
      ],
    );
  }
  const firstCopy = new Set(fresh);
  return keys.map((key, i) => ({
    offset: logged.get(key) as string,
    duplicate: !firstCopy.has(i),
  }));
}
