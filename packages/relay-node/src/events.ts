/**
 * The event-driven server-side style: a backend service publishes and handles messages through
 * the broker directly, without a WebSocket. `createPublisher` and `createSubscriber` take the same
 * broker URLs as the relay (or a Broker), and a subscriber dispatches to handlers registered by
 * fnmatch pattern, each isolated from the others, retried, and dead-lettered when it keeps failing.
 *
 * Events may follow a convention: channel `<domain>.<action>`, header `event-version`.
 */
import {
  type CompiledPattern,
  channelError,
  compilePattern,
  dataError,
  DEFAULT_LIMITS,
  type Headers,
  headersError,
  isInboxChannel,
  patternError,
} from "@pubsubbud/protocol";
import type { Broker, GroupMessage, LogMessage, StopListening } from "@pubsubbud/relay-core";
import { randomId } from "@pubsubbud/relay-core/internal";
import { type BrokerUrlOptions, createBrokerFromUrl } from "./broker-url.js";
import { GROUP_NAME } from "./brokers/shared.js";
import { RelayNodeError, RelayNodeErrorCode } from "./errors.js";

/** The header that carries an event's schema version. */
export const EVENT_VERSION = "event-version";

/**
 * A delivered message, with the namespace it came from and which attempt this is (1-based). A
 * group member on a broker without a shared log (MQTT, RabbitMQ) gets it without an `offset`.
 */
export interface EventMessage<T = unknown> extends GroupMessage {
  data: T;
  namespace: string;
  attempt: number;
}

/** Domain, action and version of an event on `<domain>.<action>` (the first dot splits). */
export function describeEvent(message: Pick<LogMessage, "channel" | "headers">): {
  domain: string;
  action: string;
  version: number | undefined;
} {
  const dot = message.channel.indexOf(".");
  const version = message.headers?.[EVENT_VERSION];
  return {
    domain: dot < 0 ? message.channel : message.channel.slice(0, dot),
    action: dot < 0 ? "" : message.channel.slice(dot + 1),
    version: typeof version === "number" ? version : version ? Number(version) : undefined,
  };
}

interface Common {
  /** The broker, or its URL (as `--broker` takes). */
  broker: Broker | string;
  /** Options when `broker` is a URL. */
  brokerOptions?: BrokerUrlOptions;
  /** @default "default" */
  namespace?: string;
}

export interface PublisherOptions extends Common {}

export interface Publisher extends AsyncDisposable {
  publish(
    channel: string,
    data: unknown,
    options?: { headers?: Headers; id?: string },
  ): Promise<{ id: string; offset: string; duplicate: boolean }>;
  /** Publishes on `<domain>.<action>` with the version in the `event-version` header. */
  emit(
    domain: string,
    action: string,
    data: unknown,
    options?: { version?: number; headers?: Headers; id?: string },
  ): Promise<{ id: string; offset: string; duplicate: boolean }>;
  close(): Promise<void>;
}

const opened = async (options: Common) => {
  const owned = typeof options.broker === "string";
  const broker =
    typeof options.broker === "string"
      ? await createBrokerFromUrl(options.broker, options.brokerOptions)
      : options.broker;
  return { broker, owned, namespace: options.namespace ?? "default" };
};

const argumentError = (message: string) =>
  new RelayNodeError(RelayNodeErrorCode.BadArgument, message);

/**
 * A backend publisher on a broker.
 * @example
 * const orders = await createPublisher({ broker: "redis://127.0.0.1:6379" });
 * await orders.emit("order", "created", { id: 7 }, { version: 2 });
 */
export async function createPublisher(options: PublisherOptions): Promise<Publisher> {
  const { broker, owned, namespace } = await opened(options);
  const publisher: Publisher = {
    async publish(channel, data, { headers, id = randomId(21) } = {}) {
      const invalid =
        channelError(channel, DEFAULT_LIMITS) ??
        headersError(headers, DEFAULT_LIMITS) ??
        dataError(data);
      if (invalid) throw argumentError(invalid);
      const outcome = await broker.publish(namespace, {
        channel,
        id,
        data,
        ...(headers ? { headers } : {}),
      });
      return { id, ...outcome };
    },
    emit(domain, action, data, { version, headers, id } = {}) {
      const all = version === undefined ? headers : { ...headers, [EVENT_VERSION]: version };
      return publisher.publish(`${domain}.${action}`, data, {
        ...(all && Object.keys(all).length > 0 ? { headers: all } : {}),
        ...(id ? { id } : {}),
      });
    },
    async close() {
      if (owned) await broker.close();
    },
    [Symbol.asyncDispose]: () => publisher.close(),
  };
  return publisher;
}

export type Handler<T = unknown> = (message: EventMessage<T>) => void | Promise<void>;

/** How a failing handler is retried. */
export interface RetryPolicy {
  /** Attempts in all, the first included. @default 3 */
  attempts: number;
  /** Delay before the second attempt, in ms; doubles after each failure. @default 100 */
  delayMs: number;
}

