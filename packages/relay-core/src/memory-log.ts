import type { Position } from "@pubsubbud/protocol";
import { dedupeKey, type LogMessage, type PublishInput, type PublishOutcome } from "./broker.js";
import { FramedMessage } from "./serialize.js";

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
  /**
   * Each retained message as its frame, the one thing a replay sends: a string per message is
   * all the garbage collector has to carry (a message object holds several), and the publish
   * path is cheaper for it. A replay reads the messages back from their frames.
   */
  #frames: string[] = [];
  /** When each message in #frames was appended (for `maxAgeMs`), same index. */
  #times: number[] = [];
  #bytes = 0; // bytes of the retained messages
  #head = 0; // index of the oldest retained message in #frames
  #lastSeq = 0;
  #firstSeq = 1; // sequence number of #frames[#head]
  /** Dedupe: each remembered id's sequence number, oldest first (a Map keeps insertion order). */
  #seen = new Map<string, number>();
  /** When each remembered id was appended, in the same order as #seen (from #seenHead on). */
  #seenTs: number[] = [];
  /** The ids of #seen in insertion order, so the oldest can be dropped without an iterator. */
  #seenKeys: string[] = [];
  #seenHead = 0;
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
    const key = dedupeKey(input);
    const earlier = this.#seen.get(key);
    if (earlier !== undefined && this.#within(earlier, now))
      return { outcome: { offset: String(earlier), duplicate: true } };
    // The frame first: data that cannot be serialized throws before the log changes.
    const seq = this.#lastSeq + 1;
    const offset = String(seq);
    const message = new FramedMessage(input, now, offset);
    if (earlier !== undefined) {
      // An id seen before the window is new again: its old place in the order is emptied, so
      // dropping that place later leaves the new one alone.
      (this.#seenKeys as Array<string | undefined>)[this.#seenIndex(earlier)] = undefined;
      this.#seen.delete(key);
    }
    this.#lastSeq = seq;
    const size = message.frame.length;
    this.#frames.push(message.frame);
    this.#times.push(now);
    this.#bytes += size;
    this.#seen.set(key, seq);
    this.#seenKeys.push(key);
    this.#seenTs.push(now);
    this.#trim(now);
    return { outcome: { offset, duplicate: false }, message };
  }

  /**
   * Where the id appended as `seq` sits in #seenKeys and #seenTs: ids are appended in sequence
   * order, so its place is its distance from the newest remembered one.
   */
  #seenIndex(seq: number): number {
    return this.#seenTs.length - 1 - (this.#lastSeq - seq);
  }

  /** True when the id appended as `seq` is still inside the dedupe window. */
  #within(seq: number, now: number): boolean {
    const ts = this.#seenTs[this.#seenIndex(seq)];
    return ts !== undefined && now - ts <= this.#retention.dedupeWindowMs;
  }

  /** The offset of the message with this {@link dedupeKey} when it was appended inside the dedupe window. */
  seen(key: string): string | undefined {
    const seq = this.#seen.get(key);
    return seq !== undefined && this.#within(seq, this.#now()) ? String(seq) : undefined;
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
    return this.#frames.length === this.#head && this.#seen.size === 0;
  }

  /** Drops the oldest retained message (a budget across logs needs room); false when empty. */
  dropOldest(): boolean {
    if (this.#frames.length === this.#head) return false;
    this.#drop();
    return true;
  }

  /** Takes back the message just appended, which nobody has seen (its id is forgotten too). */
  dropNewest(): void {
    if (this.#frames.length === this.#head) return;
    this.#bytes -= (this.#frames.pop() as string).length;
    this.#times.pop();
    this.#lastSeq--;
    // Its id, unless the dedupe bounds already let it go (`dedupeMaxIds` 0).
    if (this.#seenKeys.length > this.#seenHead) {
      this.#seen.delete(this.#seenKeys.pop() as string);
      this.#seenTs.pop();
    }
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
    return this.#frames.slice(this.#head + (after - this.#firstSeq + 1)).map(FramedMessage.parse);
  }

  #drop(): void {
    this.#bytes -= (this.#frames[this.#head] as string).length;
    (this.#frames as Array<string | undefined>)[this.#head] = undefined;
    this.#head++;
    this.#firstSeq++;
  }

  #trim(now: number): void {
    const { maxMessages, maxAgeMs, maxBytes, dedupeWindowMs, dedupeMaxIds } = this.#retention;
    // Every append runs this: no closure, the retained count computed in the loop.
    for (let retained = this.#frames.length - this.#head; retained > 0; retained--) {
      if (
        retained <= maxMessages &&
        this.#bytes <= maxBytes &&
        now - (this.#times[this.#head] as number) <= maxAgeMs
      )
        break;
      this.#drop();
    }
    // Compact the array once the dropped prefix dominates, so trimming stays O(1) amortised.
    if (this.#head > 1024 && this.#head * 2 > this.#frames.length) {
      this.#frames = this.#frames.slice(this.#head);
      this.#times = this.#times.slice(this.#head);
      this.#head = 0;
    }
    const ids = this.#seenKeys.length;
    while (
      this.#seenHead < ids &&
      (ids - this.#seenHead > dedupeMaxIds ||
        now - (this.#seenTs[this.#seenHead] as number) > dedupeWindowMs)
    ) {
      // An emptied place belongs to an id appended again since, which lives on.
      const key = this.#seenKeys[this.#seenHead];
      if (key !== undefined) this.#seen.delete(key);
      (this.#seenKeys as Array<string | undefined>)[this.#seenHead] = undefined;
      this.#seenHead++;
    }
    if (this.#seenHead > 1024 && this.#seenHead * 2 > this.#seenKeys.length) {
      this.#seenKeys = this.#seenKeys.slice(this.#seenHead);
      this.#seenTs = this.#seenTs.slice(this.#seenHead);
      this.#seenHead = 0;
    }
  }
}
