/**
 * The PostgreSQL broker: the namespace logs live in one table, LISTEN/NOTIFY wakes the relays, so
 * history is shared and payloads are not bound by NOTIFY's 8,000-byte limit. See docs/brokers.md.
 *
 * Objects (names configurable, created or migrated on start, see postgres-schema.ts): table
 * `pubsubbud_log` (namespace, seq, channel, id, data jsonb, headers jsonb, ts, key), table
 * `pubsubbud_log_meta` (epoch and trim point per namespace), a trigger that numbers a backend's
 * INSERT under the namespace lock, one that sends `NOTIFY pubsubbud, '<namespace>'` for every
 * inserted row (so a backend's plain INSERT reaches subscribers), and channel `pubsubbud_publish`
 * on which a backend may `NOTIFY` a JSON message `{"namespace","channel","data","headers"?}`.
 */
import type { Headers, Position } from "@pubsubbud/protocol";
import {
  type BrokerListener,
  compareDecimalOffsets,
  type LogMessage,
  type PublishInput,
  type PublishOutcome,
  type StopListening,
  type GroupBroker,
} from "@pubsubbud/relay-core";
import { randomId } from "@pubsubbud/relay-core/internal";
import pg from "pg";
import { OrderedBatches } from "./postgres-batches.js";
import { LiveFeed } from "./postgres-feed.js";
import { NotifySession } from "./postgres-notify.js";
import { ensureSchema, type PgNames, pgNames } from "./postgres-schema.js";
import { appendBatch, refusedForValues, transaction } from "./postgres-write.js";
import {
  type BrokerCommonOptions,
  badBrokerUrl,
  checkUrl,
  firstConnect,
  Listeners,
  pollingMember,
  retentionOf,
} from "./shared.js";

/** Options of {@link createPostgresBroker}. */
export interface PostgresBrokerOptions extends BrokerCommonOptions {
  /** `postgres://user:password@host:5432/database`. */
  url: string;
  /** Log table; its meta table is `<table>_meta`. Lowercase letters, digits, `_`. @default "pubsubbud_log" */
  table?: string;
  /** NOTIFY channel the trigger wakes relays on; foreign publishes use `<channel>_publish`. @default "pubsubbud" */
  channel?: string;
  /** @default 5000 */
  connectTimeoutMs?: number;
  /**
   * How long each statement of a publish (and of a read) may take before its connection is
   * dropped, in ms: a publish whose COMMIT timed out is answered `publish_uncertain`, one that
   * timed out earlier `publish_failed`. @default 10000
   */
  publishTimeoutMs?: number;
}

interface Row {
  pos: string;
  channel: string;
  id: string;
  data: unknown;
  headers: Headers | null;
  ts: Date;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,50}$/;
/** Rows are trimmed on every TRIM_EVERY-th append of an instance, and when it starts listening. */
const TRIM_EVERY = 64;
/**
 * A row as a message. The offset column is `pos`, never `seq`: an ORDER BY names an output column
 * before a table column, so `seq::text as seq … order by seq` would sort text (10 before 9).
 */
const COLUMNS = "l.seq::text as pos, l.channel, l.id, l.data, l.headers, l.ts";

const toMessage = (row: Row): LogMessage => {
  const message: LogMessage = {
    channel: row.channel,
    id: row.id,
    data: row.data,
    ts: row.ts.getTime(),
    offset: row.pos,
  };
  if (row.headers) message.headers = row.headers;
  return message;
};

/**
 * Connects, creates or migrates the table, meta table and triggers, and returns the broker.
 * @example const broker = await createPostgresBroker({ url: "postgres://postgres@127.0.0.1/test" })
 */
