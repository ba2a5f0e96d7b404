/**
 * The test kit `@pubsubbud/client/testing`: the real relay-core in memory, the fake clock and
 * each fault, checked through the real client.
 */
import type { PubsubBudClient } from "@pubsubbud/client";
import { collect, createTestRelay, FakeClock, type TestRelay } from "@pubsubbud/client/testing";
import { stateLog } from "../helpers/states.js";
import { afterEach, describe, expect, it } from "vitest";

const open: Array<{ close(): unknown }> = [];
let clock: FakeClock | undefined;
afterEach(async () => {
  clock?.uninstall();
  clock = undefined;
  for (const thing of open.splice(0).reverse()) await thing.close();
});
const start = (options?: Parameters<typeof createTestRelay>[0]): TestRelay => {
  const relay = createTestRelay(options);
  open.push(relay);
  return relay;
};
const client = (relay: TestRelay, options?: Parameters<TestRelay["connect"]>[0]) => {
  const made = relay.connect(options);
  open.push(made);
  return made;
};
const opened = (target: PubsubBudClient) =>
  new Promise<void>((resolve) => {
    if (target.state === "open") return resolve();
    target.addEventListener("state", ({ detail }) => detail.state === "open" && resolve());
  });

describe("test kit", () => {
  it("runs the real relay in memory and records every frame both ways", async () => {
    const relay = start();
    const alice = client(relay, { clientId: "alice-0001" });
    const inbox = collect<{ text: string }>(alice, "chat.*");
    await inbox.ready;
    await client(relay).publish("chat.lobby", { text: "hi" });
    expect((await inbox.next()).data).toEqual({ text: "hi" });
    await relay.publish("chat.server", { text: "from the server" });
    expect((await inbox.next()).channel).toBe("chat.server");
    const hello = await relay.waitForFrame((f) => f.frame.type === "hello");
    expect(hello).toMatchObject({ direction: "in", client: "alice-0001" });
    expect(relay.frames.some((f) => f.direction === "out" && f.frame.type === "welcome")).toBe(
      true,
    );
    expect(relay.core.stats().counters.published).toBe(2);
  });

  it("drops a connection; the client reconnects and gets what it missed, in order", async () => {
    const relay = start();
    const reader = client(relay);
    const log = stateLog(reader);
    const inbox = collect<number>(reader, "n.*");
    await inbox.ready;
    relay.offline(true);
    relay.drop(reader);
    for (let n = 0; n < 3; n++) await relay.publish(`n.${n}`, n);
    relay.offline(false);
    expect((await inbox.waitFor(3)).map((m) => m.data)).toEqual([0, 1, 2]);
    expect(log).toContainEqual({ state: "reconnecting", code: 1006 });
    expect(relay.frames.filter((f) => f.frame.type === "welcome").at(-1)?.frame.recovered).toBe(
      true,
    );
  });

  it("delays frames on the fake clock, duplicates and reorders them", async () => {
    clock = new FakeClock().install();
    const relay = start();
    const reader = client(relay);
    const inbox = collect<number>(reader, "d.*");
    await inbox.ready;
    relay.delay(2_000);
    await relay.publish("d.x", 1);
    await relay.settle();
    expect(inbox.messages).toEqual([]);
    await clock.tick(2_000);
    expect(inbox.messages.map((m) => m.data)).toEqual([1]);
    relay.delay(0);
    relay.duplicate();
    await relay.publish("d.x", 2);
    const [first, again] = (await inbox.waitFor(3)).slice(1);
    expect(again?.id).toBe(first?.id);
    relay.reorder();
    await relay.publish("d.x", 3);
    await relay.publish("d.x", 4);
    expect((await inbox.waitFor(5)).slice(3).map((m) => m.data)).toEqual([4, 3]);
  });

  it("freezes a link: pings go unanswered and the client gives up on it a heartbeat later", async () => {
    clock = new FakeClock().install();
    const relay = start({ limits: { heartbeatMs: 10_000 } });
    const target = client(relay);
    const log = stateLog(target);
    await opened(target);
    relay.freeze(target);
    await clock.tick(10_000);
    expect(target.state).toBe("open");
    await clock.tick(10_000);
    expect(log).toContainEqual({ state: "reconnecting", code: 4000 });
    await clock.tick(200);
    await opened(target);
  });

  it("expires a token: a token function is asked again, a static token ends unauthorized", async () => {
    const relay = start();
    let issued = 0;
    const renewing = client(relay, { token: async () => `t${++issued}` });
    await opened(renewing);
    relay.expireToken(renewing);
    await relay.waitForFrame((f) => f.frame.type === "hello" && f.frame.token === "t2");
    await opened(renewing);
    const fixed = client(relay, { token: "static" });
    const log = stateLog(fixed);
    await opened(fixed);
    relay.expireToken(fixed);
    await relay.waitForFrame((f) => f.direction === "out" && f.frame.code === "unauthorized");
    await relay.settle();
    expect(fixed.state).toBe("unauthorized");
    expect(log).toContainEqual({ state: "unauthorized", code: 4401 });
  });

  it("refuses subscriptions to chosen patterns, on subscribe and in a reconnect's hello", async () => {
    const relay = start();
    relay.refuseSubscribe("admin.*");
    const target = client(relay);
    await expect(target.subscribe("admin.users", () => {}).ready).rejects.toMatchObject({
      code: "subscribe_refused",
      wireCode: "forbidden",
    });
    await expect(target.subscribe("public.news", () => {}).ready).resolves.toBeUndefined();
  });

  it("times a publish out on the fake clock while the link is frozen", async () => {
    clock = new FakeClock().install();
    const relay = start();
    const target = client(relay, { publishTimeoutMs: 3_000 });
    await opened(target);
    relay.freeze(target);
    const outcome = target.publish("x.y", 1).catch((error: unknown) => error);
    await clock.tick(2_999);
    await clock.tick(1);
    expect(await outcome).toMatchObject({ code: "publish_timeout" });
  });
});
