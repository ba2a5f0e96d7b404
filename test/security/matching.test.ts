/**
 * Matcher CPU denial of service, as an attacker with a subscribe grant would try it on a real
 * relay-node: many accepted wildcard patterns that every publish must test. The relay holds the
 * matching work a publish can cause to budgets (docs/security.md, "Pattern matching"); the
 * worst case per publish under the defaults is measured by `npm run bench` (workload 7).
 */
import { DEFAULT_RELAY_LIMITS } from "@pubsubbud/relay-core";
import { createRelay, type RunningRelay } from "@pubsubbud/relay-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openRaw, type RawPeer, rawClientId } from "../helpers/raw.js";

describe("matcher work budgets", () => {
  let relay: RunningRelay;
  beforeAll(async () => {
    relay = await createRelay({ limits: { maxSubscriptions: 2_000 } }).listen({ port: 0 });
  });
  afterAll(() => relay.close());

  const join = async (ns: string, tag: string): Promise<RawPeer> => {
    const peer = await openRaw(`${relay.wsUrl}/ns/${ns}`);
    peer.send({ type: "hello", client: rawClientId(tag) });
    await peer.next((f) => f.type === "welcome", "welcome");
    return peer;
  };
  const answers = async (peer: RawPeer, patterns: string[]) => {
    const from = peer.frames.length;
    for (const [i, pattern] of patterns.entries())
      peer.send({ type: "subscribe", id: `p${i}`, pattern });
    const last = `p${patterns.length - 1}`;
    await peer.next((f) => "id" in f && f.id === last, "the last answer", from);
    return peer.frames.slice(from).filter((f) => "id" in f && String(f.id).startsWith("p"));
  };

  it("refuses patterns past the candidate budget with too_many_subscriptions, while a bystander keeps publishing and receiving", async () => {
    const limit = DEFAULT_RELAY_LIMITS.maxPatternsPerPublish;
    const attackers = await Promise.all([0, 1, 2, 3].map((i) => join("dos", `attacker${i}`)));
    const refused: string[] = [];
    let accepted = 0;
    for (const [a, peer] of attackers.entries()) {
      const patterns = Array.from({ length: 400 }, (_, i) => `*${"a".repeat(120)}b${a}x${i}`);
      for (const frame of await answers(peer, patterns)) {
        if (frame.type === "subscribed") accepted++;
        else if (frame.type === "error") refused.push(frame.code);
      }
    }
    expect(accepted).toBe(limit);
    expect(refused).toHaveLength(1_600 - limit);
    expect(new Set(refused)).toEqual(new Set(["too_many_subscriptions"]));
    // Identical patterns share one entry: joining an admitted pattern is free.
    const copycat = await join("dos", "copycat");
    expect((await answers(copycat, [`*${"a".repeat(120)}b0x0`]))[0]).toMatchObject({
      type: "subscribed",
    });
    // A bystander's publish on a 255-character channel still goes round, matched right. (The
    // namespace's wildcard budget is spent, so its own pattern is refused; exact channels are
    // never budgeted.)
    const bystander = await join("dos", "bystander");
    const channel = `${"a".repeat(252)}b0x`.slice(0, 255);
    expect((await answers(bystander, ["a*", channel])).map((f) => f.type)).toEqual([
      "error",
      "subscribed",
    ]);
    bystander.send({ type: "publish", id: "ping", channel, data: 1 });
    await bystander.next((f) => f.type === "message" && f.id === "ping", "its own message back");
    const hit = `${"a".repeat(130)}b1x7`;
    bystander.send({ type: "publish", id: "hit", channel: hit, data: 2 });
    await attackers[1]?.next((f) => f.type === "message" && f.id === "hit", "the match");
    for (const peer of [...attackers, copycat, bystander]) peer.close();
  });

  it("does not count patterns that can never meet on one channel: 5,000 users' own prefixes all fit", async () => {
    const peers = await Promise.all([0, 1, 2, 3, 4].map((i) => join("users", `svc${i}`)));
    let accepted = 0;
    for (const [p, peer] of peers.entries()) {
      const patterns = Array.from({ length: 1_000 }, (_, i) => `user.${p * 1_000 + i}.*`);
      accepted += (await answers(peer, patterns)).filter((f) => f.type === "subscribed").length;
    }
    expect(accepted).toBe(5_000);
    for (const peer of peers) peer.close();
  });
});
