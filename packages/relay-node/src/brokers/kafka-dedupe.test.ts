import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FeedDedupe, type FeedRecord, seedStart, type Verdict } from "./kafka-dedupe.js";

interface Window {
  dedupeWindowMs: number;
  dedupeMaxIds: number;
}

/**
 * The reference: a record is a duplicate when the latest earlier record with its key is within
 * `dedupeMaxIds` offsets and `dedupeWindowMs` before it; a duplicate names its chain's first copy.
 */
function model(records: readonly FeedRecord[], window: Window): Verdict[] {
  const verdicts: Verdict[] = [];
  records.forEach((record, i) => {
    let j = i - 1;
    while (j >= 0 && records[j]?.key !== record.key) j--;
    const earlier = records[j];
    const near =
      earlier !== undefined &&
      record.offset - earlier.offset <= BigInt(window.dedupeMaxIds) &&
      record.ts - earlier.ts <= window.dedupeWindowMs;
    const before = verdicts[j];
    verdicts.push(
      near && before
        ? { duplicate: true, first: before.duplicate ? before.first : earlier.offset }
        : { duplicate: false },
    );
  });
  return verdicts;
}

const windowArb = fc.record({
  dedupeWindowMs: fc.integer({ min: 0, max: 200 }),
  dedupeMaxIds: fc.integer({ min: 1, max: 12 }),
});

/** A partition: a few keys, offsets with holes (control records), timestamps mostly rising. */
const partitionArb = fc
  .array(
    fc.record({
      key: fc.constantFrom("a", "b", "c", "d", "e"),
      step: fc.integer({ min: 1, max: 3 }),
      elapsed: fc.integer({ min: 0, max: 60 }),
      // Clocks of the publishing relays disagree a little: some stamps run behind.
      skew: fc.integer({ min: -40, max: 0 }),
    }),
    { maxLength: 60 },
  )
  .map((steps) => {
    let offset = 0n;
    let clock = 1_000;
    return steps.map(({ key, step, elapsed, skew }): FeedRecord => {
      offset += BigInt(step);
      clock += elapsed;
      return { key, offset, ts: clock + skew };
    });
  });

const judgeAll = (records: readonly FeedRecord[], window: Window) => {
  const dedupe = new FeedDedupe(window);
  return records.map((record) => dedupe.judge(record));
};

describe("FeedDedupe", () => {
  it("decides every record as the reference model does", () => {
    fc.assert(
      fc.property(partitionArb, windowArb, (records, window) => {
        expect(judgeAll(records, window)).toEqual(model(records, window));
      }),
      { numRuns: 500 },
    );
  });

  it("agrees, from any record on, with an instance that started at that record's seed start", () => {
    fc.assert(
      fc.property(partitionArb, windowArb, fc.nat(), (records, window, pick) => {
        if (records.length === 0) return;
        const s = pick % records.length;
        const later = records.slice(s);
        const end = (records[s] as FeedRecord).offset;
        // What a listOffsets by time answers: the first record stamped inside the window of
        // the oldest stamp still to be judged.
        const since = Math.min(...later.map((r) => r.ts)) - window.dedupeWindowMs;
        const byTime = records.find((r) => r.ts >= since)?.offset ?? -1n;
        const start = seedStart(end, byTime, 0n, window);
        const seeded = judgeAll(
          records.filter((r) => r.offset >= start),
          window,
        ).slice(-later.length);
        const whole = judgeAll(records, window).slice(s);
        expect(seeded.map((v) => v.duplicate)).toEqual(whole.map((v) => v.duplicate));
      }),
      { numRuns: 500 },
    );
  });

  it("answers a would-be publish with the first copy of a key inside the window only", () => {
    const dedupe = new FeedDedupe({ dedupeWindowMs: 100, dedupeMaxIds: 3 });
    dedupe.judge({ key: "k", offset: 5n, ts: 1_000 });
    expect(dedupe.judge({ key: "k", offset: 6n, ts: 1_050 })).toEqual({
      duplicate: true,
      first: 5n,
    });
    expect(dedupe.firstCopy("k", 7n, 1_150)).toBe(5n);
    expect(dedupe.firstCopy("k", 7n, 1_151)).toBeUndefined();
    expect(dedupe.firstCopy("k", 10n, 1_060)).toBeUndefined();
    expect(dedupe.firstCopy("other", 7n, 1_060)).toBeUndefined();
  });

  it("starts a seed no earlier than the log, the count bound or the time bound", () => {
    const window = { dedupeMaxIds: 100 };
    expect(seedStart(1_000n, -1n, 0n, window)).toBe(1_000n);
    expect(seedStart(1_000n, 0n, 0n, window)).toBe(900n);
    expect(seedStart(1_000n, 950n, 0n, window)).toBe(950n);
    expect(seedStart(50n, 0n, 20n, window)).toBe(20n);
  });
});
