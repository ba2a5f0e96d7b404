import { spawnSync } from "node:child_process";
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { compileMatcher, compilePattern, matchPattern } from "./matcher.js";

/** Asks Python's fnmatch.fnmatchcase, the reference semantics, about many pairs at once. */
function fnmatchcase(pairs: ReadonlyArray<readonly [string, string]>): boolean[] {
  const script =
    "import sys, json, fnmatch\n" +
    "pairs = json.load(sys.stdin)\n" +
    "json.dump([fnmatch.fnmatchcase(n, p) for p, n in pairs], sys.stdout)\n";
  const result = spawnSync("python3", ["-c", script], {
    input: JSON.stringify(pairs),
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`python3 failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as boolean[];
}

const patternChars = fc.constantFrom(..."ab.-!^]\\[*?z0Z9_");
const nameChars = fc.constantFrom(..."ab.-!^\\z0Z9_");

describe("matcher", () => {
  afterEach(() => vi.restoreAllMocks());

  it("agrees with Python's fnmatch.fnmatchcase on a large generated corpus", () => {
    const pattern = fc.string({ unit: patternChars, minLength: 1, maxLength: 12 });
    const name = fc.string({ unit: nameChars, minLength: 1, maxLength: 12 });
    const pairs = fc.sample(fc.tuple(pattern, name), { numRuns: 40_000, seed: 20261122 });
    // Add pairs where the name is built to match, so positives are well represented.
    const derived = pairs.slice(0, 10_000).map(([p]) => {
      const n = p
        .replace(/\*/g, "ab")
        .replace(/\?/g, "z")
        .replace(/\[!?\]?[^\]]*\]/g, "a");
      return [p, n || "a"] as const;
    });
    const corpus = [...pairs, ...derived];
    const expected = fnmatchcase(corpus);
    const mismatches = corpus.filter(([p, n], i) => matchPattern(p, n) !== expected[i]);
    expect(mismatches.slice(0, 10)).toEqual([]);
    // The client's matcher walks differently (back to the last star) and must agree as well.
    const walked = corpus.filter(([p, n], i) => compileMatcher(p)(n) !== expected[i]);
    expect(walked.slice(0, 10)).toEqual([]);
    expect(expected.filter(Boolean).length).toBeGreaterThan(5_000);
  });

  it("agrees with fnmatchcase on the documented examples and edge cases", () => {
    const cases: Array<[string, string]> = [
      ["sensor.*", "sensor.temp"],
      ["sensor.*", "sensor."],
      ["sensor.*", "sensor"],
      ["*", "a.b.c"],
      ["a?c", "abc"],
      ["a?c", "ac"],
      ["[0-9]", "5"],
      ["[!0-9]", "5"],
      ["[!0-9]", "x"],
      ["[a-", "[a-"],
      ["[", "["],
      ["[]]", "]"],
      ["[!]]", "a"],
      ["[z-a]", "m"],
      ["[!z-a]", "m"],
      ["[a-c-e]", "d"],
      ["[a-c-e]", "-"],
      ["[--0]", "."],
      ["[\\]", "\\"],
      ["[^a]", "^"],
      ["**a**", "xxa"],
    ];
    const expected = fnmatchcase(cases);
    expect(cases.map(([p, n]) => matchPattern(p, n))).toEqual(expected);
    expect(cases.map(([p, n]) => compileMatcher(p)(n))).toEqual(expected);
  });

  it("never builds a RegExp from a pattern", () => {
    const spy = vi.spyOn(globalThis, "RegExp");
    compilePattern("a*[b-d]?[!x]*").matches("abcde");
    expect(spy).not.toHaveBeenCalled();
  });

  it("finishes hostile patterns that make backtracking matchers exponential", () => {
    const hostile = "*a".repeat(16) + "b";
    const channel = "a".repeat(255);
    const compiled = compilePattern(hostile);
    for (let i = 0; i < 100; i++) expect(compiled.matches(channel)).toBe(false);
    expect(compilePattern(`${"*?".repeat(16)}`).matches(channel)).toBe(true);
    // The client's walk: at most channel length × tokens steps.
    const walk = compileMatcher(hostile);
    for (let i = 0; i < 100; i++) expect(walk(channel)).toBe(false);
    expect(compileMatcher(`${"*?".repeat(16)}`)(channel)).toBe(true);
  });

  it("reports exactness, literal prefix and wildcard count", () => {
    expect(compilePattern("chat.room1")).toMatchObject({
      exact: true,
      literalPrefix: "chat.room1",
      wildcards: 0,
    });
    expect(compilePattern("chat.*.msg")).toMatchObject({
      exact: false,
      literalPrefix: "chat.",
      wildcards: 1,
    });
    expect(compilePattern("a[b").exact).toBe(true);
    expect(compilePattern("a**b?[cd]").wildcards).toBe(3);
  });
});
