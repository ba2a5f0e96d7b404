import { compilePattern } from "@pubsubbud/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SubscriptionIndex } from "./subscription-index.js";

const matchesOf = (index: SubscriptionIndex<string>, channel: string, exactOnly = false) => {
  const found: string[] = [];
  index.forEachMatch(channel, (s) => found.push(s), exactOnly);
  return found.sort();
};

describe("SubscriptionIndex", () => {
  it("finds exact and wildcard subscribers, and skips wildcards for exact-only lookups", () => {
    const index = new SubscriptionIndex<string>();
    index.add(compilePattern("a.b"), "exact");
    index.add(compilePattern("a.*"), "prefix");
    index.add(compilePattern("*"), "all");
    index.add(compilePattern("?.b"), "one");
    expect(matchesOf(index, "a.b")).toEqual(["all", "exact", "one", "prefix"]);
    expect(matchesOf(index, "a.c")).toEqual(["all", "prefix"]);
    expect(matchesOf(index, "a.b", true)).toEqual(["exact"]);
  });

  it("tests only the patterns whose literal prefix the channel starts with", () => {
    const index = new SubscriptionIndex<number>();
    let tested = 0;
    for (let i = 0; i < 1000; i++) {
      const compiled = compilePattern(`user.${i}.*`);
      index.add(
        {
          ...compiled,
          matches: (channel: string) => {
            tested++;
            return compiled.matches(channel);
          },
        },
        i,
      );
    }
    const found: number[] = [];
    index.forEachMatch("user.5.login", (s) => found.push(s));
    expect(found).toEqual([5]);
    expect(tested).toBe(1);
  });

  it("counts a subscriber's repeated patterns and forgets them only when the last one goes", () => {
    const index = new SubscriptionIndex<string>();
    const pattern = compilePattern("x.*");
    index.add(pattern, "s");
    index.add(pattern, "s");
    index.remove(pattern, "s");
    expect(matchesOf(index, "x.1")).toEqual(["s"]);
    index.remove(pattern, "s");
    expect(matchesOf(index, "x.1")).toEqual([]);
    expect(index.size).toBe(0);
  });
});

/**
 * The index against its reference model: a list of (subscriber, pattern) uses, matched with the
 * shared matcher. Generated add/remove sequences over a few identical and overlapping patterns
 * and co-subscribers; after every step each channel's subscribers must equal the model's.
 */
describe("SubscriptionIndex against its reference model", () => {
  const patterns = [
    "room.1",
    "room.2",
    "room.*",
    "room.?",
    "*",
    "r*.1",
    "room.[12]",
    "ro*",
    "room.1*",
  ];
  const channels = ["room.1", "room.2", "room.10", "rx.1", "other"];
  const subscribers = ["a", "b", "c"];
  type Model = Array<[string, string]>;
  type Real = SubscriptionIndex<string>;
  const check = (model: Model, real: Real) => {
    for (const channel of channels) {
      const expected = [
        ...new Set(model.filter(([, p]) => compilePattern(p).matches(channel)).map(([s]) => s)),
      ].sort();
      expect([...new Set(matchesOf(real, channel))].sort()).toEqual(expected);
    }
    // The worst case a publish can meet: the most distinct wildcard patterns whose literal
    // prefixes lie on one path (each a prefix of the deepest one's).
    const wild = [...new Set(model.map(([, p]) => p))]
      .map((p) => compilePattern(p))
      .filter((p) => !p.exact);
    const worst = Math.max(
      0,
      ...wild.map(
        (deep) => wild.filter((p) => deep.literalPrefix.startsWith(p.literalPrefix)).length,
      ),
    );
    expect(real.worstCandidates).toBe(worst);
  };
  class Add implements fc.Command<Model, Real> {
    constructor(
      readonly subscriber: string,
      readonly pattern: string,
    ) {}
    check = () => true;
    run(model: Model, real: Real) {
      model.push([this.subscriber, this.pattern]);
      real.add(compilePattern(this.pattern), this.subscriber);
      check(model, real);
    }
    toString = () => `add(${this.subscriber}, ${this.pattern})`;
  }
  class Remove implements fc.Command<Model, Real> {
    constructor(
      readonly subscriber: string,
      readonly pattern: string,
    ) {}
    check = (model: Readonly<Model>) =>
      model.some(([s, p]) => s === this.subscriber && p === this.pattern);
    run(model: Model, real: Real) {
      model.splice(
        model.findIndex(([s, p]) => s === this.subscriber && p === this.pattern),
        1,
      );
      real.remove(compilePattern(this.pattern), this.subscriber);
      check(model, real);
    }
    toString = () => `remove(${this.subscriber}, ${this.pattern})`;
  }
  const use = fc.tuple(fc.constantFrom(...subscribers), fc.constantFrom(...patterns));
  const commands = [use.map(([s, p]) => new Add(s, p)), use.map(([s, p]) => new Remove(s, p))];

  it("keeps every remaining subscriber of a pattern when another one leaves (co-subscribers)", () => {
    const index = new SubscriptionIndex<string>();
    index.add(compilePattern("room.*"), "a");
    index.add(compilePattern("room.*"), "b");
    index.add(compilePattern("room.1"), "a");
    index.add(compilePattern("room.1"), "b");
    index.remove(compilePattern("room.*"), "a");
    index.remove(compilePattern("room.1"), "a");
    expect(matchesOf(index, "room.1")).toEqual(["b", "b"]);
  });

  it("agrees with the model over generated add/remove sequences", () => {
    fc.assert(
      fc.property(fc.commands(commands, { maxCommands: 60 }), (cmds) =>
        fc.modelRun(() => ({ model: [], real: new SubscriptionIndex<string>() }), cmds),
      ),
      { numRuns: 300, seed: 14 },
    );
  });
});
