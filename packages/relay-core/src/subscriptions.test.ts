import { compilePattern } from "@pubsubbud/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SubscriptionIndex } from "./subscription-index.js";
import { SessionSubscriptions } from "./subscriptions.js";

/**
 * Two connections' subscriptions on one shared index, driven by generated sequences and checked
 * after every step against a reference model (a Map per connection, in insertion order): what
 * each connection holds, what it would receive, and whom the index finds for a publish.
 */
describe("SessionSubscriptions against a reference model", () => {
  const owners = ["A", "B"] as const;
  const patterns = ["a", "b", "a.*", "*", "a.?", "_inbox.x"];
  const channels = ["a", "b", "a.x", "a.xy", "c", "_inbox.x"];
  type Op =
    | { op: "add"; owner: 0 | 1; id: string; pattern: string }
    | { op: "remove"; owner: 0 | 1; id: string }
    | { op: "clear"; owner: 0 | 1 };
  const owner = fc.constantFrom(0 as const, 1 as const);
  const id = fc.constantFrom("s1", "s2", "s3");
  const ops = fc.array(
    fc.oneof(
      {
        weight: 5,
        arbitrary: fc.record({
          op: fc.constant("add" as const),
          owner,
          id,
          pattern: fc.constantFrom(...patterns),
        }),
      },
      { weight: 3, arbitrary: fc.record({ op: fc.constant("remove" as const), owner, id }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant("clear" as const), owner }) },
    ),
    { maxLength: 40 },
  );

  it("holds, matches and indexes what the model says, one subscription or many", () => {
    fc.assert(
      fc.property(ops, (sequence: Op[]) => {
        const index = new SubscriptionIndex<string>();
        const real = owners.map((name) => new SessionSubscriptions(index, name));
        const model = owners.map(() => new Map<string, string>());
        for (const step of sequence) {
          const [subs, held] = [real[step.owner], model[step.owner]] as [
            SessionSubscriptions<string>,
            Map<string, string>,
          ];
          if (step.op === "add") {
            // A session refuses a repeated id before it adds (duplicate_id).
            if (subs.has(step.id)) continue;
            subs.add(step.id, compilePattern(step.pattern));
            held.set(step.id, step.pattern);
          } else if (step.op === "remove") {
            expect(subs.remove(step.id)).toBe(held.delete(step.id));
          } else {
            subs.clear();
            held.clear();
          }
          for (const [i, subsOf] of real.entries()) {
            const want = model[i] as Map<string, string>;
            expect(subsOf.size).toBe(want.size);
            expect(subsOf.snapshot()).toEqual([...want]);
            for (const known of ["s1", "s2", "s3"]) expect(subsOf.has(known)).toBe(want.has(known));
            for (const channel of channels) {
              const hits = [...want.values()].map((p) => compilePattern(p));
              expect(subsOf.matches(channel, false)).toBe(hits.some((p) => p.matches(channel)));
              expect(subsOf.matches(channel, true)).toBe(
                hits.some((p) => p.exact && p.source === channel),
              );
            }
          }
          for (const channel of channels) {
            const found = new Set<string>();
            index.forEachMatch(channel, (name) => found.add(name));
            const expected = owners.filter((_, i) =>
              [...(model[i] as Map<string, string>).values()].some((p) =>
                compilePattern(p).matches(channel),
              ),
            );
            expect([...found].sort()).toEqual(expected);
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});
