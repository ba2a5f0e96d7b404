/**
 * The Redis broker's bridge: a plain `PUBLISH <prefix><ns>:<channel>` from any Redis client is
 * copied into the namespace's stream, once, by the instance holding the namespace's bridge lease
 * (key `<prefix><ns>:bridge`), which every instance listening to it keeps or tries to take.
 */
import type { PublishInput, PublishOutcome } from "@pubsubbud/relay-core";
import { randomId } from "@pubsubbud/relay-core/internal";
import type { Redis } from "ioredis";
import type { Scripts } from "./redis-scripts.js";
import { type BrokerCommonOptions, decodeData } from "./shared.js";

const LEASE_MS = 10_000;

/** What the bridge works with. */
export interface PublishBridgeOptions {
  /** The connection that subscribes to the PUBLISH channels (subscriber mode). */
  subscriber: Redis;
  /** The broker's main connection, for the lease script. */
  main: Redis & Scripts;
  prefix: string;
  /** This broker instance, as the lease names its holder. */
  instance: string;
  /** The namespaces listened to, whose leases are renewed. */
  namespaces(): Iterable<string>;
  /** Appends a bridged message to the namespace's log. */
  publish(namespace: string, input: PublishInput): Promise<PublishOutcome>;
  log: NonNullable<BrokerCommonOptions["log"]>;
}

export class PublishBridge {
  readonly #options: PublishBridgeOptions;
  /** The namespaces whose lease this instance holds. */
  readonly #bridging = new Set<string>();
  readonly #lease: ReturnType<typeof setInterval>;

  constructor(options: PublishBridgeOptions) {
    this.#options = options;
    options.subscriber.on("pmessage", (_pattern: string, channel: string, payload: string) =>
      this.#received(channel, payload),
    );
    this.#lease = setInterval(() => {
      for (const ns of options.namespaces()) this.#claim(ns).catch(() => this.#bridging.delete(ns));
    }, LEASE_MS / 3);
    this.#lease.unref();
  }

  #received(channel: string, payload: string): void {
    const { prefix, publish, log } = this.#options;
    const rest = channel.slice(prefix.length);
    const ns = rest.slice(0, rest.indexOf(":"));
    if (!this.#bridging.has(ns)) return;
    publish(ns, {
      channel: rest.slice(ns.length + 1),
      id: `redis-pub-${randomId(16)}`,
      data: decodeData(payload),
    }).catch((error) => log("warn", "bridging a PUBLISH failed", { error: String(error) }));
  }

  async #claim(ns: string): Promise<void> {
    const { main, prefix, instance } = this.#options;
    const held = await main.pubsubbudClaim(`${prefix}${ns}:bridge`, instance, LEASE_MS);
    if (held === 1) this.#bridging.add(ns);
    else this.#bridging.delete(ns);
  }

  /** Subscribes to the namespace's PUBLISH channels and tries its lease. */
  async follow(ns: string): Promise<void> {
    await this.#options.subscriber.psubscribe(`${this.#options.prefix}${ns}:*`);
    await this.#claim(ns);
  }

  /** Stops copying the namespace's PUBLISHes; its lease lapses. */
  async unfollow(ns: string): Promise<void> {
    this.#bridging.delete(ns);
    await this.#options.subscriber.punsubscribe(`${this.#options.prefix}${ns}:*`).catch(() => {});
  }

  close(): void {
    clearInterval(this.#lease);
  }
}
