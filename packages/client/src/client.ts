import {
  type CloseCode,
  closeAdvice,
  DEFAULT_MAX_FRAME_BYTES,
  decodeRelayFrames,
  type ErrorCode,
  type ErrorFrame,
  type MessageFrame,
  PING,
  parseRetryReason,
  type RefreshedFrame,
  type RelayFrame,
  type WelcomeFrame,
} from "@pubsubbud/protocol";
import { randomId } from "./id.js";
import { ReconnectSchedule } from "./backoff.js";
import { Liveness } from "./liveness.js";
import type { ClientOptions, PublishOptions } from "./options.js";
import { ClientError } from "./errors.js";
import { ClientEventTarget, type ClientState } from "./events.js";
import {
  type Message,
  type MessageHandler,
  type Subscription,
  SubscriptionEntry,
} from "./subscription.js";
import { Pending } from "./pending.js";
import { helloFrame, publishFrame } from "./outbound.js";
import { openSocket, type ReconnectingSocket } from "./socket.js";
import { TokenKeeper } from "./token.js";

// The wire codes the client acts on, as checked literals: the code tables would add ~300 bytes.
const UNAUTHORIZED: typeof ErrorCode.Unauthorized = "unauthorized";
const CLOSE_UNAUTHORIZED: typeof CloseCode.Unauthorized = 4401;
const CLOSE_IDLE: typeof CloseCode.IdleTimeout = 4000;

