import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { inboxFor } from "./inbox.js";
import { randomId } from "./random.js";

describe("the names a relay makes", () => {
  it("names an inbox from SHA-256 over the secret client id and the user, as before", () => {
    // Known answers: a relay that named inboxes differently would strand the inboxes of
    // sessions it restores (relay-worker keeps them across hibernation) and of clients it knew.
    expect(inboxFor("client-1-abcdefgh", undefined)).toBe("_inbox.l61b2FRIg805irjRnLbsHG");
    expect(inboxFor("client-1-abcdefgh", "alice")).toBe("_inbox.74oAkmYL9lrd_l6QkZ9vsa");
    expect(inboxFor("ünïcødé-client-id", "bob")).toBe("_inbox.mufC2BKwsMo3bV4WerVy2t");
    // And the construction itself, over ids the known answers do not cover.
    for (const client of ["a", "x".repeat(64), "client-2-ZZZZZZZZ"]) {
      const digest = createHash("sha256").update(`pubsubbud inbox\nu\n${client}`).digest();
      const name = digest.toString("base64url").slice(0, 22);
      // 22 characters of 6 bits are 132 bits: the 22nd character takes its last 2 bits as 0.
      expect(inboxFor(client, "u").slice(0, 28)).toBe(`_inbox.${name.slice(0, 21)}`);
    }
  });

  it("makes ids of the asked length from [0-9A-Za-z], different each time", () => {
    const ids = Array.from({ length: 2000 }, (_, i) => randomId(1 + (i % 40)));
    for (const [i, id] of ids.entries())
      expect(id).toMatch(new RegExp(`^[0-9A-Za-z]{${1 + (i % 40)}}$`));
    const long = ids.filter((id) => id.length >= 16);
    expect(new Set(long).size).toBe(long.length);
  });
});
