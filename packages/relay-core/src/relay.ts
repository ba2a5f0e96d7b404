import {
  type AnnouncedLimits,
  CloseCode,
  channelError,
  dataError,
  ErrorCode,
  headersError,
  isInboxChannel,
  type PublishFrame,
  retryReason,
} from "@pubsubbud/protocol";
import {
  type Broker,
  type LogMessage,
  type PublishInput,
  type PublishOutcome,
  type Publisher,
  BrokerFullError,
  isPromise,
  PublishUncertainError,
} from "./broker.js";
import { TokenError } from "./auth.js";
import type { RelayCore, RelayCoreOptions, RelayStats, ServerPublish } from "./core-api.js";
import { RelayError, RelayErrorCode } from "./errors.js";
import type { Delivery } from "./delivery.js";
import { CompiledGrants, stampSender } from "./grants.js";
import { DEFAULT_RELAY_LIMITS, namespaceError, type RelayLimits } from "./limits.js";
import { NamespaceState } from "./namespace.js";
import { randomId } from "./random.js";
import { serializeMessage } from "./serialize.js";
import { Tail } from "./tail.js";
import { TokenBucket } from "./token-bucket.js";
import { Session, type SessionHost } from "./session.js";
import type {
  Authenticate,
  Connection,
  Identity,
  Logger,
  RelayCounters,
  SessionSnapshot,
  Transport,
} from "./types.js";
import { silentLogger } from "./types.js";

/** The identity of every connection when there is no authenticate hook: one, shared. */
const ANONYMOUS: Identity = Object.freeze({});

/** The engine behind {@link RelayCore}: it owns the namespaces and is each session's host. */
export class RelayEngine implements RelayCore, SessionHost {
  readonly limits: Readonly<RelayLimits>;
  readonly broker: Broker;
  readonly logger: Logger;
  readonly now: () => number;
  readonly announcedLimits: AnnouncedLimits;
  readonly counters: RelayCounters = {
    framesReceived: 0,
    framesSent: 0,
    published: 0,
    duplicates: 0,
    fannedOut: 0,
    deliveries: 0,
    replayed: 0,
    resumesRecovered: 0,
    resumesLost: 0,
    connectionsOpened: 0,
  };
  readonly #errors: Record<string, number> = {};
  readonly #closes: Record<string, number> = {};
  readonly #namespaces = new Map<string, NamespaceState<Session>>();
  readonly #sessions = new Set<Session>();
  /** Open connections per client address. */
  readonly #byRemote = new Map<string, number>();
  readonly #authenticate: Authenticate | undefined;
  /** The recent messages (a ring) and, same index, their namespaces. */
  readonly #tail: Tail;
  /**
   * "token refused" lines, at most 10 a second across the relay (a connection can send a refused
   * `refresh` in every frame); the next line written says how many were left out.
   */
  readonly #refusalLines: TokenBucket;
  #refusalsUnlogged = 0;
  #dirty: Delivery[] = [];
  readonly #schedule: (flush: () => void) => void;
  readonly maxBatchBytes: number;
  readonly maxBufferedBytes: number;
  readonly compareOffsets: (a: string, b: string) => number;
  #stamp = 0;

  constructor(options: RelayCoreOptions) {
    this.broker = options.broker;
    this.limits = Object.freeze({ ...DEFAULT_RELAY_LIMITS, ...options.limits });
    this.logger = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.#authenticate = options.authenticate;
    this.#tail = new Tail(options.tailSize ?? 50);
    this.#refusalLines = new TokenBucket(10, 10, this.now());
    // Wrapped: some runtimes (workerd) refuse queueMicrotask called with another `this`.
    this.#schedule = options.scheduleFlush ?? ((flush) => queueMicrotask(flush));
    this.maxBatchBytes = this.limits.maxBatchBytes;
    this.maxBufferedBytes = this.limits.maxBufferedBytes;
    this.compareOffsets = this.broker.compareOffsets;
    const { maxFrameBytes, maxSubscriptions, maxChannelLength, maxPatternLength, maxWildcards } =
      this.limits;
    this.announcedLimits = {
      maxFrameBytes,
      maxSubscriptions,
      maxChannelLength,
      maxPatternLength,
      maxWildcards,
    };
  }

