/**
 * The dedupe of one Kafka namespace partition, decided from the log alone: every relay instance
 * that reads the partition takes the same decisions, so a publish retried through another
 * instance is delivered once everywhere, and a replay skips exactly what live delivery skipped.
 *
 * Rule: a record is a duplicate when the latest earlier record with the same dedupe key lies at
 * most `dedupeMaxIds` offsets and `dedupeWindowMs` (by record timestamps) before it. A chain of
 * retries stays one message, answered with the offset of the chain's first copy. The decision on
 * a record depends only on the `dedupeMaxIds` offsets before it, so an instance that starts
 * reading there (see {@link seedStart}) agrees with one that has read the partition for hours.
 */
import type { LogRetention } from "@pubsubbud/relay-core";

/** One record as the dedupe sees it. */
export interface FeedRecord {
  readonly key: string;
  readonly offset: bigint;
  /** The record's timestamp, in ms: the same on every instance, unlike a local clock. */
  readonly ts: number;
}

/** What the dedupe decided on a record. */
export type Verdict =
  | { readonly duplicate: false }
  | { readonly duplicate: true; readonly first: bigint };

/**
 * How far record timestamps may run behind the newest one seen (relay hosts' clocks disagree
 * by this much at most) before an entry is forgotten; past it, instances may decide differently
 * at the window's edge.
 */
export const CLOCK_SKEW_MS = 30_000;

type Window = Pick<LogRetention, "dedupeWindowMs" | "dedupeMaxIds">;

interface Entry {
  first: bigint;
  last: bigint;
  lastTs: number;
}

/** Judges a partition's records in log order; see the file header for the rule. */
export class FeedDedupe {
  /** By key, ordered by the offset of the key's latest record (oldest first). */
  readonly #entries = new Map<string, Entry>();
  readonly #window: Window;
  #newestTs = Number.NEGATIVE_INFINITY;

  constructor(window: Window) {
    this.#window = window;
  }

  /** Decides one record; records must come in log order. */
  judge(record: FeedRecord): Verdict {
    const first = this.firstCopy(record.key, record.offset, record.ts);
    this.#entries.delete(record.key);
    this.#entries.set(record.key, {
      first: first ?? record.offset,
      last: record.offset,
      lastTs: record.ts,
    });
    this.#newestTs = Math.max(this.#newestTs, record.ts);
    this.#expire(record.offset);
    return first === undefined ? { duplicate: false } : { duplicate: true, first };
  }

  /** The first copy's offset when a record with `key` at `offset`, stamped `ts`, would be a duplicate. */
  firstCopy(key: string, offset: bigint, ts: number): bigint | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    const { dedupeMaxIds, dedupeWindowMs } = this.#window;
    const near = offset - entry.last <= BigInt(dedupeMaxIds) && ts - entry.lastTs <= dedupeWindowMs;
    return near ? entry.first : undefined;
  }

  /** Forgets keys no later record can match, so memory stays within the window. */
  #expire(offset: bigint): void {
    const { dedupeMaxIds, dedupeWindowMs } = this.#window;
    for (const [key, entry] of this.#entries) {
      const counted = offset - entry.last >= BigInt(dedupeMaxIds);
      const aged = this.#newestTs - entry.lastTs > dedupeWindowMs + CLOCK_SKEW_MS;
      if (!counted && !aged) break;
      this.#entries.delete(key);
    }
  }
}

/**
 * The first offset an instance must read so that its decisions on records from `end` on agree
 * with every other instance's: `dedupeMaxIds` offsets back, or the first record inside the
 * window by time (`byTime`, the first offset stamped at or after now - window - skew; negative
 * when there is none), whichever is later, and never before the log's start.
 */
export function seedStart(
  end: bigint,
  byTime: bigint,
  logStart: bigint,
  window: Pick<LogRetention, "dedupeMaxIds">,
): bigint {
  let start = end - BigInt(window.dedupeMaxIds);
  const timed = byTime < 0n ? end : byTime;
  if (timed > start) start = timed;
  return start < logStart ? logStart : start;
}
