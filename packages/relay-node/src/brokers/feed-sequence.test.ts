import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  formatStamp,
  parseStamp,
  SequenceStamper,
  SequenceTracker,
  STREAM_START_MARGIN_MS,
  type Stamp,
  TAIL_DELAYS_MS,
} from "./feed-sequence.js";

const LISTENING_SINCE = 1_000_000;

/** One publishing stream as the broker treats it: which numbers it drops, which it sends twice. */
const streamPlan = fc.record({
  count: fc.integer({ min: 1, max: 12 }),
  dropped: fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
  doubled: fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
  /** Began before the window listened: numbers before its first arrival cannot be judged. */
  joinedLate: fc.boolean(),
  tail: fc.boolean(),
});

describe("SequenceTracker", () => {
  it("reports a hole exactly where the broker dropped numbers since the stream's previous arrival", () => {
    fc.assert(
      fc.property(
        fc.array(streamPlan, { minLength: 1, maxLength: 3 }),
        fc.array(fc.nat(2), { maxLength: 80 }),
        (plans, picks) => {
          // Each stream's arrivals in its own order; the picks interleave the streams.
          const queues = plans.map((plan, s) => {
            const start = plan.joinedLate
              ? LISTENING_SINCE - 5_000
              : LISTENING_SINCE + STREAM_START_MARGIN_MS + 1;
            const arrivals: Array<{ stamp: Stamp; tail: boolean }> = [];
            for (let n = 1; n <= plan.count; n++) {
              if (plan.dropped[n - 1]) continue;
              const stamp = { stream: `i${s}.0`, n, start };
              arrivals.push({ stamp, tail: false });
              if (plan.doubled[n - 1]) arrivals.push({ stamp, tail: false });
            }
            if (plan.tail)
              arrivals.push({ stamp: { stream: `i${s}.0`, n: plan.count, start }, tail: true });
            return arrivals;
          });
          const left = queues.map((queue) => queue.length);
          const order: number[] = [];
          for (const pick of [...picks, ...queues.flatMap((queue, s) => queue.map(() => s))]) {
            const s = pick % queues.length;
            if ((left[s] as number) > 0) {
              left[s] = (left[s] as number) - 1;
              order.push(s);
            }
          }

          const tracker = new SequenceTracker();
          tracker.listening(LISTENING_SINCE);
          const highest = plans.map(() => 0);
          for (const s of order) {
            const { stamp, tail } = (
              queues[s] as Array<{ stamp: Stamp; tail: boolean }>
            ).shift() as {
              stamp: Stamp;
              tail: boolean;
            };
            const plan = plans[s] as (typeof plans)[number];
            const previous = highest[s] as number;
            // Model: what the broker dropped between the previous arrival and this one. Before the
            // first arrival only a stream that began while the window listened can be judged.
            const through = tail ? stamp.n : stamp.n - 1;
            const judgedFrom = previous === 0 && plan.joinedLate ? through + 1 : previous + 1;
            const droppedBetween = plan.dropped
              .slice(judgedFrom - 1, through)
              .some((dropped, i) => dropped && judgedFrom + i <= plan.count);
            const expected =
              stamp.n < previous || (!tail && stamp.n === previous)
                ? "late"
                : droppedBetween
                  ? "hole"
                  : "next";
            expect(tracker.observe(stamp, tail), `${s}:${stamp.n}${tail ? " tail" : ""}`).toBe(
              expected,
            );
            highest[s] = Math.max(previous, stamp.n);
          }
        },
      ),
    );
  });

  it("takes a stream's first number as its base after listening starts again", () => {
    const tracker = new SequenceTracker();
    tracker.listening(LISTENING_SINCE);
    expect(tracker.observe({ stream: "a.0", n: 4, start: 0 })).toBe("next");
    tracker.listening(LISTENING_SINCE + 10);
    expect(tracker.observe({ stream: "a.0", n: 9, start: 0 })).toBe("next");
    expect(tracker.observe({ stream: "a.0", n: 11, start: 0 })).toBe("hole");
  });
});

describe("SequenceStamper", () => {
  it("numbers each namespace's stream from 1 and gives a refused last number back", () => {
    const stamper = new SequenceStamper(() => 5);
    const a1 = stamper.next("a");
    const b1 = stamper.next("b");
    expect([a1.n, b1.n]).toEqual([1, 1]);
    expect(a1.stream).not.toBe(b1.stream);
    const a2 = stamper.next("a");
    stamper.release("a", a2);
    expect(stamper.next("a").n).toBe(2);
    stamper.release("a", a1); // not the last number: kept, a listener sees the hole
    expect(stamper.next("a").n).toBe(3);
    expect(stamper.owns("a", a1.stream)).toBe(true);
    expect(stamper.owns("b", a1.stream)).toBe(false);
  });

  it("sends a quiet stream's tail marker once per delay step, and again after a new message", () => {
    let now = 0;
    const stamper = new SequenceStamper(() => now);
    stamper.next("a");
    const last = stamper.next("a");
    expect(stamper.dueTails()).toEqual([]);
    now = TAIL_DELAYS_MS[0];
    expect(stamper.dueTails()).toEqual([{ namespace: "a", stamp: last }]);
    expect(stamper.dueTails()).toEqual([]);
    now = TAIL_DELAYS_MS[1];
    expect(stamper.dueTails()).toEqual([{ namespace: "a", stamp: last }]);
    now += 60_000;
    expect(stamper.dueTails()).toEqual([]);
    const next = stamper.next("a");
    now += TAIL_DELAYS_MS[0];
    expect(stamper.dueTails()).toEqual([{ namespace: "a", stamp: next }]);
  });

  it("starts a new stream for a namespace it forgot, which listeners follow afresh", () => {
    const stamper = new SequenceStamper(() => 0, 2);
    const a = stamper.next("a");
    stamper.next("b");
    stamper.next("c"); // forgets "a", the least recently used
    const again = stamper.next("a");
    expect(again.stream).not.toBe(a.stream);
    expect(again.n).toBe(1);
  });
});

describe("stamps", () => {
  it("round-trip through their header text and refuse anything else", () => {
    const stamp = { stream: "AbC123.z", n: 42, start: 1_700_000_000_000 };
    expect(parseStamp(formatStamp(stamp))).toEqual(stamp);
    for (const bad of [undefined, "", "x:1:2", "a.0:0:1", "a.0:1", "a.0:01:5", "a b.0:1:2"])
      expect(parseStamp(bad), String(bad)).toBeUndefined();
  });
});
