/**
 * A slow consumer among 200 subscribers on a real relay-node: one client stops reading its
 * socket; the relay cuts it (close 4001) once its outbound buffer passes the limit, instead of
 * growing memory, while the 199 others receive every message in order. (Their latency is
 * measured by `npm run bench`, workload 6; docs/security.md has the figures.)
 */
import { createRelay, type RunningRelay } from "@pubsubbud/relay-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openRaw, publishUntil, type RawPeer, rawClientId } from "../helpers/raw.js";
import { waitFor } from "../helpers/wait.js";

describe("a slow consumer among 200", () => {
  let relay: RunningRelay;
  beforeAll(async () => {
    relay = await createRelay({
      limits: { maxBufferedBytes: 256 * 1024, publishRatePerSecond: 1e9, publishBurst: 1e9 },
    }).listen({ port: 0 });
  });
  afterAll(() => relay.close());

  it("is cut with 4001 while every other subscriber gets every message in order", async () => {
    const url = `${relay.wsUrl}/ns/slow`;
    const subscribers: RawPeer[] = [];
    for (let i = 0; i < 200; i++) {
      const peer = await openRaw(url);
      peer.send({
        type: "hello",
        client: rawClientId(`sub${i}`),
        subscriptions: [{ id: "s", pattern: "feed.*" }],
      });
      subscribers.push(peer);
    }
    await Promise.all(subscribers.map((p) => p.next((f) => f.type === "welcome", "welcome")));
    const stalled = subscribers.pop() as RawPeer;
    stalled.pause();
    const publisher = await openRaw(url);
    publisher.send({ type: "hello", client: rawClientId("pub") });
    await publisher.next((f) => f.type === "welcome", "welcome");

    const cut = () => (relay.core.stats().closes["4001"] ?? 0) > 0;
    // Publish in rounds until the relay gives up on the stalled client (the kernel's socket
    // buffers absorb the first megabytes, so how many it takes depends on the machine).
    const sent = await publishUntil(publisher, "feed.a", cut, {
      round: 200,
      max: 40_000,
      what: "published 40 MB without a cut",
    });
    const messages = (p: RawPeer) =>
      p.frames
        .filter((f) => f.type === "message")
        .map((f) => (f as { data: { n: number } }).data.n);
    await waitFor(
      () => subscribers.every((p) => messages(p).length === sent),
      "every message at every reading subscriber",
      60_000,
    );
    const expected = Array.from({ length: sent }, (_, n) => n);
    for (const peer of subscribers) expect(messages(peer)).toEqual(expected);
    expect(relay.core.stats().closes["4001"]).toBe(1);
    expect(relay.core.stats().connections).toBe(200);
    for (const peer of [...subscribers, publisher]) peer.close();
  }, 120_000);
});
