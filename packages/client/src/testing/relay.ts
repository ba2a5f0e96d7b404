import { compilePattern, ErrorCode } from "@pubsubbud/protocol";
import {
  type Authenticate,
  type Connection,
  createMemoryBroker,
  createRelayCore,
  type Identity,
  type RelayCore,
  type RelayLimits,
} from "@pubsubbud/relay-core";
import { socketNamespace } from "@pubsubbud/relay-core/internal";
import { createClient, type PubsubBudClient } from "../client.js";
import type { ClientOptions } from "../options.js";
import { realDelay, turn } from "./clock.js";

/** One frame that crossed the in-memory link, as parsed JSON. */
export interface FrameRecord {
  /** `in`: client → relay; `out`: relay → client. */
  direction: "in" | "out";
  /** The id of the client on this link (from its `hello`), once known. */
  client: string | undefined;
  frame: { type: string; [key: string]: unknown };
}

/** Options of {@link createTestRelay}. */
export interface TestRelayOptions {
  /** Relay limits (heartbeat, idle timeout, token grace, …); unset ones keep relay-core's defaults. */
  limits?: Partial<RelayLimits>;
  /** Who may connect, as on a real relay. @default everyone, with every grant */
  authenticate?: Authenticate;
}

/** Which clients a fault hits: one client (or its id), or every client when left out. */
export type Target = PubsubBudClient | string | undefined;

/**
 * The real relay (relay-core on its embedded broker) in memory, behind an in-memory WebSocket,
 * with fault injection and frame inspection. Clients made by `connect()` talk to it in the same
 * process, in any runtime, without a port; pair it with {@link FakeClock} to control time.
 */
export interface TestRelay extends AsyncDisposable {
  /** The relay engine itself, for `stats()` and server-side publishes. */
  readonly core: RelayCore;
  /** The URL clients connect to (`memory://relay`, or `memory://relay/ns/<namespace>`). */
  readonly url: string;
  /** The WebSocket constructor of the in-memory link, for `createClient({ WebSocket })`. */
  readonly WebSocket: new (
    url: string,
    protocols?: string | string[],
  ) => object;
  /** Every frame both ways, in order. */
  readonly frames: readonly FrameRecord[];
  /** A client connected to this relay; options override the defaults (short backoff). */
  connect(options?: Partial<ClientOptions> & { namespace?: string }): PubsubBudClient;
  /** Publishes from the server side, as an HTTP publish would. */
  publish(
    channel: string,
    data: unknown,
    options?: { namespace?: string; headers?: Record<string, string | number | boolean | null> },
  ): Promise<{ id: string; offset: string }>;
  /** Resolves with the first frame (already seen or still to come) that `match` accepts. */
  waitForFrame(match: (record: FrameRecord) => boolean, timeoutMs?: number): Promise<FrameRecord>;
  /** Resolves once no frame is on its way (delayed frames aside). */
  settle(): Promise<void>;
  /** Drops the connection, as a network failure would (close 1006); clients reconnect. */
  drop(target?: Target): void;
  /** Stops carrying frames without closing (a dead link, a sleeping NAT); `drop` or a probe ends it. */
  freeze(target?: Target): void;
  /** While set, new connections fail (the network or the relay is down). */
  offline(on: boolean): void;
  /** Frames to clients take `ms` more (on the installed clock, fake or real); 0 undoes it. */
  delay(ms: number): void;
  /** Each of the next `count` frames to a client arrives twice. */
  duplicate(count?: number): void;
  /** The next two frames to a client arrive in swapped order. */
  reorder(): void;
  /**
   * Expires the token a client connected with, now: the relay closes it with 4401 as for any
   * expired token, and refuses that token from then on (a token function gets asked again).
   */
  expireToken(target?: Target): void;
  /** Refuses subscriptions to patterns that `pattern` matches, with `code` (e.g. "forbidden"). */
  refuseSubscribe(pattern: string, code?: string): void;
  /** Closes every link and the relay. */
  close(): Promise<void>;
}

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 3;

/** The relay-side end of one in-memory socket. */
interface Link {
  socket: MemorySocket;
  connection: Connection | undefined;
  client: string | undefined;
  token: string | undefined;
  frozen: boolean;
}

/** A socket of the in-memory link; the client sees a WebSocket. */
class MemorySocket {
  readyState = CONNECTING;
  readonly url: string;
  readonly protocol: string;
  bufferedAmount = 0;
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: (() => void) | null = null;
  readonly #relay: RelayEnd;

  constructor(relay: RelayEnd, url: string, protocols?: string | string[]) {
    this.#relay = relay;
    this.url = url;
    this.protocol = [protocols ?? []].flat()[0] ?? "";
    relay.open(this);
  }

