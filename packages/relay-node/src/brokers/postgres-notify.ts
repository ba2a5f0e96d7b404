/**
 * The PostgreSQL broker's LISTEN session, as one small class whose state is in view: the
 * connection, whether this instance holds the bridge lock, and what a notification does. The
 * log triggers NOTIFY `<channel>` with the namespace that got rows (the feed reads them); a
 * foreign program's NOTIFY `<channel>_publish` is appended to the log by the one instance that
 * holds the bridge lock.
 */
import type { Headers } from "@pubsubbud/protocol";
import type { PublishInput, PublishOutcome } from "@pubsubbud/relay-core";
import { randomId } from "@pubsubbud/relay-core/internal";
import pg from "pg";
import { decodeData, reconnectWithBackoff } from "./shared.js";

/** What the LISTEN session works with. */
export interface NotifySessionOptions {
  url: string;
  connectTimeoutMs: number;
  /** The NOTIFY channel of the log's trigger; foreign publishes come on `<channel>_publish`. */
  channel: string;
  /** The log table: the bridge lock is named after it. */
  table: string;
  /** The live feed the wakes go to. */
  feed: { has(namespace: string): boolean; wake(namespace: string): unknown; wakeAll(): void };
  /** Appends a bridged foreign publish to the log. */
  publish(namespace: string, input: PublishInput): Promise<PublishOutcome>;
  log(level: "info" | "warn", message: string, fields?: Record<string, unknown>): void;
  /** The session connected (true) or lost its connection (false). */
  onHealth(healthy: boolean): void;
}

export class NotifySession {
  #client: pg.Client | undefined;
  #bridging = false;
  #closed = false;
  readonly #options: NotifySessionOptions;
  readonly #lock: string;

  constructor(options: NotifySessionOptions) {
    this.#options = options;
    this.#lock = `pubsubbud bridge ${options.table}`;
  }

  /** True while the LISTEN connection is up. */
  get connected(): boolean {
    return this.#client !== undefined;
  }

  /** True while this instance bridges foreign NOTIFY publishes into the log. */
  get bridging(): boolean {
    return this.#bridging;
  }

  /** Connects, LISTENs on both channels, tries the bridge lock, and reads what arrived meanwhile. */
  async connect(): Promise<void> {
    const { url, connectTimeoutMs, channel } = this.#options;
    const client = new pg.Client({
      connectionString: url,
      connectionTimeoutMillis: connectTimeoutMs,
      keepAlive: true,
    });
    client.on("error", () => {});
    client.on("notification", (note) => this.notified(note.channel, note.payload));
    client.on("end", () => this.#lost(client));
    await client.connect();
    await client.query(`listen "${channel}"`);
    await client.query(`listen "${channel}_publish"`);
    this.#bridging = await this.#takeBridgeLock(client);
    // Only now is it the session's connection: an end before this is the failed attempt's own.
    this.#client = client;
    this.#options.onHealth(true);
    // (Re)connected: read what arrived meanwhile. The log is shared, so nothing is lost.
    this.#options.feed.wakeAll();
  }

  /** Tries to take the bridge lock, unless this instance holds it (another may have let go). */
  async retryBridgeLock(): Promise<void> {
    const client = this.#client;
    if (!client || this.#bridging) return;
    const taken = await this.#takeBridgeLock(client);
    if (this.#client === client) this.#bridging = taken;
  }

  async #takeBridgeLock(client: pg.Client): Promise<boolean> {
    const { rows } = await client.query("select pg_try_advisory_lock(hashtext($1)) as ok", [
      this.#lock,
    ]);
    return rows[0]?.ok === true;
  }

  /** One notification: a wake of a namespace's feed, or a foreign publish to bridge. */
  notified(channel: string, payload: string | undefined): void {
    const { feed } = this.#options;
    if (channel === this.#options.channel) {
      if (payload && feed.has(payload)) void feed.wake(payload);
      return;
    }
    if (this.#bridging && payload !== undefined) this.#bridge(payload);
  }

  #bridge(payload: string): void {
    const { log } = this.#options;
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
    this.#options
      .publish(body.namespace, input)
      .catch((error) => log("warn", "bridging a NOTIFY failed", { error: String(error) }));
  }

  #lost(client: pg.Client): void {
    if (this.#closed || this.#client !== client) return;
    this.#client = undefined;
    this.#bridging = false;
    this.#options.onHealth(false);
    this.#options.log("warn", "postgres listener connection lost", {});
    void reconnectWithBackoff(
      () => this.connect(),
      () => this.#closed,
    ).then((reconnected) => {
      if (reconnected) this.#options.log("info", "postgres listener reconnected", {});
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#client?.end().catch(() => {});
  }
}
