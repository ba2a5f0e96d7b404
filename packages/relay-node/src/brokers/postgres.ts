/**
 * The PostgreSQL broker: the namespace logs live in one table, LISTEN/NOTIFY wakes the relays, so
 * history is shared and payloads are not bound by NOTIFY's 8,000-byte limit. See docs/brokers.md.
 *
 * Objects (names configurable, created on first start): table `pubsubbud_log` (namespace, seq,
 * channel, id, data jsonb, headers jsonb, ts), table `pubsubbud_log_meta` (epoch and trim point per
 * namespace), a trigger that sends `NOTIFY pubsubbud, '<namespace>'` for every inserted row (so a
 * backend's plain INSERT reaches subscribers), and channel `pubsubbud_publish` on which a backend
 * may `NOTIFY` a JSON message `{"namespace","channel","data","headers"?}` instead.
 */
import type { Headers, Position } from "@pubsubbud/protocol";
import {
  type Broker,
  type BrokerListener,
  compareDecimalOffsets,
  type LogMessage,
  type PublishInput,
  type PublishOutcome,
  randomId,
  type StopListening,
} from "@pubsubbud/relay-core";
import postgres from "postgres";
import {
  type BrokerCommonOptions,
  badBrokerUrl,
  checkUrl,
  decodeData,
  firstConnect,
  Listeners,
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
}

interface Row {
  seq: string;
  channel: string;
  id: string;
  data: unknown;
  headers: Headers | null;
  ts: Date;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,50}$/;
/** Rows are trimmed on every TRIM_EVERY-th append of an instance, and when it starts listening. */
const TRIM_EVERY = 64;

const toMessage = (row: Row): LogMessage => {
  const message: LogMessage = {
    channel: row.channel,
    id: row.id,
    data: row.data,
    ts: row.ts.getTime(),
    offset: String(row.seq),
  };
  if (row.headers) message.headers = row.headers;
  return message;
};

/**
 * Connects, creates the table, meta table and trigger if missing, and returns the broker.
 * @example const broker = await createPostgresBroker({ url: "postgres://postgres@127.0.0.1/test" })
 */
