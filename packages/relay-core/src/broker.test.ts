import { describe, expect, it } from "vitest";
import { dedupeKey } from "./broker.js";

describe("dedupeKey", () => {
  it("scopes an id to its sender, so no id or sender can pose as another's key", () => {
    const keys = new Set(
      [
        { id: "x" },
        { id: "x", headers: { sender: "alice" } },
        { id: "5:alice:x" },
        { id: "x", headers: { sender: "bob" } },
        { id: "alice:x", headers: { sender: "5" } },
        { id: "x", headers: { sender: 7 } },
      ].map(dedupeKey),
    );
    expect(keys.size).toBe(5); // a non-string sender header is no scope: same key as { id: "x" }
    expect(dedupeKey({ id: "x", headers: { sender: "alice" } })).not.toMatch(/[\n\r]/);
  });
});
