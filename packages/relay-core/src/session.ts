import {
  type AnnouncedLimits,
  type ClientFrame,
  CloseCode,
  type DecodeResult,
  decodeClientFrames,
  ErrorCode,
  type HelloFrame,
  isInboxChannel,
  PING,
  PONG,
  type PublishFrame,
  type RelayFrame,
} from "@pubsubbud/protocol";
import type { Broker, LogMessage, PublishInput, PublishOutcome, Publisher } from "./broker.js";
import { isPromise } from "./broker.js";
import { publishRefusal } from "./errors.js";
import { Delivery, type DeliveryHost, type DeliverySocket } from "./delivery.js";
import { CompiledGrants, stampSender } from "./grants.js";
import { inboxFor } from "./inbox.js";
import type { RelayLimits } from "./limits.js";
import type { NamespaceState } from "./namespace.js";
import { fromSmallTime, toSmallTime } from "./small-time.js";
import { SessionSubscriptions } from "./subscriptions.js";
import { MinuteCount, TokenBucket } from "./token-bucket.js";
import type {
  Connection,
  Identity,
  Logger,
  RelayCounters,
  SessionSnapshot,
  Transport,
} from "./types.js";

/**
 * What a session needs from the relay around it, and nothing more: the engine implements it,
 * a test can hand in a small fake. Sessions never see the engine's namespaces or each other.
 */
export interface SessionHost extends DeliveryHost {
  readonly limits: Readonly<RelayLimits>;
  /** The log reads of a handshake (head, replay) and the order of offsets. */
  readonly broker: Pick<Broker, "head" | "since" | "compareOffsets">;
  readonly logger: Logger;
  readonly announcedLimits: AnnouncedLimits;
  readonly counters: RelayCounters;
  now(): number;
  /** The identity of a token, or why it was refused (at once when nothing checks tokens). */
  identify(
    token: string | undefined,
    namespace: string,
    client: string,
  ): Identity | { refused: string } | Promise<Identity | { refused: string }>;
  /** Why a publish breaks the grammar or limits, or undefined. */
  publishError(
    frame: Pick<PublishFrame, "channel" | "headers">,
  ): { code: string; message: string } | undefined;
  /** Hands a publish to the broker (errors become RelayError); answered at once when the broker can. */
  publishTo(
    namespace: string,
    input: PublishInput,
    publisher: Publisher,
  ): PublishOutcome | Promise<PublishOutcome>;
  countError(code: string): void;
  countClose(code: number): void;
  /** The session is gone: drop it from the relay's books. */
  forget(session: Session): void;
}

type SessionState = "handshake" | "hello" | "open" | "closed";

/** One client connection: its frames, subscriptions and outbound queue. */
export class Session implements Connection, DeliverySocket {
  readonly id: string;
  readonly namespace: NamespaceState<Session>;
  readonly remote: string | undefined;
  /** The connection's outbound path: answers, replay and live messages, in order and bounded. */
  readonly delivery: Delivery;
  client: string | undefined;
  /** The connection's private inbox channel, named from its secret client id (see inboxFor). */
  inbox = "";
  #identity: Identity | undefined;
  #grants = CompiledGrants.unrestricted;
  /** When the connection opened and when its last frame came, as small times. */
  readonly #connectedAt: number;
  #lastSeen: number;
  readonly subscriptions: SessionSubscriptions<Session>;

  #state: SessionState = "handshake";
  /** Frames (and refusals) that arrived while `hello` was being answered (allocated only then). */
  #pending: DecodeResult<ClientFrame>[] | undefined;
  /** Malformed frames this minute (`limits.maxViolationsPerMinute`), made at the first. */
  #violations: MinuteCount | undefined;
  /**
   * The connection's publish rate (`limits.publishRatePerSecond`, `publishBurst`), made full at
   * its first publish (as a bucket made at connect would be by then): a subscriber needs none.
   */
  #publishes: TokenBucket | undefined;
  readonly #engine: SessionHost;
  readonly #transport: Transport;

  constructor(
    engine: SessionHost,
    id: string,
    namespace: NamespaceState<Session>,
    transport: Transport,
    remote?: string,
  ) {
    this.#engine = engine;
    this.id = id;
    this.namespace = namespace;
    this.#transport = transport;
    this.remote = remote;
    this.#connectedAt = this.#lastSeen = toSmallTime(engine.now());
    this.delivery = new Delivery(engine, this);
    this.subscriptions = new SessionSubscriptions(namespace.index, this);
  }

  // DeliverySocket: the session is its delivery's connection (no closures per connection).
  send(text: string, written?: () => void): void {
    const transport = this.#transport;
    if (written && transport.sendThen) return transport.sendThen(text, written);
    transport.send(text);
    written?.();
  }

