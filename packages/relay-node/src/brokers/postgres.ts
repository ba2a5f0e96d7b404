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
 *
 * Parts: postgres-pool.ts makes the pool; {@link OrderedBatches} batches publishes, which
 * postgres-write.ts appends; {@link PostgresLog} reads, replays and trims the log; a
 * {@link LiveFeed} hands the listened namespaces' new rows on; a {@link NotifySession} LISTENs for
 * wakes and foreign publishes; postgres-group.ts is a durable group's member.
 */
import type { Position } from "@pubsubbud/protocol";
import {
  type BrokerGroups,
  type BrokerListener,
  compareDecimalOffsets,
  type GroupBroker,
  type LogMessage,
  type PublishInput,
  type PublishOutcome,
  type Publisher,
  type StopListening,
} from "@pubsubbud/relay-core";
import type pg from "pg";
import { OrderedBatches } from "./postgres-batches.js";
import { LiveFeed } from "./postgres-feed.js";
import { joinPostgresGroup } from "./postgres-group.js";
import { PostgresLog } from "./postgres-log.js";
import { NotifySession } from "./postgres-notify.js";
import { createPool, firstAnswer } from "./postgres-pool.js";
import { ensureSchema, type PgNames, pgNames } from "./postgres-schema.js";
import { appendBatch, refusedForValues, transaction } from "./postgres-write.js";
import {
  type BrokerCommonOptions,
  checkUrl,
  GroupMembers,
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
  /**
   * How long each statement of a publish (and of a read) may take before its connection is
   * dropped, in ms: a publish whose COMMIT timed out is answered `publish_uncertain`, one that
   * timed out earlier `publish_failed`. @default 10000
   */
  publishTimeoutMs?: number;
}

/** Rows are trimmed on every TRIM_EVERY-th append of an instance, and when it starts listening. */
const TRIM_EVERY = 64;

/**
 * Connects, creates or migrates the table, meta table and triggers, and returns the broker.
 * @example const broker = await createPostgresBroker({ url: "postgres://postgres@127.0.0.1/test" })
 */
export async function createPostgresBroker(options: PostgresBrokerOptions): Promise<GroupBroker> {
  const { url, table = "pubsubbud_log", channel = "pubsubbud" } = options;
  checkUrl(url, "postgres://user@host:5432/database");
  return PostgresBroker.open(options, pgNames(url, table, channel));
}

class PostgresBroker implements GroupBroker {
  readonly name = "postgres";
  readonly capabilities = { sharedHistory: true, totalOrder: true };
  readonly #pool: pg.Pool;
  readonly #names: PgNames;
  readonly #log: PostgresLog;
  readonly #listeners = new Listeners();
  readonly #feed: LiveFeed;
  readonly #batches: OrderedBatches<PublishInput, PublishOutcome>;
  /** LISTENs for wakes and foreign publishes, which it appends while it holds the bridge lock. */
  readonly #notify: NotifySession;
  /** How to stop this process's group members. */
  readonly #members = new GroupMembers();
  #probe: ReturnType<typeof setInterval> | undefined;
  /** This instance's appends, counted for the trim. */
  #appends = 0;
  #healthy = true;
  #closed = false;

  /** Connects, creates or migrates the schema, LISTENs, and starts probing health. */
  static async open(options: PostgresBrokerOptions, names: PgNames): Promise<PostgresBroker> {
    const broker = new PostgresBroker(options, names);
    await firstAnswer(broker.#pool, options.url, options.connectTimeoutMs ?? 5_000);
    await transaction(broker.#pool, (db) => ensureSchema(db, names));
    await broker.#notify.connect();
    // The bridge lock is retried while another instance holds it; health is probed meanwhile.
    broker.#probe = setInterval(() => broker.#housekeeping(), 2_000);
    broker.#probe.unref();
    return broker;
  }

  private constructor(options: PostgresBrokerOptions, names: PgNames) {
    const { url, connectTimeoutMs = 5_000 } = options;
    const say = options.log ?? (() => {});
    this.#names = names;
    this.#pool = createPool(url, connectTimeoutMs, options.publishTimeoutMs ?? 10_000);
    // An idle connection that dies must not crash the process: it is dropped and reported.
    this.#pool.on("error", () => {
      this.#healthy = false;
    });
    this.#log = new PostgresLog(this.#pool, names, retentionOf(options));
    this.#feed = new LiveFeed(
      (ns, after, limit) => this.#log.readAfter(ns, after, limit),
      this.#listeners,
      {
        onRead: (ns, error) => {
          this.#healthy = error === undefined;
          if (error !== undefined)
            say("warn", "postgres read failed; retrying", { namespace: ns, error: String(error) });
        },
      },
    );
    this.#batches = new OrderedBatches(
      (ns, inputs) => transaction(this.#pool, (db) => appendBatch(db, names, ns, inputs)),
      { split: refusedForValues },
    );
    this.#notify = new NotifySession({
      url,
      connectTimeoutMs,
      channel: names.channel,
      table: names.table,
      feed: this.#feed,
      publish: (ns, input) => this.publish(ns, input),
      log: say,
      onHealth: (up) => {
        this.#healthy = up;
      },
    });
  }

  /** Every 2 s: probes the pool (healthy while the LISTEN session is up too); retries the lock. */
  #housekeeping(): void {
    this.#pool.query("select 1").then(
      () => {
        this.#healthy = this.#notify.connected;
      },
      () => {
        this.#healthy = false;
      },
    );
    this.#notify.retryBridgeLock().catch(() => {});
  }

  async publish(
    namespace: string,
    input: PublishInput,
    publisher?: Publisher,
  ): Promise<PublishOutcome> {
    const outcome = await this.#batches.add(namespace, input, publisher);
    this.#healthy = true;
    if (++this.#appends % TRIM_EVERY === 0) this.#log.trim(namespace).catch(() => {});
    return outcome;
  }

  async listen(namespace: string, listener: BrokerListener): Promise<StopListening> {
    if (this.#listeners.add(namespace, listener)) {
      await this.#log.epochOf(namespace);
      this.#feed.start(namespace, await this.#log.end(namespace));
      this.#log.trim(namespace).catch(() => {});
    }
    return async () => {
      if (this.#listeners.remove(namespace, listener)) this.#feed.stop(namespace);
    };
  }

  head(namespace: string): Promise<Position> {
    return this.#log.head(namespace);
  }

  since(namespace: string, position: Position): Promise<LogMessage[] | undefined> {
    return this.#log.since(namespace, position);
  }

  compareOffsets = compareDecimalOffsets;

  healthy(): boolean {
    return this.#healthy && !this.#closed;
  }

  readonly groups: BrokerGroups = {
    namedMembers: false,
    consume: async (namespace, group, _member, handle) =>
      this.#members.add(
        await joinPostgresGroup({ pool: this.#pool, names: this.#names, namespace, group, handle }),
      ),
  };

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#probe);
    this.#listeners.clear();
    this.#feed.clear();
    await this.#notify.close();
    await this.#members.stopAll();
    await this.#pool.end().catch(() => {});
  }
}
