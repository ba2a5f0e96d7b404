/**
 * Property-based attack on relay-core (fast-check): random and mutated frames and patterns from
 * one connection, with the in-memory broker. Whatever arrives, the relay never throws, answers
 * only with documented error codes and close codes, keeps serving the connection or closes it
 * with a documented code, never lets a payload touch Object.prototype, and keeps other
 * connections working. The slowest single frame is reported (npm run bench has the bound).
 */
import { CloseCode, ErrorCode } from "@pubsubbud/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createMemoryBroker } from "./memory-broker.js";
import type { RelayCore } from "./core-api.js";
import { createRelayCore } from "./relay.js";

const ERROR_CODES = new Set<string>(Object.values(ErrorCode));
const CLOSE_CODES = new Set<number>([1000, ...Object.values(CloseCode)]);

interface Peer {
  frames: Array<Record<string, unknown>>;
  closed?: { code: number; reason: string };
  receive(text: string): void;
}

function peer(core: RelayCore, namespace = "fuzz"): Peer {
  const state: Peer = {
    frames: [],
    receive: (text) => connection.receive(text, new TextEncoder().encode(text).length),
  };
  const connection = core.accept({
    namespace,
    remote: "192.0.2.1",
    transport: {
      send(text) {
        // Every frame the relay sends is JSON: one frame or a batch.
        const parsed = JSON.parse(text) as Record<string, unknown> | Array<Record<string, unknown>>;
        state.frames.push(...(Array.isArray(parsed) ? parsed : [parsed]));
      },
      close(code, reason) {
        state.closed ??= { code, reason };
        connection.closed();
      },
      bufferedAmount: () => 0,
    },
  });
  return state;
}

/** Lets the relay's promises and its flush run. */
const settle = async () => {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
};

const hello = (client: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ type: "hello", client, ...extra });

const patternChars = fc.constantFrom(..."ab.*?[]!-_09z\\ ~é\u0000");
const pattern = fc.oneof(
  fc.string({ unit: patternChars, maxLength: 40 }),
  fc.string({ maxLength: 300 }),
  fc.constant("*".repeat(300)),
  fc.constant(`${"[a-z]".repeat(20)}*`),
  fc.constant("_inbox.someone-else"),
);
const channel = fc.oneof(
  fc.string({ unit: fc.constantFrom(..."ab.c_-09"), minLength: 1, maxLength: 20 }),
  fc.string({ maxLength: 300 }),
);
const hostileKeys = fc.constantFrom("__proto__", "constructor", "prototype", "polluted", "type");
const hostileObject = fc.dictionary(
  fc.oneof(hostileKeys, fc.string({ maxLength: 8 })),
  fc.jsonValue({ maxDepth: 3 }),
  { maxKeys: 6 },
);
/** Valid frame shapes with fields replaced, dropped or added at random. */
const mutated = fc
  .record({
    type: fc.constantFrom(
      "subscribe",
      "unsubscribe",
      "publish",
      "refresh",
      "ping",
      "hello",
      "nope",
      "",
    ),
    id: fc.oneof(fc.string({ maxLength: 80 }), fc.integer(), fc.constant(null)),
    pattern,
    channel,
    data: fc.oneof(fc.jsonValue({ maxDepth: 6 }), hostileObject),
    headers: fc.oneof(hostileObject, fc.constant(null), fc.string()),
    token: fc.oneof(fc.string({ maxLength: 50 }), fc.integer()),
  })
  .chain((frame) =>
    fc
      .subarray(Object.keys(frame))
      .map((kept) =>
        Object.fromEntries(
          Object.entries(frame).filter(([key]) => key === "type" || kept.includes(key)),
        ),
      ),
  )
  .map((frame) => JSON.stringify(frame));
