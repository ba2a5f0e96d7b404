import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_RETENTION, MemoryLog } from "./memory-log.js";

const setup = (retention: Partial<typeof DEFAULT_RETENTION> = {}) => {
  let now = 1_000_000;
  const log = new MemoryLog("E1", { ...DEFAULT_RETENTION, ...retention }, () => now);
  const add = (id: string) => log.append({ channel: "c", id, data: id }).outcome;
  return { log, add, advance: (ms: number) => (now += ms) };
};

describe("MemoryLog", () => {
  it("replays exactly the messages after an offset, and everything after the empty offset", () => {
    const { log, add } = setup();
    for (const id of ["a", "b", "c"]) add(id);
    expect(log.since({ epoch: "E1", offset: "1" })?.map((m) => m.id)).toEqual(["b", "c"]);
    expect(log.since({ epoch: "E1", offset: "" })?.map((m) => m.id)).toEqual(["a", "b", "c"]);
    expect(log.since({ epoch: "E1", offset: "3" })).toEqual([]);
    expect(log.head()).toEqual({ epoch: "E1", offset: "3" });
  });

  it("refuses to replay across epochs, past retention by count or age, or from unknown offsets", () => {
    const { log, add, advance } = setup({ maxMessages: 2, maxAgeMs: 1000 });
    for (const id of ["a", "b", "c"]) add(id);
    expect(log.since({ epoch: "OTHER", offset: "3" })).toBeUndefined();
    expect(log.since({ epoch: "E1", offset: "" })).toBeUndefined();
    expect(log.since({ epoch: "E1", offset: "1" })?.map((m) => m.id)).toEqual(["b", "c"]);
    expect(log.since({ epoch: "E1", offset: "99" })).toBeUndefined();
    expect(log.since({ epoch: "E1", offset: "x" })).toBeUndefined();
    advance(1001);
    expect(log.since({ epoch: "E1", offset: "2" })).toBeUndefined();
    expect(log.since({ epoch: "E1", offset: "3" })).toEqual([]);
  });

  it("acknowledges a repeated id with the first offset inside the dedupe window, and not after it", () => {
    const { add, advance } = setup({ dedupeWindowMs: 500 });
    expect(add("m")).toEqual({ offset: "1", duplicate: false });
    expect(add("m")).toEqual({ offset: "1", duplicate: true });
    advance(501);
    expect(add("m")).toEqual({ offset: "2", duplicate: false });
  });
});

/**
 * The log against a reference model, over generated sequences of appends (ids from a small pool,
 * so repeats are common), clock advances, take-backs and replays. The model keeps every append
 * and says what must be true: an id is a duplicate while its latest append is inside the window
 * and has not been pushed out by `dedupeMaxIds` newer appends; a replay returns exactly the messages after the
 * offset when none of them was let go, else nothing.
 */
describe("MemoryLog against a reference model", () => {
  type Op =
    | { op: "append"; id: string }
    | { op: "appendBad"; id: string }
    | { op: "advance"; ms: number }
    | { op: "dropNewest" }
    | { op: "since"; offset: number };
  const ops = fc.array(
    fc.oneof(
      {
        weight: 6,
        arbitrary: fc.record({
          op: fc.constant("append" as const),
          id: fc.constantFrom("a", "b", "c", "d", "e", "f"),
        }),
      },
      {
        weight: 2,
        arbitrary: fc.record({
          op: fc.constant("advance" as const),
          ms: fc.integer({ min: 0, max: 1_000 }),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          op: fc.constant("appendBad" as const),
          id: fc.constantFrom("a", "b", "c", "d", "e", "f"),
        }),
      },
      { weight: 1, arbitrary: fc.record({ op: fc.constant("dropNewest" as const) }) },
      {
        weight: 2,
        arbitrary: fc.record({
          op: fc.constant("since" as const),
          offset: fc.integer({ min: -1, max: 40 }),
        }),
      },
    ),
    { maxLength: 80 },
  );
  const retention = fc.record({
    maxMessages: fc.integer({ min: 1, max: 12 }),
    maxAgeMs: fc.integer({ min: 100, max: 2_000 }),
    dedupeWindowMs: fc.integer({ min: 0, max: 1_500 }),
    dedupeMaxIds: fc.integer({ min: 0, max: 10 }),
    maxBytes: fc.constant(1 << 30),
  });

  it("dedupes, keeps and replays what the model says", () => {
    fc.assert(
      fc.property(retention, ops, (kept, sequence: Op[]) => {
        let now = 0;
        const log = new MemoryLog("E", kept, () => now);
        /** Every append the log took, in order: its id, sequence number and time. */
        const appends: Array<{ id: string; seq: number; ts: number; forgotten: boolean }> = [];
        /** Sequence numbers the log may have let go of (retention only ever drops the oldest). */
        let firstKept = 1;
        /** Retention, applied where the log applies it (an append, a replay): what is kept now. */
        const trim = () => {
          const retained = appends
            .slice(Math.max(0, appends.length - kept.maxMessages))
            .filter((a) => a.seq >= firstKept && now - a.ts <= kept.maxAgeMs);
          firstKept = retained[0]?.seq ?? (appends.at(-1)?.seq ?? 0) + 1;
          return retained;
        };
        for (const step of sequence) {
          if (step.op === "advance") now += step.ms;
          else if (step.op === "dropNewest") {
            if (appends.length > 0 && (appends.at(-1) as { seq: number }).seq >= firstKept)
              appends.pop();
            log.dropNewest();
          } else if (step.op === "append" || step.op === "appendBad") {
            const latest = [...appends].reverse().find((a) => a.id === step.id);
            const duplicate =
              latest !== undefined && !latest.forgotten && now - latest.ts <= kept.dedupeWindowMs;
            // Data that cannot be serialized: a repeat inside the window is still recognised;
            // anything else throws and leaves the log (offsets, ids, messages) as it was.
            const data = step.op === "append" ? step.id : 10n;
            if (step.op === "appendBad" && !duplicate) {
              expect(() => log.append({ channel: "c", id: step.id, data })).toThrow(/BigInt/);
              continue;
            }
            const { outcome } = log.append({ channel: "c", id: step.id, data });
            if (duplicate) expect(outcome).toEqual({ offset: String(latest.seq), duplicate: true });
            else {
              const seq = (appends.at(-1)?.seq ?? 0) + 1;
              expect(outcome).toEqual({ offset: String(seq), duplicate: false });
              appends.push({ id: step.id, seq, ts: now, forgotten: false });
              // Past the newest dedupeMaxIds, an id is forgotten for good (a take-back does not
              // bring it back).
              for (const a of appends.slice(0, Math.max(0, appends.length - kept.dedupeMaxIds)))
                a.forgotten = true;
              trim();
            }
          } else {
            const lastSeq = appends.at(-1)?.seq ?? 0;
            // What retention keeps now: the newest maxMessages, none older than maxAgeMs.
            const retained = trim();
            const offset = step.offset < 0 ? "" : String(step.offset);
            const after = Math.max(0, step.offset);
            const got = log.since({ epoch: "E", offset });
            if (after > lastSeq || after < firstKept - 1) expect(got).toBeUndefined();
            else
              expect(got?.map((m) => [m.id, m.offset])).toEqual(
                retained.filter((a) => a.seq > after).map((a) => [a.id, String(a.seq)]),
              );
          }
        }
      }),
      { numRuns: 1_000 },
    );
  });
});
