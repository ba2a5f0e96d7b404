import {
  type AnnouncedLimits,
  CloseCode,
  channelError,
  closeAdvice,
  DEFAULT_LIMITS,
  decodeRelayFrames,
  ErrorCode,
  type ErrorFrame,
  type Headers,
  inboxChannel,
  isInboxChannel,
  type MessageFrame,
  PING,
  parseRetryReason,
  patternError,
  type RelayFrame,
  SUBPROTOCOL,
  type WelcomeFrame,
} from "@pubsubbud/protocol";
import { nanoid } from "nanoid";
import ReconnectingWebSocket from "partysocket/ws";
import { ReconnectSchedule } from "./backoff.js";
import { Liveness } from "./liveness.js";
import type {
  ClientOptions,
  PublishOptions,
  RequestOptions,
  WebSocketConstructor,
} from "./options.js";
import { ClientError, ClientErrorCode } from "./errors.js";
import { ClientEventTarget, type ClientState } from "./events.js";
import {
  type Message,
  type MessageHandler,
  type Subscription,
  SubscriptionEntry,
} from "./subscription.js";
import { Pending } from "./pending.js";

const INBOX_SUBSCRIPTION = "inbox";

const rejected = (code: ClientErrorCode, message: string) =>
  Promise.reject(new ClientError(code, message));

/** A PubsubBud client; create it with {@link createClient}. */
export class PubsubBudClient extends ClientEventTarget {
  /** This client's id; its private inbox is `_inbox.<id>`. */
  readonly id: string;
  /** The channel replies to this client's requests are sent to. */
  readonly inbox: string;
  #state: ClientState = "connecting";
  #everOpen = false;
  #userClosed = false;
  #helloSent = false;
  #token: string | undefined;
  #epoch: string | undefined;
  #offset = "";
  #lastReceived = 0;
  readonly #liveness = new Liveness();
  #limits: AnnouncedLimits = DEFAULT_LIMITS;
  #nextSubscription = 0;
  readonly #subscriptions = new Map<string, SubscriptionEntry>();
  /** Unacknowledged publishes, by message id, with their frames. */
  readonly #pending = new Pending<{ id: string; offset: string }, string>();
  /** Requests waiting for their reply, by correlation id. */
  readonly #requests = new Pending<Message>();
  readonly #options: ClientOptions;
  readonly #schedule: ReconnectSchedule;
  readonly #ws: ReconnectingWebSocket;

