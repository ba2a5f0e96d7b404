import type { Position } from "@pubsubbud/protocol";
import {
  type Broker,
  type BrokerListener,
  compareDecimalOffsets,
  type LogMessage,
  type PublishInput,
  type PublishOutcome,
  type StopListening,
} from "./broker.js";
import { DEFAULT_RETENTION, type LogRetention, MemoryLog } from "./memory-log.js";
import { getOrCreate } from "./map.js";
import { randomId } from "./random.js";

/** Options of {@link createMemoryBroker}. */
export interface MemoryBrokerOptions {
  /** Replay window and dedupe window per namespace. @default DEFAULT_RETENTION */
  retention?: Partial<LogRetention>;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
}

/**
 * The embedded broker: one process, namespace logs in memory, delivery in publish order.
 * History lives as long as the process; a restart starts a new epoch, so resuming clients get
 * `recovered:false` rather than a silent gap.
 * @example const relay = await startRelay({ broker: createMemoryBroker() })
 */
export function createMemoryBroker(options: MemoryBrokerOptions = {}): Broker {
  const retention = { ...DEFAULT_RETENTION, ...options.retention };
  const now = options.now ?? Date.now;
  const logs = new Map<string, MemoryLog>();
  const listeners = new Map<string, Set<BrokerListener>>();
  let closed = false;

  const logOf = (namespace: string): MemoryLog =>
    getOrCreate(logs, namespace, () => new MemoryLog(randomId(12), retention, now));

  return {
    name: "memory",
    capabilities: { sharedHistory: false },
    async publish(namespace: string, input: PublishInput): Promise<PublishOutcome> {
      if (closed) throw new Error("memory broker is closed");
      const { outcome, message } = logOf(namespace).append(input);
      if (message) for (const listener of listeners.get(namespace) ?? []) listener.message(message);
      return outcome;
    },
    async listen(namespace, listener): Promise<StopListening> {
      const set = getOrCreate(listeners, namespace, () => new Set<BrokerListener>());
      set.add(listener);
      return async () => {
        set.delete(listener);
        if (set.size === 0) listeners.delete(namespace);
      };
    },
    async head(namespace: string): Promise<Position> {
      return logOf(namespace).head();
    },
    async since(namespace: string, position: Position): Promise<LogMessage[] | undefined> {
      return logOf(namespace).since(position);
    },
    compareOffsets: compareDecimalOffsets,
    healthy: () => !closed,
    async close() {
      closed = true;
      listeners.clear();
    },
  };
}
