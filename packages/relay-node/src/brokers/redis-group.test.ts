/**
 * A Redis durable group's member on the real server (127.0.0.1:6379): it hands each new entry on
 * and acknowledges it only after the handler settled, leaves a failed one pending, claims what a
 * dead member left pending for over 30 s (made that old with XCLAIM's IDLE, not by waiting), and a
 * member joining later gets only what no member was given; closing the broker stops its members.
 */
import type { LogMessage } from "@pubsubbud/relay-core";
import { randomId } from "@pubsubbud/relay-core/internal";
import { Redis } from "ioredis";
import { afterEach, expect, it } from "vitest";
import { createRedisBroker } from "./redis.js";
import { RedisGroupMember } from "./redis-group.js";
import { toMessage } from "./redis-mapping.js";

const prefix = `pubsubbud-test-${randomId(6)}:`;
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A connection, connected, as the broker gives each member one. */
async function connection(): Promise<Redis> {
  const redis = new Redis("redis://127.0.0.1:6379", { lazyConnect: true, retryStrategy: () => 20 });
  redis.on("error", () => {});
  cleanups.push(() => redis.disconnect());
  await redis.connect();
  return redis;
}

/** A stream of its own, and the broker's main connection to it. */
async function stream() {
  const main = await connection();
  const key = `${prefix}${randomId(6)}`;
  cleanups.push(() => main.del(key));
  return { main, key, group: "workers" };
}

/** A member of `group` whose handler records each message and then does `then`. */
async function member(
  { main, key, group }: Awaited<ReturnType<typeof stream>>,
  consumer: string,
  then: (message: LogMessage) => Promise<void> = async () => {},
) {
  const reader = await connection();
  const handled: string[] = [];
  const joined = await RedisGroupMember.join({
    main,
    reader,
    key,
    group,
    consumer,
    decode: toMessage,
    handle: async (message) => {
      handled.push(message.id);
      await then(message);
    },
  });
  cleanups.push(() => joined.stop());
  return { joined, reader, handled };
}

async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const append = (redis: Redis, key: string, id: string) =>
  redis.xadd(key, "*", "channel", "c", "id", id, "data", "1") as Promise<string>;

/** The group's pending entries: stream id and the consumer holding each. */
async function pending(redis: Redis, key: string, group: string) {
  const rows = (await redis.xpending(key, group, "-", "+", 10)) as Array<[string, string]>;
  return rows.map(([id, consumer]) => ({ id, consumer }));
}

it("acknowledges an entry only after its handler settled", async () => {
  const s = await stream();
  let release = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const { handled } = await member(s, "a", () => gate);
  cleanups.push(() => release()); // a failed assertion must not leave stop() waiting on it
  const id = await append(s.main, s.key, "m1");
  await until(() => handled.length === 1, "the handler");
  expect(await pending(s.main, s.key, s.group)).toEqual([{ id, consumer: "a" }]);
  release();
  await until(async () => (await pending(s.main, s.key, s.group)).length === 0, "the ack");
  expect(handled).toEqual(["m1"]);
});

it("leaves an entry whose handler failed pending with the member, and goes on", async () => {
  const s = await stream();
  const { handled } = await member(s, "a", async (message) => {
    if (message.id === "m1") throw new Error("handler failed");
  });
  const failed = await append(s.main, s.key, "m1");
  await append(s.main, s.key, "m2");
  await until(() => handled.length === 2, "both handlers");
  expect(handled).toEqual(["m1", "m2"]);
  expect(await pending(s.main, s.key, s.group)).toEqual([{ id: failed, consumer: "a" }]);
});

it("claims what a dead member left pending for over 30 s, not what it took recently", async () => {
  const s = await stream();
  await s.main.xgroup("CREATE", s.key, s.group, "$", "MKSTREAM");
  const old = await append(s.main, s.key, "m1");
  const recent = await append(s.main, s.key, "m2");
  await s.main.xreadgroup("GROUP", s.group, "dead", "COUNT", 10, "STREAMS", s.key, ">");
  // m1 as if the dead member had held it for a minute; m2 was read just now.
  await s.main.xclaim(s.key, s.group, "dead", 0, old, "IDLE", 60_000, "JUSTID");
  const { handled } = await member(s, "alive");
  await append(s.main, s.key, "m3");
  // The member claims before each read, so by m3 it has looked at m2 at least once.
  await until(() => handled.length === 2, "the claimed entry and the new one");
  expect(handled).toEqual(["m1", "m3"]);
  await until(async () => (await pending(s.main, s.key, s.group)).length === 1, "the acks");
  expect(await pending(s.main, s.key, s.group)).toEqual([{ id: recent, consumer: "dead" }]);
});

it("gives a member joining later only what no member was given: no history, nothing acknowledged", async () => {
  const s = await stream();
  await append(s.main, s.key, "m0"); // before the group existed
  const first = await member(s, "a");
  await append(s.main, s.key, "m1");
  await until(() => first.handled.length === 1, "the first member's entry");
  await until(async () => (await pending(s.main, s.key, s.group)).length === 0, "its ack");
  await first.joined.stop();
  await until(() => first.reader.status === "end", "its connection closed");
  const later = await member(s, "b");
  await append(s.main, s.key, "m2");
  await until(() => later.handled.length === 1, "the later member's entry");
  expect(first.handled).toEqual(["m1"]);
  expect(later.handled).toEqual(["m2"]);
});

it("acknowledges an entry that is not a message without handing it on", async () => {
  const s = await stream();
  const { handled } = await member(s, "a");
  await s.main.xadd(s.key, "*", "reading", "21"); // a foreign producer's entry: no channel
  await append(s.main, s.key, "m1");
  await until(() => handled.length === 1, "the message");
  await until(async () => (await pending(s.main, s.key, s.group)).length === 0, "both acks");
  expect(handled).toEqual(["m1"]);
});

it("stops its members when the broker closes: one finishes and acknowledges what it handles", async () => {
  const s = await stream();
  const namespace = s.key.slice(prefix.length);
  cleanups.push(() => s.main.del(`${s.key}:epoch`));
  const broker = await createRedisBroker({ url: "redis://127.0.0.1:6379", prefix });
  cleanups.push(() => broker.close());
  let release = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  cleanups.push(() => release());
  const handled: string[] = [];
  await broker.groups.consume(namespace, s.group, undefined, async (message) => {
    handled.push(message.id);
    await gate;
  });
  await append(s.main, s.key, "m1");
  await until(() => handled.length === 1, "the handler");
  // A member left running would lose its connection under the handler and leave m1 pending.
  const closed = broker.close();
  release();
  await closed;
  expect(await pending(s.main, s.key, s.group)).toEqual([]);
  expect(handled).toEqual(["m1"]);
});