  constructor(options: ClientOptions) {
    super();
    const WebSocketImpl =
      options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!WebSocketImpl)
      throw new ClientError(
        ClientErrorCode.NoWebSocket,
        "no WebSocket in this runtime: pass the WebSocket option (on Node 20: import WebSocket from 'ws')",
      );
    this.#options = options;
    this.#schedule = new ReconnectSchedule(options.reconnect);
    this.id = options.clientId ?? nanoid();
    this.inbox = inboxChannel(this.id);
    // partysocket keeps the socket; the delay is ours (full jitter, relay advice), applied in the
    // URL provider, so partysocket's own fixed backoff is set to zero.
    this.#ws = new ReconnectingWebSocket(() => this.#nextUrl(), SUBPROTOCOL, {
      WebSocket: WebSocketImpl,
      maxRetries: Number.POSITIVE_INFINITY,
      minReconnectionDelay: 0,
      maxReconnectionDelay: 0,
      reconnectionDelayGrowFactor: 1,
      connectionTimeout: this.#schedule.options.connectTimeoutMs,
      maxEnqueuedMessages: 0,
      shouldReconnectOnClose: (event) => this.#shouldReconnect(event.code, event.reason),
    });
    this.#ws.addEventListener("open", () => this.#onOpen());
    this.#ws.addEventListener("message", (event) => this.#onMessage(event.data as string));
  }

  /** The connection state. */
  get state(): ClientState {
    return this.#state;
  }

  /**
   * Subscribes to a channel or a pattern (`*`, `?`, `[seq]`, `[!seq]`).
   * @example const sub = client.subscribe("sensor.*", (msg) => render(msg.channel, msg.data)); await sub.ready;
   */
  subscribe<T = unknown>(pattern: string, handler: MessageHandler<T>): Subscription {
    return this.#addSubscription(
      `s${++this.#nextSubscription}`,
      pattern,
      handler as MessageHandler,
    );
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
    if (this.#userClosed) return rejected(ClientErrorCode.Closed, "the client is closed");
    const invalid = channelError(channel, this.#limits);
    if (invalid) return rejected(ClientErrorCode.BadArgument, invalid);
    const id = options.id ?? nanoid();
    const frame = JSON.stringify(
      options.headers === undefined
        ? { type: "publish", id, channel, data }
        : { type: "publish", id, channel, data, headers: options.headers },
    );
    if (frame.length > this.#limits.maxFrameBytes)
      return rejected(
        ClientErrorCode.BadArgument,
        `message is ${frame.length} bytes; the relay takes at most ${this.#limits.maxFrameBytes}`,
      );
    // A retry with the same id takes the first attempt's place in the queue.
    const superseded = `publish ${id} was superseded by a retry`;
    const retry = this.#pending.fail(
      id,
      new ClientError(ClientErrorCode.PublishRefused, superseded),
    );
    if (!retry && this.#pending.size >= (this.#options.maxQueuedPublishes ?? 1000))
      return rejected(
        ClientErrorCode.QueueFull,
        "too many unacknowledged publishes; wait for acks",
      );
    const acked = this.#pending.wait(
      id,
      frame,
      this.#options.publishTimeoutMs ?? 30_000,
      () =>
        new ClientError(
          ClientErrorCode.PublishTimeout,
          `no ack for publish ${id}; retrying with the same id is safe`,
        ),
    );
    if (this.#helloSent) this.#send(frame);
    return acked;
  }

  /**
   * Sends a request and resolves with the reply message (`answer.data`).
   * @example const answer = await client.request("math.add", { a: 1, b: 2 }, { timeout: 5000 });
   */
  async request<T = unknown>(
    channel: string,
    data: unknown,
    options: RequestOptions = {},
  ): Promise<Message<T>> {
    const inbox =
      this.#subscriptions.get(INBOX_SUBSCRIPTION) ??
      this.#addSubscription(INBOX_SUBSCRIPTION, this.inbox, (m) => this.#onReply(m));
    await inbox.ready;
    const correlation = nanoid();
    const timeout = options.timeout ?? this.#options.requestTimeoutMs ?? 10_000;
    const reply = this.#requests.wait(
      correlation,
      undefined,
      timeout,
      () =>
        new ClientError(
          ClientErrorCode.RequestTimeout,
          `no reply on ${channel} within ${timeout} ms`,
        ),
    );
    this.publish(channel, data, {
      headers: { ...options.headers, "reply-to": this.inbox, "correlation-id": correlation },
    }).catch((error: ClientError) => this.#requests.fail(correlation, error));
    return reply as Promise<Message<T>>;
  }

  /**
   * Answers requests on a channel or pattern: the handler's return value is the reply; a thrown
   * error becomes a reply with header `error` that rejects the requester with `remote_error`.
   * @example client.serve("math.*", async (req) => req.data.a + req.data.b);
   */
  serve<T = unknown>(pattern: string, handler: (request: Message<T>) => unknown): Subscription {
    return this.subscribe<T>(pattern, async (message) => {
      const replyTo = message.headers["reply-to"];
      if (typeof replyTo !== "string" || !isInboxChannel(replyTo)) return;
      const headers: Headers = { "correlation-id": message.headers["correlation-id"] ?? null };
      let reply: unknown;
      try {
        reply = await handler(message);
      } catch (error) {
        reply = { message: error instanceof Error ? error.message : String(error) };
        headers.error = "handler_failed";
      }
      await this.publish(replyTo, reply === undefined ? null : reply, { headers });
    });
  }

  /** Closes the connection for good; pending publishes and requests reject with `closed`. */
  close(): void {
    if (this.#userClosed) return;
    this.#userClosed = true;
    this.#ws.close(1000, "client closed");
    this.#shutdown(
      new ClientError(ClientErrorCode.Closed, "the client was closed"),
      1000,
      "client closed",
    );
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #addSubscription(id: string, pattern: string, handler: MessageHandler): SubscriptionEntry {
    const entry = new SubscriptionEntry(id, pattern, handler, (e) => this.#removeSubscription(e));
    const invalid = patternError(pattern, this.#limits);
    if (invalid) {
      entry.refuse(
        new ClientError(ClientErrorCode.SubscribeRefused, invalid, { wireCode: "bad_pattern" }),
      );
      return entry;
    }
    if (this.#userClosed) {
      entry.refuse(new ClientError(ClientErrorCode.Closed, "the client is closed"));
      return entry;
    }
    this.#subscriptions.set(id, entry);
    if (this.#helloSent) this.#send(JSON.stringify({ type: "subscribe", id, pattern }));
    return entry;
  }

  #removeSubscription(entry: SubscriptionEntry): void {
    if (this.#subscriptions.get(entry.id) !== entry) return;
    this.#subscriptions.delete(entry.id);
    entry.refuse(
      new ClientError(ClientErrorCode.Closed, "unsubscribed before the relay confirmed"),
    );
    if (this.#helloSent) this.#send(JSON.stringify({ type: "unsubscribe", id: entry.id }));
  }

  async #nextUrl(): Promise<string> {
    for (;;) {
      await this.#schedule.wait();
      const source = this.#options.token;
      if (typeof source !== "function") {
        this.#token = source;
        return this.#options.url;
      }
      try {
        this.#token = await source();
        return this.#options.url;
      } catch (error) {
        this.emit(
          "error",
          new ClientError(ClientErrorCode.Unauthorized, "the token function failed", {
            cause: error,
          }),
        );
        this.#schedule.failed();
      }
    }
  }

  #onOpen(): void {
    const hello = {
      type: "hello",
      client: this.id,
      ...(this.#token !== undefined ? { token: this.#token } : {}),
      ...(this.#epoch !== undefined
        ? { resume: { epoch: this.#epoch, offset: this.#offset } }
        : {}),
      subscriptions: [...this.#subscriptions.values()].map(({ id, pattern }) => ({ id, pattern })),
    };
    this.#lastReceived = Date.now();
    this.#send(JSON.stringify(hello));
    this.#helloSent = true;
    // Frames may follow hello at once; unacknowledged publishes go again with their ids.
    for (const frame of this.#pending.data()) this.#send(frame);
  }

  #send(text: string): void {
    try {
      this.#ws.send(text);
    } catch {
      // The socket closed under us; the frame goes again after the next hello.
    }
  }

  #onMessage(text: string): void {
    this.#lastReceived = Date.now();
    let frames: RelayFrame[];
    try {
      frames = decodeRelayFrames(text);
    } catch (error) {
      this.emit(
        "error",
        new ClientError(ClientErrorCode.RelayError, "the relay sent invalid JSON", {
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
    this.#limits = frame.limits;
    if (frame.recovered !== true) {
      const lost = frame.recovered === false;
      this.#epoch = frame.epoch;
      this.#offset = frame.offset;
      if (lost)
        this.emit("gap", { reason: "not_recovered", epoch: frame.epoch, offset: frame.offset });
    }
    this.#liveness.start(
      frame.heartbeat,
      () => this.#lastReceived,
      () => this.#send(PING),
      () => this.#ws.reconnect(CloseCode.IdleTimeout, "no pong"),
    );
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
    const id = frame.id;
    const refused = { wireCode: frame.code };
    if (
      id !== undefined &&
      this.#pending.fail(
        id,
        new ClientError(ClientErrorCode.PublishRefused, frame.message, refused),
      )
    )
      return;
    const entry = id === undefined ? undefined : this.#subscriptions.get(id);
    if (entry) {
      this.#subscriptions.delete(entry.id);
      entry.refuse(
        new ClientError(ClientErrorCode.SubscribeRefused, frame.message, { wireCode: frame.code }),
      );
      return;
    }
    // A refused token is followed by close 4401, which reports it once.
    if (frame.code === ErrorCode.Unauthorized) return;
    this.emit(
      "error",
      new ClientError(ClientErrorCode.RelayError, `${frame.code}: ${frame.message}`, {
        wireCode: frame.code,
      }),
    );
  }

  #onReply(message: Message): void {
    const correlation = message.headers["correlation-id"];
    if (typeof correlation !== "string" || !this.#requests.has(correlation)) return;
    if (message.headers.error === undefined) {
      this.#requests.settle(correlation, message);
      return;
    }
    const detail = (message.data as { message?: unknown } | null)?.message;
    this.#requests.fail(
      correlation,
      new ClientError(
        ClientErrorCode.RemoteError,
        `the responder failed: ${String(detail ?? message.headers.error)}`,
      ),
    );
  }

  #shouldReconnect(code: number, reason: string): boolean {
    this.#helloSent = false;
    this.#liveness.stop();
    if (this.#userClosed) return false;
    const advice = closeAdvice(code);
    if (advice === "stop") {
      const error =
        code === CloseCode.Unauthorized
          ? new ClientError(ClientErrorCode.Unauthorized, `the relay refused the token: ${reason}`)
          : new ClientError(
              ClientErrorCode.Closed,
              `the relay closed the connection for good (${code} ${reason})`,
            );
      this.#userClosed = true;
      this.emit("error", error);
      this.#shutdown(error, code, reason);
      return false;
    }
    const advised = advice === "reconnect-after" ? parseRetryReason(reason) : undefined;
    this.#schedule.failed(advised);
    this.#setState(this.#everOpen ? "reconnecting" : "connecting", code, reason);
    return true;
  }

  #shutdown(error: ClientError, code: number, reason: string): void {
    this.#liveness.stop();
    this.#pending.failAll(error);
    this.#requests.failAll(error);
    for (const entry of this.#subscriptions.values()) entry.refuse(error);
    this.#setState("closed", code, reason);
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
