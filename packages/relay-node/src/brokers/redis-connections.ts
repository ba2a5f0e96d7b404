/**
 * The Redis broker's connections, made alike and closed together: `main` for commands (failing at
 * once while Redis is away), `reader` for the live reader's blocking XREAD, `bridge` subscribed to
 * plain PUBLISHes, and one more per group member. Each reports losing and regaining Redis.
 */
import { Redis, type RedisOptions } from "ioredis";
import { type Scripts, defineScripts } from "./redis-scripts.js";
import { type BrokerCommonOptions, backoffDelay, firstConnect, redactUrl } from "./shared.js";

type Say = NonNullable<BrokerCommonOptions["log"]>;

export class RedisConnections {
  /** Commands and the scripts (see redis-scripts.ts). */
  readonly main: Redis & Scripts;
  /** The live reader's own connection: its reads block. */
  readonly reader: Redis;
  /** Subscribed to the namespaces' plain PUBLISH channels. */
  readonly bridge: Redis;
  readonly #url: string;
  readonly #say: Say;
  /** The group members' connections still open. */
  readonly #members = new Set<Redis>();

  constructor(url: string, say: Say) {
    this.#url = url;
    this.#say = say;
    // Commands fail at once while Redis is away, so publishers hear of it instead of waiting.
    this.main = defineScripts(
      this.#make("main", { enableOfflineQueue: false, maxRetriesPerRequest: 1 }),
    );
    this.reader = this.#make("reader", {
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: null,
    });
    this.bridge = this.#make("bridge");
  }

  #make(role: string, extra: RedisOptions = {}): Redis {
    const redis = new Redis(this.#url, {
      lazyConnect: true,
      connectionName: `pubsubbud-${role}`,
      retryStrategy: (attempt) => backoffDelay(attempt),
      ...extra,
    });
    redis.on("error", () => {}); // reported through healthy() and the logs below
    redis.on("close", () =>
      this.#say("warn", "redis connection lost", { role, url: redactUrl(this.#url) }),
    );
    redis.on("ready", () => this.#say("info", "redis connected", { role }));
    return redis;
  }

  /** Connects main, reader and bridge, or fails with a clear error and disconnects them. */
  async connect(timeoutMs: number): Promise<void> {
    const { main, reader, bridge } = this;
    try {
      await firstConnect(
        this.#url,
        timeoutMs,
        Promise.all([main.connect(), reader.connect(), bridge.connect()]),
        "that Redis runs there and the URL's host, port, password and database",
      );
    } catch (error) {
      for (const redis of [main, reader, bridge]) redis.disconnect();
      throw error;
    }
  }

  /** A connected connection for a member of `group`, disconnected by {@link disconnect}. */
  async member(group: string): Promise<Redis> {
    const redis = this.#make(`group-${group}`, { maxRetriesPerRequest: null });
    await redis.connect();
    this.#members.add(redis);
    return redis;
  }

  /** Leaves a member's connection to its member, which disconnects it. */
  forget(redis: Redis): void {
    this.#members.delete(redis);
  }

  disconnect(): void {
    for (const redis of [this.main, this.reader, this.bridge, ...this.#members]) redis.disconnect();
  }
}
