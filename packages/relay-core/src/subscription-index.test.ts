import { compilePattern } from "@pubsubbud/protocol";
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
