/**
 * The Redis broker: each namespace's log is a Redis Stream, so every relay instance shares the
 * history and a client can resume on any of them. See docs/brokers.md.
 *
 * Keys (prefix `pubsubbud:` by default; namespaces never contain `:`):
 * - `<prefix><ns>`: the stream; entry fields `channel`, `data` (the JSON text), `id`, `headers`
 * - `<prefix><ns>:epoch`: the log's epoch, made on first use; a flushed Redis makes a new one
 * - `<prefix><ns>:seen:<id>`: dedupe marks holding the first copy's offset, expiring after the window
 * - `<prefix><ns>:bridge`: which instance copies plain `PUBLISH <prefix><ns>:<channel>` into the stream
 */
import type { Headers, Position } from "@pubsubbud/protocol";
import type {
  BrokerListener,
  LogMessage,
  PublishInput,
  PublishOutcome,
  StopListening,
  GroupBroker,
} from "@pubsubbud/relay-core";
import { dedupeKey, PublishUncertainError } from "@pubsubbud/relay-core";
import { randomId } from "@pubsubbud/relay-core/internal";
import { Redis, ReplyError } from "ioredis";
import {
  type BrokerCommonOptions,
  backoffDelay,
  checkUrl,
  decodeData,
  encodeData,
  firstConnect,
  Listeners,
  redactUrl,
  retentionOf,
} from "./shared.js";
import { RedisGroupMember, type StreamEntry } from "./redis-group.js";

/** Options of {@link createRedisBroker}. */
export interface RedisBrokerOptions extends BrokerCommonOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…` for TLS. */
  url: string;
  /** Prefix of every key and pub/sub channel. @default "pubsubbud:" */
  prefix?: string;
  /** How long the first connection may take before start fails, in ms. @default 5000 */
  connectTimeoutMs?: number;
}

// Appends unless the id was seen: one atomic step, so instances agree on order and dedupe. Each
// entry carries `n`, the namespace's count of relay appends, so a reader sees any it missed.
const PUBLISH = `
local seen = redis.call('GET', KEYS[2])
if seen then return {seen, 1} end
redis.call('SET', KEYS[3], ARGV[5], 'NX')
local n = redis.call('INCR', KEYS[4])
local offset
if ARGV[4] == '' then
  offset = redis.call('XADD', KEYS[1], 'MAXLEN', '=', ARGV[6], '*', 'channel', ARGV[2], 'id', ARGV[1], 'data', ARGV[3], 'n', n)
else
  offset = redis.call('XADD', KEYS[1], 'MAXLEN', '=', ARGV[6], '*', 'channel', ARGV[2], 'id', ARGV[1], 'data', ARGV[3], 'headers', ARGV[4], 'n', n)
end
local t = redis.call('TIME')
local minid = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(ARGV[7])
if minid > 0 then redis.call('XTRIM', KEYS[1], 'MINID', minid) end
redis.call('SET', KEYS[2], offset, 'PX', ARGV[8])
return {offset, 0}`;

// The epoch (made if missing), the newest id ever given, and whether every entry after the id in
// ARGV[2] is still there (trimming removes the oldest first, so it is while that entry is, or
// when nothing was ever trimmed); with ARGV[3] = '1', also those entries, read in the same step;
// and the count of relay appends so far (see PUBLISH).
const STATE = `
local epoch = redis.call('GET', KEYS[2])
if not epoch then redis.call('SET', KEYS[2], ARGV[1]); epoch = ARGV[1] end
local n = tonumber(redis.call('GET', KEYS[3]) or '0')
if redis.call('EXISTS', KEYS[1]) == 0 then return {epoch, '', ARGV[2] == '' and 1 or 0, {}, n} end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local last, added, length = '', 0, 0
for i = 1, #info, 2 do
  if info[i] == 'last-generated-id' then last = info[i + 1] end
  if info[i] == 'entries-added' then added = info[i + 1] end
  if info[i] == 'length' then length = info[i + 1] end
end
local intact = 0
if ARGV[2] == '' then
  if added == length then intact = 1 end
elseif ARGV[2] == last or #redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2]) == 1 then
  intact = 1
end
local entries = {}
if intact == 1 and ARGV[3] == '1' then
  entries = redis.call('XRANGE', KEYS[1], '(' .. (ARGV[2] == '' and '0-0' or ARGV[2]), '+')