export async function createPostgresBroker(options: PostgresBrokerOptions): Promise<GroupBroker> {
  const { url, table = "pubsubbud_log", channel = "pubsubbud", connectTimeoutMs = 5_000 } = options;
  checkUrl(url, "postgres://user@host:5432/database");
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
  const retention = retentionOf(options);
  const log = options.log ?? (() => {});
  let healthy = true;
  let closed = false;
  const pool = new pg.Pool({
    connectionString: url,
    max: 4,
    connectionTimeoutMillis: connectTimeoutMs,
    query_timeout: options.publishTimeoutMs ?? 10_000,
    keepAlive: true,
  });
  // An idle connection that dies must not crash the process: it is dropped and reported.
  pool.on("error", () => {
    healthy = false;
  });
  const check = "that PostgreSQL runs there and accepts the URL's user, password and database";
  try {
    await firstConnect(url, connectTimeoutMs, pool.query("select 1"), check);
  } catch (error) {
    await pool.end().catch(() => {});
    throw error;
  }
  // Names were checked against IDENTIFIER; values always go in as parameters.
  const names = pgNames(table, channel);
  const { log: t, meta: m } = names;
  await transaction(pool, (db) => ensureSchema(db, names));

  const listeners = new Listeners();
  const feed = new LiveFeed(
    async (ns, after, limit) => {
      // One statement, one snapshot: the trim point and the rows agree.
      const { rows } = await pool.query<Partial<Row> & { trimmed: string }>(
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
    },
    listeners,
    {
      onRead(ns, error) {
        healthy = error === undefined;
        if (error !== undefined)
          log("warn", "postgres read failed; retrying", { namespace: ns, error: String(error) });
      },
    },
  );
  let appends = 0;

  const epochOf = async (ns: string): Promise<{ epoch: string; trimmed: bigint }> => {
    const { rows } = await pool.query(
      `insert into ${m} (namespace, epoch) values ($1, $2)
       on conflict (namespace) do update set epoch = ${m}.epoch returning epoch, trimmed::text`,
      [ns, randomId(12)],
    );
    return { epoch: rows[0].epoch, trimmed: BigInt(rows[0].trimmed) };
  };

  const trim = (ns: string) => transaction(pool, (db) => trimNamespace(db, names, ns, retention));

  const batches = new OrderedBatches<PublishInput, PublishOutcome>(
    (ns, inputs) => transaction(pool, (db) => appendBatch(db, names, ns, inputs)),
    { split: refusedForValues },
  );
  const publish = async (namespace: string, input: PublishInput): Promise<PublishOutcome> => {
    const outcome = await batches.add(namespace, input);
    healthy = true;
    if (++appends % TRIM_EVERY === 0) trim(namespace).catch(() => {});
    return outcome;
  };

  // One session LISTENs for wakes (the trigger names the namespace that got rows) and for foreign
  // NOTIFY <channel>_publish, which it appends only while it holds the bridge lock (one instance).
  const notify = new NotifySession({
    url,
    connectTimeoutMs,
    channel,
    table,
    feed,
    publish,
    log,
    onHealth: (up) => {
      healthy = up;
    },
  });
  await notify.connect();
  // The bridge lock is retried while another instance holds it; health is probed meanwhile.
  const probe = setInterval(() => {
    pool.query("select 1").then(
      () => {
        healthy = notify.connected;
      },
      () => {
        healthy = false;
      },
    );
    notify.retryBridgeLock().catch(() => {});
  }, 2_000);
  probe.unref();

  const groupStops = new Set<() => Promise<void>>();
  const broker: GroupBroker = {
    name: "postgres",
    capabilities: { sharedHistory: true, totalOrder: true },
    publish,
    async listen(namespace: string, listener: BrokerListener): Promise<StopListening> {
      if (listeners.add(namespace, listener)) {
        await epochOf(namespace);
        // From the newest row, or the trim point when retention emptied the namespace.
        const { rows } = await pool.query(
          `select greatest(coalesce(max(l.seq), 0), coalesce((select trimmed from ${m} where namespace = $1), 0))::text as last
           from ${t} l where l.namespace = $1`,
          [namespace],
        );
        feed.start(namespace, BigInt(rows[0]?.last ?? 0));
        trim(namespace).catch(() => {});
      }
      return async () => {
        if (listeners.remove(namespace, listener)) feed.stop(namespace);
      };
    },
    async head(namespace: string): Promise<Position> {
      const { epoch, trimmed } = await epochOf(namespace);
      const { rows } = await pool.query(
        `select max(seq)::text as last from ${t} where namespace = $1`,
        [namespace],
      );
      const last = rows[0]?.last ?? (trimmed > 0n ? String(trimmed) : "");
      return { epoch, offset: last };
    },
    async since(namespace: string, position: Position): Promise<LogMessage[] | undefined> {
      if (!/^\d*$/.test(position.offset)) return undefined;
      const after = BigInt(position.offset || "0");
      return transaction(pool, async (db) => {
        await db.query("set transaction isolation level repeatable read");
        const state = await db.query(`select epoch, trimmed::text from ${m} where namespace = $1`, [
          namespace,
        ]);
        const row = state.rows[0];
        if (!row || row.epoch !== position.epoch || BigInt(row.trimmed) > after) return undefined;
        const { rows } = await db.query<Row>(
          `select ${COLUMNS} from ${t} l where l.namespace = $1 and l.seq > $2 order by l.seq`,
          [namespace, String(after)],
        );
        const oldest = Date.now() - retention.maxAgeMs;
        if (rows.length > retention.maxMessages || rows.some((r) => r.ts.getTime() < oldest))
          return undefined;
        return rows.map(toMessage);
      });
    },
    compareOffsets: compareDecimalOffsets,
    healthy: () => healthy && !closed,
    groups: {
      namedMembers: false,
      consume: (namespace, group, _member, handle) =>
        consumeGroup(pool, names, namespace, group, handle, groupStops),
    },
    async close() {
      closed = true;
      clearInterval(probe);
      listeners.clear();
      feed.clear();
      await notify.close();
      await Promise.all([...groupStops].map((stop) => stop()));
      await pool.end().catch(() => {});
    },
  };
  return broker;
}

/** Deletes the namespace's rows past retention (count and age) and moves its trim point. */
async function trimNamespace(
  db: pg.ClientBase,
  { log: t, meta: m }: PgNames,
  ns: string,
  retention: { maxMessages: number; maxAgeMs: number },
): Promise<void> {
  const { rows } = await db.query(
    `with doomed as (
       select l.seq from ${t} l where l.namespace = $1 and (
         l.seq <= (select k.seq from ${t} k where k.namespace = $1 order by k.seq desc offset $2 limit 1)
         or l.ts < clock_timestamp() - make_interval(secs => $3)))
     , deleted as (delete from ${t} where namespace = $1 and seq in (select seq from doomed) returning seq)
     select max(seq)::text as upto from deleted`,
    [ns, retention.maxMessages, retention.maxAgeMs / 1000],
  );
  if (rows[0]?.upto)
    await db.query(`update ${m} set trimmed = greatest(trimmed, $2) where namespace = $1`, [
      ns,
      rows[0].upto,
    ]);
}

/**
 * A group member: a cursor row per group, held (FOR UPDATE) while the member handles the next
 * rows, so each goes to one member, and moved only after the handlers settled.
 */
async function consumeGroup(
  pool: pg.Pool,
  { log: t, groups: g }: PgNames,
  namespace: string,
  group: string,
  handle: (message: LogMessage) => Promise<void>,
  stops: Set<() => Promise<void>>,
): Promise<() => Promise<void>> {
  await pool.query(
    `insert into ${g} (namespace, grp, cursor)
     select $1, $2, coalesce(max(seq), 0) from ${t} where namespace = $1
     on conflict do nothing`,
    [namespace, group],
  );
  const turn = () =>
    transaction(pool, async (db) => {
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
  return pollingMember(turn, stops);
}
