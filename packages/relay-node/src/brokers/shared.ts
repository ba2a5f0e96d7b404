/**
 * Pieces every networked broker shares: listener bookkeeping per namespace, a relay-local dedupe
 * window, the JSON payload mapping, reconnect backoff and the error a bad URL gets.
 */
import type { Headers } from "@pubsubbud/protocol";
import type { BrokerListener, LogMessage, LogRetention } from "@pubsubbud/relay-core";
import { DEFAULT_RETENTION } from "@pubsubbud/relay-core";
import { getOrCreate } from "@pubsubbud/relay-core/internal";
import { RelayNodeError, RelayNodeErrorCode } from "../errors.js";

/**
 * Runs a group member that polls: `turn` handles what is there and returns how many it handled;
 * an empty turn waits 100 ms, a failed one backs off. The returned stop lets the current turn
 * finish.
 */
export function pollingMember(turn: () => Promise<number>): () => Promise<void> {
  let stopped = false;
  const loop = (async () => {
    for (let attempt = 0; !stopped; ) {
      try {
        if ((await turn()) === 0) await new Promise((resolve) => setTimeout(resolve, 100));
        attempt = 0;
      } catch {
        if (!stopped) await new Promise((resolve) => setTimeout(resolve, backoffDelay(attempt++)));
      }
    }
  })();
  return async () => {
    stopped = true;
    await loop;
  };
}

/**
 * The group members one broker started, so that its close can stop every one still running: a
 * member left running would retry on the closed connections forever and keep the process alive.
 */
export class GroupMembers {
  readonly #stops = new Set<() => Promise<void>>();
  #closed = false;

  /**
   * Tracks a member that `leave` ends; resolves with the stop that ends it (once) and forgets it.
   * A member that finished joining after {@link stopAll} is ended at once and refused.
   */
  async add(leave: () => Promise<void>): Promise<() => Promise<void>> {
    if (this.#closed) {
      await leave();
      throw new Error("the broker closed while the group member joined");
    }
    // Once: a subscriber may stop its member after the broker's close already did.
    let left: Promise<void> | undefined;
    const stop = () => {
      this.#stops.delete(stop);
      left ??= leave();
      return left;
    };
    this.#stops.add(stop);
    return stop;
  }

  /** Stops every member (each finishing what it handles) and refuses members from now on. */
  async stopAll(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#stops].map((stop) => stop()));
  }
}

/**
 * Why a publish held in a broker's queue was dropped unsent: its connection closed while it waited
 * (`Broker.publish`'s `publisher.aborted`), and its client resends it after it reconnects.
 */
export const PUBLISHER_GONE = "not sent: its publisher's connection closed while it waited";

/** Group names become queue, consumer and key names: kept to a safe alphabet. */
export const GROUP_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Options every broker takes. */
export interface BrokerCommonOptions {
  /** Replay window (count and age) and dedupe window. @default DEFAULT_RETENTION */
  retention?: Partial<LogRetention>;
  /** Called with a line and fields when the broker connection changes state. */
  log?: (level: "info" | "warn", message: string, fields?: Record<string, unknown>) => void;
}

export function retentionOf(options: BrokerCommonOptions): LogRetention {
  return { ...DEFAULT_RETENTION, ...options.retention };
}

/**
 * The relay's listeners per namespace. A broker subscribes to a namespace when its first listener
 * arrives and unsubscribes when its last one leaves (reference counting).
 */
export class Listeners {
  readonly #byNamespace = new Map<string, Set<BrokerListener>>();

