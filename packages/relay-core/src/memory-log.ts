import type { Position } from "@pubsubbud/protocol";
import { dedupeKey, type LogMessage, type PublishInput, type PublishOutcome } from "./broker.js";
import { serializeMessage } from "./serialize.js";

/** Retention and dedupe settings of a namespace log. */
export interface LogRetention {
  /** Most messages kept for replay per namespace. @default 10000 */
  maxMessages: number;
  /** Oldest message kept for replay, in ms. @default 300000 (5 minutes) */
  maxAgeMs: number;
  /** How long a message id is remembered for dedupe, in ms. @default 120000 (2 minutes) */
  dedupeWindowMs: number;
  /** Most message ids remembered for dedupe per namespace. @default 100000 */
  dedupeMaxIds: number;
  /**
   * Most bytes of messages (as serialized frames) kept for replay per namespace: the oldest go
   * first past it, so one hot namespace cannot hold unbounded memory. @default 33554432 (32 MiB)
   */
  maxBytes: number;
}

export const DEFAULT_RETENTION: Readonly<LogRetention> = Object.freeze({
  maxMessages: 10_000,
  maxAgeMs: 300_000,
  dedupeWindowMs: 120_000,
  dedupeMaxIds: 100_000,
  maxBytes: 32 * 1024 * 1024,
});

/**
 * A bounded in-memory namespace log: offsets are decimal sequence numbers, the epoch is new for
 * every log. Used by the memory broker and by brokers that keep a relay-local window.
 */
export class MemoryLog {
  readonly epoch: string;
  #messages: LogMessage[] = [];
  /** Serialized size of each message in #messages, same index. */
  #sizes: number[] = [];
  #bytes = 0; // bytes of the retained messages
  #head = 0; // index of the oldest retained message in #messages
  #lastSeq = 0;
  #firstSeq = 1; // sequence number of #messages[#head]
  #seen = new Map<string, { offset: string; ts: number }>();
  readonly #retention: LogRetention;
  readonly #now: () => number;

  constructor(epoch: string, retention: LogRetention, now: () => number) {
    this.epoch = epoch;
    this.#retention = retention;
    this.#now = now;
  }

  /** Appends a message, or reports a duplicate id inside the dedupe window. */
  append(input: PublishInput): { outcome: PublishOutcome; message?: LogMessage } {
    const now = this.#now();
    this.#trim(now);
    const key = dedupeKey(input);
    const seen = this.#seen.get(key);
    if (seen) return { outcome: { offset: seen.offset, duplicate: true } };
    const offset = String(++this.#lastSeq);
    const message: LogMessage =
      input.headers === undefined
        ? { channel: input.channel, id: input.id, data: input.data, ts: now, offset }
        : {
            channel: input.channel,
            id: input.id,
            data: input.data,
            headers: input.headers,
            ts: now,
            offset,
          };
    const size = serializeMessage(message).length;
    this.#messages.push(message);
    this.#sizes.push(size);
    this.#bytes += size;
    this.#seen.set(key, { offset, ts: now });
    this.#trim(now);
    return { outcome: { offset, duplicate: false }, message };
  }

  /** The offset of the message with this {@link dedupeKey} when it was appended inside the dedupe window. */
  seen(key: string): string | undefined {
    this.#trim(this.#now());
    return this.#seen.get(key)?.offset;
  }

  /** Bytes of the messages retained for replay. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Applies retention now (count, age, bytes and the dedupe window) and tells whether the log
   * holds nothing any more: no message to replay and no id to recognise, so it may be dropped.
   */
  expire(): boolean {
    this.#trim(this.#now());
    return this.#messages.length === this.#head && this.#seen.size === 0;
  }

  /** Drops the oldest retained message (a budget across logs needs room); false when empty. */
  dropOldest(): boolean {
    if (this.#messages.length === this.#head) return false;
    this.#drop();
    return true;
  }

  /** Takes back the message just appended, which nobody has seen (its id is forgotten too). */
  dropNewest(): void {
    if (this.#messages.length === this.#head) return;
    const message = this.#messages.pop() as LogMessage;
    this.#bytes -= this.#sizes.pop() as number;
    this.#lastSeq--;
    this.#seen.delete(dedupeKey(message));
  }

  head(): Position {
    return { epoch: this.epoch, offset: this.#lastSeq === 0 ? "" : String(this.#lastSeq) };
  }

  /** Messages strictly after `position`, or undefined when they are no longer all retained. */
  since(position: Position): LogMessage[] | undefined {
    this.#trim(this.#now());
    if (position.epoch !== this.epoch) return undefined;
    const after = position.offset === "" ? 0 : Number(position.offset);
    if (!Number.isSafeInteger(after) || after < 0 || after > this.#lastSeq) return undefined;
    if (after < this.#firstSeq - 1) return undefined;
    return this.#messages.slice(this.#head + (after - this.#firstSeq + 1));
  }

  #drop(): void {
    this.#bytes -= this.#sizes[this.#head] as number;
    (this.#messages as Array<LogMessage | undefined>)[this.#head] = undefined;
    this.#head++;
    this.#firstSeq++;
  }

  #trim(now: number): void {
    const { maxMessages, maxAgeMs, maxBytes, dedupeWindowMs, dedupeMaxIds } = this.#retention;
    const retained = () => this.#messages.length - this.#head;
    while (
      retained() > 0 &&
      (retained() > maxMessages ||
        this.#bytes > maxBytes ||
        now - (this.#messages[this.#head] as LogMessage).ts > maxAgeMs)
    )
      this.#drop();
    // Compact the array once the dropped prefix dominates, so trimming stays O(1) amortised.
    if (this.#head > 1024 && this.#head * 2 > this.#messages.length) {
      this.#messages = this.#messages.slice(this.#head);
      this.#sizes = this.#sizes.slice(this.#head);
      this.#head = 0;
    }
    for (const [id, entry] of this.#seen) {
      if (this.#seen.size <= dedupeMaxIds && now - entry.ts <= dedupeWindowMs) break;
      this.#seen.delete(id);
    }
  }
}
