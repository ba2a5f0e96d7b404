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
import type { Position } from "@pubsubbud/protocol";
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
import { RedisGroupMember } from "./redis-group.js";
import { appendsOf, compareStreamIds, toMessage } from "./redis-mapping.js";
import { StreamReader } from "./redis-reader.js";
import { defineScripts } from "./redis-scripts.js";

export { compareStreamIds } from "./redis-mapping.js";

/** Options of {@link createRedisBroker}. */
export interface RedisBrokerOptions extends BrokerCommonOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…` for TLS. */
  url: string;
  /** Prefix of every key and pub/sub channel. @default "pubsubbud:" */
  prefix?: string;
  /** How long the first connection may take before start fails, in ms. @default 5000 */
  connectTimeoutMs?: number;
}

const BRIDGE_LEASE_MS = 10_000;

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
  const scripts = defineScripts(main);
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
  const bridging = new Set<string>();
  let closed = false;

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
  const live = new StreamReader({
    reader,
    main,
    streamKey,
    prefix,
    state: async (ns, last) => {
      const [epoch, now, intact, , appends] = await state(ns, last);
      return { cursor: { last: now, epoch, appends }, intact: intact === 1 };
    },
    decode: toMessage,
    appendsOf,
    message: (ns, message) => listeners.message(ns, message),
    gap: (ns) => listeners.gap(ns),
    log,
  });

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
    for (const ns of live.namespaces()) claim(ns).catch(() => bridging.delete(ns));
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
        live.add(namespace, { last, epoch, appends });
        await bridge.psubscribe(`${streamKey(namespace)}:*`);
        await claim(namespace);
      }
      return async () => {
        if (!listeners.remove(namespace, listener)) return;
        live.remove(namespace);
        bridging.delete(namespace);
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
      live.close();
      for (const redis of [main, reader, bridge, ...groupReaders]) redis.disconnect();
    },
  };
  return broker;
}
