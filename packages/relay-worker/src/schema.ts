/**
 * The object's SQLite tables, created and migrated in one place. The version is the row
 * `schema` of `pubsubbud_meta`; an object deployed before versions existed has no such row and
 * is at version 1. Each step runs once, in the turn that first opens the storage, so its writes
 * commit together with the new version (workerd commits a turn's writes atomically).
 */

/** The version of the tables this code reads and writes. */
export const SCHEMA_VERSION = 2;

/**
 * Bytes a message counts for against `maxBytes`, besides its id, channel, data and headers: the
 * frame's other fields (`"type":"message"`, offset, ts) and its JSON punctuation.
 */
export const MESSAGE_OVERHEAD_BYTES = 64;

const VERSION_1 = [
  `CREATE TABLE IF NOT EXISTS pubsubbud_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS pubsubbud_log (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, channel TEXT NOT NULL,
     data TEXT NOT NULL, headers TEXT, ts INTEGER NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS pubsubbud_seen (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, ts INTEGER NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS pubsubbud_seen_ts ON pubsubbud_seen (ts)`,
  `CREATE TABLE IF NOT EXISTS pubsubbud_subs (session TEXT NOT NULL, id TEXT NOT NULL,
     pattern TEXT NOT NULL, PRIMARY KEY (session, id))`,
];

/**
 * Version 2: ids read back into JavaScript are stored as JSON strings, because SQLite keeps TEXT
 * as UTF-8 and a lone UTF-16 surrogate (valid in a JSON string, so in a message or subscription
 * id) does not survive that; JSON escapes it (`"\ud800"`), so every string round-trips. And
 * each log row carries `upto`, the bytes of the log from its start through that row, so the
 * byte bound of the replay window is found from a few rows (see sqlite-broker.ts). Rows of
 * version 1 get an estimate (SQLite's character count) for `upto`. The dedupe keys of
 * `pubsubbud_seen` are only ever compared inside SQLite, never read back, so they stay as
 * they were and a retry across the migration is still recognised.
 */
const VERSION_2 = [
  `ALTER TABLE pubsubbud_log ADD COLUMN upto INTEGER NOT NULL DEFAULT 0`,
  `UPDATE pubsubbud_log SET upto = summed.upto FROM (
     SELECT seq, SUM(length(id) + length(channel) + length(data) + ifnull(length(headers), 0)
       + ${MESSAGE_OVERHEAD_BYTES}) OVER (ORDER BY seq) AS upto FROM pubsubbud_log
   ) AS summed WHERE pubsubbud_log.seq = summed.seq`,
  `UPDATE pubsubbud_log SET id = json_quote(id)`,
  `UPDATE pubsubbud_subs SET id = json_quote(id)`,
];

const STEPS = [VERSION_1, VERSION_2];

/** Brings the object's tables to {@link SCHEMA_VERSION}; cheap when they are there already. */
export function migrateSchema(sql: SqlStorage): void {
  sql.exec(VERSION_1[0] as string);
  const stored = sql
    .exec<{ value: string }>(`SELECT value FROM pubsubbud_meta WHERE key = 'schema'`)
    .toArray()[0]?.value;
  const version = stored === undefined ? 0 : Number(stored);
  if (version === SCHEMA_VERSION) return;
  if (!(version < SCHEMA_VERSION))
    throw new Error(
      `this object's storage is at schema ${stored}, newer than this relay-worker (${SCHEMA_VERSION}): deploy the newer version`,
    );
  // Version 0 (no row) is a new object or one of version 1: the steps of version 1 create only
  // what is missing, so both continue from there.
  for (const step of STEPS.slice(version)) for (const statement of step) sql.exec(statement);
  sql.exec(
    `INSERT INTO pubsubbud_meta (key, value) VALUES ('schema', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`,
    String(SCHEMA_VERSION),
  );
}

/** A string as stored in an id column of version 2 (lossless for lone surrogates). */
export const storedId = (id: string): string => JSON.stringify(id);

/** A string read back from an id column of version 2. */
export const readId = (stored: SqlStorageValue | undefined): string =>
  JSON.parse(stored as string) as string;
