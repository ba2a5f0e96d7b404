/**
 * Hole detection on a feed without a shared log (MQTT, RabbitMQ). Every relay instance numbers
 * what it publishes per namespace (a "stream": `<instance>.<k>`, counting 1, 2, 3…) and stamps
 * the number into the message (MQTT user property / AMQP header `pubsubbud-seq`). Every
 * listening instance follows each stream and notices when the broker skipped a number: the
 * broker dropped messages (an overflowing session queue, a queue length limit), so the window
 * must not claim to have them. A drop of a stream's last messages leaves no later number to
 * reveal it, so a stream that went quiet sends a tail marker (its last number, on the
 * {@link TAIL_CHANNEL}) 1 s and again 10 s after its last message. Foreign producers
 * (mosquitto_pub, a plain basic.publish) carry no number: their drops cannot be detected.
 */
import { randomId } from "@pubsubbud/relay-core/internal";

/** The metadata entry (MQTT user property, AMQP header) that carries a message's stamp. */
export const SEQ_HEADER = "pubsubbud-seq";

/**
 * A stream that starts this long after a window began listening must be seen from its first
 * number. The margin absorbs clock skew between instances: a publisher whose clock runs ahead
 * can only cause a needless gap, never a silent one.
 */
export const STREAM_START_MARGIN_MS = 1_000;

/** Where tail markers go: a topic level / routing key word no channel can be (`[` is not allowed). */
export const TAIL_CHANNEL = "[pubsubbud-tail]";

/** How long after a stream's last message its tail markers go out. */
export const TAIL_DELAYS_MS = [1_000, 10_000] as const;

/** Streams a window follows at most; the least recently heard is forgotten first. @default 10000 */
export const MAX_TRACKED_STREAMS = 10_000;

/** Namespaces a publisher keeps a stream for; a forgotten one starts a new stream. @default 100000 */
export const MAX_PUBLISHING_STREAMS = 100_000;

/** One message's place in its publisher's stream. */
export interface Stamp {
  /** `<instance>.<k>`: one publishing instance, one namespace. */
  stream: string;
  /** 1 for the stream's first message, then 2, 3… */
  n: number;
  /** When the stream started, in ms since the Unix epoch (the publisher's clock). */
  start: number;
}

const STAMP = /^([0-9A-Za-z]{1,32}\.[0-9a-z]{1,12}):([1-9][0-9]{0,15}):([0-9]{1,15})$/;

/** As long as a stamp gets: for size checks before the stamp is known. */
export const MAX_STAMP = `${"x".repeat(32)}.${"x".repeat(12)}:${"9".repeat(16)}:${"9".repeat(15)}`;

export function formatStamp(stamp: Stamp): string {
  return `${stamp.stream}:${stamp.n}:${stamp.start}`;
}

/** The stamp a header value carries, or undefined (a foreign or malformed value: not followed). */
export function parseStamp(value: string | undefined): Stamp | undefined {
  const match = value === undefined ? null : STAMP.exec(value);
  if (!match) return undefined;
  const n = Number(match[2]);
  const start = Number(match[3]);
  if (!Number.isSafeInteger(n) || !Number.isSafeInteger(start)) return undefined;
  return { stream: match[1] as string, n, start };
}

interface PublishingStream {
  stream: string;
  n: number;
  start: number;
  /** When its last message was stamped. */
  lastAt: number;
  /** Tail markers sent since then. */
  tails: number;
}

/** The publishing side: one stream per namespace this instance publishes to. */
export class SequenceStamper {
  readonly instance = randomId(12);
  readonly #streams = new Map<string, PublishingStream>();
  /** Namespaces whose stream still owes tail markers. */
  readonly #quieting = new Set<string>();
  #created = 0;
  readonly #now: () => number;
  readonly #max: number;

  constructor(now: () => number = Date.now, max = MAX_PUBLISHING_STREAMS) {
    this.#now = now;
    this.#max = max;
  }

