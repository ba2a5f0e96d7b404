/**
 * The Redis broker: each namespace's log is a Redis Stream, so every relay instance shares the
 * history and a client can resume on any of them. See docs/brokers.md.
 *
 * Keys (prefix `pubsubbud:` by default; namespaces never contain `:`):
 * - `<prefix><ns>`: the stream; entry fields `channel`, `data` (the JSON text), `id`, `headers`
 * - `<prefix><ns>:epoch`: the log's epoch, made on first use; a flushed Redis makes a new one
 * - `<prefix><ns>:seen:<id>`: dedupe marks holding the first copy's offset, expiring after the window
 * - `<prefix><ns>:bridge`: which instance copies plain `PUBLISH <prefix><ns>:<channel>` into the stream
 *
 * Parts: {@link RedisConnections} makes the connections; {@link RedisLog} appends, reads and replays
 * the streams; a {@link StreamReader} is the live feed of the listened ones; a
 * {@link PublishBridge} copies plain PUBLISHes in; a {@link RedisGroupMember} is a durable group's
 * member.
 */
import type { Position } from "@pubsubbud/protocol";
import type {
  BrokerGroups,
  BrokerListener,
  GroupBroker,
  LogMessage,
  PublishInput,
  PublishOutcome,
  StopListening,
} from "@pubsubbud/relay-core";
import { randomId } from "@pubsubbud/relay-core/internal";
import { PublishBridge } from "./redis-bridge.js";
import { RedisConnections } from "./redis-connections.js";
import { RedisGroupMember } from "./redis-group.js";
import { RedisLog } from "./redis-log.js";
import { appendsOf, compareStreamIds, toMessage } from "./redis-mapping.js";
import { StreamReader } from "./redis-reader.js";
import {
  type BrokerCommonOptions,
  checkUrl,
  GroupMembers,
  Listeners,
  retentionOf,
} from "./shared.js";

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

/**
 * Connects to Redis and returns the broker; fails with a clear error when Redis cannot be reached.
 * @example const broker = await createRedisBroker({ url: "redis://127.0.0.1:6379" })
 */
export async function createRedisBroker(options: RedisBrokerOptions): Promise<GroupBroker> {
  const { url, connectTimeoutMs = 5_000 } = options;
  checkUrl(url, "redis://host:6379");
  const connections = new RedisConnections(url, options.log ?? (() => {}));
  await connections.connect(connectTimeoutMs);
  return new RedisBroker(options, connections);
}

class RedisBroker implements GroupBroker {
  readonly name = "redis";
  readonly capabilities = { sharedHistory: true, totalOrder: true };
  readonly #connections: RedisConnections;
  readonly #log: RedisLog;
  readonly #listeners = new Listeners();
  readonly #live: StreamReader;
  readonly #bridge: PublishBridge;
  /** How to stop this process's group members. */
  readonly #members = new GroupMembers();
  /** This instance, as bridge leases and group consumers name it. */
  readonly #instance = randomId(12);
  #closed = false;

  constructor(options: RedisBrokerOptions, connections: RedisConnections) {
    const prefix = options.prefix ?? "pubsubbud:";
    const say = options.log ?? (() => {});
    const { main, reader, bridge } = connections;
    this.#connections = connections;
    this.#log = new RedisLog(main, prefix, retentionOf(options));
    this.#live = new StreamReader({
      reader,
      main,
      streamKey: (ns) => this.#log.key(ns),
      prefix,
      state: (ns, last) => this.#log.cursor(ns, last),
      decode: toMessage,
      appendsOf,
      message: (ns, message) => this.#listeners.message(ns, message),
      gap: (ns) => this.#listeners.gap(ns),
      log: say,
    });
    this.#bridge = new PublishBridge({
      subscriber: bridge,
      main,
      prefix,
      instance: this.#instance,
      namespaces: () => this.#live.namespaces(),
      publish: (ns, input) => this.publish(ns, input),
      log: say,
    });
  }

  publish(namespace: string, input: PublishInput): Promise<PublishOutcome> {
    return this.#log.publish(namespace, input);
  }

  async listen(namespace: string, listener: BrokerListener): Promise<StopListening> {
    if (this.#listeners.add(namespace, listener)) {
      const [epoch, last, , , appends] = await this.#log.state(namespace);
      this.#live.add(namespace, { last, epoch, appends });
      await this.#bridge.follow(namespace);
    }
    return async () => {
      if (!this.#listeners.remove(namespace, listener)) return;
      this.#live.remove(namespace);
      await this.#bridge.unfollow(namespace);
    };
  }

  head(namespace: string): Promise<Position> {
    return this.#log.head(namespace);
  }

  since(namespace: string, position: Position): Promise<LogMessage[] | undefined> {
    return this.#log.since(namespace, position);
  }

  compareOffsets = compareStreamIds;

  // A Redis Streams consumer group: each member reads with XREADGROUP on its own connection,
  // acknowledges with XACK after `handle`, and claims entries a dead member left pending for
  // more than 30 s (XAUTOCLAIM).
  readonly groups: BrokerGroups = {
    namedMembers: false,
    consume: async (namespace, group, member, handle) => {
      await this.#log.state(namespace); // the epoch exists before the group
      const reader = await this.#connections.member(group);
      const joined = await RedisGroupMember.join({
        main: this.#connections.main,
        reader,
        key: this.#log.key(namespace),
        group,
        consumer: member ?? `${this.#instance}-${randomId(6)}`,
        decode: toMessage,
        handle,
      }).catch((error: unknown) => {
        this.#connections.forget(reader);
        reader.disconnect();
        throw error;
      });
      return this.#members.add(async () => {
        await joined.stop();
        this.#connections.forget(reader);
      });
    },
  };

  healthy(): boolean {
    const { main, reader } = this.#connections;
    return !this.#closed && main.status === "ready" && reader.status === "ready";
  }

  async close(): Promise<void> {
    this.#closed = true;
    // Before the connections go: a member finishes and acknowledges what it is handling.
    await this.#members.stopAll();
    this.#bridge.close();
    this.#listeners.clear();
    this.#live.close();
    this.#connections.disconnect();
  }
}
