import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BrokerFullError, type LogMessage } from "./broker.js";
import { createMemoryBroker, LOG_BYTES } from "./memory-broker.js";
import { DEFAULT_RETENTION, MemoryLog } from "./memory-log.js";
import { createRelayCore } from "./relay.js";
import { tick } from "./relay-fixture.js";
import type { Transport } from "./types.js";

const quiet: Transport = { send() {}, close() {}, bufferedAmount: () => 0 };

describe("memory broker memory bounds", () => {
  it("forgets namespaces whose clients left once their retention expired, without traffic", async () => {
    let now = 0;
    const broker = createMemoryBroker({ now: () => now, sweepIntervalMs: 0 });
    const core = createRelayCore({ broker, now: () => now });
    for (let i = 0; i < 2_000; i++) {
      const conn = core.accept({ namespace: `n${i}`, transport: quiet });
      conn.receive(JSON.stringify({ type: "hello", client: `client-${i}-abcdef` }));
      // Half publish one message, half only say hello (a bare hello made a log never freed).
      if (i % 2 === 0)
        conn.receive(JSON.stringify({ type: "publish", id: "m", channel: "c", data: "x" }));
      await tick();
      conn.closed();
    }
    await tick(); // the last close stops its listener asynchronously
    expect(broker.usage().namespaces).toBe(2_000);
    broker.sweep();
    // Messages and ids are still inside their windows: a client coming back may resume.
    expect(broker.usage().namespaces).toBe(1_000);
    now += DEFAULT_RETENTION.maxAgeMs + 1;
    broker.sweep();
    expect(broker.usage()).toEqual({ namespaces: 0, bytes: 0 });
  });

  it("keeps a namespace someone listens to, however old its messages", async () => {
    let now = 0;
    const broker = createMemoryBroker({ now: () => now, sweepIntervalMs: 0 });
    await broker.listen("kept", { message() {}, gap() {} });
    await broker.publish("kept", { channel: "c", id: "1", data: 1 });
    const { epoch } = await broker.head("kept");
    now += DEFAULT_RETENTION.maxAgeMs + 1;
    broker.sweep();
    expect((await broker.head("kept")).epoch).toBe(epoch);
    expect(broker.usage()).toEqual({ namespaces: 1, bytes: LOG_BYTES });
  });

  it("bounds one namespace's log by bytes: the oldest go, and a resume before them is a gap", async () => {
    const broker = createMemoryBroker({ retention: { maxBytes: 10_000 }, sweepIntervalMs: 0 });
    const first = await broker.head("hot");
    for (let i = 0; i < 100; i++)
      await broker.publish("hot", { channel: "c", id: `m${i}`, data: "x".repeat(1_000) });
    expect(broker.usage().bytes - LOG_BYTES).toBeLessThanOrEqual(10_000);
    expect(broker.usage().bytes - LOG_BYTES).toBeGreaterThan(8_000);
    expect(await broker.since("hot", first)).toBeUndefined();
  });

  it("counts each namespace's log against maxBytes: publishing to ever more namespaces is refused (storage_full to a client), and a refused namespace is not kept", async () => {
    const broker = createMemoryBroker({ maxBytes: 50 * LOG_BYTES, sweepIntervalMs: 0 });
    const refused: number[] = [];
    for (let i = 0; i < 200; i++)
      try {
        await broker.publish(`tenant-${i}`, { channel: "c", id: "m", data: 1 });
      } catch (error) {
        expect(error).toBeInstanceOf(BrokerFullError);
        refused.push(i);
      }
    const { namespaces, bytes } = broker.usage();
    expect(bytes).toBeLessThanOrEqual(50 * LOG_BYTES);
    expect(namespaces).toBe(200 - refused.length);
    expect(namespaces).toBeLessThan(50);
    // The namespaces already there go on taking publishes while there is room for them.
    expect(refused[0]).toBe(namespaces);
  });

  it("refuses a publish with storage_full when every namespace is live and the budget is spent, and takes its retry once there is room", async () => {
    let now = 0;
    const broker = createMemoryBroker({
      maxBytes: 20_000,
      now: () => now,
      sweepIntervalMs: 0,
      retention: { maxAgeMs: 1_000 },
    });
    const core = createRelayCore({ broker, now: () => now });
    const sent: string[] = [];
    const conn = core.accept({
      namespace: "live",
      transport: { ...quiet, send: (text) => void sent.push(text) },
    });
    conn.receive(
      JSON.stringify({
        type: "hello",
        client: "client-live-0001",
        subscriptions: [{ id: "s", pattern: "*" }],
      }),
    );
    await tick();
    // An idle namespace holds room that the live one may take.
    await broker.publish("idle", { channel: "c", id: "old", data: "y".repeat(9_000) });
    const publish = (id: string) =>
      conn.receive(JSON.stringify({ type: "publish", id, channel: "c", data: "x".repeat(4_000) }));
    for (let i = 0; i < 6; i++) publish(`p${i}`);
    await tick();
    const frames = () => sent.flatMap((text) => [JSON.parse(text)].flat());
    const errors = frames().filter((f) => f.type === "error");
    expect(errors.map((f) => [f.id, f.code])).toEqual([
      ["p4", "storage_full"],
      ["p5", "storage_full"],
    ]);
    expect(
      frames()
        .filter((f) => f.type === "message")
        .map((f) => f.id),
    ).toEqual(["p0", "p1", "p2", "p3"]);
    expect(broker.usage().bytes).toBeLessThanOrEqual(20_000);
    // Time frees room; the retry with the same id is delivered once, never as a duplicate.
    now += 1_001;
    broker.sweep();
    publish("p4");
    await tick();
    expect(
      frames()
        .filter((f) => f.type === "message")
        .map((f) => f.id),
    ).toEqual(["p0", "p1", "p2", "p3", "p4"]);
  });
});

