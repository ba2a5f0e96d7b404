/**
 * An authorised user fills the recovery window with large messages, then resumes from the start
 * of the log: the relay must stream the replay in bounded batches (it used to join it into one
 * string past V8's limit and exit), deliver all of it in order, and keep serving a bystander.
 */
import { DEFAULT_RELAY_LIMITS } from "@pubsubbud/relay-core";
import { createRelay, type RunningRelay } from "@pubsubbud/relay-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openRaw } from "../helpers/raw.js";
import { waitFor } from "../helpers/wait.js";

const COUNT = 400;
const SIZE = 60_000;

describe("a resume over a full recovery window", () => {
  let relay: RunningRelay;
  beforeAll(async () => {
    relay = await createRelay({}).listen({ port: 0 });
  });
  afterAll(() => relay.close());

  it("streams 24 MB of replay in batches no larger than the limit, in order, while a bystander keeps its round trips", async () => {
    const url = `${relay.wsUrl}/ns/replay`;
    const writer = await openRaw(url);
    writer.send({ type: "hello", client: "writer-0000001" });
    await writer.next((f) => f.type === "welcome", "welcome");
    const welcome = writer.frames[0];
    const epoch = welcome?.type === "welcome" ? welcome.epoch : "";
    const payload = "x".repeat(SIZE);
    for (let i = 0; i < COUNT; i++)
      writer.send({ type: "publish", id: `m${i}`, channel: "big.x", data: payload });
    await writer.next((f) => f.type === "ack" && f.id === `m${COUNT - 1}`, "the last ack");
    expect(writer.frames.filter((f) => f.type === "error")).toEqual([]);

    const bystander = await openRaw(url);
    bystander.send({ type: "hello", client: "bystander-0001" });
    await bystander.next((f) => f.type === "welcome", "bystander welcome");

    const reader = await openRaw(url);
    reader.send({
      type: "hello",
      client: "reader-00000001",
      resume: { epoch, offset: "" },
      subscriptions: [{ id: "s", pattern: "big.*" }],
    });
    // The bystander's round trip completes while the replay streams.
    bystander.send({ type: "ping" });
    await bystander.next((f) => f.type === "pong", "pong during the replay");
    await waitFor(
      () => reader.frames.filter((f) => f.type === "message").length === COUNT,
      "the whole replay",
      60_000,
    );
    expect(reader.frames[0]).toMatchObject({ type: "welcome", recovered: true });
    expect(reader.frames.filter((f) => f.type === "message").map((f) => "id" in f && f.id)).toEqual(
      Array.from({ length: COUNT }, (_, i) => `m${i}`),
    );
    expect(reader.largestWireFrame()).toBeLessThanOrEqual(
      DEFAULT_RELAY_LIMITS.maxBatchBytes + SIZE + 200,
    );
    expect(reader.wireFrames()).toBeGreaterThan(COUNT / 5);
    for (const peer of [writer, bystander, reader]) peer.close();
  });
});