/** Raw text: broken JSON, deep nesting, a proto-polluting literal, batches, huge strings. */
const raw = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.json({ maxDepth: 4 }),
  fc.integer({ min: 1, max: 5000 }).map((n) => `${"[".repeat(n)}${"]".repeat(n)}`),
  fc
    .integer({ min: 1, max: 200 })
    .map(
      (n) =>
        `{"type":"publish","id":"x","channel":"a","data":${'{"a":'.repeat(n)}1${"}".repeat(n)}}`,
    ),
  fc.constant(
    '{"type":"publish","id":"p","channel":"a","data":{"__proto__":{"polluted":1}},"headers":{"__proto__":"x"}}',
  ),
  fc.constant('{"__proto__":{"type":"ping","polluted":1}}'),
  fc.constant(
    '{"constructor":{"prototype":{"polluted":1}},"type":"subscribe","id":"c","pattern":"a"}',
  ),
  fc.array(mutated, { maxLength: 5 }).map((frames) => `[${frames.join(",")}]`),
  fc
    .integer({ min: 60_000, max: 200_000 })
    .map((n) => `{"type":"publish","id":"big","channel":"a","data":"${"x".repeat(n)}"}`),
);
const frame = fc.oneof({ weight: 3, arbitrary: mutated }, { weight: 2, arbitrary: raw });

function checkAnswers(p: Peer): void {
  for (const f of p.frames) {
    expect(typeof f.type).toBe("string");
    if (f.type === "error") {
      expect(ERROR_CODES.has(f.code as string), `undocumented error code ${String(f.code)}`).toBe(
        true,
      );
      expect(typeof f.message).toBe("string");
    }
  }
  if (p.closed) expect(CLOSE_CODES.has(p.closed.code), `close ${p.closed.code}`).toBe(true);
}

describe("relay-core under random and mutated frames", () => {
  it("never throws, answers with documented codes, and keeps a bystander's traffic flowing", async () => {
    let slowest = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(frame, { minLength: 1, maxLength: 25 }),
        fc.boolean(),
        async (frames, greet) => {
          const core = createRelayCore({
            broker: createMemoryBroker(),
            scheduleFlush: (flush) => setImmediate(flush),
          });
          const bystander = peer(core);
          bystander.receive(hello("bystander-1", { subscriptions: [{ id: "s", pattern: "*" }] }));
          const attacker = peer(core);
          if (greet) attacker.receive(hello("attacker-1"));
          await settle();
          for (const text of frames) {
            const started = performance.now();
            expect(() => attacker.receive(text)).not.toThrow();
            slowest = Math.max(slowest, performance.now() - started);
          }
          await settle();
          checkAnswers(attacker);
          // The relay still serves: the attacker gets a pong unless it was closed, and the
          // bystander still publishes and receives its own message.
          if (!attacker.closed) {
            const before = attacker.frames.length;
            attacker.receive('{"type":"ping"}');
            await settle();
            expect(
              attacker.frames.slice(before).some((f) => f.type === "pong" || f.type === "error"),
            ).toBe(true);
          }
          bystander.receive(
            JSON.stringify({ type: "publish", id: "check", channel: "after.fuzz", data: 1 }),
          );
          await settle();
          expect(bystander.frames.some((f) => f.type === "ack" && f.id === "check")).toBe(true);
          expect(bystander.frames.some((f) => f.type === "message" && f.id === "check")).toBe(true);
          expect(bystander.closed).toBeUndefined();
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
          expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain("polluted");
          core.shutdown();
        },
      ),
      { numRuns: 300 },
    );
    process.stderr.write(`fuzz: slowest single frame ${slowest.toFixed(2)} ms\n`);
  }, 120_000);

  it("keeps payload keys such as __proto__ as plain data on delivery", async () => {
    const core = createRelayCore({
      broker: createMemoryBroker(),
      scheduleFlush: (f) => setImmediate(f),
    });
    const reader = peer(core);
    reader.receive(hello("reader-01", { subscriptions: [{ id: "s", pattern: "*" }] }));
    await settle();
    reader.receive(
      '{"type":"publish","id":"p1","channel":"a","data":{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}}}}',
    );
    await settle();
    const message = reader.frames.find((f) => f.type === "message") as {
      data: Record<string, unknown>;
    };
    expect(Object.keys(message.data)).toEqual(["__proto__", "constructor"]);
    expect(Object.getPrototypeOf(message.data)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    core.shutdown();
  });
});