  /** The next stamp of the namespace's stream. */
  next(namespace: string): Stamp {
    const now = this.#now();
    let state = this.#streams.get(namespace);
    if (state) this.#streams.delete(namespace);
    else
      state = {
        stream: `${this.instance}.${(this.#created++).toString(36)}`,
        n: 0,
        start: now,
        lastAt: now,
        tails: 0,
      };
    // Re-inserted, so the map's first entry is the least recently used namespace.
    this.#streams.set(namespace, state);
    if (this.#streams.size > this.#max)
      this.#streams.delete(this.#streams.keys().next().value as string);
    state.n++;
    state.lastAt = now;
    state.tails = 0;
    this.#quieting.add(namespace);
    return { stream: state.stream, n: state.n, start: state.start };
  }

  /** The tail markers due now: the last stamp of each stream quiet for a {@link TAIL_DELAYS_MS} step. */
  dueTails(): Array<{ namespace: string; stamp: Stamp }> {
    const now = this.#now();
    const due: Array<{ namespace: string; stamp: Stamp }> = [];
    for (const namespace of this.#quieting) {
      const state = this.#streams.get(namespace);
      const delay = state && TAIL_DELAYS_MS[state.tails];
      if (!state || state.n === 0 || delay === undefined) this.#quieting.delete(namespace);
      else if (now - state.lastAt >= delay) {
        state.tails++;
        due.push({ namespace, stamp: { stream: state.stream, n: state.n, start: state.start } });
      }
    }
    return due;
  }

  /**
   * The broker refused the message with this stamp, so nobody saw it: when no later number was
   * handed out, the next message reuses it and listeners see no hole.
   */
  release(namespace: string, stamp: Stamp): void {
    const state = this.#streams.get(namespace);
    if (state?.stream === stamp.stream && state.n === stamp.n) state.n--;
  }

  /** True when `stream` is this instance's stream of the namespace (its own copies coming back). */
  owns(namespace: string, stream: string): boolean {
    return this.#streams.get(namespace)?.stream === stream;
  }
}

/** What one stamped message or tail marker tells a listening window. */
export type Arrival =
  /** What it expected, or the first it sees of a stream it may have joined late. */
  | "next"
  /** Numbers were skipped: the broker dropped messages this window never got. */
  | "hole"
  /** A number it has seen already: a redelivery, a late copy (dedupe decides), an old marker. */
  | "late";

/** The listening side: the last number seen of each stream, for one namespace window. */
export class SequenceTracker {
  readonly #last = new Map<string, number>();
  /** When the broker subscription began to deliver (undefined while it is being set up). */
  #since: number | undefined;
  readonly #max: number;

  constructor(max = MAX_TRACKED_STREAMS) {
    this.#max = max;
  }

  /** The subscription is live from `at` on (the broker confirmed it); streams seen before are forgotten. */
  listening(at: number | undefined): void {
    this.#since = at;
    this.#last.clear();
  }

  /** A message (`tail` false) or a tail marker, which repeats the stream's last number. */
  observe(stamp: Stamp, tail = false): Arrival {
    const last = this.#last.get(stamp.stream);
    const expected = last === undefined ? undefined : tail ? last : last + 1;
    if (expected !== undefined && stamp.n < expected) return "late";
    this.#last.delete(stamp.stream);
    this.#last.set(stamp.stream, stamp.n);
    if (this.#last.size > this.#max) this.#last.delete(this.#last.keys().next().value as string);
    if (expected !== undefined) return stamp.n === expected ? "next" : "hole";
    // A stream first seen here: its first number is the base, unless the stream began after
    // this window was listening, in which case everything before this number was dropped.
    const began = this.#since !== undefined && stamp.start > this.#since + STREAM_START_MARGIN_MS;
    return began && stamp.n > (tail ? 0 : 1) ? "hole" : "next";
  }
}