  /** Adds a listener; true when it is the namespace's first. */
  add(namespace: string, listener: BrokerListener): boolean {
    const set = getOrCreate(this.#byNamespace, namespace, () => new Set<BrokerListener>());
    set.add(listener);
    return set.size === 1;
  }

  /** Removes a listener; true when it was the namespace's last. */
  remove(namespace: string, listener: BrokerListener): boolean {
    const set = this.#byNamespace.get(namespace);
    if (!set?.delete(listener)) return false;
    if (set.size > 0) return false;
    this.#byNamespace.delete(namespace);
    return true;
  }

  has(namespace: string): boolean {
    return this.#byNamespace.has(namespace);
  }

  namespaces(): string[] {
    return [...this.#byNamespace.keys()];
  }

  message(namespace: string, message: LogMessage): void {
    for (const listener of this.#byNamespace.get(namespace) ?? []) listener.message(message);
  }

  gap(namespace: string): void {
    for (const listener of this.#byNamespace.get(namespace) ?? []) listener.gap();
  }

  clear(): void {
    this.#byNamespace.clear();
  }
}

/**
 * Message ids seen recently in one namespace, with their offsets: the dedupe window of brokers
 * whose server keeps no id index. Insertion-ordered, so expiry looks at the oldest ids only.
 */
export class DedupeWindow {
  readonly #seen = new Map<string, { offset: string; at: number }>();
  readonly #retention: LogRetention;
  readonly #now: () => number;

  constructor(retention: LogRetention, now: () => number = Date.now) {
    this.#retention = retention;
    this.#now = now;
  }

  /** The offset of `id` when it was seen inside the window. */
  get(id: string): string | undefined {
    this.#expire();
    return this.#seen.get(id)?.offset;
  }

  remember(id: string, offset: string): void {
    if (!this.#seen.has(id)) this.#seen.set(id, { offset, at: this.#now() });
    this.#expire();
  }

  #expire(): void {
    const now = this.#now();
    const { dedupeWindowMs, dedupeMaxIds } = this.#retention;
    for (const [id, entry] of this.#seen) {
      if (this.#seen.size <= dedupeMaxIds && now - entry.at <= dedupeWindowMs) break;
      this.#seen.delete(id);
    }
  }
}

/** A message's data as the broker carries it: the JSON text itself, readable by any program. */
export function encodeData(data: unknown): string {
  return JSON.stringify(data);
}

/** A foreign producer's payload: JSON when it parses, else the text as a string. */
export function decodeData(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The metadata entry naming the headers whose values are JSON (numbers, booleans, null). */
export const JSON_HEADERS = "pubsubbud-json";

/**
 * Headers as the string pairs MQTT user properties and Kafka record headers hold: strings as they
 * are (what other programs expect), other values as JSON, named in a `pubsubbud-json` entry so
 * they come back with their type.
 */
export function headersToPairs(headers: Headers | undefined): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  const typed: string[] = [];
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (typeof value === "string") pairs.push([name, value]);
    else {
      pairs.push([name, JSON.stringify(value)]);
      typed.push(name);
    }
  }
  if (typed.length > 0) pairs.push([JSON_HEADERS, JSON.stringify(typed)]);
  return pairs;
}

/** The headers string pairs carry (see {@link headersToPairs}), or undefined when there are none. */
export function headersFromPairs(pairs: Iterable<[string, string]>): Headers | undefined {
  const headers: Record<string, string | number | boolean | null> = {};
  let typed: string[] = [];
  let any = false;
  for (const [name, value] of pairs) {
    if (name === JSON_HEADERS) {
      const names = decodeData(value);
      if (Array.isArray(names)) typed = names.map(String);
    } else {
      // Defined as own data properties, so a header named __proto__ stays a header.
      Object.defineProperty(headers, name, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
      any = true;
    }
  }
  for (const name of typed)
    if (Object.hasOwn(headers, name)) {
      const value = decodeData(headers[name] as string);
      if (value === null || ["number", "boolean"].includes(typeof value))
        headers[name] = value as never;
    }
  return any ? headers : undefined;
}

/** Full-jitter exponential backoff for reconnects: 100 ms doubling up to 5 s. */
export function backoffDelay(attempt: number, baseMs = 100, maxMs = 5_000): number {
  return Math.random() * Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 16));
}

/**
 * Retries `connect` with full-jitter backoff until it succeeds or `closed()` says to give up: for
 * clients that do not reconnect by themselves (amqplib, a pg LISTEN session).
 */
export async function reconnectWithBackoff(
  connect: () => Promise<void>,
  closed: () => boolean,
): Promise<boolean> {
  for (let attempt = 0; !closed(); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, backoffDelay(attempt)));
    try {
      await connect();
      return true;
    } catch {
      // next attempt
    }
  }
  return false;
}

/** Percent-encodes the characters `unsafe` matches (each must be a single code unit < 256). */
export function percentEncode(text: string, unsafe: RegExp): string {
  return text.replace(
    unsafe,
    (c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0").toUpperCase()}`,
  );
}

/** Undoes {@link percentEncode} for the escapes `escapes` matches (`%XX` with a hex group). */
export function percentDecode(text: string, escapes: RegExp): string {
  return text.replace(escapes, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

/** The error a broker URL that cannot be used gets: which URL, what is wrong, what to check. */
export function badBrokerUrl(url: string, problem: string, check: string): RelayNodeError {
  return new RelayNodeError(
    RelayNodeErrorCode.BadBroker,
    `broker ${redactUrl(url)}: ${problem}. Check ${check}.`,
  );
}

/** Checks that `url` parses; `form` shows the expected shape in the error. */
export function checkUrl(url: string, form: string): void {
  try {
    new URL(url);
  } catch {
    throw badBrokerUrl(url, "not a URL", `the form ${form}`);
  }
}

/** The URL without its password, for logs and errors. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return url;
  }
}

/**
 * Waits for `connect` to settle once within `timeoutMs`, so a broker that is down at start fails
 * with a clear error instead of hanging; afterwards the client's own reconnects take over.
 */
export async function firstConnect<T>(
  url: string,
  timeoutMs: number,
  connect: Promise<T>,
  check: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(badBrokerUrl(url, `no connection within ${timeoutMs} ms`, check)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([connect, timeout]);
  } catch (error) {
    if (error instanceof RelayNodeError) throw error;
    throw badBrokerUrl(url, `cannot connect (${String(error)})`, check);
  } finally {
    clearTimeout(timer);
  }
}
