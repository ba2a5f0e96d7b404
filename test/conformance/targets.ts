/**
 * The relays the conformance suite runs against. Adding a target is adding one entry: a name and
 * a `start` that returns where clients connect. Every target must honour `window` (the count of
 * messages kept for replay) so the recovery cases can cut a client for less and more than it.
 */
import { createMemoryBroker, startRelay } from "@pubsubbud/relay-node";

export interface RelayTarget {
  /** `ws://host:port` of the namespace `default`; append `/ns/<name>` for others. */
  readonly wsUrl: string;
  /** `http://host:port` for the HTTP surface. */
  readonly httpUrl: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface TargetOptions {
  /** Messages kept for replay per namespace. */
  window: number;
}

export interface TargetFactory {
  readonly name: string;
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
        httpUrl: relay.url,
        port: relay.port,
        close: () => relay.close(1000),
      };
    },
  },
];
