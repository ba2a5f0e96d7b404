/**
 * The NATS broker: channels map to core subjects, and a JetStream stream per namespace is the
 * namespace log (shared history, dedupe by `Nats-Msg-Id`). See docs/brokers.md.
 *
 * Mapping (nats-mapping.ts): channel `sensor.temp` in namespace `ns` is subject
 * `pubsubbud.ns.sensor.temp`; the payload is the JSON data; headers are NATS headers. A plain
 * `nats pub pubsubbud.ns.sensor.temp '{"c":21}'` is captured by the stream and reaches `sensor.*`;
 * `nats sub 'pubsubbud.ns.>'` sees client publishes.
 *
 * Parts: {@link NatsLog} owns the streams (publish, head, replay); a {@link NatsFollower} per
 * listened namespace is its live feed; nats-group.ts a durable group's member.
 */
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import type { Position } from "@pubsubbud/protocol";
import {
  type BrokerGroups,
  type BrokerListener,
  compareDecimalOffsets,
  type GroupBroker,
  type LogMessage,
  type PublishInput,
  type PublishOutcome,
  type StopListening,
} from "@pubsubbud/relay-core";
import { NatsFollower } from "./nats-follower.js";
import { joinNatsGroup } from "./nats-group.js";
import { NatsLog } from "./nats-log.js";
import {
  type BrokerCommonOptions,
  checkUrl,
  firstConnect,
  GroupMembers,
  Listeners,
  retentionOf,
} from "./shared.js";

export { channelToSubject, subjectToChannel } from "./nats-mapping.js";

/** Options of {@link createNatsBroker}. */
export interface NatsBrokerOptions extends BrokerCommonOptions {
  /** `nats://[user:password@]host:4222[,host2:4222]`. */
  url: string;
  /** First subject token(s). @default "pubsubbud" */
  prefix?: string;
  /** @default 5000 */
  connectTimeoutMs?: number;
}

/**
 * Connects to NATS (JetStream enabled) and returns the broker.
 * @example const broker = await createNatsBroker({ url: "nats://127.0.0.1:4222" })
 */
export async function createNatsBroker(options: NatsBrokerOptions): Promise<GroupBroker> {
  const { url, connectTimeoutMs = 5_000 } = options;
  checkUrl(url, "nats://host:4222");
  const parsed = new URL(url);
  const nc: NatsConnection = await firstConnect(
    url,
    connectTimeoutMs,
    connect({
      servers: parsed.host.split(","),
      ...(parsed.username
        ? { user: decodeURIComponent(parsed.username), pass: decodeURIComponent(parsed.password) }
        : {}),
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      reconnectJitter: 500,
      timeout: connectTimeoutMs,
    }),
    "that nats-server runs there with JetStream enabled (-js)",
  );
  const log = new NatsLog(
    jetstream(nc),
    await jetstreamManager(nc),
    options.prefix ?? "pubsubbud",
    retentionOf(options),
  );
  return new NatsBroker(nc, log, options.log ?? (() => {}));
}

class NatsBroker implements GroupBroker {
  readonly name = "nats";
  readonly capabilities = { sharedHistory: true, totalOrder: true };
  readonly #nc: NatsConnection;
  readonly #log: NatsLog;
  readonly #say: NonNullable<BrokerCommonOptions["log"]>;
  readonly #listeners = new Listeners();
  /** The live feed of each listened namespace. */
  readonly #followers = new Map<string, NatsFollower>();
  /** How to stop this process's group members. */
  readonly #members = new GroupMembers();
  #connected = true;
  #closed = false;

  constructor(nc: NatsConnection, log: NatsLog, say: NonNullable<BrokerCommonOptions["log"]>) {
    this.#nc = nc;
    this.#log = log;
    this.#say = say;
    void this.#watch();
  }

  /** Follows the connection's status: health, and followers restarted after a reconnect. */
  async #watch(): Promise<void> {
    for await (const status of this.#nc.status()) {
      if (status.type === "disconnect") {
        this.#connected = false;
        this.#say("warn", "nats connection lost", {});
      } else if (status.type === "reconnect") {
        this.#connected = true;
        this.#say("info", "nats reconnected", {});
        // Pull requests died with the connection: follow again from where each feed was.
        for (const [ns, follower] of this.#followers)
          follower.restart().then(
            (next) => {
              if (this.#followers.get(ns) === follower) this.#followers.set(ns, next);
              else next.stop();
            },
            (error) =>
              this.#say("warn", "nats consumer restart failed", {
                namespace: ns,
                error: String(error),
              }),
          );
      }
    }
  }

  #follow(ns: string): Promise<NatsFollower> {
    return NatsFollower.fromEnd({
      log: this.#log,
      namespace: ns,
      message: (message) => this.#listeners.message(ns, message),
      gap: () => {
        this.#say("warn", "nats stream moved past this relay's position", { namespace: ns });
        this.#listeners.gap(ns);
      },
      ended: (error) =>
        this.#say("warn", "nats consumer ended", { namespace: ns, error: String(error) }),
    });
  }

  publish(namespace: string, input: PublishInput): Promise<PublishOutcome> {
    return this.#log.publish(namespace, input);
  }

  async listen(namespace: string, listener: BrokerListener): Promise<StopListening> {
    if (this.#listeners.add(namespace, listener)) {
      try {
        this.#followers.set(namespace, await this.#follow(namespace));
      } catch (error) {
        this.#listeners.remove(namespace, listener);
        throw error;
      }
    }
    return async () => {
      if (!this.#listeners.remove(namespace, listener)) return;
      this.#followers.get(namespace)?.stop();
      this.#followers.delete(namespace);
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
    return this.#connected && !this.#closed && !this.#nc.isClosed();
  }

  readonly groups: BrokerGroups = {
    namedMembers: false,
    consume: async (namespace, group, _member, handle) => {
      const leave = await joinNatsGroup(this.#log, namespace, group, handle);
      return this.#members.add(leave);
    },
  };

  async close(): Promise<void> {
    this.#closed = true;
    await this.#members.stopAll();
    for (const follower of this.#followers.values()) follower.stop();
    this.#followers.clear();
    this.#listeners.clear();
    await this.#nc.drain().catch(() => this.#nc.close());
  }
}