  send(text: string): void {
    if (this.readyState !== OPEN) throw new Error("the in-memory socket is not open");
    this.#relay.fromClient(this, text);
  }

  close(code = 1000, reason = ""): void {
    if (this.readyState === CLOSED) return;
    this.#relay.closedByClient(this);
    this.ended(code, reason);
  }

  /** The socket is over: readyState CLOSED and one `close` event. */
  ended(code: number, reason: string): void {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSED;
    this.onclose?.({ code, reason });
  }
}

/** What a MemorySocket calls on its relay. */
interface RelayEnd {
  open(socket: MemorySocket): void;
  fromClient(socket: MemorySocket, text: string): void;
  closedByClient(socket: MemorySocket): void;
}

const parse = (text: string): FrameRecord["frame"][] => {
  try {
    const value = JSON.parse(text) as unknown;
    return (Array.isArray(value) ? value : [value]) as FrameRecord["frame"][];
  } catch {
    return [{ type: "unparsable", text }];
  }
};

/**
 * Starts an in-memory relay for tests: the real relay-core and its embedded broker, reached
 * through an in-memory WebSocket, with faults to inject and every frame recorded.
 * @example
 * const relay = createTestRelay();
 * const alice = relay.connect();
 * const inbox = collect(alice, "chat.*");
 * await inbox.ready;
 * await relay.connect().publish("chat.lobby", { text: "hi" });
 * expect((await inbox.next()).data).toEqual({ text: "hi" });
 */
