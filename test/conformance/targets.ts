/**
 * The relays the conformance suite runs against. Adding a target is adding one entry: a name and
 * a `start` that returns where clients connect. Every target must honour `window` (the count of
 * messages kept for replay) so the recovery cases can cut a client for less and more than it,
 * and must restart an instance on demand, for the model runs (model.test.ts).
 */
import { fileURLToPath } from "node:url";
import type { Broker, LogRetention } from "@pubsubbud/relay-core";
import { createMemoryBroker, createRelay, type RunningRelay } from "@pubsubbud/relay-node";
import { Miniflare, type MiniflareOptions } from "miniflare";
import { type BrokerKind, sharedBrokerKinds } from "../brokers/kinds.js";

export interface RelayTarget {
  /** `ws://host:port` of the namespace `default`; append `/ns/<name>` for others. */
  readonly wsUrl: string;
  /**
   * Every instance's `ws://host:port` (the first is `wsUrl`). The suite spreads its clients over
   * them in turn: client A on instance 1, client B on instance 2. A restart keeps them.
   */
  readonly wsUrls: readonly string[];
  /** Whether every instance gives a message the same offset (a shared log). */
  readonly sharedOffsets: boolean;
  /** Whether all instances see one order with publishers on different instances (not RabbitMQ). */
  readonly totalOrder: boolean;
  /**
   * Whether a client resuming on a restarted instance recovers what it missed: the log lives in
   * the broker or in durable storage, not in the relay process (memory broker, relay-local
   * windows: no, the client gets a gap).
   */
  readonly restartKeepsHistory: boolean;
  /** `http://host:port` for the HTTP surface. */
  readonly httpUrl: string;
  readonly port: number;
  /** Whether it serves `GET /metrics` (relay-node does; a Worker's objects have no shared process). */
  readonly metrics: boolean;
  /**
   * Restarts one instance (index into `wsUrls`) on the same port: its clients lose their
   * connections and reconnect by themselves.
   */
  restart(instance: number): Promise<void>;
  close(): Promise<void>;
}

export interface TargetOptions {
  /** Messages kept for replay per namespace. */
  window: number;
  /**
   * How long messages are kept for replay and their ids for dedupe, in ms (one value: some
   * brokers refuse a dedupe window longer than the log's age). @default the broker's defaults
   */
  retainMs?: number;
}

export interface TargetFactory {
  readonly name: string;
  /** True when a service the target needs is missing (skipped locally, a failure in CI). */
  readonly unavailable?: boolean;
  start(options: TargetOptions): Promise<RelayTarget>;
}

/** Clients told to reconnect by a restarting relay-node come back within 100 ms, not 5 s. */
const RESTART_LIMITS = { shutdownRetrySpreadMs: 100 };

const retentionOf = ({ window, retainMs }: TargetOptions): Partial<LogRetention> => ({
  maxMessages: window,
  ...(retainMs ? { maxAgeMs: retainMs, dedupeWindowMs: retainMs } : {}),
});

export const targets: TargetFactory[] = [
  {
    name: "relay-node + memory broker",
    start: (options) =>
      nodeInstances(1, async () => createMemoryBroker({ retention: retentionOf(options) }), {
        sharedOffsets: true,
        totalOrder: true,
        restartKeepsHistory: false,
      }),
  },
  {
    name: "relay-worker in workerd (Miniflare)",
    async start({ window, retainMs }) {
      const options = (port: number): MiniflareOptions => ({
        modules: true,
        scriptPath: fileURLToPath(
          new URL("../../packages/relay-worker/dist/worker.js", import.meta.url),
        ),
        compatibilityDate: "2026-04-01",
        durableObjects: { NAMESPACES: { className: "NamespaceObject", useSQLite: true } },
        bindings: {
          RETENTION_MAX_MESSAGES: String(window),
          ANONYMOUS: "all",
          ...(retainMs
            ? { RETENTION_MAX_AGE_MS: String(retainMs), DEDUPE_WINDOW_MS: String(retainMs) }
            : {}),
        },
        // No request.cf lookup: the tests run without internet.
        cf: false,
        host: "127.0.0.1",
        port,
      });
      const worker = new Miniflare(options(0));
      const url = await worker.ready;
      const port = Number(url.port);
      return {
        wsUrl: `ws://127.0.0.1:${port}`,
        wsUrls: [`ws://127.0.0.1:${port}`],
        sharedOffsets: true,
        totalOrder: true,
        // The objects' SQLite storage outlives the workerd process.
        restartKeepsHistory: true,
        httpUrl: `http://127.0.0.1:${port}`,
        port,
        metrics: false,
        restart: () => worker.setOptions(options(port)),
        close: () => worker.dispose(),
      };
    },
  },
  ...sharedBrokerKinds.map(twoInstances),
];

/** Two relay-node instances on one broker server. */
function twoInstances(kind: BrokerKind): TargetFactory {
  return {
    name: `two relay-node instances + ${kind.name} broker`,
    get unavailable() {
      return kind.unavailable;
    },
    start: (options) => nodeInstances(2, () => kind.create(retentionOf(options))),
  };
}

/**
 * `count` relay-node instances, each with a broker of its own from `broker()`. Unless given, the
 * traits are what the broker declares in its capabilities.
 */
async function nodeInstances(
  count: number,
  broker: () => Promise<Broker>,
  given?: Pick<RelayTarget, "sharedOffsets" | "totalOrder" | "restartKeepsHistory">,
): Promise<RelayTarget> {
  const relays = await Promise.all(
    Array.from({ length: count }, async () => listen(await broker(), 0)),
  );
  const [first] = relays as [RunningRelay];
  const { sharedHistory, totalOrder } = first.core.broker.capabilities;
  const traits = given ?? {
    sharedOffsets: sharedHistory,
    totalOrder,
    restartKeepsHistory: sharedHistory,
  };
  return {
    wsUrl: first.wsUrl,
    wsUrls: relays.map((relay) => relay.wsUrl),
    ...traits,
    httpUrl: first.url,
    port: first.port,
    metrics: true,
    async restart(instance) {
      const old = relays[instance] as RunningRelay;
      await old.close(1000);
      relays[instance] = await listen(await broker(), old.port);
    },
    close: async () => {
      await Promise.all(relays.map((relay) => relay.close(1000)));
    },
  };
}

/** A relay-node on `port`; a port just released by a restart may take a moment to be free. */
async function listen(broker: Broker, port: number): Promise<RunningRelay> {
  const relay = createRelay({ broker, limits: RESTART_LIMITS });
  for (let attempt = 0; ; attempt++) {
    try {
      return await relay.listen({ port });
    } catch (error) {
      if ((error as { code?: string }).code !== "EADDRINUSE" || attempt >= 100) {
        await broker.close();
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