end
return {epoch, last, intact, entries, n}`;

// Keeps (or takes) the bridge role for a namespace; 1 when this instance holds it.
const CLAIM = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] or not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

type LogState = [
  epoch: string,
  last: string,
  intact: number,
  entries: StreamEntry[],
  appends: number,
];

interface Scripts {
  pubsubbudPublish(...args: Array<string | number>): Promise<[string, number]>;
  pubsubbudState(...args: string[]): Promise<LogState>;
  pubsubbudClaim(...args: Array<string | number>): Promise<number>;
}

const BRIDGE_LEASE_MS = 10_000;

/** Orders Redis stream ids (`<ms>-<seq>`); `""` is older than every id. */
export function compareStreamIds(a: string, b: string): number {
  if (a === b) return 0;
  if (a === "") return -1;
  if (b === "") return 1;
  const [am = "0", as = "0"] = a.split("-");
  const [bm = "0", bs = "0"] = b.split("-");
  const ms = BigInt(am) - BigInt(bm);
  if (ms !== 0n) return ms < 0n ? -1 : 1;
  const seq = BigInt(as) - BigInt(bs);
  return seq < 0n ? -1 : seq > 0n ? 1 : 0;
}

/** The `n` a relay's append carries (see PUBLISH); undefined for a foreign producer's entry. */
function appendsOf([, fields]: StreamEntry): number | undefined {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === "n") return Number(fields[i + 1]);
  return undefined;
}

/** A stream entry as a log message; entries without a `channel` field are not messages. */
function toMessage([offset, fields]: StreamEntry): LogMessage | undefined {
  const get = (name: string) => {
    for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
    return undefined;
  };
  const channel = get("channel");
  if (channel === undefined) return undefined;
  const headers = get("headers");
  const message: LogMessage = {
    channel,
    id: get("id") ?? `redis-${offset}`,
    data: decodeData(get("data") ?? "null"),
    ts: Number(offset.slice(0, offset.indexOf("-"))),
    offset,
  };
  if (headers !== undefined) message.headers = decodeData(headers) as Headers;
  return message;
}

/**
 * Connects to Redis and returns the broker; fails with a clear error when Redis cannot be reached.
 * @example const broker = await createRedisBroker({ url: "redis://127.0.0.1:6379" })
 */
export async function createRedisBroker(options: RedisBrokerOptions): Promise<GroupBroker> {
  const { url, prefix = "pubsubbud:", connectTimeoutMs = 5_000 } = options;
  const retention = retentionOf(options);
  const log = options.log ?? (() => {});
  const check = "that Redis runs there and the URL's host, port, password and database";
  checkUrl(url, "redis://host:6379");
  const connection = (role: string, extra: Record<string, unknown> = {}) => {
    const redis = new Redis(url, {
      lazyConnect: true,
      connectionName: `pubsubbud-${role}`,
      retryStrategy: (attempt) => backoffDelay(attempt),
      ...extra,
    });
    redis.on("error", () => {}); // reported through healthy() and the logs below
    redis.on("close", () => log("warn", "redis connection lost", { role, url: redactUrl(url) }));
    redis.on("ready", () => log("info", "redis connected", { role }));
    return redis;
  };
  // Commands fail at once while Redis is away, so publishers hear of it instead of waiting.
  const main = connection("main", { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  const reader = connection("reader", {
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: null,
  });
  const bridge = connection("bridge");
  const scripts = main as unknown as Redis & Scripts;
  main.defineCommand("pubsubbudPublish", { numberOfKeys: 4, lua: PUBLISH });
  main.defineCommand("pubsubbudState", { numberOfKeys: 3, lua: STATE });
  main.defineCommand("pubsubbudClaim", { numberOfKeys: 1, lua: CLAIM });
  try {
    await firstConnect(
      url,
      connectTimeoutMs,
      Promise.all([main.connect(), reader.connect(), bridge.connect()]),
      check,
    );
  } catch (error) {
    for (const redis of [main, reader, bridge]) redis.disconnect();
    throw error;
  }

  const instance = randomId(12);
  const listeners = new Listeners();
  /**
   * Per listened namespace: the stream id read up to, the epoch seen when listening began, and
   * the count of relay appends read up to (an entry whose `n` skips ahead was trimmed unread).
   */
  const cursors = new Map<string, { last: string; epoch: string; appends: number }>();
  const bridging = new Set<string>();
  let closed = false;
  let readerId: number | undefined;
  let readerBlocked = false;
  let reconnected = false;
  let wake: (() => void) | undefined;

  const streamKey = (ns: string) => `${prefix}${ns}`;
  const state = (ns: string, position = "", read = false) =>
    scripts.pubsubbudState(
      streamKey(ns),
      `${streamKey(ns)}:epoch`,
      `${streamKey(ns)}:n`,
      randomId(12),
      position,
      read ? "1" : "0",
    );

  /** Ends the pending XREAD when the reader's connection drops (ioredis may keep it pending). */
  let abortRead: ((error: Error) => void) | undefined;
  reader.on("ready", () => {
    readerId = undefined;
    reconnected = true;
  });
  reader.on("close", () => abortRead?.(new Error("redis reader connection lost")));

  /**
   * Interrupts the reader's blocking XREAD so it picks up a changed set of namespaces. The UNBLOCK
   * can overtake the XREAD it means to end (two connections), so it is repeated until it lands;
   * the XREAD's own 2 s block is the last resort.
   */
  const interrupt = async () => {
    wake?.();
    for (let attempt = 0; attempt < 50 && readerBlocked && !closed; attempt++) {
      if (readerId !== undefined) {
        const done = await main.call("CLIENT", "UNBLOCK", String(readerId)).catch(() => 0);
        if (done === 1) return;
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  };

  /** After a reconnect: a changed epoch or entries trimmed past the cursor mean a gap. */
  const verifyCursors = async () => {
    for (const [ns, cursor] of cursors) {
      const [epoch, last, intact, , appends] = await state(ns, cursor.last);
      if (epoch === cursor.epoch && intact === 1) continue;
      log("warn", "redis log changed while disconnected", { namespace: ns });
      cursors.set(ns, { last, epoch, appends });
      listeners.gap(ns);
    }
  };

  const readLoop = async () => {
    let attempt = 0;
    while (!closed) {
      try {
        if (cursors.size === 0) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = undefined;
          continue;
        }
        if (reconnected) {
          reconnected = false;
          await verifyCursors();
          continue; // a gap may have ended the namespace's sessions and its cursor
        }
        readerId ??= Number(await reader.call("CLIENT", "ID"));
        const names = [...cursors.keys()];
        readerBlocked = true;
        const read = reader.call(
          "XREAD",
          "COUNT",
          "1000",
          "BLOCK",
          "2000",
          "STREAMS",
          ...names.map(streamKey),
          ...names.map((ns) => (cursors.get(ns) as { last: string }).last || "0-0"),
        );
        read.catch(() => {});
        const reply = (await Promise.race([
          read,
          new Promise<never>((_, reject) => {
            abortRead = reject;
          }),
        ])) as Array<[string, StreamEntry[]]> | null;
        abortRead = undefined;
        readerBlocked = false;
        attempt = 0;
        for (const [key, entries] of reply ?? []) {
          const ns = key.slice(prefix.length);
          const cursor = cursors.get(ns);
          if (!cursor) continue;
          for (const entry of entries) {
            cursor.last = entry[0];
            const appends = appendsOf(entry);
            if (appends !== undefined) {
              // The live reader fell behind the trim: entries it never read are gone.
              if (appends > cursor.appends + 1) {
                log("warn", "redis trimmed entries before this relay read them", { namespace: ns });
                listeners.gap(ns);
              }
              cursor.appends = Math.max(cursor.appends, appends);
            }
            const message = toMessage(entry);
            if (message) listeners.message(ns, message);
          }
        }
      } catch (error) {
        readerBlocked = false;
        if (closed) return;
        log("warn", "redis read failed; retrying", { error: String(error) });
        await new Promise((resolve) => setTimeout(resolve, backoffDelay(attempt++)));
      }
    }
  };
  void readLoop();

  // Plain PUBLISH <prefix><ns>:<channel> from any Redis client: the instance holding the
  // namespace's bridge lease copies it into the stream, once.
  bridge.on("pmessage", (_pattern: string, channel: string, payload: string) => {
    const rest = channel.slice(prefix.length);
    const ns = rest.slice(0, rest.indexOf(":"));
    if (!bridging.has(ns)) return;
    broker
      .publish(ns, {
        channel: rest.slice(ns.length + 1),
        id: `redis-pub-${randomId(16)}`,
        data: decodeData(payload),
      })
      .catch((error) => log("warn", "bridging a PUBLISH failed", { error: String(error) }));
  });
  const claim = async (ns: string) => {
    const held = await scripts.pubsubbudClaim(`${streamKey(ns)}:bridge`, instance, BRIDGE_LEASE_MS);
    if (held === 1) bridging.add(ns);
    else bridging.delete(ns);
  };
  const lease = setInterval(() => {
    for (const ns of cursors.keys()) claim(ns).catch(() => bridging.delete(ns));
  }, BRIDGE_LEASE_MS / 3);
  lease.unref();

  const groupReaders = new Set<Redis>();
  const broker: GroupBroker = {
    name: "redis",
    capabilities: { sharedHistory: true, totalOrder: true },
    async publish(namespace: string, input: PublishInput): Promise<PublishOutcome> {
      const key = streamKey(namespace);
      // Sent on a ready connection, a command that then fails without Redis's own answer (the
      // connection died with it in flight) may have run: the retry with the same id settles it.
      const sent = main.status === "ready";
      const [offset, duplicate] = await scripts
        .pubsubbudPublish(
          key,
          `${key}:seen:${dedupeKey(input)}`,
          `${key}:epoch`,
          `${key}:n`,
          input.id,
          input.channel,
          encodeData(input.data),
          input.headers === undefined ? "" : JSON.stringify(input.headers),
          randomId(12),
          retention.maxMessages,
          retention.maxAgeMs,
          retention.dedupeWindowMs,
        )
        .catch((error: unknown) => {
          if (!sent || error instanceof ReplyError) throw error;
          throw new PublishUncertainError(
            "the connection to Redis ended with the publish in flight",
            {
              cause: error,
            },
          );
        });
      return { offset, duplicate: duplicate === 1 };
    },
    async listen(namespace: string, listener: BrokerListener): Promise<StopListening> {
      if (listeners.add(namespace, listener)) {
        const [epoch, last, , , appends] = await state(namespace);
        cursors.set(namespace, { last, epoch, appends });
        await bridge.psubscribe(`${streamKey(namespace)}:*`);
        await claim(namespace);
        void interrupt();
      }
      return async () => {
        if (!listeners.remove(namespace, listener)) return;
        cursors.delete(namespace);
        bridging.delete(namespace);
        void interrupt();
        await bridge.punsubscribe(`${streamKey(namespace)}:*`).catch(() => {});
      };
    },
    async head(namespace: string): Promise<Position> {
      const [epoch, last] = await state(namespace);
      return { epoch, offset: last };
    },
    async since(namespace: string, position: Position): Promise<LogMessage[] | undefined> {
      const [epoch, last, intact, entries] = await state(namespace, position.offset, true);
      if (epoch !== position.epoch || intact !== 1) return undefined;
      if (compareStreamIds(position.offset, last) > 0) return undefined;
      return entries.map(toMessage).filter((m): m is LogMessage => m !== undefined);
    },
    compareOffsets: compareStreamIds,
    // A Redis Streams consumer group: each member reads with XREADGROUP on its own connection,
    // acknowledges with XACK after `handle`, and claims entries a dead member left pending for
    // more than 30 s (XAUTOCLAIM).
    groups: {
      namedMembers: false,
      async consume(namespace, group, member, handle) {
        await state(namespace); // the epoch exists before the group
        const reader = connection(`group-${group}`, { maxRetriesPerRequest: null });
        await reader.connect();
        groupReaders.add(reader);
        const joined = await RedisGroupMember.join({
          main,
          reader,
          key: streamKey(namespace),
          group,
          consumer: member ?? `${instance}-${randomId(6)}`,
          decode: toMessage,
          handle,
        }).catch((error: unknown) => {
          groupReaders.delete(reader);
          reader.disconnect();
          throw error;
        });
        return async () => {
          await joined.stop();
          groupReaders.delete(reader);
        };
      },
    },
    healthy: () => !closed && main.status === "ready" && reader.status === "ready",
    async close() {
      closed = true;
      clearInterval(lease);
      listeners.clear();
      cursors.clear();
      wake?.();
      for (const redis of [main, reader, bridge, ...groupReaders]) redis.disconnect();
    },
  };
  return broker;
}
