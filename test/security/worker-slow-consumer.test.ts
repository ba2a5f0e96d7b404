/**
 * A slow consumer on relay-worker, in real workerd (Miniflare). workerd's sockets report no
 * buffered amount, so the Durable Object counts what it sent to each socket and the client's
 * receive credit (`{"type":"ping","rx":N}`) says what arrived. An attacker that subscribes and
 * never credits is cut with 4001 once 4 MiB are outstanding, so the object never holds more for
 * it; a bystander that credits gets every message in order.
 */
import { SUBPROTOCOL } from "@pubsubbud/protocol";
import type { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { openRaw, publishUntil, rawClientId } from "../helpers/raw.js";
import { waitFor } from "../helpers/wait.js";
import { startWorker } from "../helpers/workerd.js";

const MAX_BUFFERED = 4 * 1024 * 1024;
const MAX_BATCH = 256 * 1024;

/** A reader that counts the characters it receives and never sends credit. */
async function reader(url: string, credit: boolean) {
  const ws = new WebSocket(url, SUBPROTOCOL);
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  const state = { received: 0, credited: 0, numbers: [] as number[], welcomed: false };
  ws.on("message", (raw) => {
    const text = String(raw);
    state.received += text.length;
    const parsed = JSON.parse(text);
    for (const frame of Array.isArray(parsed) ? parsed : [parsed]) {
      if (frame.type === "welcome") state.welcomed = true;
      if (frame.type === "message") state.numbers.push(frame.data.n);
    }
    // Credit four times per RX_CREDIT_CHARS, more often than the protocol asks.
    if (credit && state.received - state.credited >= 256 * 1024) {
      state.credited = state.received;
      ws.send(JSON.stringify({ type: "ping", rx: state.received }));
    }
  });
  const closed = new Promise<number>((resolve) => ws.on("close", (code) => resolve(code)));
  ws.send(
    JSON.stringify({
      type: "hello",
      client: rawClientId(credit ? "bystander" : "attacker"),
      subscriptions: [{ id: "s", pattern: "feed.*" }],
    }),
  );
  await waitFor(() => state.welcomed, "welcome");
  return { state, closed, close: () => ws.close() };
}

describe("relay-worker: a subscriber that never credits what it received", () => {
  let worker: Miniflare;
  let url: string;
  beforeAll(async () => {
    const started = await startWorker({
      ANONYMOUS: "all",
      PUBLISH_RATE_PER_SECOND: "1000000",
      PUBLISH_BURST: "1000000",
    });
    worker = started.worker;
    url = `ws://127.0.0.1:${started.port}/ns/credit`;
  });
  afterAll(() => worker?.dispose());

  it("is cut with 4001 after at most 4 MiB, while a crediting bystander gets everything", async () => {
    const attacker = await reader(url, false);
    const bystander = await reader(url, true);
    let cutCode: number | undefined;
    void attacker.closed.then((code) => {
      cutCode = code;
    });
    const publisher = await openRaw(url);
    publisher.send({ type: "hello", client: rawClientId("publisher") });
    await publisher.next((f) => f.type === "welcome", "welcome");

    // Rounds of 100 messages (~110 KiB) until the attacker is cut; 12 MiB without a cut fails.
    const sent = await publishUntil(publisher, "feed.a", () => cutCode !== undefined, {
      round: 100,
      max: 11_000,
      what: "published 12 MiB to a client that never credits",
    });
    expect(cutCode).toBe(4001);
    // What the object sent the attacker, all of which it read: the bound on what it held for it.
    expect(attacker.state.received).toBeGreaterThan(MAX_BUFFERED - MAX_BATCH);
    expect(attacker.state.received).toBeLessThanOrEqual(MAX_BUFFERED + MAX_BATCH);

    await waitFor(() => bystander.state.numbers.length === sent, "every message at the bystander");
    expect(bystander.state.numbers).toEqual(Array.from({ length: sent }, (_, n) => n));
    bystander.close();
    publisher.close();
  }, 120_000);
});