export async function createPostgresBroker(options: PostgresBrokerOptions): Promise<Broker> {
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
  const sql = postgres(url, {
    max: 4,
    connect_timeout: Math.ceil(connectTimeoutMs / 1000),
    onnotice: () => {},
    onclose: () => {
      healthy = false;
    },
  });
  const meta = `${table}_meta`;
  const t = sql(table);
  const m = sql(meta);
  try {
    await firstConnect(
      url,
      connectTimeoutMs,
      sql`select 1`,
      "that PostgreSQL runs there and accepts the URL's user, password and database",
    );
  } catch (error) {
    await sql.end({ timeout: 1 });
    throw error;
  }
  // Created once; concurrent first starts are serialised by an advisory lock.
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtext(${`pubsubbud setup ${table}`}))`;
    await tx`create table if not exists ${t} (
      namespace text not null, seq bigint not null, channel text not null, id text not null,
      data jsonb not null, headers jsonb, ts timestamptz not null default clock_timestamp(),
      primary key (namespace, seq))`;
    await tx`create unique index if not exists ${sql(`${table}_id`)} on ${t} (namespace, id)`;
    await tx`create sequence if not exists ${sql(`${table}_seq`)}`;
    await tx`create table if not exists ${m} (namespace text primary key, epoch text not null, trimmed bigint not null default 0)`;
    await tx.unsafe(`create or replace function ${table}_notify() returns trigger language plpgsql as $$
      begin perform pg_notify('${channel}', new.namespace); return null; end $$`);
    await tx.unsafe(`create or replace trigger ${table}_notify after insert on ${table}
      for each row execute function ${table}_notify()`);
  });

  const listeners = new Listeners();
  const cursors = new Map<string, bigint>();
  const reading = new Map<string, Promise<void>>();
  let appends = 0;
  let closed = false;

  const epochOf = async (ns: string): Promise<{ epoch: string; trimmed: bigint }> => {
    const [row] = await sql<Array<{ epoch: string; trimmed: string }>>`
      insert into ${m} (namespace, epoch) values (${ns}, ${randomId(12)})
      on conflict (namespace) do update set epoch = ${m}.epoch
      returning epoch, trimmed`;
    return {
      epoch: (row as { epoch: string }).epoch,
      trimmed: BigInt((row as { trimmed: string }).trimmed),
    };
  };

  const trim = async (ns: string) => {
    await sql.begin(async (tx) => {
      const [gone] = await tx<Array<{ upto: string | null }>>`
        with doomed as (
          select seq from ${t} where namespace = ${ns} and (
            seq <= (select seq from ${t} where namespace = ${ns} order by seq desc offset ${retention.maxMessages} limit 1)
            or ts < clock_timestamp() - make_interval(secs => ${retention.maxAgeMs / 1000})))
        , deleted as (delete from ${t} where namespace = ${ns} and seq in (select seq from doomed) returning seq)
        select max(seq)::text as upto from deleted`;
      if (gone?.upto)
        await tx`update ${m} set trimmed = greatest(trimmed, ${gone.upto}) where namespace = ${ns}`;
    });
  };

  /** Reads the namespace's new rows in order and hands them to its listeners, one read at a time. */
  const catchUp = (ns: string): Promise<void> => {
    const previous = reading.get(ns) ?? Promise.resolve();
    const next = previous.then(async () => {
      const from = cursors.get(ns);
      if (from === undefined) return;
      const rows = await sql<Row[]>`
        select seq::text, channel, id, data, headers, ts from ${t}
        where namespace = ${ns} and seq > ${String(from)} order by seq limit 1000`;
      healthy = true;
      for (const row of rows) {
        if (!cursors.has(ns)) return;
        cursors.set(ns, BigInt(row.seq));
        listeners.message(ns, toMessage(row));
      }
      if (rows.length === 1000) void catchUp(ns);
    });
    const settled = next.catch((error) => {
      healthy = false;
      log("warn", "postgres read failed", { namespace: ns, error: String(error) });
    });
    reading.set(ns, settled);
    return settled;
  };

  const publish = async (namespace: string, input: PublishInput): Promise<PublishOutcome> => {
    const outcome = await sql.begin(async (tx) => {
      // One writer per namespace at a time, so sequence order is commit order and readers that
      // follow `seq > last` never skip a row that commits late.
      await tx`select pg_advisory_xact_lock(hashtext(${`pubsubbud ${table} ${namespace}`}))`;
      const [seen] = await tx<Array<{ seq: string }>>`
        select seq::text from ${t} where namespace = ${namespace} and id = ${input.id}`;
      if (seen) return { offset: seen.seq, duplicate: true };
      const [row] = await tx<Array<{ seq: string }>>`
        insert into ${t} (namespace, seq, channel, id, data, headers)
        values (${namespace}, nextval(${`${table}_seq`}), ${input.channel}, ${input.id},
          ${sql.json(input.data as never)}, ${input.headers === undefined ? null : sql.json(input.headers as never)})
        returning seq::text`;
      return { offset: (row as { seq: string }).seq, duplicate: false };
    });
    healthy = true;
    if (++appends % TRIM_EVERY === 0) trim(namespace).catch(() => {});
    return outcome;
  };

  // Wakes: the trigger names the namespace that got rows.
  const wake = await sql.listen(
    channel,
    (ns) => {
      if (cursors.has(ns)) void catchUp(ns);
    },
    () => {
      // (Re)connected: read what arrived meanwhile. The log is shared, so nothing is lost.
      healthy = true;
      for (const ns of cursors.keys()) void catchUp(ns);
    },
  );
  // Foreign NOTIFY <channel>_publish: the instance holding the bridge lock appends it, once.
  let bridging = false;
  const bridge = await sql.reserve();
  const claim = async () => {
    if (bridging || closed) return;
    const [row] = await bridge<
      Array<{ ok: boolean }>
    >`select pg_try_advisory_lock(hashtext(${`pubsubbud bridge ${table}`})) as ok`;
    bridging = row?.ok === true;
  };
  await claim();
  const claimer = setInterval(() => claim().catch(() => {}), 2_000);
  claimer.unref();
  const foreign = await sql.listen(`${channel}_publish`, (payload) => {
    if (!bridging) return;
    const body = decodeData(payload) as {
      namespace?: unknown;
      channel?: unknown;
      data?: unknown;
      headers?: Headers;
    };
    if (typeof body?.namespace !== "string" || typeof body.channel !== "string") {
      log("warn", "postgres NOTIFY without namespace and channel skipped", {
        payload: payload.slice(0, 200),
      });
      return;
    }
    const input: PublishInput = {
      channel: body.channel,
      id: `pg-${randomId(16)}`,
      data: body.data ?? null,
    };
    if (body.headers) input.headers = body.headers;
    publish(body.namespace, input).catch((error) =>
      log("warn", "bridging a NOTIFY failed", { error: String(error) }),
    );
  });
  const probe = setInterval(() => {
    sql`select 1`.then(
      () => {
        healthy = true;
      },
      () => {
        healthy = false;
      },
    );
  }, 2_000);
  probe.unref();

  return {
    name: "postgres",
    capabilities: { sharedHistory: true },
    publish,
    async listen(namespace: string, listener: BrokerListener): Promise<StopListening> {
      if (listeners.add(namespace, listener)) {
        await epochOf(namespace);
        const [row] = await sql<Array<{ last: string | null }>>`
          select max(seq)::text as last from ${t} where namespace = ${namespace}`;
        cursors.set(namespace, BigInt(row?.last ?? 0));
        trim(namespace).catch(() => {});
      }
      return async () => {
        if (listeners.remove(namespace, listener)) cursors.delete(namespace);
      };
    },
    async head(namespace: string): Promise<Position> {
      const { epoch, trimmed } = await epochOf(namespace);
      const [row] = await sql<Array<{ last: string | null }>>`
        select max(seq)::text as last from ${t} where namespace = ${namespace}`;
      const last = row?.last ?? (trimmed > 0n ? String(trimmed) : "");
      return { epoch, offset: last };
    },
    async since(namespace: string, position: Position): Promise<LogMessage[] | undefined> {
      if (!/^\d*$/.test(position.offset)) return undefined;
      const after = BigInt(position.offset || "0");
      return sql.begin("isolation level repeatable read", async (tx) => {
        const [state] = await tx<Array<{ epoch: string; trimmed: string }>>`
          select epoch, trimmed::text from ${m} where namespace = ${namespace}`;
        if (!state || state.epoch !== position.epoch || BigInt(state.trimmed) > after)
          return undefined;
        const rows = await tx<Row[]>`
          select seq::text, channel, id, data, headers, ts from ${t}
          where namespace = ${namespace} and seq > ${String(after)} order by seq`;
        const oldest = Date.now() - retention.maxAgeMs;
        if (rows.length > retention.maxMessages || rows.some((r) => r.ts.getTime() < oldest))
          return undefined;
        return rows.map(toMessage);
      });
    },
    compareOffsets: compareDecimalOffsets,
    healthy: () => healthy && !closed,
    async close() {
      closed = true;
      clearInterval(claimer);
      clearInterval(probe);
      listeners.clear();
      cursors.clear();
      await Promise.all([wake.unlisten(), foreign.unlisten()]).catch(() => {});
      bridge.release();
      await sql.end({ timeout: 2 });
    },
  };
}
