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
import { MESSAGE_OVERHEAD_BYTES, migrateSchema, readId, storedId } from "./schema.js";

/**
 * The replay window's byte bound in a Durable Object (`RETENTION_MAX_BYTES`): 16 MiB. A resume
 * holds the missed messages in the isolate's memory at once (relay-core's `since` answers an
 * array), as their stored text and then parsed, and an isolate has 128 MB for everything; half
 * relay-core's 32 MiB leaves room for that twice over beside the sessions. @default 16777216
 */
export const DEFAULT_WORKER_MAX_BYTES = 16 * 1024 * 1024;

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
  const { maxMessages, maxAgeMs, maxBytes, dedupeWindowMs, dedupeMaxIds } = {
    ...DEFAULT_RETENTION,
    maxBytes: DEFAULT_WORKER_MAX_BYTES,
    ...retention,
  };
  migrateSchema(sql);

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
  // Bytes appended to the log through the trim point: `upto` counts from the same origin, so
  // the window holds `lastUpto - trimmedUpto` bytes.
  let trimmedUpto = Number(meta("trimmed_upto") ?? 0);
  const last = sql
    .exec<{ seq: number; upto: number }>(
      `SELECT seq, upto FROM pubsubbud_log ORDER BY seq DESC LIMIT 1`,
    )
    .toArray()[0];
  // The newest sequence number: the log's last row, or the trim point if the log is empty.
  let lastSeq = Math.max(last?.seq ?? 0, trimmedThrough);
  let lastUpto = last?.upto ?? trimmedUpto;
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

  /** `upto` of the log row `seq` (its primary key: one row read). */
  const uptoAt = (seq: number): number | undefined =>
    sql.exec<{ upto: number }>(`SELECT upto FROM pubsubbud_log WHERE seq = ?`, seq).toArray()[0]
      ?.upto;
  /**
   * The oldest message through which the log must go for the rest to fit in `maxBytes`, found
   * by bisecting sequence numbers (the log's are contiguous and `upto` grows with them), or 0.
   */
  const oversizeThrough = (): number => {
    const floor = lastUpto - maxBytes;
    if (trimmedUpto >= floor) return 0;
    let lo = trimmedThrough; // keeping what follows it is too much
    let hi = lastSeq; // keeping nothing fits
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if ((uptoAt(mid) ?? lastUpto) >= floor) hi = mid;
      else lo = mid;
    }
    return hi;
  };

  const trimThrough = (through: number) => {
    if (through <= trimmedThrough) return;
    trimmedUpto = uptoAt(through) ?? trimmedUpto;
    sql.exec(`DELETE FROM pubsubbud_log WHERE seq <= ?`, through);
    trimmedThrough = through;
    setMeta("trimmed_through", String(through));
    setMeta("trimmed_upto", String(trimmedUpto));
  };

  // Retention is enforced lazily to keep a publish at two INSERTs: by count or bytes once the
  // log holds 10% more than the window, by age and for dedupe ids at most once a second. The
  // count and age are a floor (resume never gets less than they promise); the bytes a ceiling
  // (at most 10% and one message over), which bounds what a resume reads into memory.
  const trim = (at: number) => {
    if (lastSeq - trimmedThrough > maxMessages + Math.ceil(maxMessages / 10))
      trimThrough(lastSeq - maxMessages);
    if (lastUpto - trimmedUpto > maxBytes + Math.ceil(maxBytes / 10))
      trimThrough(oversizeThrough());
    if (at - lastSweep < 1000) return;
    lastSweep = at;
    trimThrough(Math.max(lastSeq - maxMessages, agedThrough(at - maxAgeMs), oversizeThrough()));
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
      id: readId(row.id),
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
    const id = storedId(input.id);
    const upto =
      lastUpto +
      id.length +
      input.channel.length +
      data.length +
      (headers?.length ?? 0) +
      MESSAGE_OVERHEAD_BYTES;
    lastSeq = seq;
    lastTs = at;
    lastUpto = upto;
    sql.exec(
      `INSERT INTO pubsubbud_log (seq, id, channel, data, headers, ts, upto) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      seq,
      id,
      input.channel,
      data,
      headers,
      at,
      upto,
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
      // Row by row: each row's text is garbage once parsed, so the rows and the messages are
      // never in memory together. The byte bound keeps the whole answer near `maxBytes`.
      const missed: LogMessage[] = [];
      for (const row of sql.exec(
        `SELECT seq, id, channel, data, headers, ts FROM pubsubbud_log WHERE seq > ? ORDER BY seq`,
        after,
      ))
        missed.push(toMessage(row));
      return missed;
    },
    compareOffsets: compareDecimalOffsets,
    healthy: () => true,
    async close() {
      listeners.clear();
    },
  };
}
