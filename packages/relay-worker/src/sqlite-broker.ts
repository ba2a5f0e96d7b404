import type { Position } from "@pubsubbud/protocol";
import {
  type Broker,
  type BrokerListener,
  compareDecimalOffsets,
  dedupeKey,
  DEFAULT_RETENTION,
  type LogMessage,
  type LogRetention,
  type PublishInput,
  type PublishOutcome,
  type StopListening,
} from "@pubsubbud/relay-core";
import { randomId } from "@pubsubbud/relay-core/internal";

/**
 * The namespace log of one Durable Object, in its SQLite storage. A Durable Object is one
 * namespace, so every method ignores its `namespace` argument. Offsets are the log's sequence
 * numbers; the epoch is made once and kept, so the log survives hibernation and eviction.
 * Delivery is in-process: the object is the only writer of its namespace.
 *
 * With `schedule`, publishes are written in groups: those that reach the object before the
 * scheduled write runs share one turn, hence one storage commit (workerd commits each turn's
 * writes together, and the output gate holds what the object sends until the commit is
 * durable). Without it each publish is written at once.
 */
export function createSqliteBroker(
  sql: SqlStorage,
  retention: Partial<LogRetention> = {},
  now = Date.now,
  schedule?: (write: () => void) => void,
): Broker {
  const { maxMessages, maxAgeMs, dedupeWindowMs, dedupeMaxIds } = {
    ...DEFAULT_RETENTION,
    ...retention,
  };
  sql.exec(`CREATE TABLE IF NOT EXISTS pubsubbud_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
  sql.exec(
    `CREATE TABLE IF NOT EXISTS pubsubbud_log (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, channel TEXT NOT NULL,
       data TEXT NOT NULL, headers TEXT, ts INTEGER NOT NULL)`,
  );
  sql.exec(
    `CREATE TABLE IF NOT EXISTS pubsubbud_seen (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, ts INTEGER NOT NULL)`,
  );
  sql.exec(`CREATE INDEX IF NOT EXISTS pubsubbud_seen_ts ON pubsubbud_seen (ts)`);

  const meta = (key: string): string | undefined =>
    sql.exec<{ value: string }>(`SELECT value FROM pubsubbud_meta WHERE key = ?`, key).toArray()[0]
      ?.value;
  const setMeta = (key: string, value: string) =>
    sql.exec(
      `INSERT INTO pubsubbud_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`,
      key,
      value,
    );

  let epoch = meta("epoch");
  if (epoch === undefined) {
    epoch = randomId(12);
    setMeta("epoch", epoch);
  }
  // Everything at or below this sequence number was trimmed: resume from before it is a gap.
  let trimmedThrough = Number(meta("trimmed_through") ?? 0);
  // The newest sequence number: the log's last row, or the trim point if the log is empty.
  let lastSeq = Math.max(
    sql.exec<{ seq: number | null }>(`SELECT MAX(seq) AS seq FROM pubsubbud_log`).toArray()[0]
      ?.seq ?? 0,
    trimmedThrough,
  );
  const listeners = new Set<BrokerListener>();
  let lastSweep = 0;
  // Messages are stamped in log order (a clock that steps back does not reorder them), so the
  // log's and the dedupe table's oldest rows are found by their first row, never by a scan.
  let lastTs =
    sql.exec<{ ts: number }>(`SELECT ts FROM pubsubbud_seen ORDER BY ts DESC LIMIT 1`).toArray()[0]
      ?.ts ?? 0;
  /** The log's first row at or after `seq` (its primary key: one row read). */
  const rowFrom = (seq: number) =>
    sql
      .exec<{ seq: number; ts: number }>(
        `SELECT seq, ts FROM pubsubbud_log WHERE seq >= ? ORDER BY seq LIMIT 1`,
        seq,
      )
      .toArray()[0];
  /**
   * The newest log message older than `cutoff`, found by bisecting sequence numbers (a few rows
   * read, however long the log), or 0 when the oldest one is young enough.
   */
  const agedThrough = (cutoff: number): number => {
    const oldest = rowFrom(trimmedThrough + 1);
    if (!oldest || oldest.ts >= cutoff) return 0;
    let lo = oldest.seq; // stamped before the cutoff
    let hi = lastSeq + 1; // past the log
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      const row = rowFrom(mid);
      if (row && row.ts < cutoff) lo = row.seq;
      else hi = mid;
    }
    return lo;
  };

  const trimThrough = (through: number) => {
    if (through <= trimmedThrough) return;
    sql.exec(`DELETE FROM pubsubbud_log WHERE seq <= ?`, through);
    trimmedThrough = through;
    setMeta("trimmed_through", String(through));
  };

  // Retention is enforced lazily to keep a publish at two INSERTs: by count once the log holds
  // 10% more than the window, by age and for dedupe ids at most once a second. The window is a
  // floor — resume never gets less than it promises.
  const trim = (at: number) => {
    if (lastSeq - trimmedThrough > maxMessages + Math.ceil(maxMessages / 10))
      trimThrough(lastSeq - maxMessages);
    if (at - lastSweep < 1000) return;
    lastSweep = at;
    trimThrough(Math.max(lastSeq - maxMessages, agedThrough(at - maxAgeMs)));
    // Through the ts index: the rows read are the rows deleted.
    sql.exec(`DELETE FROM pubsubbud_seen WHERE ts < ?`, at - dedupeWindowMs);
    // Every message since the oldest remembered id left one row: past dedupeMaxIds, the oldest go.
    const oldest = sql
      .exec<{ seq: number }>(`SELECT seq FROM pubsubbud_seen ORDER BY ts LIMIT 1`)
      .toArray()[0];
    const excess = oldest ? lastSeq - oldest.seq + 1 - dedupeMaxIds : 0;
    if (excess > 0)
      sql.exec(
        `DELETE FROM pubsubbud_seen WHERE id IN (SELECT id FROM pubsubbud_seen ORDER BY ts LIMIT ?)`,
        excess,
      );
  };

  const toMessage = (row: Record<string, SqlStorageValue>): LogMessage => {
    const message: LogMessage = {
      channel: row.channel as string,
      id: row.id as string,
      data: JSON.parse(row.data as string),
      ts: row.ts as number,
      offset: String(row.seq),
    };
    if (row.headers !== null) message.headers = JSON.parse(row.headers as string);
    return message;
  };

  /** One publish: the dedupe row (or the earlier offset), the log row, the live listeners. */
  const write = (input: PublishInput): PublishOutcome => {
    const at = Math.max(now(), lastTs);
    trim(at);
    // pubsubbud_seen.id holds the sender-scoped dedupe key, not the bare message id.
    const key = dedupeKey(input);
    // Claiming the id is the dedupe check: a row that is already there writes nothing.
    const seq = lastSeq + 1;
    const data = JSON.stringify(input.data) ?? "null";
    const headers = input.headers === undefined ? null : JSON.stringify(input.headers);
    const claimed = sql
      .exec(
        `INSERT INTO pubsubbud_seen (id, seq, ts) VALUES (?, ?, ?) ON CONFLICT(id) DO NOTHING RETURNING seq`,
        key,
        seq,
        at,
      )
      .toArray();
    if (claimed.length === 0) {
      const seen = sql
        .exec<{ seq: number }>(`SELECT seq FROM pubsubbud_seen WHERE id = ?`, key)
        .one().seq;
      return { offset: String(seen), duplicate: true };
    }
    lastSeq = seq;
    lastTs = at;
    sql.exec(
      `INSERT INTO pubsubbud_log (seq, id, channel, data, headers, ts) VALUES (?, ?, ?, ?, ?, ?)`,
      seq,
      input.id,
      input.channel,
      data,
      headers,
      at,
    );
    const message: LogMessage = {
      channel: input.channel,
      id: input.id,
      data: input.data,
      ts: at,
      offset: String(seq),
    };
    if (input.headers !== undefined) message.headers = input.headers;
    for (const listener of listeners) listener.message(message);
    return { offset: String(seq), duplicate: false };
  };

  let pending: Array<{
    input: PublishInput;
    resolve: (outcome: PublishOutcome) => void;
    reject: (error: unknown) => void;
  }> = [];
  const writePending = () => {
    const group = pending;
    pending = [];
    for (const { input, resolve, reject } of group) {
      try {
        resolve(write(input));
      } catch (error) {
        reject(error);
      }
    }
  };

  return {
    name: "durable-object",
    capabilities: { sharedHistory: true, totalOrder: true },
    async publish(_namespace: string, input: PublishInput): Promise<PublishOutcome> {
      if (!schedule) return write(input);
      return new Promise((resolve, reject) => {
        if (pending.push({ input, resolve, reject }) === 1) schedule(writePending);
      });
    },
    async listen(_namespace, listener): Promise<StopListening> {
      listeners.add(listener);
      return async () => {
        listeners.delete(listener);
      };
    },
    head(): Position {
      return { epoch: epoch as string, offset: lastSeq === 0 ? "" : String(lastSeq) };
    },
    async since(_namespace: string, position: Position): Promise<LogMessage[] | undefined> {
      trim(now());
      if (position.epoch !== epoch) return undefined;
      const after = position.offset === "" ? 0 : Number(position.offset);
      if (!Number.isSafeInteger(after) || after < trimmedThrough || after > lastSeq)
        return undefined;
      return sql
        .exec(
          `SELECT seq, id, channel, data, headers, ts FROM pubsubbud_log WHERE seq > ? ORDER BY seq`,
          after,
        )
        .toArray()
        .map(toMessage);
    },
    compareOffsets: compareDecimalOffsets,
    healthy: () => true,
    async close() {
      listeners.clear();
    },
  };
}
