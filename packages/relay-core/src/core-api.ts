/**
 * What a user of relay-core builds with: the options of `createRelayCore` and the `RelayCore` it
 * returns (the engine in relay.ts implements it).
 */
import type { Broker, PublishInput } from "./broker.js";
import type { RelayLimits } from "./limits.js";
import type { TailEntry } from "./tail.js";
import type {
  Authenticate,
  Connection,
  Identity,
  Logger,
  RelayCounters,
  SessionSnapshot,
  Transport,
} from "./types.js";

/** Options of {@link createRelayCore}. */
export interface RelayCoreOptions {
  /** Where messages go and where the namespace logs live. */
  broker: Broker;
  /** Decides who may connect. @default every connection is accepted */
  authenticate?: Authenticate;
  /** Limits and timings; unset fields keep their defaults. */
  limits?: Partial<RelayLimits>;
  logger?: Logger;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
  /** How many recent messages `stats().tail` keeps (delivered by this relay, or accepted for a namespace it does not listen to). @default 50 */
  tailSize?: number;
  /**
   * Schedules the flush of queued frames. Frames queued before it runs leave as one batch per
   * connection. relay-node passes `setImmediate` (the end of the I/O phase, so publishes read
   * from many sockets share one write per recipient). @default queueMicrotask
   */
  scheduleFlush?: (flush: () => void) => void;
}

export interface RelayStats {
  connections: number;
  namespaces: Array<{ name: string; connections: number; subscriptions: number }>;
  counters: Readonly<RelayCounters>;
  errors: Readonly<Record<string, number>>;
  closes: Readonly<Record<string, number>>;
  broker: { name: string; healthy: boolean; sharedHistory: boolean; totalOrder: boolean };
  tail: readonly TailEntry[];
}

/** What a server-side publish takes: like a client publish, the id is optional. */
export interface ServerPublish {
  channel: string;
  data: unknown;
  headers?: PublishInput["headers"];
  /** Message id and idempotency key. @default a random id */
  id?: string;
}

/** The runtime-agnostic relay: runtime adapters feed it sockets, it does the protocol. */
export interface RelayCore {
  readonly limits: Readonly<RelayLimits>;
  readonly broker: Broker;
  /** Registers a socket that connected to `namespace`. Throws RelayError for a bad namespace. */
  accept(init: { namespace: string; transport: Transport; remote?: string }): Connection;
  /**
   * Rebuilds an open session from its snapshot, around a socket that outlived the relay's
   * memory (Durable Object hibernation). No `welcome` is sent: the client never noticed.
   */
  restore(init: { snapshot: SessionSnapshot; transport: Transport }): Connection;
  /**
   * Publishes from the server side (HTTP endpoint, embedding apps). With `as`, the publish is
   * held to that identity's grants (RelayError `forbidden`) and stamped with its user as `sender`.
   * A bad channel or headers is refused (`bad_channel`, `bad_headers`), and so is data that is not
   * a JSON value (`bad_data`: a BigInt, a cycle, `undefined`), before the broker sees it.
   */
  publish(
    namespace: string,
    message: ServerPublish,
    as?: Identity,
  ): Promise<{ id: string; offset: string; duplicate: boolean }>;
  /** Runs the authenticate hook: the identity of a token, or why it was refused. */
  authenticate(
    token: string | undefined,
    namespace: string,
    client: string,
  ): Promise<Identity | { refused: string }>;
  /** Why one more connection from `remote` is refused (`limits.maxConnectionsPerIp`), or undefined. */
  connectionRefusal(remote: string | undefined): string | undefined;
  /** Closes idle and stuck connections; call it every second or so. */
  sweep(now?: number): void;
  stats(): RelayStats;
  /** Closes every connection with 4100 and a jittered `retry=` delay, so clients spread out. */
  shutdown(): void;
}