/**
 * MemoryLog against its reference model: the full list of appended messages. After any sequence
 * of appends, clock moves and resumes, `since` returns exactly the messages after the position
 * or undefined (a gap) — never a partial or reordered list — and the log stays inside every bound.
 */
describe("MemoryLog against its reference model", () => {
  it("replays exactly the suffix after a position, or says it cannot, inside its bounds", () => {
    const retention = { ...DEFAULT_RETENTION, maxMessages: 8, maxAgeMs: 50, maxBytes: 2_000 };
    const step = fc.oneof(
      fc.record({ kind: fc.constant("append" as const), size: fc.integer({ min: 0, max: 700 }) }),
      fc.record({ kind: fc.constant("wait" as const), ms: fc.integer({ min: 0, max: 30 }) }),
      fc.record({ kind: fc.constant("resume" as const), back: fc.nat(20) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        let now = 0;
        const log = new MemoryLog("e", retention, () => now);
        const all: LogMessage[] = [];
        for (const s of steps) {
          if (s.kind === "append") {
            const { message } = log.append({
              channel: "c",
              id: `m${all.length}`,
              data: "x".repeat(s.size),
            });
            all.push(message as LogMessage);
          } else if (s.kind === "wait") now += s.ms;
          else {
            const at = Math.max(0, all.length - s.back);
            const offset = at === 0 ? "" : (all[at - 1] as LogMessage).offset;
            const replay = log.since({ epoch: "e", offset });
            if (replay !== undefined) expect(replay).toEqual(all.slice(at));
            // Whatever is still retained and recent enough must be replayable.
            if (s.back === 0) expect(replay).toEqual([]);
          }
          expect(log.bytes).toBeLessThanOrEqual(retention.maxBytes);
          expect(log.since({ epoch: "other", offset: "" })).toBeUndefined();
        }
      }),
      { numRuns: 300, seed: 5 },
    );
  });
});