  accept(init: { namespace: string; transport: Transport; remote?: string }): Connection {
    const session = new Session(
      this,
      randomId(16),
      this.#namespace(init.namespace),
      init.transport,
      init.remote,
    );
    this.counters.connectionsOpened++;
    return this.#register(session);
  }

  connectionRefusal(remote: string | undefined): string | undefined {
    if (remote === undefined) return undefined;
    const max = this.limits.maxConnectionsPerIp;
    if ((this.#byRemote.get(remote) ?? 0) < max) return undefined;
    return `this address already holds ${max} connections (limits.maxConnectionsPerIp); close some or retry later`;
  }

  restore({
    snapshot,
    transport,
  }: {
    snapshot: SessionSnapshot;
    transport: Transport;
  }): Connection {
    const session = new Session(
      this,
      snapshot.session,
      this.#namespace(snapshot.namespace),
      transport,
      snapshot.remote,
    );
    session.restore(snapshot);
    this.#register(session);
    if (snapshot.catchingUp) this.#resumeAgain(session);
    return session;
  }

  /** The namespace a new connection holds (released in `forget`). */
  #namespace(name: string): NamespaceState<Session> {
    // A namespace the relay holds was checked when it was made.
    const known = this.#namespaces.get(name);
    if (known) return known.hold();
    const invalid = namespaceError(name);
    if (invalid) throw new RelayError(RelayErrorCode.BadNamespace, invalid);
    const namespace: NamespaceState<Session> = new NamespaceState(
      name,
      (ns, listener) => this.broker.listen(ns, listener),
      {
        message: (message) => this.#fanOut(namespace, message),
        gap: () => this.#brokerGap(namespace),
      },
    );
    this.#namespaces.set(name, namespace);
    return namespace.hold();
  }

  #register(session: Session): Connection {
    this.#sessions.add(session);
    const remote = session.remote;
    if (remote !== undefined) this.#byRemote.set(remote, (this.#byRemote.get(remote) ?? 0) + 1);
    return session;
  }

  async publish(
    namespace: string,
    message: ServerPublish,
    as?: Identity,
  ): Promise<{ id: string; offset: string; duplicate: boolean }> {
    const invalidNamespace = namespaceError(namespace);
    if (invalidNamespace) throw new RelayError(RelayErrorCode.BadNamespace, invalidNamespace);
    const id = message.id ?? randomId(21);
    const invalid = this.publishError(message);
    if (invalid) throw new RelayError(invalid.code, invalid.message);
    const badData = dataError(message.data);
    if (badData) throw new RelayError(RelayErrorCode.BadData, badData);
    if (as && !CompiledGrants.of(as, this.limits).mayPublish(message.channel))
      throw new RelayError(
        RelayErrorCode.Forbidden,
        `the token does not grant publishing on ${message.channel}`,
      );
    const stamped = as ? stampSender(message, as.user) : message;
    const input: PublishInput =
      stamped.headers === undefined
        ? { channel: message.channel, id, data: message.data }
        : { channel: message.channel, id, data: message.data, headers: stamped.headers };
    const outcome = await this.publishTo(namespace, input);
    return { id, ...outcome };
  }

  /** Checks a publish against the grammar and limits; undefined when it may go out. */
  publishError(
    frame: Pick<PublishFrame, "channel" | "headers">,
  ):
    | { code: typeof ErrorCode.BadChannel | typeof ErrorCode.BadHeaders; message: string }
    | undefined {
    const badChannel = channelError(frame.channel, this.limits);
    if (badChannel) return { code: ErrorCode.BadChannel, message: badChannel };
    const badHeaders = headersError(frame.headers, this.limits);
    if (badHeaders) return { code: ErrorCode.BadHeaders, message: badHeaders };
    return undefined;
  }