/** A PubsubBud client; create it with {@link createClient}. */
export class PubsubBudClient extends ClientEventTarget {
  /** This client's secret id, kept across reconnects: it owns the client's inbox. Never share it. */
  readonly id: string;
  /**
   * The channel replies to this client's requests are sent to, as the relay named it in its
   * first `welcome` (`""` until then): derived from the secret id, so others can address it but
   * not claim it.
   */
  inbox = "";
  #state: ClientState = "connecting";
  #everOpen = false;
  #userClosed = false;
  #helloSent = false;
  /** Set while a `refresh` waits for its answer. */
  #refreshing = false;
  /** Set after a 4401 until the next welcome: one more refusal ends in `unauthorized`. */
  #authRetried = false;
  #epoch: string | undefined;
  #offset = "";
  /** Frames received, for liveness. */
  #received = 0;
  readonly #liveness = new Liveness(
    () => this.#received,
    () => this.#send(PING),
    () => this.#ws.reconnect(CLOSE_IDLE, "no pong"),
  );
  /** The relay's frame size limit, once its welcome announced it. */
  #maxFrameBytes = DEFAULT_MAX_FRAME_BYTES;
  #nextSubscription = 0;
  readonly #subscriptions = new Map<string, SubscriptionEntry>();
  /** Unacknowledged publishes, by message id, with their frames. */
  readonly #pending = new Pending<{ id: string; offset: string }, string>();
  readonly #options: ClientOptions;
  readonly #schedule: ReconnectSchedule;
  readonly #token: TokenKeeper;
  readonly #ws: ReconnectingSocket;
  readonly #unwatch: (() => void) | undefined;

  constructor(options: ClientOptions) {
    super();
    this.#options = options;
    this.#schedule = new ReconnectSchedule(options.reconnect);
    this.#token = new TokenKeeper(options.token, () => void this.#renew());
    this.id = options.clientId ?? randomId();
    this.#ws = openSocket(options.WebSocket, this.#schedule.options.connectTimeoutMs, {
      nextUrl: () => this.#nextUrl(),
      shouldReconnect: (code, reason) => this.#shouldReconnect(code, reason),
      open: () => this.#onOpen(),
      message: (text) => this.#onMessage(text),
    });
    this.#unwatch = options.lifecycle?.({
      wake: () => this.#wake(),
      pause: () => this.#pause(),
      resume: () => this.#resume(),
    });
  }

  /** The connection state. */
  get state(): ClientState {
    return this.#state;
  }

  /**
   * Subscribes to a channel or a pattern (`*`, `?`, `[seq]`, `[!seq]`): each message goes to
   * `handler`. For a `for await` loop instead, use `messages(client, pattern)`.
   * @example const sub = client.subscribe("sensor.*", (msg) => render(msg.channel, msg.data)); await sub.ready;
   */
  subscribe<T = unknown>(pattern: string, handler: MessageHandler<T>): Subscription<T> {
    const id = `s${++this.#nextSubscription}`;
    const entry = new SubscriptionEntry(id, pattern, handler as MessageHandler, (e) =>
      this.#removeSubscription(e),
    );
    if (this.#userClosed) entry.refuse(this.#closedError());
    else {
      // A bad pattern is the relay's to refuse (subscribe_refused, wireCode bad_pattern).
      this.#subscriptions.set(id, entry);
      this.#sendOpen({ type: "subscribe", id, pattern });
    }
    return entry as Subscription<T>;
  }

  /**
   * Publishes to one channel; resolves with the relay's acknowledgement. While disconnected the
   * publish waits in a bounded queue and goes out, with the same id, after reconnecting.
   */
  publish(
    channel: string,
    data: unknown,
    options: PublishOptions = {},
  ): Promise<{ id: string; offset: string }> {
    if (this.#userClosed) return Promise.reject(this.#closedError());
    const built = publishFrame(channel, data, options, this.#maxFrameBytes);
    if (built instanceof ClientError) return Promise.reject(built);
    const { id, frame } = built;
    // A retry with the same id takes the first attempt's place in the queue.
    const retry = this.#pending.fail(
      id,
      new ClientError("publish_refused", `replaced by a retry of ${id}`),
    );
    if (!retry && this.#pending.size >= (this.#options.maxQueuedPublishes ?? 1000))
      return Promise.reject(
        new ClientError("queue_full", "maxQueuedPublishes reached; wait for acks"),
      );
    const acked = this.#pending.wait(
      id,
      frame,
      this.#options.publishTimeoutMs ?? 30_000,
      () => new ClientError("publish_timeout", `no ack for ${id}; retry with the same id`),
    );
    if (this.#helloSent) this.#send(frame);
    return acked;
  }

  /** Closes the connection for good; pending publishes and requests reject with `closed`. */
  close(): void {
    if (this.#userClosed) return;
    this.#userClosed = true;
    this.#ws.close(1000, "client closed");
    this.#shutdown(this.#closedError(), "closed", 1000, "client closed");
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #removeSubscription(entry: SubscriptionEntry): void {
    if (this.#subscriptions.get(entry.id) !== entry) return;
    this.#subscriptions.delete(entry.id);
    entry.refuse(new ClientError("closed", "unsubscribed before the relay confirmed"));
    this.#sendOpen({ type: "unsubscribe", id: entry.id });
  }

  async #nextUrl(): Promise<string> {
    for (;;) {
      await this.#schedule.wait();
      try {
        await this.#token.fetch();
      } catch (error) {
        this.#tokenFailed(error);
        this.#schedule.failed();
        continue;
      }
      // A closed socket opens no new one, so ending here sends the token nowhere.
      if (this.#token.refused)
        this.#unauthorized("the token function gave the refused token again");
      return this.#options.url;
    }
  }

  #tokenFailed(error: unknown): void {
    this.emit(
      "error",
      new ClientError("unauthorized", "the token function failed", { cause: error }),
    );
  }

  /** Sends a fresh token in-band ahead of expiry; subscriptions stay as they are. */
  async #renew(): Promise<void> {
    let token: string | undefined;
    try {
      token = await this.#token.fetch();
    } catch (error) {
      this.#tokenFailed(error);
      this.#token.schedule(undefined, true);
      return;
    }
    if (!this.#helloSent || token === undefined) return;
    this.#refreshing = true;
    this.#sendOpen({ type: "refresh", token });
  }

  #onRefreshed(frame: RefreshedFrame): void {
    this.#refreshing = false;
    this.#token.schedule(frame.expiresIn);
  }

  #onOpen(): void {
    const resume =
      this.#epoch === undefined ? undefined : { epoch: this.#epoch, offset: this.#offset };
    this.#send(helloFrame(this.id, this.#token.current, resume, this.#subscriptions.values()));
    this.#helloSent = true;
    // Frames may follow hello at once; unacknowledged publishes go again with their ids.
    for (const frame of this.#pending.data()) this.#send(frame);
  }

  /** Sends a frame if `hello` went out on this socket: the next `hello` carries its effect. */
  #sendOpen(frame: object): void {
    if (this.#helloSent) this.#send(JSON.stringify(frame));
  }

  #send(text: string): void {
    try {
      this.#ws.send(text);
    } catch {
      // The socket closed under us; the frame goes again after the next hello.
    }
  }

  #onMessage(text: string): void {
    this.#received++;
    let frames: RelayFrame[];
    try {
      frames = decodeRelayFrames(text);
    } catch (error) {
      this.emit(
        "error",
        new ClientError("relay_error", "the relay sent invalid JSON", {
          cause: error,
        }),
      );
      return;
    }
    for (const frame of frames) {
      switch (frame.type) {
        case "welcome":
          this.#onWelcome(frame);
          break;
        case "message":
          this.#route(frame);
          break;
        case "ack":
          this.#pending.settle(frame.id, { id: frame.id, offset: frame.offset });
          break;
        case "subscribed":
          this.#subscriptions.get(frame.id)?.confirm();
          break;
        case "refreshed":
          this.#onRefreshed(frame);
          break;
        case "error":
          this.#onError(frame);
          break;
        default:
          break;
      }
    }
  }

  #onWelcome(frame: WelcomeFrame): void {
    this.#schedule.succeeded();
    this.#maxFrameBytes = frame.limits.maxFrameBytes;
    this.inbox = frame.inbox;
    if (frame.recovered !== true) {
      const lost = frame.recovered === false;
      this.#epoch = frame.epoch;
      this.#offset = frame.offset;
      if (lost)
        this.emit("gap", { reason: "not_recovered", epoch: frame.epoch, offset: frame.offset });
    }
    this.#liveness.start(frame.heartbeat);
    this.#token.schedule(frame.expiresIn);
    this.#authRetried = false;
    this.#everOpen = true;
    this.#setState("open", undefined, undefined, frame.recovered);
  }

  #route(frame: MessageFrame): void {
    this.#offset = frame.offset;
    const message: Message = {
      channel: frame.channel,
      id: frame.id,
      data: frame.data,
      headers: frame.headers ?? {},
      ts: frame.ts,
      offset: frame.offset,
    };
    for (const entry of this.#subscriptions.values()) {
      if (!entry.matches(frame.channel)) continue;
      try {
        const result = entry.handler(message);
        if (result instanceof Promise)
          result.catch((error: unknown) => this.#handlerFailed(entry, error));
      } catch (error) {
        this.#handlerFailed(entry, error);
      }
    }
  }

  #handlerFailed(entry: SubscriptionEntry, error: unknown): void {
    this.emit(
      "error",
      error instanceof Error
        ? error
        : new Error(`handler of ${entry.pattern} failed: ${String(error)}`),
    );
  }

  #onError(frame: ErrorFrame): void {
    const { id, code, message } = frame;
    const wire = { wireCode: code };
    const entry = id === undefined ? undefined : this.#subscriptions.get(id);
    if (id !== undefined) {
      if (this.#pending.fail(id, new ClientError("publish_refused", message, wire))) return;
      if (entry) {
        this.#subscriptions.delete(id);
        return entry.refuse(new ClientError("subscribe_refused", message, wire));
      }
    }
    // A refused hello or an expired token is followed by close 4401, which reports it once;
    // a refused refresh leaves the connection open until the old token's grace runs out.
    if (code === UNAUTHORIZED && !this.#refreshing) return;
    let error = new ClientError("relay_error", `${code}: ${message}`, wire);
    if (code === UNAUTHORIZED) {
      this.#refreshing = false;
      this.#token.refuse();
      const text = `the relay refused the refreshed token: ${message}`;
      error = new ClientError("unauthorized", text, wire);
    }
    this.emit("error", error);
  }

  /** The page is back or the network is up: check the link now, or end the backoff wait. */
  #wake(): void {
    if (this.#state === "open") this.#liveness.probe();
    else this.#schedule.skip();
  }

  #pause(): void {
    if (this.#userClosed) return;
    this.#ws.pause();
    this.#disconnected();
    this.#setState("paused", 1000, "page hidden");
  }

  #resume(): void {
    if (this.#state !== "paused") return;
    this.#setState(this.#everOpen ? "reconnecting" : "connecting");
    this.#ws.resume();
  }

  /** Forgets what belonged to the socket that is gone. */
  #disconnected(): void {
    this.#helloSent = false;
    this.#refreshing = false;
    this.#liveness.stop();
    this.#token.cancel();
  }

  #shouldReconnect(code: number, reason: string): boolean {
    this.#disconnected();
    if (this.#userClosed) return false;
    if (code === CLOSE_UNAUTHORIZED) {
      this.#token.refuse();
      // A token function may have a valid token now (the old one expired unrefreshed in a
      // sleeping tab): ask it once more; a second refusal in a row is final.
      if (!this.#token.renewable || this.#authRetried) {
        this.#unauthorized(`the relay refused the token: ${reason}`, code);
        return false;
      }
      this.#authRetried = true;
    } else if (closeAdvice(code) === "stop") {
      const error = new ClientError("closed", `the relay closed for good (${code} ${reason})`);
      this.#userClosed = true;
      this.emit("error", error);
      this.#shutdown(error, "closed", code, reason);
      return false;
    }
    const advised = closeAdvice(code) === "reconnect-after" ? parseRetryReason(reason) : undefined;
    this.#schedule.failed(advised);
    this.#setState(this.#everOpen ? "reconnecting" : "connecting", code, reason);
    return true;
  }

  /** Ends the client in state `unauthorized`: no reconnects, everything waiting rejected. */
  #unauthorized(message: string, code: number = CLOSE_UNAUTHORIZED): void {
    const error = new ClientError("unauthorized", message);
    this.#userClosed = true;
    this.#ws.close(1000, "unauthorized");
    this.emit("error", error);
    this.#shutdown(error, "unauthorized", code, message);
  }

  #shutdown(error: ClientError, state: ClientState, code: number, reason: string): void {
    this.#disconnected();
    this.#unwatch?.();
    this.#pending.failAll(error);
    for (const entry of this.#subscriptions.values()) entry.refuse(error);
    this.#subscriptions.clear();
    this.#setState(state, code, reason);
  }

  #closedError(): ClientError {
    return this.#state === "unauthorized"
      ? new ClientError("unauthorized", "the relay refused the token")
      : new ClientError("closed", "the client is closed");
  }

  #setState(state: ClientState, code?: number, reason?: string, recovered?: boolean): void {
    const previous = this.#state;
    if (previous === state) return;
    this.#state = state;
    this.emit("state", {
      state,
      previous,
      ...(code !== undefined ? { code } : {}),
      ...(reason ? { reason } : {}),
      ...(recovered !== undefined ? { recovered } : {}),
    });
  }
}

/**
 * Connects to a relay. The client reconnects by itself, resumes where it left off and
 * re-subscribes; a `gap` event says when it could not.
 * @example
 * import WebSocket from "ws"; // Node 20 only
 * const client = createClient({ url: "ws://127.0.0.1:8080", WebSocket });
 * client.subscribe("chat.*", (msg) => showChat(msg.data));
 * await client.publish("chat.lobby", { text: "hi" });
 */
export function createClient(options: ClientOptions): PubsubBudClient {
  return new PubsubBudClient(options);
}
