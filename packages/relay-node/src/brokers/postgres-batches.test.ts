import { PublishUncertainError } from "@pubsubbud/relay-core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { OrderedBatches } from "./postgres-batches.js";

/** An append of the model: which failure, if any, its write meets. */
interface Item {
  n: number;
  namespace: "a" | "b";
  fault: "none" | "value" | "down" | "uncertain";
}

class ValueError extends Error {}

/**
 * A fake write whose timing fast-check's scheduler controls. A batch with an `uncertain` item
 * throws PublishUncertainError, else one with a `down` item a plain error, else one with a
 * `value` item an error the broker may split; a clean batch is written.
 */
function fakeWrite(scheduler: fc.Scheduler) {
  const attempts: Array<{ namespace: string; batch: Item[]; ok: boolean }> = [];
  const inFlight = new Map<string, number>();
  let overlapped = false;
  const write = async (namespace: string, batch: readonly Item[]) => {
    const running = (inFlight.get(namespace) ?? 0) + 1;
    inFlight.set(namespace, running);
    if (running > 1) overlapped = true;
    await scheduler.schedule(Promise.resolve(), `write ${batch.map((i) => i.n)}`);
    inFlight.set(namespace, running - 1);
    const has = (fault: Item["fault"]) => batch.some((item) => item.fault === fault);
    const ok = !has("uncertain") && !has("down") && !has("value");
    attempts.push({ namespace, batch: [...batch], ok });
    if (has("uncertain")) throw new PublishUncertainError("unknown");
    if (has("down")) throw new Error("down");
    if (has("value")) throw new ValueError("bad value");
    return batch.map((item) => `offset ${item.n}`);
  };
  return { write, attempts, overlapped: () => overlapped };
}

const item = fc.record({
  namespace: fc.constantFrom("a" as const, "b" as const),
  fault: fc.constantFrom(...(["none", "none", "none", "value", "down", "uncertain"] as const)),
});

describe("OrderedBatches", () => {
  it("writes each namespace's appends in call order, one batch at a time, and settles each append once by its own write", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(item, { maxLength: 30 }), fc.scheduler(), async (spec, s) => {
        const items: Item[] = spec.map((x, n) => ({ ...x, n }));
        const fake = fakeWrite(s);
        const batches = new OrderedBatches(fake.write, {
          maxBatch: 3,
          split: (error) => error instanceof ValueError,
        });
        const outcomes = new Map<number, string[]>();
        const settled: Promise<void>[] = [];
        const sequence = s.scheduleSequence(
          items.map((it) => () => {
            settled.push(
              batches.add(it.namespace, it).then(
                (offset) => void outcomes.set(it.n, [...(outcomes.get(it.n) ?? []), offset]),
                (error: Error) =>
                  void outcomes.set(it.n, [...(outcomes.get(it.n) ?? []), error.name]),
              ),
            );
            return Promise.resolve();
          }),
        );
        await s.waitFor(sequence.task);
        await s.waitFor(Promise.all(settled));

        expect(fake.overlapped()).toBe(false);
        for (const namespace of ["a", "b"]) {
          const mine = fake.attempts.filter((a) => a.namespace === namespace);
          expect(mine.every((a) => a.batch.length <= 3)).toBe(true);
          // First attempts cover the namespace's appends once, in call order; a split batch is
          // retried item by item right after it, in the same order.
          const firsts: number[] = [];
          for (let i = 0; i < mine.length; i++) {
            const attempt = mine[i] as (typeof mine)[number];
            firsts.push(...attempt.batch.map((x) => x.n));
            const split = !attempt.ok && attempt.batch.length > 1 && isSplit(attempt.batch);
            if (split) {
              const retries = mine.slice(i + 1, i + 1 + attempt.batch.length);
              expect(retries.map((r) => r.batch.map((x) => x.n))).toEqual(
                attempt.batch.map((x) => [x.n]),
              );
              i += attempt.batch.length;
            }
          }
          expect(firsts).toEqual(items.filter((x) => x.namespace === namespace).map((x) => x.n));
        }
        for (const it of items) {
          const last = [...fake.attempts].reverse().find((a) => a.batch.some((x) => x.n === it.n));
          expect(outcomes.get(it.n)).toEqual([last?.ok ? `offset ${it.n}` : expectedError(last)]);
          // A clean append fails only with a batch that failed for a reason it shares.
          if (it.fault === "none" && !last?.ok)
            expect(last?.batch.some((x) => x.fault === "down" || x.fault === "uncertain")).toBe(
              true,
            );
        }
      }),
    );
  });

  it("drops unsent the queued appends nobody waits for any more, and writes the rest in order", async () => {
    const seen: number[][] = [];
    let release: () => void = () => {};
    const batches = new OrderedBatches<number, number>(async (_, batch) => {
      seen.push([...batch]);
      if (batch[0] === 1) await new Promise<void>((resolve) => (release = resolve));
      return [...batch];
    });
    const first = batches.add("ns", 1);
    await Promise.resolve();
    const gone = { aborted: false };
    const orphans = [2, 3].map((n) => batches.add("ns", n, gone));
    const resends = [2, 3].map((n) => batches.add("ns", n, { aborted: false }));
    gone.aborted = true;
    release();
    expect(await first).toBe(1);
    for (const orphan of orphans) await expect(orphan).rejects.toThrow(/connection closed/);
    expect(await Promise.all(resends)).toEqual([2, 3]);
    expect(seen).toEqual([[1], [2, 3]]);
  });

  it("sends the appends of one turn as one batch", async () => {
    const seen: number[][] = [];
    const batches = new OrderedBatches<number, number>(async (_, batch) => {
      seen.push([...batch]);
      return [...batch];
    });
    const results = await Promise.all([1, 2, 3].map((n) => batches.add("ns", n)));
    expect(results).toEqual([1, 2, 3]);
    expect(seen).toEqual([[1, 2, 3]]);
  });
});

function isSplit(batch: readonly Item[]): boolean {
  return batch.every((x) => x.fault === "none" || x.fault === "value");
}

function expectedError(attempt: { batch: Item[] } | undefined): string {
  if (attempt?.batch.some((x) => x.fault === "uncertain")) return "PublishUncertainError";
  return "Error";
}
