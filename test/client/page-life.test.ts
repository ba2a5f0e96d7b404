// @vitest-environment happy-dom
/**
 * Page life (`pageLifecycle()`), in happy-dom's page with the test kit's relay and fake clock: a page coming back or
 * the network returning probes the link or ends the backoff wait at once, pings survive a
 * throttled background tab, a frozen link after sleep is found by a probe, and a hidden page
 * can let go of its connection and resume when visible.
 */
import { type PubsubBudClient, pageLifecycle } from "@pubsubbud/client";
import { collect, createTestRelay, FakeClock, type TestRelay } from "@pubsubbud/client/testing";
import { stateLog } from "../helpers/states.js";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

let clock: FakeClock;
let relay: TestRelay;
let visibility: DocumentVisibilityState = "visible";
const clients: PubsubBudClient[] = [];

beforeEach(() => {
  Object.defineProperty(document, "visibilityState", {
    configurable: true,
    get: () => visibility,
  });
  visibility = "visible";
  clock = new FakeClock().install();
  relay = createTestRelay();
});
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  clock.uninstall();
  await relay.close();
});

/** A client with `pageLifecycle()`, or `page`'s options for it. */
const connect = (page = {}, options: Parameters<TestRelay["connect"]>[0] = {}) => {
  const client = relay.connect({ lifecycle: pageLifecycle(page), ...options });
  clients.push(client);
  return client;
};
/** Settles frames (no time passes) until the client is open. */
const opened = async (client: PubsubBudClient) => {
  for (let i = 0; i < 100 && client.state !== "open"; i++) await relay.settle();
  expect(client.state).toBe("open");
};
const show = (state: DocumentVisibilityState) => {
  visibility = state;
  document.dispatchEvent(new Event("visibilitychange"));
};

describe("page life", () => {
  it("probes the link when the page becomes visible and replaces a dead one within 5 s", async () => {
    const client = connect();
    const log = stateLog(client);
    await opened(client);
    relay.freeze(client);
    show("hidden");
    show("visible");
    // The heartbeat (25 s) would take up to 50 s; the probe judges after 5 s.
    await clock.tick(4_999);
    expect(client.state).toBe("open");
    await clock.tick(1);
    expect(log).toContainEqual({ state: "reconnecting", code: 4000 });
    await clock.tick(100);
    await opened(client);
  });

  it("connects at once when the network comes back, without waiting out the backoff", async () => {
    const client = connect({}, { reconnect: { baseDelayMs: 60_000, maxDelayMs: 60_000 } });
    await opened(client);
    relay.offline(true);
    relay.drop(client);
    await relay.settle();
    expect(client.state).toBe("reconnecting");
    relay.offline(false);
    // No time passes on the fake clock: only the online event can end the wait.
    window.dispatchEvent(new Event("online"));
    await opened(client);
  });

  it("keeps the connection through a background tab throttled to one timer a minute", async () => {
    const client = connect();
    const log = stateLog(client);
    await opened(client);
    show("hidden");
    for (let minute = 0; minute < 10; minute++) await clock.jump(60_000);
    expect(client.state).toBe("open");
    expect(log).toEqual([{ state: "open" }]);
    expect(relay.core.stats().closes).toEqual({});
  });

  it("finds a link that died while the machine slept with a probe on the first late turn", async () => {
    const client = connect();
    const log = stateLog(client);
    await opened(client);
    relay.freeze(client);
    await clock.jump(30_000);
    expect(client.state).toBe("open");
    await clock.jump(30_000);
    await clock.tick(5_000);
    expect(log).toContainEqual({ state: "reconnecting", code: 4000 });
  });

  it("lets go of the connection after hiddenTimeoutMs and resumes without a gap when visible", async () => {
    const client = connect({ hiddenTimeoutMs: 60_000 });
    const log = stateLog(client);
    const inbox = collect<number>(client, "live.*");
    await inbox.ready;
    show("hidden");
    await clock.tick(59_999);
    expect(client.state).toBe("open");
    await clock.tick(1);
    expect(client.state).toBe("paused");
    await relay.settle();
    expect(relay.core.stats().connections).toBe(0);
    await relay.publish("live.a", 1);
    // A publish made while paused waits in the queue (within publishTimeoutMs, 30 s).
    const queued = client.publish("live.b", 2);
    await clock.tick(20_000);
    expect(client.state).toBe("paused");
    show("visible");
    await opened(client);
    await queued;
    expect((await inbox.waitFor(2)).map((m) => m.data)).toEqual([1, 2]);
    expect(log.map((entry) => entry.state)).toEqual(["open", "paused", "reconnecting", "open"]);
    const welcome = relay.frames.filter((f) => f.frame.type === "welcome").at(-1);
    expect(welcome?.frame.recovered).toBe(true);
  });

  it("watches no page without a lifecycle: a frozen link waits for the heartbeat", async () => {
    const client = connect(undefined, { lifecycle: undefined });
    await opened(client);
    relay.freeze(client);
    show("hidden");
    show("visible");
    await clock.tick(5_000);
    expect(client.state).toBe("open");
  });

  it("stops watching the page when the client closes", async () => {
    const client = connect({ hiddenTimeoutMs: 1_000 });
    await opened(client);
    const removed = vi.spyOn(document, "removeEventListener");
    const offline = vi.spyOn(window, "removeEventListener");
    show("hidden");
    client.close();
    expect(removed.mock.calls.map((call) => call[0])).toEqual(["visibilitychange"]);
    expect(offline.mock.calls.map((call) => call[0])).toEqual(["online"]);
    // The hidden timer went with it: no pause after the close.
    await clock.tick(1_000);
    expect(client.state).toBe("closed");
  });

  it("stays connected while hidden by default", async () => {
    const client = connect();
    await opened(client);
    show("hidden");
    await clock.tick(600_000);
    expect(client.state).toBe("open");
  });
});
