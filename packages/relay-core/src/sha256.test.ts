import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sha256, sha256Plain } from "./sha256.js";

describe("sha256", () => {
  it("agrees with Node's crypto on generated strings, unicode and block edges included", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: "grapheme", maxLength: 80 })),
        (text) => {
          const expected = createHash("sha256").update(text, "utf8").digest("hex");
          expect(Buffer.from(sha256Plain(text)).toString("hex")).toBe(expected);
          expect(Buffer.from(sha256(text)).toString("hex")).toBe(expected);
        },
      ),
      { numRuns: 500, seed: 256 },
    );
    for (const length of [0, 55, 56, 63, 64, 65, 119, 120, 128])
      expect(Buffer.from(sha256("a".repeat(length))).toString("hex")).toBe(
        createHash("sha256").update("a".repeat(length)).digest("hex"),
      );
  });
});
