/**
 * One member of a PostgreSQL durable group: a cursor row per group, held (FOR UPDATE) while the
 * member handles the next rows, so each goes to one member, and moved only after the handlers
 * settled.
 */
import type { LogMessage } from "@pubsubbud/relay-core";
import type pg from "pg";
import { COLUMNS, type Row, toMessage } from "./postgres-rows.js";
import type { PgNames } from "./postgres-schema.js";
import { transaction } from "./postgres-write.js";
import { pollingMember } from "./shared.js";

/** What a member works with. */
export interface PostgresGroupOptions {
  pool: pg.Pool;
  names: PgNames;
  namespace: string;
  group: string;
  handle(message: LogMessage): Promise<void>;
}

/**
 * Creates the group's cursor if it is new (at the log's end) and starts a member; resolves with
 * how to stop it.
 */
export async function joinPostgresGroup(
  member: PostgresGroupOptions,
): Promise<() => Promise<void>> {
  const { pool, names, namespace, group } = member;
  await pool.query(
    `insert into ${names.groups} (namespace, grp, cursor)
     select $1, $2, coalesce(max(seq), 0) from ${names.log} where namespace = $1
     on conflict do nothing`,
    [namespace, group],
  );
  return pollingMember(() => groupTurn(member));
}

/** Handles the (up to 10) rows after the group's cursor; resolves with how many there were. */
function groupTurn({
  pool,
  names,
  namespace,
  group,
  handle,
}: PostgresGroupOptions): Promise<number> {
  const { log: t, groups: g } = names;
  return transaction(pool, async (db) => {
    const held = await db.query(
      `select cursor::text as after from ${g} where namespace = $1 and grp = $2 for update`,
      [namespace, group],
    );
    const { rows } = await db.query<Row>(
      `select ${COLUMNS} from ${t} l where l.namespace = $1 and l.seq > $2 order by l.seq limit 10`,
      [namespace, held.rows[0]?.after ?? "0"],
    );
    for (const row of rows) {
      await handle(toMessage(row));
      await db.query(`update ${g} set cursor = $3 where namespace = $1 and grp = $2`, [
        namespace,
        group,
        row.pos,
      ]);
    }
    return rows.length;
  });
}
