/**
 * The Redis broker's live reader on the real server (127.0.0.1:6379): it hands on a stream's
 * entries in order and reports relay appends it never saw (trimmed before it read them) as a gap;
 * after its own connection is killed and comes back, a log whose epoch changed meanwhile is a gap
 * too, and reading goes on.
 */
import type { LogMessage } from "@pubsubbud/relay-core";
import { randomId } from "@pubsubbud/relay-core/internal";
import { Redis } from "ioredis";
import { afterEach, expect, it } from "vitest";
import { appendsOf, toMessage } from "./redis-mapping.js";
import { type Cursor, StreamReader } from "./redis-reader.js";
import { defineScripts } from "./redis-scripts.js";

const prefix = `pubsubbud-test-${randomId(6)}:`;
const opened: Array<{ close(): void }> = [];
afterEach(async () => {
  for (const item of opened.splice(0)) item.close();
});

/** A connection, connected: the broker starts its reader on connected connections too. */
async function connection(): Promise<Redis> {
  const redis = new Redis("redis://127.0.0.1:6379", { lazyConnect: true, retryStrategy: () => 20 });
  redis.on("error", () => {});
  opened.push({ close: () => redis.disconnect() });
  await redis.connect();
  return redis;
}

/** `failures` of the state checks fail first, as on a main connection not back yet. */
async function reader(failures = 0) {
  const main = await connection();
  const scripts = defineScripts(main);
  const own = await connection();
  const seen = { messages: [] as LogMessage[], gaps: 0 };
  const streamKey = (ns: string) => `${prefix}${ns}`;
  const live = new StreamReader({
    reader: own,
    main,
    streamKey,
    prefix,
    state: async (ns, last) => {
      // The failure's timing is faked here (the main connection still reconnecting while the
      // reader's is back); the state itself is the real script's on the real server.
      if (failures-- > 0) throw new Error("Stream isn't writeable and enableOfflineQueue is false");
      const key = streamKey(ns);
      const [epoch, now, intact, , appends] = await scripts.pubsubbudState(
        key,
        `${key}:epoch`,
        `${key}:n`,
        randomId(12),
        last,
        "0",
      );
      return { cursor: { last: now, epoch, appends }, intact: intact === 1 };
    },
    decode: toMessage,
    appendsOf,
    message: (_, message) => void seen.messages.push(message),
    gap: () => void seen.gaps++,
    log: () => {},
  });
  opened.push(live);
  return { main, own, live, seen, streamKey };
}

/** Polls `condition` every 10 ms, `tries` times at most (a reconnect with backoff: give it more). */
async function until(condition: () => boolean, what: string, tries = 500): Promise<void> {
  for (let i = 0; i < tries && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

const append = (redis: Redis, key: string, id: string, n: number) =>
  redis.xadd(key, "*", "channel", "c", "id", id, "data", String(n), "n", String(n));

it("hands on entries in order and reports relay appends it never read as one gap", async () => {
  const { main, live, seen, streamKey } = await reader();
  const key = streamKey("trimmed");
  await append(main, key, "m1", 1);
  await append(main, key, "m3", 3); // append 2 was trimmed before this reader got to it
  live.add("trimmed", { last: "", epoch: "e", appends: 0 } satisfies Cursor);
  await until(() => seen.messages.length === 2, "both entries");
  expect(seen.messages.map((m) => m.id)).toEqual(["m1", "m3"]);
  expect(seen.gaps).toBe(1);
});

// The second case fails the first check after the reconnect once (the main connection not back
// yet): the reader must retry it, not read on from its old cursor.
it.each([
  ["reports a log whose epoch changed meanwhile, and reads on", 0],
  ["still reports the changed epoch when its first check after the reconnect fails", 1],
])("after its connection was killed, %s", async (_, failures) => {
  const { main, own, live, seen, streamKey } = await reader(failures);
  const id = Number(await own.call("CLIENT", "ID"));
  const key = streamKey(`reset-${failures}`);
  await main.set(`${key}:epoch`, "before");
  live.add(`reset-${failures}`, { last: "", epoch: "before", appends: 0 });
  await append(main, key, "m1", 1);
  await until(() => seen.messages.length === 1, "the first entry");
  expect(seen.gaps).toBe(0);
  await main.set(`${key}:epoch`, "after"); // the log was reset while the reader was away
  await main.call("CLIENT", "KILL", "ID", String(id));
  await until(() => seen.gaps === 1, "the gap once a check after the reconnect succeeds", 2_000);
  await append(main, key, "m2", 2);
  await until(() => seen.messages.length === 2, "the entry after the reconnect");
  expect(seen.messages.map((m) => m.id)).toEqual(["m1", "m2"]);
});
