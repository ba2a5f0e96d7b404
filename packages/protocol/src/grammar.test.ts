import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  channelError,
  dataError,
  headersError,
  isInboxChannel,
  patternError,
  utf8ByteLength,
} from "./grammar.js";

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

describe("UTF-8 byte length", () => {
  it("counts what TextEncoder encodes, lone surrogates as their 3-byte replacement", () => {
    const encoder = new TextEncoder();
    for (const text of [
      "",
      "abc",
      "é",
      "€",
      "😀",
      "a😀b",
      "\ud800",
      "\udc00x",
      "\ud83d\ud83d\ude00",
    ])
      expect(utf8ByteLength(text)).toBe(encoder.encode(text).length);
    // Code units of each width, surrogates (paired or not) weighted up.
    const unit = fc.oneof(
      fc.integer({ min: 0, max: 0x7f }),
      fc.integer({ min: 0x80, max: 0xffff }),
      fc.integer({ min: 0xd800, max: 0xdfff }),
    );
    const text = fc.array(unit, { maxLength: 40 }).map((units) => String.fromCharCode(...units));
    fc.assert(
      fc.property(text, (sample) => {
        expect(utf8ByteLength(sample)).toBe(encoder.encode(sample).length);
      }),
      { numRuns: 1_000 },
    );
  });
});

describe("header limits", () => {
  it("counts key bytes in UTF-8: 64 bytes pass, 65 are refused, whatever the characters", () => {
    // "€" is 3 bytes, "é" 2: 21 × 3 + 1 = 64 and 21 × 3 + 2 = 65 bytes in 22 and 23 characters.
    for (const key of ["k".repeat(64), `${"€".repeat(21)}k`, `${"é".repeat(31)}kk`])
      expect(headersError({ [key]: 1 })).toBeUndefined();
    for (const key of ["k".repeat(65), `${"€".repeat(21)}é`, "€".repeat(64), "😀".repeat(17)])
      expect(headersError({ [key]: 1 })).toMatch(/is \d+ bytes of UTF-8; keys must be 1–64 bytes/);
    expect(headersError({ ["€".repeat(64)]: 1 })).toMatch(/is 192 bytes/);
    expect(headersError({ "": 1 })).toMatch(/keys must be 1–64 bytes/);
  });

  it("counts string value bytes in UTF-8: 1024 bytes pass, 1025 are refused", () => {
    // 341 × 3 + 1 = 1024 bytes in 342 characters.
    for (const value of ["v".repeat(1024), `${"€".repeat(341)}v`, "😀".repeat(256)])
      expect(headersError({ v: value })).toBeUndefined();
    for (const value of [
      "v".repeat(1025),
      `${"€".repeat(341)}é`,
      "€".repeat(1024),
      "😀".repeat(257),
    ])
      expect(headersError({ v: value })).toMatch(
        /header v is \d+ bytes of UTF-8; the limit is 1024/,
      );
    expect(headersError({ v: "€".repeat(1024) })).toMatch(/is 3072 bytes/);
  });

  it("needs no multi-byte check for channels and patterns: any non-ASCII character is refused", () => {
    // Printable ASCII only, so bytes equal characters; the lengths in messages are bytes.
    expect(channelError("é".repeat(200))).toMatch(/printable ASCII/);
    expect(channelError("é".repeat(256))).toMatch(/512 bytes; the limit is 255/);
    expect(patternError("€".repeat(100))).toMatch(/printable ASCII/);
  });
});

describe("data of server-side publishes", () => {
  it("refuses NaN and ±Infinity anywhere inside data, naming where, as JSON would send null", () => {
    expect(dataError(Number.NaN)).toMatch(/^data is NaN/);
    expect(dataError({ amount: Number.POSITIVE_INFINITY })).toMatch(
      /^data\.amount holds Infinity .*send it as a string/,
    );
    expect(dataError([1, { deep: [Number.NEGATIVE_INFINITY] }])).toMatch(
      /^data\[1\]\.deep\[0\] holds -Infinity/,
    );
    expect(dataError({ "a b": Number.NaN })).toMatch(/^data\["a b"\] is NaN/);
    expect(dataError({ at: { toJSON: () => Number.NaN } })).toMatch(/^data\.at is NaN/);
  });

  it("accepts finite numbers and the strings that spell the others", () => {
    for (const ok of [0, -1e308, Number.MAX_VALUE, { a: ["Infinity", "NaN", "1e400"] }, null])
      expect(dataError(ok)).toBeUndefined();
    // toJSON replaces what it hides, as JSON.stringify does.
    expect(dataError({ at: new Date(0), x: { n: Number.NaN, toJSON: () => 1 } })).toBeUndefined();
  });

  it("still refuses what cannot be serialized at all", () => {
    expect(dataError(undefined)).toMatch(/must be a JSON value/);
    expect(dataError({ n: 1n })).toMatch(/cannot be serialized/);
  });
});