  bufferedAmount(): number {
    return this.#transport.bufferedAmount();
  }

  slowConsumer(): void {
    this.close(CloseCode.SlowConsumer, "slow consumer: outbound buffer full");
  }

  /** When the connection opened (the host's clock). */
  get connectedAt(): number {
    return fromSmallTime(this.#connectedAt);
  }

  /** When the connection's last frame came (the host's clock). */
  get lastSeen(): number {
    return fromSmallTime(this.#lastSeen);
  }

  get state(): SessionState {
    return this.#state;
  }

  get identity(): Identity | undefined {
    return this.#identity;
  }

  set identity(identity: Identity) {
    this.#identity = identity;
    this.#grants = CompiledGrants.of(identity, this.#engine.limits, (pattern) =>
      this.#engine.logger.warn("grant pattern ignored: invalid", { session: this.id, pattern }),
    );
  }

  /**
   * Closes the connection (4401) when its token expired more than `limits.tokenGraceMs` ago
   * without a `refresh`; true when it did. Checked by the sweep and on every delivery, so a
   * runtime without timers (a hibernating Durable Object) enforces it too.
   */
  expireIfDue(now: number): boolean {
    const expiresAt = this.#identity?.expiresAt;
    if (expiresAt === undefined || now <= expiresAt + this.#engine.limits.tokenGraceMs)
      return false;
    this.refuse(ErrorCode.Unauthorized, "the token expired and was not refreshed");
    this.close(CloseCode.Unauthorized, "token expired");
    return true;
  }

  /** True when the grants let this connection receive `channel`. */
  granted(channel: string): boolean {
    return this.#grants.mayReceive(channel);
  }

  /** Handles the text of one inbound WebSocket frame. */
  receive(text: string, byteLength?: number): void {
    if (this.#state === "closed") return;
    const now = this.#engine.now();
    this.#lastSeen = toSmallTime(now);
    if (this.#state === "open" && this.expireIfDue(now)) return;
    this.#engine.counters.framesReceived++;
    if (text === PING && this.#state === "open") {
      this.enqueue(PONG);
      return;
    }
    for (const result of decodeClientFrames(text, this.#engine.limits, byteLength)) {
      this.#take(result);
      if (this.aborted) return;
    }
  }

  /** One decoded frame, or why it could not be: behind a hello still being answered, it waits. */
  #take(result: DecodeResult<ClientFrame>): void {
    if (this.#state === "hello") this.#pending?.push(result);
    else if (result.ok) this.#handle(result.frame);
    else if (this.#state === "handshake") this.#refuseHandshake(result.message);
    else this.#violation(result.code, result.message, result.id);
  }

  /** Makes this an open session again, from a snapshot taken before the relay lost its memory. */
  restore(snapshot: SessionSnapshot): void {
    this.client = snapshot.client;
    this.identity = snapshot.identity;
    this.inbox = snapshot.inbox ?? inboxFor(snapshot.client, snapshot.identity.user);
    this.subscriptions.restore(snapshot.subscriptions);
    this.delivery.start([], "");
    this.#state = "open";
    this.namespace.attach(this)?.catch((error: unknown) => {
      this.#engine.logger.error("restore failed", { session: this.id, error: String(error) });
      this.close(CloseCode.InternalError, "restore failed");
    });
  }

  /** Hands the durable part of the session to the transport, if it keeps one. */
  #persist(): void {
    this.#transport.persist?.({
      session: this.id,
      namespace: this.namespace.name,
      client: this.client as string,
      inbox: this.inbox,
      identity: this.identity ?? {},
      subscriptions: this.subscriptions.snapshot(),
      ...(this.remote === undefined ? {} : { remote: this.remote }),
      ...(this.delivery.replaying ? { catchingUp: true } : {}),
    });
  }

  /** DeliverySocket: the replay is out; a snapshot taken during it says so no more. */
  caughtUp(): void {
    if (this.#state === "open") this.#persist();
  }

  /** Queues one serialized frame; frames queued in the same tick leave as one batch. */
  enqueue(text: string): void {
    this.delivery.enqueue(text);
  }

  /**
   * Answers a well-formed frame the relay will not carry out (`rate_limited`, `forbidden`,
   * `publish_failed`, …). A refusal is an answer, never a violation: the client may retry.
   */
  refuse(code: string, message: string, id?: string): void {
    const frame: RelayFrame =
      id === undefined ? { type: "error", code, message } : { type: "error", id, code, message };
    this.#engine.countError(code);
    this.enqueue(JSON.stringify(frame));
  }

  /**
   * Answers a malformed or unknown frame (or a second `hello`) and counts it: past
   * `limits.maxViolationsPerMinute` the peer is broken and is closed with 4400.
   */
  #violation(code: string, message: string, id?: string): void {
    this.refuse(code, message, id);
    this.#violations ??= new MinuteCount();
    if (this.#violations.add(this.#engine.now()) > this.#engine.limits.maxViolationsPerMinute)
      this.close(CloseCode.ProtocolViolation, "too many invalid frames");
  }

  /** Flushes what is queued (not for a slow consumer), closes the socket and forgets the session. */
  close(code: number, reason: string): void {
    if (this.#state === "closed") return;
    this.delivery.close(code !== CloseCode.SlowConsumer);
    this.#engine.countClose(code);
    this.dispose();
    this.#transport.close(code, reason);
  }

  /** True once the session is closed: its publishes still inside the broker have nobody to answer. */
  get aborted(): boolean {
    return this.#state === "closed";
  }

  /** The session id (what the runtime adapter logs and persists). */
  get session(): string {
    return this.id;
  }

  /** The socket closed (the runtime adapter's side of {@link dispose}). */
  closed(): void {
    this.dispose();
  }

  /** Forgets the session after its socket closed (or when closing it). */
  dispose(): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    this.delivery.close(false);
    this.subscriptions.clear();
    this.#engine.forget(this);
  }

  /** True when one of the session's subscriptions would receive `channel` (for replay). */
  wants(channel: string): boolean {
    if (isInboxChannel(channel)) return this.subscriptions.matches(channel, true);
    return this.granted(channel) && this.subscriptions.matches(channel, false);
  }

  #refuseHandshake(reason: string): void {
    this.refuse(ErrorCode.HelloRequired, `the first frame must be a valid hello: ${reason}`);
    this.close(CloseCode.ProtocolViolation, "first frame must be hello");
  }

  #handle(frame: ClientFrame): void {
    if (this.#state === "handshake") {
      if (frame.type !== "hello") return this.#refuseHandshake(`got ${frame.type}`);
      this.#state = "hello";
      this.#pending = [];
      this.#hello(frame).catch((error: unknown) => {
        this.#engine.logger.error("handshake failed", { session: this.id, error: String(error) });
        this.refuse(ErrorCode.Internal, "the relay could not set up the session; reconnect");
        this.close(CloseCode.InternalError, "handshake failed");
      });
      return;
    }
    this.#dispatch(frame);
  }

