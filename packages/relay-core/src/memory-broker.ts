import type { Position } from "@pubsubbud/protocol";
import {
  type Broker,
  BrokerFullError,
  type BrokerListener,
  compareDecimalOffsets,
  type LogMessage,
  type PublishInput,
  type PublishOutcome,
  type StopListening,
} from "./broker.js";
import { getOrCreate } from "./map.js";
import { DEFAULT_RETENTION, type LogRetention, MemoryLog } from "./memory-log.js";
import { randomId } from "./random.js";

/** Options of {@link createMemoryBroker}. */
export interface MemoryBrokerOptions {
  /** Replay window and dedupe window per namespace. @default DEFAULT_RETENTION */
  retention?: Partial<LogRetention>;
  /**
   * Bytes of messages kept across all namespaces, each namespace counted 1,536 bytes more for its
   * log itself (what one costs with nothing in it; measured 1,341 with one small message). Past
   * it, the logs of namespaces nobody listens to give up their oldest messages first; when that is
   * not enough the publish is refused (`storage_full`, retry later) rather than let memory grow,
   * so publishing to ever more namespaces is bounded too. @default 268435456 (256 MiB)
   */
  maxBytes?: number;
  /**
   * How often retention runs without traffic, dropping namespaces that nobody listens to and that
   * hold no message or id any more. 0 turns the timer off (call `sweep()` yourself). @default 10000
   */
  sweepIntervalMs?: number;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
}

/** The memory broker, with the sweep its timer runs (for tests and embedders without timers). */
export interface MemoryBroker extends Broker {
  /** Applies retention to every namespace and forgets the idle, empty ones. */
  sweep(): void;
  /** Namespaces held, and the bytes counted against `maxBytes` (their messages and logs). */
  usage(): { namespaces: number; bytes: number };
}

/**
 * The embedded broker: one process, namespace logs in memory, delivery in publish order.
 * History lives as long as the process; a restart starts a new epoch, so resuming clients get
 * `recovered:false` rather than a silent gap. Memory is bounded: per namespace by the retention
 * (count, age, bytes), across namespaces by `maxBytes`, and idle namespaces are forgotten.
 * @example const relay = await startRelay({ broker: createMemoryBroker() })
 */
export function createMemoryBroker(options: MemoryBrokerOptions = {}): MemoryBroker {
  return new MemoryBrokerImpl(options);
}

/** What a namespace's log costs with nothing in it, counted against `maxBytes`. */
export const LOG_BYTES = 1_536;

/** Runtime timers: relay-core sees no runtime's globals, but every runtime it runs on has these. */
const timers = globalThis as unknown as {
  setInterval(run: () => void, ms: number): { unref?: () => void };
  clearInterval(timer: unknown): void;
};

// Methods are own arrow properties, so a wrapper spreading the broker (`{ ...broker, publish }`)
// keeps working as it did with the object literal this class replaced.
class MemoryBrokerImpl implements MemoryBroker {
  readonly name = "memory";
  readonly capabilities = { sharedHistory: false, totalOrder: true };
  readonly compareOffsets = compareDecimalOffsets;
  readonly #retention: LogRetention;
  readonly #maxBytes: number;
  readonly #now: () => number;
  readonly #logs = new Map<string, MemoryLog>();
  readonly #listeners = new Map<string, Set<BrokerListener>>();
  readonly #timer: { unref?: () => void } | undefined;
  /**
   * Bytes of all logs' retained messages (kept by measuring every call that may change one) and
   * LOG_BYTES for each log.
   */
  #bytes = 0;
  #closed = false;

  constructor(options: MemoryBrokerOptions) {
    this.#retention = { ...DEFAULT_RETENTION, ...options.retention };
    this.#maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
    this.#now = options.now ?? Date.now;
    const every = options.sweepIntervalMs ?? 10_000;
    if (every > 0) {
      this.#timer = timers.setInterval(() => this.sweep(), every);
      // A Node timer must not keep the process alive for this; other runtimes have no unref.
      this.#timer.unref?.();
    }
  }

  /** Runs `work` on a log and accounts for the bytes it added or trimmed. */
  #measure<T>(log: MemoryLog, work: () => T): T {
    const before = log.bytes;
    try {
      return work();
    } finally {
      this.#bytes += log.bytes - before;
    }
  }

  // A publish's path: no closure per call.
  #log(namespace: string): MemoryLog {
    let log = this.#logs.get(namespace);
    if (log === undefined) {
      log = new MemoryLog(randomId(12), this.#retention, this.#now);
      this.#logs.set(namespace, log);
      this.#bytes += LOG_BYTES;
    }
    return log;
  }

  publish = (namespace: string, input: PublishInput): PublishOutcome => {
    if (this.#closed) throw new Error("memory broker is closed");
    const log = this.#log(namespace);
    // Measured inline (no closure per publish); an append that throws leaves the log unchanged.
    const before = log.bytes;
    const { outcome, message } = log.append(input);
    this.#bytes += log.bytes - before;
    if (message && this.#bytes > this.#maxBytes && !this.#makeRoom(log)) {
      // Nobody has seen it yet: taken back whole, so a retry is not mistaken for a duplicate.
      this.#measure(log, () => log.dropNewest());
      // A namespace made for this publish leaves with it: refused namespaces take no room.
      if (!this.#listeners.has(namespace) && log.expire()) this.#forget(namespace);
      throw new BrokerFullError(
        `the memory broker holds its ${this.#maxBytes} bytes (maxBytes) across namespaces; retry later`,
      );
    }
    if (message)
      for (const listener of this.#listeners.get(namespace) ?? []) listener.message(message);
    return outcome;
  };

  /** Frees bytes past the global budget from idle namespaces' oldest messages; false if it cannot. */
  #makeRoom(keep: MemoryLog): boolean {
    for (const [namespace, log] of this.#logs) {
      if (this.#bytes <= this.#maxBytes) break;
      if (log === keep || this.#listeners.has(namespace)) continue;
      const before = log.bytes;
      while (this.#bytes - before + log.bytes > this.#maxBytes && log.dropOldest());
      this.#bytes += log.bytes - before;
    }
    return this.#bytes <= this.#maxBytes;
  }

  listen = async (namespace: string, listener: BrokerListener): Promise<StopListening> => {
    getOrCreate(this.#listeners, namespace, () => new Set<BrokerListener>()).add(listener);
    return async () => {
      const set = this.#listeners.get(namespace);
      if (set?.delete(listener) && set.size === 0) this.#listeners.delete(namespace);
    };
  };

  head = (namespace: string): Position => {
    return this.#log(namespace).head();
  };

  since = async (namespace: string, position: Position): Promise<LogMessage[] | undefined> => {
    const log = this.#log(namespace);
    return this.#measure(log, () => log.since(position));
  };

  healthy = (): boolean => {
    return !this.#closed;
  };

  sweep = (): void => {
    for (const [namespace, log] of this.#logs)
      if (this.#measure(log, () => log.expire()) && !this.#listeners.has(namespace))
        this.#forget(namespace);
  };

  #forget(namespace: string): void {
    if (this.#logs.delete(namespace)) this.#bytes -= LOG_BYTES;
  }

  usage = (): { namespaces: number; bytes: number } => {
    return { namespaces: this.#logs.size, bytes: this.#bytes };
  };

  close = async (): Promise<void> => {
    this.#closed = true;
    timers.clearInterval(this.#timer);
    this.#listeners.clear();
  };
}
