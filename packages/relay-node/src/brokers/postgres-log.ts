/**
 * Reading the PostgreSQL log and keeping it within retention: a namespace's epoch (made on first
 * use) and trim point in the meta table, its rows after a point for the live feed and for replay,
 * and the trim that deletes rows past retention and moves the trim point.
 */
import type { Position } from "@pubsubbud/protocol";
import type { LogMessage, LogRetention } from "@pubsubbud/relay-core";
import { randomId } from "@pubsubbud/relay-core/internal";
import type pg from "pg";
import { COLUMNS, type Row, toMessage } from "./postgres-rows.js";
import type { PgNames } from "./postgres-schema.js";
import { transaction } from "./postgres-write.js";

export class PostgresLog {
  readonly #pool: pg.Pool;
  readonly #names: PgNames;
  readonly #retention: LogRetention;

  /** `names` were checked as plain names; values always go in as parameters. */
  constructor(pool: pg.Pool, names: PgNames, retention: LogRetention) {
    this.#pool = pool;
    this.#names = names;
    this.#retention = retention;
  }

  /** The messages after `after` (at most `limit`) and the trim point, for the live feed. */
  async readAfter(
    ns: string,
    after: bigint,
    limit: number,
  ): Promise<{ messages: LogMessage[]; trimmed: bigint }> {
    const { log: t, meta: m } = this.#names;
    // One statement, one snapshot: the trim point and the rows agree.
    const { rows } = await this.#pool.query<Partial<Row> & { trimmed: string }>(
      `with meta as (select coalesce((select trimmed from ${m} where namespace = $1), 0) as trimmed)
       select meta.trimmed::text as trimmed, r.* from meta left join lateral (
         select ${COLUMNS}, l.seq as n from ${t} l
         where l.namespace = $1 and l.seq > $2 order by l.seq limit $3) r on true
       order by r.n`,
      [ns, String(after), limit],
    );
    return {
      trimmed: BigInt(rows[0]?.trimmed ?? 0),
      messages: rows.filter((row) => row.pos != null).map((row) => toMessage(row as Row)),
    };
  }

  /** The namespace's epoch, made on first use, and its trim point. */
  async epochOf(ns: string): Promise<{ epoch: string; trimmed: bigint }> {
    const m = this.#names.meta;
    const { rows } = await this.#pool.query(
      `insert into ${m} (namespace, epoch) values ($1, $2)
       on conflict (namespace) do update set epoch = ${m}.epoch returning epoch, trimmed::text`,
      [ns, randomId(12)],
    );
    return { epoch: rows[0].epoch, trimmed: BigInt(rows[0].trimmed) };
  }

  /** Where a live feed starts: the newest row, or the trim point when retention emptied it. */
  async end(ns: string): Promise<bigint> {
    const { log: t, meta: m } = this.#names;
    const { rows } = await this.#pool.query(
      `select greatest(coalesce(max(l.seq), 0), coalesce((select trimmed from ${m} where namespace = $1), 0))::text as last
       from ${t} l where l.namespace = $1`,
      [ns],
    );
    return BigInt(rows[0]?.last ?? 0);
  }

  async head(ns: string): Promise<Position> {
    const { epoch, trimmed } = await this.epochOf(ns);
    const { rows } = await this.#pool.query(
      `select max(seq)::text as last from ${this.#names.log} where namespace = $1`,
      [ns],
    );
    const last = rows[0]?.last ?? (trimmed > 0n ? String(trimmed) : "");
    return { epoch, offset: last };
  }

  /** The messages after `position`, or undefined when some of them are gone (or it is unknown). */
  async since(ns: string, position: Position): Promise<LogMessage[] | undefined> {
    if (!/^\d*$/.test(position.offset)) return undefined;
    const { log: t, meta: m } = this.#names;
    const retention = this.#retention;
    const after = BigInt(position.offset || "0");
    return transaction(this.#pool, async (db) => {
      await db.query("set transaction isolation level repeatable read");
      const state = await db.query(`select epoch, trimmed::text from ${m} where namespace = $1`, [
        ns,
      ]);
      const row = state.rows[0];
      if (!row || row.epoch !== position.epoch || BigInt(row.trimmed) > after) return undefined;
      const { rows } = await db.query<Row>(
        `select ${COLUMNS} from ${t} l where l.namespace = $1 and l.seq > $2 order by l.seq`,
        [ns, String(after)],
      );
      const oldest = Date.now() - retention.maxAgeMs;
      if (rows.length > retention.maxMessages || rows.some((r) => r.ts.getTime() < oldest))
        return undefined;
      return rows.map(toMessage);
    });
  }

  /** Deletes the namespace's rows past retention (count and age) and moves its trim point. */
  trim(ns: string): Promise<void> {
    const { log: t, meta: m } = this.#names;
    const { maxMessages, maxAgeMs } = this.#retention;
    return transaction(this.#pool, async (db) => {
      const { rows } = await db.query(
        `with doomed as (
           select l.seq from ${t} l where l.namespace = $1 and (
             l.seq <= (select k.seq from ${t} k where k.namespace = $1 order by k.seq desc offset $2 limit 1)
             or l.ts < clock_timestamp() - make_interval(secs => $3)))
         , deleted as (delete from ${t} where namespace = $1 and seq in (select seq from doomed) returning seq)
         select max(seq)::text as upto from deleted`,
        [ns, maxMessages, maxAgeMs / 1000],
      );
      if (rows[0]?.upto)
        await db.query(`update ${m} set trimmed = greatest(trimmed, $2) where namespace = $1`, [
          ns,
          rows[0].upto,
        ]);
    });
  }
}
