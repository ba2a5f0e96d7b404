/**
 * A publish flood from one client against a real relay-node: the per-connection token bucket
 * stops it, the flooder is cut once its refusals pass the violation threshold, and an honest
 * client on the same relay keeps publishing and receiving everything.
 */
import { createRelay, type RunningRelay } from "@pubsubbud/relay-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openRaw, type RawPeer, rawClientId } from "../helpers/raw.js";

describe("publish flood", () => {
  let relay: RunningRelay;
  beforeAll(async () => {
    // A bucket of 20 that refills too slowly to matter while the test runs.
    relay = await createRelay({
      limits: { publishBurst: 20, publishRatePerSecond: 0.001, maxViolationsPerMinute: 100 },
    }).listen({ port: 0 });
  });
  afterAll(() => relay.close());

  const join = async (tag: string): Promise<RawPeer> => {
    const peer = await openRaw(`${relay.wsUrl}/ns/flood`);
    peer.send({ type: "hello", client: rawClientId(tag) });
    await peer.next((f) => f.type === "welcome", "welcome");
    return peer;
  };

  it("refuses the flooder past its bucket, never bans it, and keeps another client whole", async () => {
    const reader = await join("reader");
    reader.send({ type: "subscribe", id: "all", pattern: "*" });
    await reader.next((f) => f.type === "subscribed", "subscribed");
    const flooder = await join("flooder");
    const honest = await join("honest");

    for (let i = 0; i < 100; i++)
      flooder.send({ type: "publish", id: `f${i}`, channel: "flood.x", data: i });
    for (let i = 0; i < 10; i++)
      honest.send({ type: "publish", id: `h${i}`, channel: "honest.x", data: i });
    await flooder.next((f) => "id" in f && f.id === "f99", "the answer to the last flood publish");
    await honest.next((f) => f.type === "ack" && f.id === "h9", "the honest client's last ack");

    const answers = (peer: RawPeer, type: string) => peer.frames.filter((f) => f.type === type);
    expect(answers(flooder, "ack").map((f) => "id" in f && f.id)).toEqual(
      Array.from({ length: 20 }, (_, i) => `f${i}`),
    );
    const limited = answers(flooder, "error");
    expect(limited).toHaveLength(80);
    expect(limited[0]).toMatchObject({ id: "f20", code: "rate_limited", message: /retry later/ });
    expect(answers(honest, "ack")).toHaveLength(10);

    await reader.next((f) => f.type === "message" && f.id === "h9", "the honest client's messages");
    await reader.next((f) => f.type === "message" && f.id === "f19", "the flooder's accepted ones");
    const delivered = answers(reader, "message").map((f) => "id" in f && f.id);
    expect(delivered.filter((id) => String(id).startsWith("f"))).toHaveLength(20);
    expect(delivered.filter((id) => String(id).startsWith("h"))).toEqual(
      Array.from({ length: 10 }, (_, i) => `h${i}`),
    );

    // Keeping on past 100 refusals (the violation threshold) is still only refused: the flooder
    // keeps its connection. (relay-core's tests retry a refused id once the bucket refills.)
    for (let i = 100; i < 230; i++)
      flooder.send({ type: "publish", id: `f${i}`, channel: "flood.x", data: i });
    await flooder.next((f) => "id" in f && f.id === "f229", "the answer to the last refused one");
    expect(answers(flooder, "error").every((f) => "code" in f && f.code === "rate_limited")).toBe(
      true,
    );
    // Still open: it answers a ping.
    const before = flooder.frames.length;
    flooder.send({ type: "ping" });
    await flooder.next((f) => f.type === "pong", "pong after 210 refusals", before);
    honest.send({ type: "publish", id: "after", channel: "honest.x", data: "still here" });
    await reader.next((f) => f.type === "message" && f.id === "after", "delivery after the flood");
    reader.close();
    flooder.close();
    honest.close();
  });
});