  publishTo(
    namespace: string,
    input: PublishInput,
    publisher?: Publisher,
  ): PublishOutcome | Promise<PublishOutcome> {
    let published: PublishOutcome | Promise<PublishOutcome>;
    try {
      published = this.broker.publish(namespace, input, publisher);
    } catch (error) {
      return Promise.reject(this.#publishFailure(error));
    }
    // The memory broker answers at once: the ack then leaves without a promise turn.
    if (!isPromise(published)) return this.#published(namespace, input, published);
    return published.then(
      (outcome) => this.#published(namespace, input, outcome),
      (error: unknown) => {
        throw this.#publishFailure(error);
      },
    );
  }

  /** Counts a publish the broker took (or recognised) and shows it on the live page. */
  #published(namespace: string, input: PublishInput, outcome: PublishOutcome): PublishOutcome {
    if (outcome.duplicate) this.counters.duplicates++;
    else this.counters.published++;
    // Messages for namespaces this relay does not listen to never pass fanOut; the live page
    // should still show what this relay accepted (stamped with this relay's clock).
    if (!outcome.duplicate && !this.#namespaces.has(namespace))
      this.#tail.remember(namespace, { ...input, ts: this.now(), offset: outcome.offset });
    return outcome;
  }

  /** The RelayError a broker's failure to take a publish becomes. */
  #publishFailure(error: unknown): RelayError {
    if (error instanceof BrokerFullError)
      return new RelayError(RelayErrorCode.StorageFull, error.message, { cause: error });
    if (error instanceof PublishUncertainError)
      return new RelayError(
        RelayErrorCode.PublishUncertain,
        `broker ${this.broker.name} may or may not have taken the message; retry with the same id`,
        { cause: error },
      );
    return new RelayError(
      RelayErrorCode.PublishFailed,
      `broker ${this.broker.name} did not take the message`,
      { cause: error },
    );
  }

  /** The connection's identity, or why its token was refused. */
  async authenticate(
    token: string | undefined,
    namespace: string,
    client: string,
  ): Promise<Identity | { refused: string }> {
    return this.identify(token, namespace, client);
  }

  /** {@link authenticate}, answered at once when nothing checks tokens (a handshake's path). */
  identify(
    token: string | undefined,
    namespace: string,
    client: string,
  ): Identity | { refused: string } | Promise<Identity | { refused: string }> {
    return this.#authenticate
      ? this.#verify(this.#authenticate, token, namespace, client)
      : ANONYMOUS;
  }

