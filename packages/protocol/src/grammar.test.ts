import { describe, expect, it } from "vitest";
import { channelError, isInboxChannel, patternError } from "./grammar.js";

describe("channel grammar", () => {
  it("accepts printable ASCII names up to 255 bytes, empty segments included", () => {
    for (const ok of ["a", "sensor.temp", "sensor.", "a/b:c-d_e~f", "x".repeat(255)])
      expect(channelError(ok)).toBeUndefined();
  });

  it("rejects empty, too long, spaces, control or non-ASCII characters and wildcards, saying why", () => {
    expect(channelError("")).toMatch(/empty/);
    expect(channelError("x".repeat(256))).toMatch(/256 bytes; the limit is 255/);
    expect(channelError("a b")).toMatch(/printable ASCII/);
    expect(channelError("é")).toMatch(/printable ASCII/);
    expect(channelError("a\n")).toMatch(/printable ASCII/);
    for (const bad of ["a*", "a?", "a[", "a]"])
      expect(channelError(bad)).toMatch(/wildcards belong in patterns/);
    expect(channelError(42)).toMatch(/string/);
  });
});

describe("pattern grammar", () => {
  it("accepts wildcard patterns within the limits", () => {
    for (const ok of ["*", "sensor.*", "a?[0-9][!x]", "*".repeat(40), "?".repeat(16)])
      expect(patternError(ok)).toBeUndefined();
  });

  it("rejects too many wildcards, too long, empty and non-printable patterns", () => {
    expect(patternError("?".repeat(17))).toMatch(/17 wildcards; the limit is 16/);
    expect(patternError("a".repeat(256))).toMatch(/limit is 255/);
    expect(patternError("")).toMatch(/empty/);
    expect(patternError("a *")).toMatch(/printable ASCII/);
    expect(
      patternError("?".repeat(17), { maxPatternLength: 255, maxWildcards: 32 }),
    ).toBeUndefined();
  });

  it("recognises private inbox channels", () => {
    expect(isInboxChannel("_inbox.abc")).toBe(true);
    expect(isInboxChannel("inbox.abc")).toBe(false);
  });
});