  #dispatch(frame: ClientFrame): void {
    switch (frame.type) {
      case "hello":
        return this.#violation(
          ErrorCode.HelloRequired,
          "hello was already received on this connection",
        );
      case "ping":
        if (frame.rx !== undefined) this.#transport.credit?.(frame.rx);
        return this.enqueue(PONG);
      case "subscribe": {
        const answer = this.#subscribe(frame.id, frame.pattern);
        if (answer.type === "subscribed") this.#persist();
        return this.enqueue(JSON.stringify(answer));
      }
      case "unsubscribe":
        return this.#unsubscribe(frame.id);
      case "publish":
        return this.#publish(frame);
      case "refresh":
        return void this.#refresh(frame.token);
    }
  }

  /**
   * Answers the hello. A step that can answer at once is not awaited: with no token check, a
   * namespace already listened to and a log in memory, the hello is answered in the turn it
   * arrived, without the promises and microtask turns of three awaits (the connect storm).
   */
  async #hello(frame: HelloFrame): Promise<void> {
    const engine = this.#engine;
    const checked = engine.identify(frame.token, this.namespace.name, frame.client);
    const identity = isPromise(checked) ? await checked : checked;
    if (this.#state === "closed") return;
    if ("refused" in identity) {
      this.refuse(ErrorCode.Unauthorized, identity.refused);
      this.close(CloseCode.Unauthorized, "unauthorized");
      return;
    }
    this.identity = identity;
    this.client = frame.client;
    this.inbox = inboxFor(frame.client, identity.user);
    const answers = (frame.subscriptions ?? []).map((sub) => this.#subscribe(sub.id, sub.pattern));
    const attached = this.namespace.attach(this);
    if (attached) await attached;
    const newest = engine.broker.head(this.namespace.name);
    const head = isPromise(newest) ? await newest : newest;
    const missed = frame.resume
      ? await engine.broker.since(this.namespace.name, frame.resume)
      : undefined;
    if (this.aborted) return;
    // A field left undefined is not written: JSON.stringify skips it (no object spread per hello).
    const welcome: RelayFrame = {
      type: "welcome",
      session: this.id,
      epoch: head.epoch,
      offset: head.offset,
      recovered: frame.resume ? missed !== undefined : undefined,
      inbox: this.inbox,
      limits: engine.announcedLimits,
      heartbeat: engine.limits.heartbeatMs,
      expiresIn: this.#expiresIn(),
    };
    if (frame.resume) engine.counters[missed ? "resumesRecovered" : "resumesLost"]++;
    this.enqueue(JSON.stringify(welcome));
    for (const answer of answers) this.enqueue(JSON.stringify(answer));
    // The replay (what this connection wants of the missed messages), then the live messages
    // that arrived meanwhile, past the newest offset the welcome and replay cover.
    const compare = engine.broker.compareOffsets;
    let covered = head.offset;
    const replay: LogMessage[] = [];
    for (const message of missed ?? []) {
      if (compare(message.offset, covered) > 0) covered = message.offset;
      if (this.wants(message.channel)) replay.push(message);
    }
    this.delivery.start(replay, covered);
    this.#state = "open";
    this.#persist();
    const pending = this.#pending ?? [];
    this.#pending = undefined;
    for (const next of pending) if (this.#state === "open") this.#take(next);
  }

  #subscribe(id: string, pattern: string): RelayFrame {
    const admitted = this.subscriptions.admit(
      id,
      pattern,
      this.#engine.limits,
      this.inbox,
      this.#grants,
    );
    if (!("pattern" in admitted)) {
      this.#engine.countError(admitted.code);
      return { type: "error", id, code: admitted.code, message: admitted.message };
    }
    this.subscriptions.add(id, admitted.pattern);
    return { type: "subscribed", id };
  }

  #bucket(): TokenBucket {
    const { publishRatePerSecond, publishBurst } = this.#engine.limits;
    return new TokenBucket(publishRatePerSecond, publishBurst, this.lastSeen);
  }

  #unsubscribe(id: string): void {
    if (!this.subscriptions.remove(id))
      return this.refuse(ErrorCode.UnknownSubscription, `no subscription with id ${id}`, id);
    this.#persist();
    this.enqueue(JSON.stringify({ type: "unsubscribed", id }));
  }

  #publish(frame: PublishFrame): void {
    const { id } = frame;
    // `lastSeen` was set by `receive`, which every publish comes through.
    this.#publishes ??= this.#bucket();
    if (!this.#publishes.take(this.lastSeen)) {
      const { publishRatePerSecond, publishBurst } = this.#engine.limits;
      return this.refuse(
        ErrorCode.RateLimited,
        `over ${publishRatePerSecond} publishes a second (bursts of ${publishBurst}): not published; retry later with the same id`,
        id,
      );
    }
    const invalid = this.#engine.publishError(frame);
    if (invalid) return this.refuse(invalid.code, invalid.message, id);
    if (!this.#grants.mayPublish(frame.channel))
      return this.refuse(
        ErrorCode.Forbidden,
        `the token does not grant publishing on ${frame.channel}`,
        id,
      );
    const input = stampSender(frame, this.#identity?.user);
    const outcome = this.#engine.publishTo(this.namespace.name, input, this);
    if (!isPromise(outcome)) return this.#ack(id, outcome);
    outcome.then(
      (answer) => this.#ack(id, answer),
      (error: unknown) => {
        // Gone: the client resends it after it reconnects, and nobody hears a refusal.
        if (this.aborted) return;
        this.#engine.logger.warn("publish failed", { session: this.id, error: String(error) });
        const { code, message } = publishRefusal(error);
        this.refuse(code, message, id);
      },
    );
  }

  #ack(id: string, outcome: PublishOutcome): void {
    this.enqueue(
      `{"type":"ack","id":${JSON.stringify(id)},"offset":${JSON.stringify(outcome.offset)}}`,
    );
  }

  async #refresh(token: string): Promise<void> {
    const identity = await this.#engine.identify(token, this.namespace.name, this.client as string);
    if (this.#state !== "open") return;
    if ("refused" in identity) return this.refuse(ErrorCode.Unauthorized, identity.refused);
    if (identity.user !== this.#identity?.user)
      return this.refuse(
        ErrorCode.Unauthorized,
        "the refreshed token belongs to another user: reconnect with it instead",
      );
    this.identity = identity;
    this.#persist();
    const expiresIn = this.#expiresIn();
    this.enqueue(
      JSON.stringify(
        expiresIn === undefined
          ? { type: "refreshed" }
          : { type: "refreshed", expiresAt: identity.expiresAt, expiresIn },
      ),
    );
  }

  /** The token's remaining lifetime in ms, as `welcome` and `refreshed` announce it. */
  #expiresIn(): number | undefined {
    const expiresAt = this.#identity?.expiresAt;
    return expiresAt === undefined ? undefined : Math.max(0, expiresAt - this.#engine.now());
  }
}