export interface SubscriberOptions extends Common {
  retry?: Partial<RetryPolicy>;
  /**
   * Channel prefix of the dead-letter channel: a message whose handler failed every attempt is
   * published on `<deadLetter>.<its channel>` with `{ message, handler, error }`. @default "dead-letter"
   */
  deadLetter?: string;
  /** Told of every failed attempt. */
  onError?: (error: unknown, message: EventMessage, handler: string) => void;
  /**
   * A durable group: each message goes to one member of the group (competing consumers), is
   * acknowledged once its handlers have settled (succeeded or dead-lettered), and the group
   * resumes after its last acknowledged message when members restart. Delivery begins at
   * `start()`. Supported by every broker but memory; see docs/events.md.
   */
  group?: string;
  /**
   * This member's stable name within its group (1–64 of A–Z a–z 0–9 _ -). Required on MQTT, where
   * the server queues a share of the group's messages for each member while it is away: a member
   * restarted under the same name gets its share. Other brokers use it only in their consumer names.
   */
  member?: string;
  /**
   * Told when the broker's feed was interrupted and messages may have been missed (a broker
   * restart without a shared log: see docs/brokers.md).
   */
  onGap?: () => void;
}

export interface Subscriber extends AsyncDisposable {
  /**
   * Registers a handler for channels matching `pattern` (fnmatch: `*`, `?`, `[seq]`). `name`
   * identifies it in dead letters. Returns a function that removes it.
   */
  on<T = unknown>(pattern: string, handler: Handler<T>, name?: string): () => void;
  /**
   * Begins delivery for a group subscriber (register handlers first). A subscriber without a
   * group receives from its creation on; for it this does nothing.
   */
  start(): Promise<void>;
  /** Resolves once every message delivered so far has been handled (or dead-lettered). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

interface Registration {
  pattern: CompiledPattern;
  handler: Handler;
  name: string;
}

/**
 * A backend subscriber on a broker: one broker listener for the namespace, messages handled in
 * log order, each matching handler on its own (one failing handler never stops the others).
 * @example
 * const worker = await createSubscriber({ broker: "redis://127.0.0.1:6379" });
 * worker.on("order.*", async (event) => sendMail(event.data), "mailer");
 */
export async function createSubscriber(options: SubscriberOptions): Promise<Subscriber> {
  const { broker, owned, namespace } = await opened(options);
  const retry: RetryPolicy = { attempts: 3, delayMs: 100, ...options.retry };
  const deadLetter = options.deadLetter ?? "dead-letter";
  if (channelError(`${deadLetter}.x`, DEFAULT_LIMITS))
    throw argumentError(`deadLetter ${JSON.stringify(deadLetter)} is not a valid channel prefix`);
  const registrations = new Set<Registration>();
  let queue: Promise<void> = Promise.resolve();
  let closed = false;
  let count = 0;

  const runHandler = async (registration: Registration, message: GroupMessage) => {
    let delay = retry.delayMs;
    for (let attempt = 1; ; attempt++) {
      const event: EventMessage = { ...message, namespace, attempt };
      try {
        await registration.handler(event);
        return;
      } catch (error) {
        options.onError?.(error, event, registration.name);
        if (attempt >= retry.attempts || closed) {
          const channel = `${deadLetter}.${message.channel}`;
          try {
            await broker.publish(namespace, {
              channel: channelError(channel, DEFAULT_LIMITS) ? deadLetter : channel,
              id: `${message.id}:${registration.name}:dead`,
              data: { message, handler: registration.name, error: String(error) },
            });
          } catch {
            // The dead letter is best effort: the handler's failure was reported to onError.
          }
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay *= 2;
      }
    }
  };

  /** Runs every matching handler of a message; settles when all have (or were dead-lettered). */
  const process = async (message: GroupMessage): Promise<void> => {
    if (isInboxChannel(message.channel)) return;
    const matching = [...registrations].filter((r) => r.pattern.matches(message.channel));
    await Promise.all(matching.map((r) => runHandler(r, message)));
  };

  let stop: StopListening = async () => {};
  let start = async () => {};
  if (options.group === undefined) {
    // In log order: a message's handlers all settle before the next message's start.
    stop = await broker.listen(namespace, {
      message: (message) => {
        queue = queue.then(() => process(message));
      },
      gap: () => options.onGap?.(),
    });
  } else {
    const { group } = options;
    if (!GROUP_NAME.test(group))
      throw argumentError(`group ${JSON.stringify(group)} must be 1–64 of A–Z a–z 0–9 _ -`);
    const { groups } = broker;
    if (!groups)
      throw argumentError(
        `the ${broker.name} broker has no durable groups (every other broker has)`,
      );
    const { member } = options;
    if (member !== undefined && !GROUP_NAME.test(member))
      throw argumentError(`member ${JSON.stringify(member)} must be 1–64 of A–Z a–z 0–9 _ -`);
    if (groups.namedMembers && member === undefined)
      throw argumentError(
        `the ${broker.name} broker queues a group's messages per member: give each member a stable \`member\` name, the same after a restart`,
      );

    let started = false;
    start = async () => {
      if (started) return;
      started = true;
      stop = await groups.consume(namespace, group, member, (message) => {
        const done = queue.then(() => process(message));
        queue = done;
        return done;
      });
    };
  }

  const subscriber: Subscriber = {
    on(pattern, handler, name = `handler-${++count}`) {
      if (closed) throw argumentError("the subscriber is closed");
      const invalid = patternError(pattern, DEFAULT_LIMITS);
      if (invalid) throw argumentError(invalid);
      const registration: Registration = {
        pattern: compilePattern(pattern),
        handler: handler as Handler,
        name,
      };
      registrations.add(registration);
      return () => void registrations.delete(registration);
    },
    start: () => start(),
    async idle() {
      let seen: Promise<void> | undefined;
      while (seen !== queue) {
        seen = queue;
        await seen;
      }
    },
    async close() {
      closed = true;
      await stop();
      await subscriber.idle();
      if (owned) await broker.close();
    },
    [Symbol.asyncDispose]: () => subscriber.close(),
  };
  return subscriber;
}
