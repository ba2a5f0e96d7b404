/**
 * The relays the conformance suite runs against. Adding a target is adding one entry: a name and
 * a `start` that returns where clients connect. Every target must honour `window` (the count of
 * messages kept for replay) so the recovery cases can cut a client for less and more than it.
 */
import { fileURLToPath } from "node:url";
import { createMemoryBroker, startRelay } from "@pubsubbud/relay-node";
import { Miniflare } from "miniflare";
import { type BrokerKind, sharedBrokerKinds } from "../brokers/kinds.js";

export interface RelayTarget {
  /** `ws://host:port` of the namespace `default`; append `/ns/<name>` for others. */
  readonly wsUrl: string;
  /**
   * Every instance's `ws://host:port` (the first is `wsUrl`). The suite spreads its clients over
   * them in turn: client A on instance 1, client B on instance 2.
   */
  readonly wsUrls: readonly string[];
  /** Whether every instance gives a message the same offset (a shared log). */
  readonly sharedOffsets: boolean;
  /** Whether all instances see one order with publishers on different instances (not RabbitMQ). */
  readonly totalOrder: boolean;
  /** `http://host:port` for the HTTP surface. */
  readonly httpUrl: string;
  readonly port: number;
  /** Whether it serves `GET /metrics` (relay-node does; a Worker's objects have no shared process). */
  readonly metrics: boolean;
  close(): Promise<void>;
}

export interface TargetOptions {
  /** Messages kept for replay per namespace. */
  window: number;
}

export interface TargetFactory {
  readonly name: string;
  /** True when a service the target needs is missing (skipped locally, a failure in CI). */
  readonly unavailable?: boolean;
  start(options: TargetOptions): Promise<RelayTarget>;
}

export const targets: TargetFactory[] = [
  {
    name: "relay-node + memory broker",
    async start({ window }) {
      const relay = await startRelay({
        port: 0,
        broker: createMemoryBroker({ retention: { maxMessages: window } }),
      });
      return {
        wsUrl: relay.wsUrl,
        wsUrls: [relay.wsUrl],
        sharedOffsets: true,
        totalOrder: true,
        httpUrl: relay.url,
        port: relay.port,
        metrics: true,
        close: () => relay.close(1000),
      };
    },
  },
  {
    name: "relay-worker in workerd (Miniflare)",
    async start({ window }) {
      const worker = new Miniflare({
        modules: true,
        scriptPath: fileURLToPath(
          new URL("../../packages/relay-worker/dist/worker.js", import.meta.url),
        ),
        compatibilityDate: "2026-04-01",
        durableObjects: { NAMESPACES: { className: "NamespaceObject", useSQLite: true } },
        bindings: { RETENTION_MAX_MESSAGES: String(window), ANONYMOUS: "all" },
        // No request.cf lookup: the tests run without internet.
        cf: false,
        host: "127.0.0.1",
        port: 0,
      });
      const url = await worker.ready;
      return {
        wsUrl: `ws://127.0.0.1:${url.port}`,
        wsUrls: [`ws://127.0.0.1:${url.port}`],
        sharedOffsets: true,
        totalOrder: true,
        httpUrl: `http://127.0.0.1:${url.port}`,
        port: Number(url.port),
        metrics: false,
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
    async start({ window }) {
      const relays = await Promise.all(
        [0, 1].map(async () =>
          startRelay({ port: 0, broker: await kind.create({ maxMessages: window }) }),
        ),
      );
      const [first] = relays as [(typeof relays)[number]];
      return {
        wsUrl: first.wsUrl,
        wsUrls: relays.map((relay) => relay.wsUrl),
        sharedOffsets: kind.shared,
        totalOrder: kind.totalOrder,
        httpUrl: first.url,
        port: first.port,
        metrics: true,
        close: async () => {
          await Promise.all(relays.map((relay) => relay.close(1000)));
        },
      };
    },
  };
}
