import type { Headers, MessageFrame, Position } from "@pubsubbud/protocol";

/**
 * A message as it sits in a namespace log: the `message` frame without its type. The `offset` is
 * the broker's native position of the message, opaque to clients.
 */
export type LogMessage = Omit<MessageFrame, "type">;

/**
 * A message as a durable group hands it to a member. `offset` is its position in the namespace
 * log, the one live subscribers see; it is absent on a broker without a shared log
 * (`capabilities.sharedHistory` false: MQTT, RabbitMQ), whose groups read a server-side queue that
 * gives a message no position.
 */
export type GroupMessage = Omit<LogMessage, "offset"> & { offset?: string };

/** What a relay hands a broker to publish. */
export interface PublishInput {
  channel: string;
  id: string;
  data: unknown;
  headers?: Headers;
}

/** The broker's answer to a publish. */
export interface PublishOutcome {
  /** Offset of the message in the namespace log (of the first copy, for a duplicate). */
  offset: string;
  /** True when the id was seen inside the dedupe window: acknowledged again, not delivered again. */
  duplicate: boolean;
}

/** Who waits for a publish's answer ({@link Broker.publish}); an `AbortSignal` is one. */
export interface Publisher {
  /** True once nobody waits for the answer any more. */
  readonly aborted: boolean;
}

/** What a relay hands {@link Broker.listen}. */
export interface BrokerListener {
  message(message: LogMessage): void;
  gap(): void;
}

/**
 * What a broker throws from {@link Broker.publish} when it cannot know whether the message was
 * taken (a timeout, a confirmation lost with the connection). The relay answers
 * `publish_uncertain`: the client retries with the same id, and the dedupe key makes a copy that
 * did land count once. Any other error means the broker provably did not take the message
 * (`publish_failed`), and that message must never be delivered.
 */
export class PublishUncertainError extends Error {
  override readonly name = "PublishUncertainError";
}

/**
 * What a broker throws from {@link Broker.publish} when its byte budget is full: the message was
 * not taken and is never delivered. The relay answers `storage_full`: retry later, same id.
 */
export class BrokerFullError extends Error {
  override readonly name = "BrokerFullError";
}

/** Stops a live subscription. */
export type StopListening = () => Promise<void>;

/** What a broker can promise, shown in docs/brokers.md and /healthz; the contract suite checks it. */
export interface BrokerCapabilities {
  /**
   * True when every relay instance on this broker reads one shared log: offsets, history and
   * dedupe agree across instances, and a resume works on any of them. False for a relay-local
   * window: each relay keeps what it received while listening, a resume works on the same
   * instance only (another answers `recovered:false`), and `head` of a namespace the relay
   * does not listen to may reject (a relay reads head and history only while listening).
   */
  sharedHistory: boolean;
  /**
   * True when every listener on every instance sees a namespace's messages in one order, even
   * with publishers on different instances. False when only each publisher's own order holds
   * (RabbitMQ routes each publishing channel on its own).
   */
  totalOrder: boolean;
}

/**
 * Durable consumer groups: each message of the namespace goes to one member of the named group,
 * is acknowledged once `handle` resolves, and a group that restarts resumes after its last
 * acknowledged message. A `handle` that rejects leaves the message unacknowledged, so the broker
 * delivers it again.
 */
export interface BrokerGroups {
  /** Members must be named: the server keeps a backlog per member (MQTT shared subscriptions). */
  readonly namedMembers: boolean;
  /** Joins `group` as `member` (a random name when left out); resolves with how to leave. */
  consume(
    namespace: string,
    group: string,
    member: string | undefined,
    handle: (message: GroupMessage) => Promise<void>,
  ): Promise<() => Promise<void>>;
}

/** True for a promise (or any thenable): a broker may answer `publish` and `head` either way. */
export const isPromise = <T>(value: T | PromiseLike<T>): value is PromiseLike<T> =>
  typeof (value as { then?: unknown }).then === "function";

/**
 * The small interface every broker implements. One namespace is one ordered log; a broker
 * delivers a namespace's messages to its listeners in log order, each once.
 */
export interface Broker {
  /** A short name for logs and metrics, e.g. `memory`, `redis`. */
  readonly name: string;
  readonly capabilities: BrokerCapabilities;
  /** Durable consumer groups, on a broker that has them. */
  readonly groups?: BrokerGroups;
  /**
   * Appends a message to the namespace log (or recognises a duplicate id). `publisher.aborted`
   * turns true once nobody waits for the answer (the publisher's connection closed): a broker that
   * holds publishes before it hands them on (a flow-control queue) drops such a one unsent and
   * rejects. The client resends unanswered publishes in order after it reconnects; an old attempt
   * sent later than the resends would land behind the publisher's newer messages. A broker that
   * appends at once (a log in memory) may return the outcome rather than a promise, and throw
   * rather than reject: the relay then acks in the turn the publish arrived, without promise turns.
   */
  publish(
    namespace: string,
    input: PublishInput,
    publisher?: Publisher,
  ): PublishOutcome | Promise<PublishOutcome>;
  /**
   * Starts live delivery of the namespace's messages. When the promise resolves, every message
   * published afterwards reaches `listener.message`, in log order. When the broker cannot prove
   * that its live feed missed nothing (a lost connection, a trimmed log), it calls
   * `listener.gap` once the feed runs again: the relay then asks the namespace's clients to
   * resume, so any loss is reported to them instead of being silent.
   */
  listen(namespace: string, listener: BrokerListener): Promise<StopListening>;
  /**
   * The namespace log's epoch and newest offset (`""` when empty). A broker that knows it at once
   * (a log in memory) may return it rather than a promise: a handshake then completes in the
   * turn its `hello` arrived.
   */
  head(namespace: string): Position | Promise<Position>;
  /**
   * The messages strictly after `position`, oldest first, or `undefined` when the log can no
   * longer prove it has all of them (another epoch, or trimmed by retention).
   */
  since(namespace: string, position: Position): Promise<LogMessage[] | undefined>;
  /**
   * Orders two offsets of one namespace log: negative when `a` is older than `b`. Brokers whose
   * offsets are decimal sequence numbers use {@link compareDecimalOffsets}.
   */
  compareOffsets(a: string, b: string): number;
  /** False while the broker is unreachable. */
  healthy(): boolean;
  close(): Promise<void>;
}

/** A broker with durable consumer groups (every networked broker and the file broker). */
export type GroupBroker = Broker & { readonly groups: BrokerGroups };

/**
 * The idempotency key of a message: its id, scoped to the sender the relay stamped from the token
 * (header `sender`), so one identity can never suppress another's message by reusing its id.
 * Messages without a sender (anonymous clients, HTTP publishes without a token, foreign producers)
 * share one scope. Every broker dedupes on this key, at publish and, where instances share a
 * feed, on the feed too. The key is computable from any log message, so every instance agrees.
 */
export function dedupeKey(message: { id: string; headers?: PublishInput["headers"] }): string {
  const sender = message.headers?.sender;
  const scope = typeof sender === "string" ? sender : "";
  // Length-prefixed, so no id can pose as another scope's key; no control characters, so the
  // key fits where brokers keep it (NATS and AMQP headers, Redis keys, SQL text).
  return `${scope.length}:${scope}:${message.id}`;
}

/**
 * Orders decimal offsets (`"9"` before `"10"`) without parsing them, so 64-bit offsets compare
 * correctly. `""` (an empty log) is older than every offset.
 */
export function compareDecimalOffsets(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