export function createTestRelay(options: TestRelayOptions = {}): TestRelay {
  const identities = new Map<string, Identity>();
  const refusedTokens = new Set<string | undefined>();
  const core = createRelayCore({
    broker: createMemoryBroker({ now: () => Date.now() }),
    limits: options.limits ?? {},
    now: () => Date.now(),
    authenticate: async (request) => {
      if (refusedTokens.has(request.token)) return false;
      const identity = options.authenticate ? await options.authenticate(request) : {};
      if (!identity) return false;
      // Kept by reference: expireToken moves its expiry, and the relay reads it live.
      const own = { ...identity };
      identities.set(request.client, own);
      return own;
    },
  });
  const links = new Map<MemorySocket, Link>();
  const frames: FrameRecord[] = [];
  const watchers = new Set<(record: FrameRecord) => void>();
  const refusals: Array<{ matches: (pattern: string) => boolean; code: string }> = [];
  let inFlight = 0;
  let delayMs = 0;
  let duplicates = 0;
  let swap = false;
  let held: (() => void) | undefined;
  let isOffline = false;
  // relay-node sweeps every second; so does this relay, on whatever clock is installed.
  const sweeper = setInterval(() => core.sweep(), 1000);
  (sweeper as { unref?: () => void }).unref?.();

  const record = (direction: FrameRecord["direction"], link: Link, text: string): void => {
    for (const frame of parse(text)) {
      if (direction === "in" && frame.type === "hello") {
        link.client = String(frame.client);
        link.token = frame.token as string | undefined;
      }
      const entry = { direction, client: link.client, frame };
      frames.push(entry);
      for (const watcher of watchers) watcher(entry);
    }
  };

  /** Runs `deliver` after a microtask, or `delayMs` on the installed clock. */
  const later = (deliver: () => void): void => {
    if (delayMs > 0) {
      setTimeout(deliver, delayMs);
      return;
    }
    inFlight++;
    queueMicrotask(() => {
      inFlight--;
      deliver();
    });
  };

  const toClient = (link: Link, text: string): void => {
    const deliver = () => {
      if (link.frozen || link.socket.readyState !== OPEN) return;
      record("out", link, text);
      link.socket.onmessage?.({ data: text });
    };
    let send = deliver;
    if (duplicates > 0) {
      duplicates--;
      send = () => {
        deliver();
        deliver();
      };
    }
    if (held) {
      const first = held;
      held = undefined;
      later(() => {
        send();
        first();
      });
    } else if (swap) {
      swap = false;
      held = send;
    } else later(send);
  };

  const end = (link: Link, code: number, reason: string): void => {
    if (!links.delete(link.socket)) return;
    link.connection?.closed();
    later(() => link.socket.ended(code, reason));
  };

  const relayEnd: RelayEnd = {
    open(socket) {
      const link: Link = {
        socket,
        connection: undefined,
        client: undefined,
        token: undefined,
        frozen: false,
      };
      later(() => {
        const namespace = socketNamespace(new URL(socket.url).pathname);
        if (isOffline || namespace === undefined || socket.readyState !== CONNECTING) {
          socket.onerror?.();
          socket.ended(1006, "");
          return;
        }
        links.set(socket, link);
        link.connection = core.accept({
          namespace,
          remote: "127.0.0.1",
          transport: {
            send: (text) => toClient(link, text),
            close: (code, reason) => end(link, code, reason),
            bufferedAmount: () => 0,
          },
        });
        socket.readyState = OPEN;
        socket.onopen?.();
      });
    },
    fromClient(socket, text) {
      const link = links.get(socket);
      if (!link || link.frozen) return;
      later(() => {
        if (!links.has(socket)) return;
        record("in", link, text);
        const passed = refuseSubscriptions(link, text);
        if (passed !== undefined) link.connection?.receive(passed);
      });
    },
    closedByClient(socket) {
      const link = links.get(socket);
      if (!link) return;
      links.delete(socket);
      link.connection?.closed();
    },
  };

  /**
   * Takes refused subscriptions out of a client frame and answers them with an error; undefined
   * when nothing is left to pass on.
   */
  const refuseSubscriptions = (link: Link, text: string): string | undefined => {
    if (refusals.length === 0) return text;
    const refusal = (pattern: unknown) =>
      refusals.find((rule) => typeof pattern === "string" && rule.matches(pattern));
    const answer = (id: unknown, pattern: unknown, code: string) =>
      toClient(
        link,
        JSON.stringify({
          type: "error",
          id,
          code,
          message: `the test relay refuses subscriptions to ${String(pattern)}`,
        }),
      );
    const kept = parse(text).filter((frame) => {
      if (frame.type === "hello" && Array.isArray(frame.subscriptions)) {
        frame.subscriptions = (
          frame.subscriptions as Array<{ id: string; pattern: string }>
        ).filter((sub) => {
          const rule = refusal(sub.pattern);
          if (rule) answer(sub.id, sub.pattern, rule.code);
          return !rule;
        });
        return true;
      }
      const rule = frame.type === "subscribe" ? refusal(frame.pattern) : undefined;
      if (rule) answer(frame.id, frame.pattern, rule.code);
      return !rule;
    });
    if (kept.length === 0) return undefined;
    return JSON.stringify(kept.length === 1 ? kept[0] : kept);
  };

  const linksOf = (target: Target): Link[] => {
    const id = typeof target === "string" ? target : target?.id;
    return [...links.values()].filter((link) => id === undefined || link.client === id);
  };

  const WebSocket = class extends MemorySocket {
    constructor(url: string, protocols?: string | string[]) {
      super(relayEnd, url, protocols);
    }
  };

  const relay: TestRelay = {
    core,
    url: "memory://relay",
    WebSocket,
    frames,
    connect({ namespace, ...rest } = {}) {
      return createClient({
        url:
          namespace === undefined ? relay.url : `${relay.url}/ns/${encodeURIComponent(namespace)}`,
        WebSocket,
        reconnect: { baseDelayMs: 10, maxDelayMs: 100 },
        ...rest,
      });
    },
    async publish(channel, data, { namespace = "default", headers } = {}) {
      const { id, offset } = await core.publish(namespace, {
        channel,
        data,
        ...(headers ? { headers } : {}),
      });
      return { id, offset };
    },
    waitForFrame(match, timeoutMs = 5000) {
      const seen = frames.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const watcher = (entry: FrameRecord) => {
          if (!match(entry)) return;
          watchers.delete(watcher);
          resolve(entry);
        };
        watchers.add(watcher);
        void realDelay(timeoutMs).then(() => {
          if (!watchers.delete(watcher)) return;
          reject(new Error(`no matching frame within ${timeoutMs} ms (real time)`));
        });
      });
    },
    async settle() {
      do await turn();
      while (inFlight > 0);
    },
    drop(target) {
      for (const link of linksOf(target)) end(link, 1006, "");
    },
    freeze(target) {
      for (const link of linksOf(target)) link.frozen = true;
    },
    offline(on) {
      isOffline = on;
    },
    delay(ms) {
      delayMs = ms;
    },
    duplicate(count = 1) {
      duplicates += count;
    },
    reorder() {
      swap = true;
    },
    expireToken(target) {
      for (const link of linksOf(target)) {
        refusedTokens.add(link.token);
        const identity = link.client === undefined ? undefined : identities.get(link.client);
        if (identity) identity.expiresAt = Number.NEGATIVE_INFINITY;
      }
      core.sweep();
    },
    refuseSubscribe(pattern, code = ErrorCode.Forbidden) {
      const compiled = compilePattern(pattern);
      refusals.push({ matches: (channel: string) => compiled.matches(channel), code });
    },
    async close() {
      clearInterval(sweeper);
      for (const link of [...links.values()]) end(link, 1001, "test relay closed");
      await relay.settle();
      await core.broker.close();
    },
    [Symbol.asyncDispose]: () => relay.close(),
  };
  return relay;
}