  async #verify(
    authenticate: Authenticate,
    token: string | undefined,
    namespace: string,
    client: string,
  ): Promise<Identity | { refused: string }> {
    try {
      const identity = await authenticate({ token, namespace, client });
      return identity || { refused: "the token was refused" };
    } catch (error) {
      if (this.#refusalLines.take(this.now())) {
        const unlogged = this.#refusalsUnlogged;
        this.#refusalsUnlogged = 0;
        this.logger.info("token refused", { namespace, error: String(error), unlogged });
      } else this.#refusalsUnlogged++;
      const shown = error instanceof TokenError ? `: ${error.message}` : "";
      return { refused: `the token was refused${shown}` };
    }
  }

  /** Delivers one log message to every session of the namespace whose subscriptions match. */
  #fanOut(namespace: NamespaceState<Session>, message: LogMessage): void {
    this.counters.fannedOut++;
    this.#tail.remember(namespace.name, message);
    const outer = this.#fan;
    // A fan-out runs to its end synchronously; one started inside it (a hook that publishes on
    // the memory broker) gets its own state.
    const fan = outer.message === undefined ? outer : { stamp: 0 };
    this.#fan = fan;
    fan.stamp = ++this.#stamp;
    fan.message = message;
    fan.text = undefined;
    fan.now = undefined;
    try {
      namespace.index.forEachMatch(message.channel, this.#visit, isInboxChannel(message.channel));
    } finally {
      fan.message = undefined;
      fan.text = undefined;
      this.#fan = outer;
    }
  }

  /** The fan-out in progress: reused, so a message's fan-out allocates nothing of its own. */
  #fan: {
    stamp: number;
    message?: LogMessage | undefined;
    text?: string | undefined;
    now?: number | undefined;
  } = {
    stamp: 0,
  };

  /** One matching session of the fan-out in progress: each gets the message once, if granted. */
  readonly #visit = (session: Session): void => {
    const fan = this.#fan;
    const delivery = session.delivery;
    if (delivery.stamp === fan.stamp) return;
    delivery.stamp = fan.stamp;
    const message = fan.message as LogMessage;
    fan.now ??= this.now();
    if (!session.granted(message.channel) || session.expireIfDue(fan.now)) return;
    fan.text ??= serializeMessage(message);
    if (delivery.live(message.offset, fan.text)) this.counters.deliveries++;
  };

  /**
   * The broker's live feed for a namespace may have missed messages: every session there is
   * asked to reconnect and resume, so the log (or `recovered:false`) tells each client the truth.
   */
  #brokerGap(namespace: NamespaceState<Session>): void {
    this.logger.warn("broker feed interrupted: sessions asked to resume", {
      namespace: namespace.name,
      sessions: namespace.sessions.size,
    });
    for (const session of [...namespace.sessions]) this.#resumeAgain(session);
  }

  /** Closes with 4102: the client reconnects after a jittered delay and resumes from what it has. */
  #resumeAgain(session: Session): void {
    session.close(CloseCode.BrokerGap, retryReason(Math.random() * this.limits.gapRetrySpreadMs));
  }

  scheduleFlush(delivery: Delivery): void {
    if (this.#dirty.push(delivery) === 1) this.#schedule(this.#flush);
  }

  wrote(frames: number, replayed: number): void {
    this.counters.framesSent += frames;
    this.counters.replayed += replayed;
  }

  readonly #flush = (): void => {
    const dirty = this.#dirty;
    this.#dirty = [];
    for (const delivery of dirty) delivery.flush();
  };

  forget(session: Session): void {
    if (!this.#sessions.delete(session)) return;
    const remote = session.remote;
    if (remote !== undefined) {
      const left = (this.#byRemote.get(remote) ?? 1) - 1;
      if (left > 0) this.#byRemote.set(remote, left);
      else this.#byRemote.delete(remote);
    }
    if (session.namespace.release(session)) this.#namespaces.delete(session.namespace.name);
  }

  countError(code: string): void {
    this.#errors[code] = (this.#errors[code] ?? 0) + 1;
  }

  countClose(code: number): void {
    this.#closes[code] = (this.#closes[code] ?? 0) + 1;
  }

  sweep(now = this.now()): void {
    for (const session of [...this.#sessions]) {
      if (session.state === "handshake" || session.state === "hello") {
        if (now - session.connectedAt > this.limits.handshakeTimeoutMs)
          session.close(CloseCode.HandshakeTimeout, "no hello in time");
      } else if (now - session.lastSeen > this.limits.idleTimeoutMs) {
        session.close(CloseCode.IdleTimeout, "idle: no frame within the idle timeout");
      } else session.expireIfDue(now);
    }
  }

  stats(): RelayStats {
    return {
      connections: this.#sessions.size,
      namespaces: [...this.#namespaces.values()].map((ns) => ({
        name: ns.name,
        connections: ns.sessions.size,
        subscriptions: [...ns.sessions].reduce((sum, s) => sum + s.subscriptions.size, 0),
      })),
      counters: { ...this.counters },
      errors: { ...this.#errors },
      closes: { ...this.#closes },
      broker: {
        name: this.broker.name,
        healthy: this.broker.healthy(),
        ...this.broker.capabilities,
      },
      tail: this.#tail.entries(),
    };
  }

  shutdown(): void {
    for (const session of [...this.#sessions])
      session.close(
        CloseCode.ShuttingDown,
        retryReason(Math.random() * this.limits.shutdownRetrySpreadMs),
      );
  }
}

/**
 * Creates the relay engine. Runtime adapters (relay-node, relay-worker) feed it sockets.
 * @example
 * const core = createRelayCore({ broker: createMemoryBroker() });
 * const conn = core.accept({ namespace: "default", transport });
 * socket.on("message", (text) => conn.receive(text));
 */
export function createRelayCore(options: RelayCoreOptions): RelayCore {
  return new RelayEngine(options);
}
