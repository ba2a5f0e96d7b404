/**
 * The PostgreSQL broker's objects and their migration: created on first start, and tables of
 * older versions (deduplicated on the bare id) brought forward on start. Every statement is
 * idempotent, and the whole setup runs under one advisory lock, so instances may start together.
 */
import type pg from "pg";
import { badBrokerUrl } from "./shared.js";

/** The names of one log table's objects. Checked plain names, so they are safe to quote. */
export interface PgNames {
  /** The table name as given. */
  readonly table: string;
  /** The quoted log table. */
  readonly log: string;
  readonly meta: string;
  readonly groups: string;
  /** The sequence, as `nextval` takes it. */
  readonly sequence: string;
  /** The NOTIFY channel of the trigger. */
  readonly channel: string;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,50}$/;

/** The names of `table`'s objects; fails with a clear error when it or `channel` is not plain. */
export function pgNames(url: string, table: string, channel: string): PgNames {
  for (const [name, value] of [
    ["table", table],
    ["channel", channel],
  ])
    if (!IDENTIFIER.test(value as string))
      throw badBrokerUrl(
        url,
        `${name} ${JSON.stringify(value)} is not a plain name`,
        `that ${name} is 1–51 of a–z 0–9 _`,
      );
  return {
    table,
    log: `"${table}"`,
    meta: `"${table}_meta"`,
    groups: `"${table}_groups"`,
    sequence: `"${table}_seq"`,
    channel,
  };
}

/**
 * The advisory lock every append to a namespace takes, the broker's and a backend's INSERT alike
 * (the trigger takes it too): one writer per namespace, so sequence order is commit order.
 */
export const namespaceLock = (names: PgNames, namespace: string) =>
  `pubsubbud ${names.table} ${namespace}`;

/**
 * The transaction setting that marks an append by the broker itself: it already holds the lock
 * and numbered its rows, so the trigger leaves them alone. Its value is the table's name.
 */
export const APPEND_SETTING = "pubsubbud.append";

/**
 * The SQL twin of relay-core's `dedupeKey` (the id scoped to the `sender` header, length-prefixed
 * in UTF-16 code units like JavaScript's `length`): it keys rows a backend inserts and rows
 * written before the key column existed. The broker's own rows carry `dedupeKey(input)` itself.
 */
const keyFunction = (
  n: PgNames,
) => `create or replace function "${n.table}_key"(headers jsonb, id text)
  returns text language sql immutable as $$
    select (char_length(s) + char_length(regexp_replace(s, '[^\\U00010000-\\U0010FFFF]', '', 'g')))::text
      || ':' || s || ':' || id
    from (select case when jsonb_typeof(headers->'sender') = 'string' then headers->>'sender'
                      else '' end as s) as scope
  $$`;

/**
 * A row a backend INSERTs (not the broker) is numbered under the namespace lock, whatever `seq`
 * it brought: numbered outside the lock, it could commit after a higher number and readers that
 * follow `seq > last` would skip it. Its dedupe key is computed from its headers and id.
 */
const stampFunction = (n: PgNames) => `create or replace function "${n.table}_stamp"()
  returns trigger language plpgsql as $$
  begin
    if current_setting('${APPEND_SETTING}', true) is distinct from '${n.table}' then
      perform pg_advisory_xact_lock(hashtext('pubsubbud ${n.table} ' || new.namespace));
      new.seq := nextval('${n.sequence}');
      new.key := "${n.table}_key"(new.headers, new.id);
    end if;
    return new;
  end $$`;

/** Creates what is missing and migrates a table of an older version; safe to run on every start. */
export async function ensureSchema(db: pg.ClientBase, n: PgNames): Promise<void> {
  await db.query("select pg_advisory_xact_lock(hashtext($1))", [`pubsubbud setup ${n.table}`]);
  await db.query(`create table if not exists ${n.log} (
    namespace text not null, seq bigint not null, channel text not null, id text not null,
    data jsonb not null, headers jsonb, ts timestamptz not null default clock_timestamp(),
    key text not null, primary key (namespace, seq))`);
  await db.query(`create sequence if not exists ${n.sequence}`);
  await db.query(
    `create table if not exists ${n.meta} (namespace text primary key, epoch text not null, trimmed bigint not null default 0)`,
  );
  await db.query(
    `create table if not exists ${n.groups} (namespace text not null, grp text not null, cursor bigint not null, primary key (namespace, grp))`,
  );
  await db.query(keyFunction(n));
  await db.query(stampFunction(n));
  await db.query(`create or replace trigger "${n.table}_stamp" before insert on ${n.log}
    for each row execute function "${n.table}_stamp"()`);
  await db.query(`create or replace function "${n.table}_notify"() returns trigger language plpgsql as $$
    begin perform pg_notify('${n.channel}', new.namespace); return null; end $$`);
  await db.query(`create or replace trigger "${n.table}_notify" after insert on ${n.log}
    for each row execute function "${n.table}_notify"()`);
  await migrateDedupeKey(db, n);
}

/**
 * Earlier versions deduplicated on `(namespace, id)`, so one sender's id suppressed another
 * sender's message. Their tables get the `key` column (filled from each row's sender and id) and
 * a unique index on `(namespace, key)` instead; the old index goes.
 */
async function migrateDedupeKey(db: pg.ClientBase, n: PgNames): Promise<void> {
  const { rows } = await db.query(
    `select a.attnotnull as migrated from pg_attribute a
     where a.attrelid = $1::regclass and a.attname = 'key' and not a.attisdropped`,
    [n.log],
  );
  if (rows[0]?.migrated !== true) {
    await db.query(`alter table ${n.log} add column if not exists key text`);
    await db.query(`update ${n.log} set key = "${n.table}_key"(headers, id) where key is null`);
    await db.query(`alter table ${n.log} alter column key set not null`);
  }
  await db.query(`drop index if exists "${n.table}_id"`);
  await db.query(`create unique index if not exists "${n.table}_key" on ${n.log} (namespace, key)`);
}
